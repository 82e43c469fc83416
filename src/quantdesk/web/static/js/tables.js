// DataTable: sortable (click / Enter on a header), filterable (free text + per-column selects) table with a
// CSV export of the rows shown (filtered and sorted). Cells are text; `fmt` formats, `value` gives the raw value
// used to sort and to export.
import { h, empty as emptyBox } from "./ui.js";

const MAX_RENDER = 2000;

function csvCell(v) {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class DataTable {
  constructor({ columns, rows = [], id = null, facets = [], filterLabel = "Filter rows", empty = "No rows yet.",
    csvName = "export", rowKey = null, onRowClick = null, maxHeight = null, initialSort = null } = {}) {
    this.columns = columns;
    this.rows = rows;
    this.facets = facets;
    this.emptyText = empty;
    this.csvName = csvName;
    this.rowKey = rowKey;
    this.onRowClick = onRowClick;
    this.sort = initialSort; // {key, dir: 1 | -1}
    this.query = "";
    this.facetValues = {};
    this.search = h("input", { type: "search", placeholder: "Filter…  ( / )", "aria-label": filterLabel,
      "data-table-filter": "", oninput: () => { this.query = this.search.value.trim().toLowerCase(); this.render(); } });
    this.facetEls = facets.map((f) => {
      const sel = h("select", { "aria-label": `Filter by ${f.label || f.key}`, dataset: { facet: f.key },
        onchange: () => { this.facetValues[f.key] = sel.value; this.render(); } });
      return sel;
    });
    this.count = h("span", { class: "count", "aria-live": "polite" });
    this.csvBtn = h("button", { class: "btn btn-sm", type: "button", "aria-label": `Export ${csvName} as CSV`,
      onclick: () => this.download() }, "⬇ CSV");
    this.thead = h("thead");
    this.tbody = h("tbody");
    this.table = h("table", { class: "data", id });
    this.table.append(this.thead, this.tbody);
    this.scroll = h("div", { class: "table-scroll", style: maxHeight ? { maxHeight } : null }, this.table);
    this.emptyEl = emptyBox(empty);
    this.el = h("div", { class: "datatable" },
      h("div", { class: "table-tools" }, this.search, this.facetEls, this.count, this.csvBtn), this.scroll, this.emptyEl);
    this.renderHead();
    this.setRows(rows);
  }

  renderHead() {
    const tr = h("tr");
    for (const c of this.columns) {
      const sortable = c.sortable !== false;
      const th = h("th", { class: `${c.num ? "num" : ""} ${sortable ? "sortable" : ""}`.trim(), scope: "col",
        tabindex: sortable ? 0 : null, dataset: { key: c.key }, "aria-sort": "none", title: c.title || null }, c.label);
      if (sortable) {
        const go = () => this.toggleSort(c.key);
        th.addEventListener("click", go);
        th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
      }
      tr.append(th);
    }
    this.thead.replaceChildren(tr);
  }

  toggleSort(key) {
    if (this.sort && this.sort.key === key) this.sort = { key, dir: -this.sort.dir };
    else this.sort = { key, dir: 1 };
    this.render();
  }

  raw(row, col) {
    return col.value ? col.value(row) : row[col.key];
  }

  text(row, col) {
    const v = this.raw(row, col);
    const f = col.fmt ? col.fmt(v, row) : v;
    return f instanceof Node ? f.textContent : f === null || f === undefined ? "" : String(f);
  }

  setRows(rows) {
    this.rows = rows || [];
    // facet options from the data
    this.facets.forEach((f, i) => {
      const sel = this.facetEls[i];
      const values = [...new Set(this.rows.map((r) => (f.value ? f.value(r) : r[f.key])).filter((v) => v !== null && v !== undefined && v !== ""))].sort();
      const cur = sel.value;
      sel.replaceChildren(h("option", { value: "" }, `${f.label || f.key}: all`), ...values.map((v) => h("option", { value: v }, String(v))));
      sel.value = values.includes(cur) ? cur : "";
      this.facetValues[f.key] = sel.value;
    });
    this.render();
  }

  visibleRows() {
    let rows = this.rows;
    for (const f of this.facets) {
      const want = this.facetValues[f.key];
      if (want) rows = rows.filter((r) => String(f.value ? f.value(r) : r[f.key]) === want);
    }
    if (this.query) {
      rows = rows.filter((r) => this.columns.some((c) => this.text(r, c).toLowerCase().includes(this.query)));
    }
    if (this.sort) {
      const col = this.columns.find((c) => c.key === this.sort.key);
      if (col) {
        const dir = this.sort.dir;
        rows = rows.map((r, i) => ({ r, i, v: col.sortValue ? col.sortValue(r) : this.raw(r, col) }));
        rows.sort((a, b) => {
          const x = a.v; const y = b.v;
          if (x === y) return a.i - b.i;
          if (x === null || x === undefined || x === "") return 1;
          if (y === null || y === undefined || y === "") return -1;
          const nx = Number(x); const ny = Number(y);
          const cmp = Number.isFinite(nx) && Number.isFinite(ny) && typeof x !== "boolean" ? nx - ny : String(x).localeCompare(String(y));
          return cmp * dir || a.i - b.i;
        });
        rows = rows.map((o) => o.r);
      }
    }
    return rows;
  }

  render() {
    for (const th of this.thead.querySelectorAll("th")) {
      th.setAttribute("aria-sort", this.sort && th.dataset.key === this.sort.key ? (this.sort.dir > 0 ? "ascending" : "descending") : "none");
    }
    const rows = this.visibleRows();
    this.shown = rows;
    const frag = document.createDocumentFragment();
    // a keyed row that renders exactly as before keeps its element: a poll that changes nothing does not replace
    // the row under the pointer (a click pressed on one row and released on its replacement would be lost)
    const previous = new Map();
    if (this.rowKey) for (const tr of this.tbody.children) previous.set(tr.dataset.key, tr);
    for (const r of rows.slice(0, MAX_RENDER)) {
      const key = this.rowKey ? String(r[this.rowKey] ?? "") : null;
      const cells = this.columns.map((c) => {
        const v = this.raw(r, c);
        const out = c.fmt ? c.fmt(v, r) : v;
        const cls = [c.num ? "num" : "", c.cls ? c.cls(v, r) : ""].filter(Boolean).join(" ");
        return { c, cls, out: out instanceof Node ? out : out ?? "—" };
      });
      const sig = cells.map((x) => `${x.cls}\u0001${x.out instanceof Element ? x.out.outerHTML
        : x.out instanceof Node ? x.out.textContent : String(x.out)}`).join("\u0002");
      const old = key !== null ? previous.get(key) : null;
      if (old && old.qdSig === sig) {
        previous.delete(key);
        frag.append(old);
        continue;
      }
      const tr = h("tr", { dataset: key !== null ? { key } : null });
      tr.qdSig = sig;
      for (const x of cells) tr.append(h("td", { class: x.cls || null, dataset: { col: x.c.key } }, x.out));
      if (this.onRowClick) {
        tr.tabIndex = 0;
        tr.addEventListener("click", () => this.onRowClick(r, tr));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") this.onRowClick(r, tr); });
      }
      frag.append(tr);
    }
    this.tbody.replaceChildren(frag);
    const total = this.rows.length;
    const noun = total === 1 ? "row" : "rows";
    this.count.textContent = rows.length === total ? `${total} ${noun}` : `${rows.length} of ${total} ${noun}`;
    if (rows.length > MAX_RENDER) this.count.textContent += ` (first ${MAX_RENDER} shown)`;
    const none = total === 0;
    this.scroll.hidden = none;
    this.emptyEl.hidden = !none;
    this.csvBtn.disabled = rows.length === 0;
  }

  toCSV() {
    const cols = this.columns.filter((c) => c.csv !== false);
    const lines = [cols.map((c) => csvCell(c.key)).join(",")];
    for (const r of this.shown || []) {
      lines.push(cols.map((c) => {
        const v = c.csvValue ? c.csvValue(r) : this.raw(r, c);
        return csvCell(v instanceof Node ? v.textContent : typeof v === "object" && v !== null ? JSON.stringify(v) : v);
      }).join(","));
    }
    return lines.join("\r\n") + "\r\n";
  }

  download() {
    const blob = new Blob([this.toCSV()], { type: "text/csv;charset=utf-8" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `quantdesk-${this.csvName}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "")}.csv` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
}
