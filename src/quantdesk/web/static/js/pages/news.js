// News: the stored news/social texts with their sentiment scores, labels, assets and detected events (hack,
// exploit, listing, ETF decision...), filtered by asset and event, plus the asset's sentiment now.
import { h, clear, card, kpi, field, select, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { ts, toMs, fixed, pct, signClass, titleCase } from "../format.js";

const EVENTS = ["", "hack", "exploit", "listing", "delisting", "etf_decision", "lawsuit", "outage", "halving",
  "liquidation_cascade", "rug_pull", "depeg", "bankruptcy", "regulation", "upgrade", "partnership", "token_unlock"];
const LABEL_CLASS = { positive: "ok", negative: "bad", neutral: "mute" };

function labelBadge(v) {
  return h("span", { class: `badge badge-${LABEL_CLASS[v] || "mute"}` }, v || "—");
}

export async function mount(view, ctx) {
  const symbol = h("input", { id: "news-symbol", placeholder: "all assets, e.g. BTC/USDT", size: 16 });
  const event = select(EVENTS.map((k) => ({ value: k, label: k ? titleCase(k.replace(/_/g, " ")) : "all events" })), { id: "news-event" });
  const limit = select(["50", "200", "1000"], { id: "news-limit", value: "200" });
  const kpis = h("div", { class: "kpis", id: "news-kpis" });
  const table = new DataTable({
    id: "news-table", csvName: "news", rowKey: "seq", initialSort: { key: "ts", dir: -1 },
    empty: "No stored text yet: run `quantdesk sentiment poll --sample` (bundled headlines) or configure sources.",
    columns: [
      { key: "ts", label: "Published", fmt: ts, sortValue: (r) => toMs(r.ts), csvValue: (r) => r.ts },
      { key: "score", label: "Score", fmt: (v) => h("span", { class: signClass(v) }, fixed(v, 2)) },
      { key: "label", label: "Label", fmt: labelBadge },
      { key: "title", label: "Title", fmt: (v, r) => (r.url && /^https?:/.test(r.url)
        ? h("a", { href: r.url, rel: "noopener noreferrer", target: "_blank" }, v) : v) },
      { key: "entities", label: "Assets", value: (r) => (r.entities || []).join(" ") },
      { key: "events", label: "Events", value: (r) => (r.events || []).join(" ") },
      { key: "source", label: "Source" },
    ],
  });
  const filters = h("form", { class: "toolbar", id: "news-filters", "aria-label": "News filters" },
    field("Asset", symbol), field("Event", event), field("Limit", limit), h("button", { type: "submit" }, "Apply"));
  view.append(card("Sentiment now", kpis), card("News feed", [filters, h("div", { style: { height: "12px" } }), table.el]));

  async function refresh() {
    const sym = symbol.value.trim().toUpperCase();
    const rows = await ctx.api.get("/sentiment/news", { symbol: sym, event: event.value, limit: limit.value }, { quiet: true }).catch(() => null);
    if (rows) table.setRows(rows);
    let now = null;
    if (sym) now = await ctx.api.get("/sentiment", { symbol: sym, limit: 0 }, { quiet: true }).catch(() => null);
    if (now) {
      clear(kpis,
        kpi("Asset", now.symbol),
        kpi("Decayed mean", fixed(now.mean, 3), { cls: signClass(now.mean), sub: `half-life ${now.half_life_h} h` }),
        kpi(`Texts (${now.window_h} h)`, String(now.count), { sub: `${now.texts} stored, last ${ts(now.last_text)}` }),
        kpi("Positive / negative", `${pct(now.pos_share * 100, 0)} / ${pct(now.neg_share * 100, 0)}`),
        kpi("Negative events", String(now.neg_events), { cls: now.neg_events ? "down" : "" }),
        kpi("Fear & Greed", now.fear_greed ? `${now.fear_greed.value} ${now.fear_greed.classification || ""}` : "—"));
    } else {
      clear(kpis, empty(sym ? `No sentiment for ${sym}.` : "Pick an asset to see its sentiment now."));
    }
    ctx.qd.data = { ...(ctx.qd.data || {}), news: rows, sentiment: now };
  }
  filters.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  event.addEventListener("change", refresh);
  limit.addEventListener("change", refresh);
  await refresh();
  return { poll: 30000, refresh };
}
