// Anomalies & regimes: stored anomalies (filters, CSV), a detection job on a stored series (POST
// /anomalies/detect, polled), live watching of a running bot (its anomalies arrive on the WebSocket "events"
// channel), and the current regime of a series with its time share per regime (GET /regimes).
import { h, clear, card, badge, toast, field, select, busy, progress, empty, kpi } from "../ui.js";
import { DataTable } from "../tables.js";
import { ts, toMs, fixed, pct, compact } from "../format.js";

const METHODS = ["zscore", "iqr", "iforest", "ocsvm", "ecod"];
const REGIME_METHODS = ["rules", "hmm", "markov", "bocpd"];

export async function mount(view, ctx) {
  const symbols = await ctx.once("/market/symbols");
  const timers = new Set();
  let destroyed = false;
  const sleep = (ms) => new Promise((r) => { const t = setTimeout(() => { timers.delete(t); r(); }, ms); timers.add(t); });
  const symNames = [...new Set(symbols.map((s) => s.symbol))];
  const tfsOf = (sym) => symbols.filter((s) => s.symbol === sym).map((s) => s.timeframe);
  const pair = (prefix) => {
    const sym = select(symNames, { id: `${prefix}-symbol` });
    const tf = h("select", { id: `${prefix}-timeframe` });
    const fill = () => { tf.replaceChildren(...tfsOf(sym.value).map((t) => h("option", { value: t }, t))); };
    sym.addEventListener("change", fill);
    fill();
    return [sym, tf];
  };

  // ---- stored anomalies ----
  const table = new DataTable({
    id: "anomalies-table", csvName: "anomalies", rowKey: "id", initialSort: { key: "timestamp", dir: -1 },
    empty: "No anomalies stored yet: run a detection below, `quantdesk anomaly detect`, or watch a bot.",
    facets: [{ key: "kind", label: "kind" }, { key: "symbol", label: "symbol" }, { key: "source", label: "source" }],
    columns: [
      { key: "timestamp", label: "Bar time", fmt: ts, sortValue: (r) => toMs(r.timestamp), csvValue: (r) => r.timestamp },
      { key: "symbol", label: "Symbol" },
      { key: "timeframe", label: "TF" },
      { key: "kind", label: "Kind", fmt: (v) => badge(v) },
      { key: "kinds", label: "All kinds" },
      { key: "score", label: "Score", fmt: (v) => fixed(v, 2) },
      { key: "method", label: "Method" },
      { key: "source", label: "Source" },
      { key: "side", label: "Side" },
      { key: "notional", label: "Notional", fmt: (v) => (v === null || v === undefined ? "" : compact(v)) },
    ],
  });
  async function refresh() {
    const rows = await ctx.api.get("/anomalies", { limit: 2000 }, { quiet: true }).catch(() => null);
    if (rows) table.setRows(rows);
    ctx.qd.data = { ...(ctx.qd.data || {}), anomalies: rows };
  }

  // ---- detection job ----
  const [dSym, dTf] = pair("an");
  const dMethod = select(METHODS, { id: "an-method", value: "zscore" });
  const dWindow = h("input", { type: "number", id: "an-window", value: 100, min: 10, step: 1, style: { width: "90px" } });
  const dThr = h("input", { type: "number", id: "an-threshold", placeholder: "default", min: 0, step: "any", style: { width: "90px" } });
  const runBtn = h("button", { class: "btn btn-primary", type: "submit", id: "an-run", disabled: ctx.readOnly }, "Detect & store");
  const jobBox = h("div", { id: "an-job" });
  const form = h("form", { class: "toolbar", "aria-label": "Detect anomalies" }, field("Symbol", dSym), field("Timeframe", dTf),
    field("Method", dMethod), field("Window", dWindow), field("Threshold", dThr), runBtn);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(runBtn, async () => {
      const body = { symbol: dSym.value, timeframe: dTf.value, method: dMethod.value, window: Number(dWindow.value) };
      if (dThr.value !== "") body.threshold = Number(dThr.value);
      const { id } = await ctx.api.post("/anomalies/detect", body);
      for (;;) {
        const job = await ctx.api.get(`/anomalies/jobs/${id}`, null, { quiet: true });
        clear(jobBox, job.status === "running" ? progress(job.progress || 0) : job.status === "failed"
          ? h("p", { class: "neg" }, job.error) : h("div", { class: "kpis" },
            kpi("Bars", String(job.summary.bars)), kpi("Anomalous bars", String(job.summary.anomalous_bars)),
            kpi("Rate", pct(job.summary.rate_pct, 2)), kpi("Stored (new)", String(job.stored)),
            ...Object.entries(job.summary.by_kind).map(([k, n]) => kpi(k, String(n)))));
        if (job.status !== "running" || destroyed) break;
        await sleep(400);
      }
      if (!destroyed) await refresh();
    });
  });

  // ---- live watching ----
  const wBot = h("select", { id: "an-watch-bot" });
  const wMethod = select(["zscore", "iqr"], { id: "an-watch-method" });
  const wBtn = h("button", { class: "btn", type: "submit", id: "an-watch", disabled: ctx.readOnly }, "Watch");
  const watchList = h("div", { id: "an-watch-list" });
  const live = [];
  const liveBox = h("ul", { class: "feed", id: "an-live" });
  const fillBots = () => {
    const running = ctx.status.running.filter((b) => b.status === "running" || b.status === "paused");
    wBot.replaceChildren(...running.map((b) => h("option", { value: b.bot }, b.bot)));
  };
  const wForm = h("form", { class: "toolbar", "aria-label": "Watch a bot" }, field("Bot", wBot), field("Method", wMethod), wBtn);
  wForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!wBot.value) { toast("no running bot to watch", "error"); return; }
    busy(wBtn, async () => { await ctx.api.post("/anomalies/watch", { bot: wBot.value, method: wMethod.value }); await refreshWatch(); });
  });
  async function refreshWatch() {
    const rows = await ctx.api.get("/anomalies/watch", null, { quiet: true }).catch(() => []);
    clear(watchList, rows.length ? h("ul", { class: "feed" }, rows.map((w) => h("li", {},
      h("strong", {}, w.bot), ` ${w.method} · ${w.found} found · `, badge(w.attached ? "watching" : "stopped"))))
      : empty("No bot is watched."));
  }
  function renderLive() {
    clear(liveBox, ...live.slice(0, 30).map((d) => h("li", {}, h("span", { class: "time" }, ts(d.ts_event)),
      h("span", {}, h("strong", {}, d.kind), ` ${d.symbol} score ${fixed(d.score, 2)}`), h("span", { class: "muted" }, d.source || ""))));
  }
  const offEvents = ctx.ws.on("events", (m) => {
    if (m.type !== "AnomalyDetected") return;
    live.unshift(m.data || {});
    renderLive();
  });

  // ---- regimes ----
  const [rSym, rTf] = pair("rg");
  const rMethod = select(REGIME_METHODS, { id: "rg-method", value: "rules" });
  const rBtn = h("button", { class: "btn", type: "submit", id: "rg-run" }, "Show regimes");
  const rBox = h("div", { id: "rg-result" });
  const rForm = h("form", { class: "toolbar", "aria-label": "Regimes" }, field("Symbol", rSym), field("Timeframe", rTf), field("Method", rMethod), rBtn);
  rForm.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(rBtn, async () => {
      const doc = await ctx.api.get("/regimes", { symbol: rSym.value, timeframe: rTf.value, method: rMethod.value, limit: 1 });
      const s = doc.summary;
      const cur = s.current || {};
      clear(rBox, h("div", { class: "kpis" }, kpi("Current regime", cur.regime || "warming up"),
        kpi("Bars since change", cur.bars_since_change === undefined ? "—" : String(cur.bars_since_change)),
        kpi("Change-point prob.", cur.p_changepoint === undefined ? "—" : fixed(cur.p_changepoint, 3)),
        kpi("Changes", String(s.changes)),
        ...Object.entries(s.time_share).map(([k, v]) => kpi(`Time ${k}`, pct(v * 100, 1)))),
        h("p", { class: "muted" }, "The Markets page draws the regimes as background bands (layer toggle \"Regimes & anomalies\")."));
      ctx.qd.data = { ...(ctx.qd.data || {}), regimes: s };
    });
  });

  view.append(
    card("Detect anomalies on a stored series", [form, jobBox]),
    card("Stored anomalies", table.el),
    card("Watch a running bot", [wForm, watchList, h("h3", {}, "Live anomalies (this session)"), liveBox]),
    card("Market regime", [rForm, rBox]));
  fillBots();
  renderLive();
  await Promise.all([refresh(), refreshWatch()]);
  return {
    poll: 10000,
    refresh: async () => { fillBots(); await Promise.all([refresh(), refreshWatch()]); },
    destroy: () => { destroyed = true; offEvents(); for (const t of timers) clearTimeout(t); },
  };
}
