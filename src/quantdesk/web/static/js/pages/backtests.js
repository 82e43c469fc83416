// Backtests: run one from a form (POST /backtests, then poll GET /backtests/{id} for progress), its report
// (metrics, equity and drawdown over the whole run, candles with volume on its own scale and the trades as markers,
// aggregated when dense, trades table), the recorded runs, and a side-by-side comparison of the runs ticked.
// Long runs: the equity / drawdown curves are thinned to what the chart can show (peaks and troughs kept) and the
// candles merged k bars at a time, so the whole run is on screen; the three charts scroll and zoom together.
import { h, clear, card, badge, toast, field, select, busy, progress, empty } from "../ui.js";
import { PriceChart, LineChart, drawdown, thin, syncTimeRanges } from "../charts.js";
import { DataTable } from "../tables.js";
import { money, signedMoney, pct, fixed, qty, price, ts, toMs, toSec, signClass, inferPrecision, tfSeconds, isoParam } from "../format.js";
import { paramFields, readParams } from "./common.js";

const METRICS = [
  ["total_return_pct", "Total return", (v) => pct(v, 2, true), true],
  ["annual_return_pct", "Annual return", (v) => pct(v, 2, true), true],
  ["sharpe", "Sharpe", (v) => fixed(v, 2), true],
  ["sortino", "Sortino", (v) => fixed(v, 2), true],
  ["calmar", "Calmar", (v) => fixed(v, 2), true],
  ["max_drawdown_pct", "Max drawdown", (v) => pct(v), true],
  ["annual_volatility_pct", "Volatility (ann.)", (v) => pct(v), false],
  ["num_trades", "Trades", (v) => fixed(v, 0), false],
  ["win_rate_pct", "Win rate", (v) => pct(v, 1), false],
  ["profit_factor", "Profit factor", (v) => fixed(v, 2), false],
  ["expectancy", "Expectancy", (v) => signedMoney(v), true],
  ["final_equity", "Final equity", (v) => money(v), false],
  ["total_fees", "Fees", (v) => money(v), false],
  ["exposure_pct", "Exposure", (v) => pct(v, 1), false],
  ["buy_and_hold_return_pct", "Buy & hold", (v) => pct(v, 2, true), true],
  ["var_95_pct", "VaR 95% (bar)", (v) => pct(v), false],
];

export async function mount(view, ctx) {
  const [strategies, symbols] = await Promise.all([ctx.once("/strategies"), ctx.once("/market/symbols")]);
  const timers = new Set();
  let destroyed = false;
  const charts = [];

  // ---- form ----
  const stratSel = select(strategies.map((s) => s.name), { value: "sma_cross", id: "bt-strategy", name: "strategy" });
  const paramBox = h("div", { class: "form-grid", id: "bt-params" });
  const symSel = select([...new Set(symbols.map((s) => s.symbol))], { id: "bt-symbol", name: "symbol" });
  const tfSel = h("select", { id: "bt-timeframe", name: "timeframe" });
  const fillTf = () => {
    const tfs = symbols.filter((s) => s.symbol === symSel.value).map((s) => s.timeframe);
    tfSel.replaceChildren(...tfs.map((t) => h("option", { value: t }, t)));
    if (tfs.includes("1h")) tfSel.value = "1h";
  };
  symSel.addEventListener("change", fillTf);
  fillTf();
  const startIn = h("input", { id: "bt-start", name: "start", placeholder: "(data start)" });
  const endIn = h("input", { id: "bt-end", name: "end", placeholder: "(data end)" });
  const cashIn = h("input", { id: "bt-cash", name: "cash", type: "number", value: "10000", step: "any", min: "1" });
  const feeIn = h("input", { id: "bt-fee", name: "fee", type: "number", value: "0.001", step: "any", min: "0" });
  const slipIn = h("input", { id: "bt-slippage", name: "slippage_bps", type: "number", value: "0", step: "any", min: "0" });
  const renderParams = () => clear(paramBox, paramFields(strategies.find((s) => s.name === stratSel.value)?.params));
  stratSel.addEventListener("change", renderParams);
  renderParams();
  const runBtn = h("button", { class: "btn btn-primary", type: "submit", id: "bt-run" }, "Run backtest");
  const formErr = h("p", { class: "form-error", role: "alert", id: "bt-error" });
  const progressBox = h("div", { id: "bt-progress", style: { flex: "1", minWidth: "200px" } });
  const form = h("form", { id: "bt-form", "aria-label": "Run a backtest" },
    h("div", { class: "form-grid" }, field("Strategy", stratSel), field("Symbol", symSel), field("Timeframe", tfSel),
      field("Start (UTC)", startIn), field("End (UTC)", endIn), field("Cash", cashIn), field("Fee", feeIn), field("Slippage (bps)", slipIn)),
    h("h3", { style: { margin: "14px 0 8px" } }, "Parameters"), paramBox,
    h("div", { class: "form-actions" }, runBtn, progressBox, formErr));

  const reportBox = h("div", { id: "bt-report" }, empty("Run a backtest, or open one from the list."));
  const compareBox = h("div", { id: "bt-compare" });
  const runs = new DataTable({
    id: "bt-runs", csvName: "backtests", empty: "No backtest yet.", rowKey: "id",
    onRowClick: (r) => openRun(r.id),
    columns: [
      { key: "pick", label: "", sortable: false, csv: false, fmt: (v, r) => {
        const cb = h("input", { type: "checkbox", "aria-label": `Compare ${r.id.slice(0, 8)}`, dataset: { compare: r.id } });
        cb.checked = picked.has(r.id);
        cb.addEventListener("click", (e) => e.stopPropagation());
        cb.addEventListener("change", () => { if (cb.checked) picked.add(r.id); else picked.delete(r.id); compareBtn.disabled = picked.size < 2; });
        return cb;
      } },
      { key: "id", label: "Run", fmt: (v) => h("span", { class: "mono" }, v.slice(0, 8)) },
      { key: "strategy", label: "Strategy" },
      { key: "symbol", label: "Symbol" },
      { key: "timeframe", label: "TF" },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "ann", label: "Annual", num: true, value: (r) => r.metrics?.annual_return_pct, fmt: (v) => pct(v, 2, true), cls: signClass },
      { key: "ret", label: "Return", num: true, value: (r) => r.metrics?.total_return_pct, fmt: (v) => pct(v, 2, true), cls: signClass },
      { key: "sharpe", label: "Sharpe", num: true, value: (r) => r.metrics?.sharpe, fmt: (v) => fixed(v, 2) },
      { key: "mdd", label: "Max DD", num: true, value: (r) => r.metrics?.max_drawdown_pct, fmt: (v) => pct(v) },
      { key: "trades", label: "Trades", num: true, value: (r) => r.metrics?.num_trades, fmt: (v) => fixed(v, 0) },
      { key: "win", label: "Win rate", num: true, value: (r) => r.metrics?.win_rate_pct, fmt: (v) => pct(v, 1) },
      { key: "final", label: "Final equity", num: true, value: (r) => r.metrics?.final_equity, fmt: (v) => money(v) },
    ],
  });
  const picked = new Set();
  const compareBtn = h("button", { class: "btn", type: "button", id: "bt-compare-btn", disabled: true, onclick: () => compare([...picked]) }, "Compare selected");
  view.append(
    card("New backtest", form),
    card("Runs", runs.el, { actions: compareBtn }),
    card("Report", reportBox, { id: "bt-report-card" }),
    compareBox);

  let shown = null; // the report's charts, for chartStats()
  ctx.qd.backtests = { current: null, report: null, compare: null,
    /** what the report's charts show (first / last time, visible range, points, scales, markers): for tests */
    chartStats: () => (shown && !shown.price.dead ? { equity: shown.equity.stats(), drawdown: shown.drawdown.stats(),
      price: shown.price.stats(), markerGroups: shown.price.markerInfo?.groups || [],
      fitted: [shown.equity.fitted, shown.drawdown.fitted, shown.price.fitted] } : null) };

  async function loadRuns() {
    const list = await ctx.api.get("/backtests", { limit: 50 }, { quiet: true }).catch(() => null);
    if (list) runs.setRows(list);
  }

  const sleep = (ms) => new Promise((r) => { const t = setTimeout(() => { timers.delete(t); r(); }, ms); timers.add(t); });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formErr.textContent = "";
    const body = { strategy: stratSel.value, params: readParams(paramBox), symbol: symSel.value, timeframe: tfSel.value,
      cash: Number(cashIn.value || 10000), fee: Number(feeIn.value || 0), slippage_bps: Number(slipIn.value || 0) };
    if (startIn.value.trim()) body.start = startIn.value.trim();
    if (endIn.value.trim()) body.end = endIn.value.trim();
    await busy(runBtn, async () => {
      let id;
      try {
        id = (await ctx.api.post("/backtests", body, { quiet: true })).id;
      } catch (err) {
        formErr.textContent = err.reason || err.message;
        toast(err.message, "error");
        return;
      }
      ctx.qd.backtests.current = id;
      clear(progressBox, h("div", { class: "muted", style: { fontSize: "12px", marginBottom: "4px" }, id: "bt-progress-label" }, "running… 0%"), progress(0));
      let job;
      for (;;) {
        if (destroyed) return;
        job = await ctx.api.get(`/backtests/${id}`, null, { quiet: true }).catch(() => null);
        if (job && job.status !== "running") break;
        const p = job?.progress ?? 0;
        clear(progressBox, h("div", { class: "muted", style: { fontSize: "12px", marginBottom: "4px" }, id: "bt-progress-label" }, `running… ${Math.round(p * 100)}%`), progress(p));
        await sleep(400);
      }
      clear(progressBox, h("div", { class: "muted", style: { fontSize: "12px" }, id: "bt-progress-label" }, job.status === "completed" ? "completed 100%" : `failed: ${job.error}`), progress(job.status === "completed" ? 1 : 0));
      if (job.status === "failed") { formErr.textContent = job.error; toast(`Backtest failed: ${job.error}`, "error"); }
      await loadRuns();
      await showReport(job);
    });
  });

  async function openRun(id) {
    const job = await ctx.api.get(`/backtests/${id}`);
    ctx.qd.backtests.current = id;
    await showReport(job);
  }

  function metricsGrid(m) {
    return h("div", { class: "metrics", id: "bt-metrics" }, METRICS.filter(([k]) => k in (m || {})).map(([k, label, f, signed]) =>
      h("div", { class: "metric", dataset: { metric: k } }, h("div", { class: "label" }, label),
        h("div", { class: `value ${signed ? signClass(m[k]) : ""}` }, f(m[k])))));
  }

  function destroyCharts() {
    while (charts.length) charts.pop().destroy();
  }

  async function showReport(job) {
    destroyCharts();
    const cfg = job.config || {};
    const m = job.metrics || {};
    const head = h("div", { class: "card-head" },
      h("div", {}, h("h2", {}, `${cfg.strategy} · ${cfg.symbol} ${cfg.timeframe}`),
        h("div", { class: "muted mono", style: { fontSize: "12px" } }, `run ${job.id} · params ${JSON.stringify(cfg.params || {})}`)),
      badge(job.status));
    if (job.status !== "completed") {
      clear(reportBox, head, job.error ? h("p", { class: "form-error" }, job.error) : empty("No report yet."));
      return;
    }
    const eqBox = h("div", { id: "bt-equity" });
    const ddBox = h("div", { id: "bt-drawdown" });
    const priceBox = h("div", { id: "bt-price" });
    const tradesRows = job.trades || [];
    const trades = new DataTable({
      id: "bt-trades", csvName: "backtest-trades", empty: job.trades ? "No trades." : "Trades are kept for runs of this session only.",
      facets: [{ key: "side", label: "Side" }],
      columns: [
        { key: "entry_time", label: "Entry", fmt: ts, sortValue: (r) => toMs(r.entry_time) },
        { key: "exit_time", label: "Exit", fmt: ts, sortValue: (r) => toMs(r.exit_time) },
        { key: "side", label: "Side", fmt: (v) => badge(v) },
        { key: "quantity", label: "Quantity", num: true, fmt: qty },
        { key: "entry_price", label: "Entry price", num: true, fmt: (v) => price(v, prec) },
        { key: "exit_price", label: "Exit price", num: true, fmt: (v) => price(v, prec) },
        { key: "pnl", label: "P&L", num: true, fmt: signedMoney, cls: signClass },
        { key: "return_pct", label: "Return", num: true, fmt: (v) => pct(v, 2, true), cls: signClass },
        { key: "bars_held", label: "Bars", num: true },
        { key: "fees", label: "Fees", num: true, fmt: money },
      ],
    });
    let prec = inferPrecision(tradesRows.map((t) => t.entry_price));
    const quote = String(cfg.symbol || "").split("/")[1]?.split(":")[0] || "";
    const unit = quote ? ` (${quote})` : "";
    const priceNote = h("p", { class: "muted", id: "bt-price-note", style: { fontSize: "12px", margin: "6px 0 0" } });
    clear(reportBox, head, metricsGrid(m),
      h("h3", { style: { margin: "16px 0 8px" } }, `Equity${unit}`), eqBox,
      h("h3", { style: { margin: "12px 0 8px" } }, "Drawdown (%)"), ddBox,
      h("h3", { style: { margin: "16px 0 8px" } }, `Price${unit} and trades`), priceBox, priceNote,
      h("h3", { style: { margin: "16px 0 8px" } }, "Trades"), trades.el);
    trades.setRows(tradesRows);
    const report = { id: job.id, metrics: m, trades: tradesRows.length, markers: 0, equityPoints: 0 };
    ctx.qd.backtests.report = report;
    if (!job.equity) {
      clear(eqBox, empty("The equity curve is kept for runs of this session only."));
      clear(ddBox, empty("—"));
      clear(priceBox, empty("—"));
      return;
    }
    // the whole run: drawdown from every point, then both curves thinned to what fits (extremes kept)
    const eqAll = uniqueBySecond(job.equity.map((p) => ({ time: toSec(p.ts), value: Number(p.equity) })));
    const width = Math.max(300, reportBox.clientWidth || 1000);
    const maxPoints = Math.max(1000, Math.floor(width * 4));
    const eqChart = new LineChart(eqBox, { precision: 2 });
    const ddChart = new LineChart(ddBox, { percent: true, height: "chart chart-sm" });
    // candles over the run's span, volume in a pane of its own (the price axis spans prices only), each trade's
    // entry and exit as a marker
    const chart = new PriceChart(priceBox, { tfSeconds: tfSeconds(cfg.timeframe), volume: "pane", showAll: true });
    charts.push(eqChart, ddChart, chart);
    // one price-axis width for the stacked charts, so the same date sits at the same x in all of them
    for (const c of [eqChart.chart, ddChart.chart, chart.chart, chart.volumePane?.chart].filter(Boolean)) {
      c.priceScale("right").applyOptions({ minimumWidth: 96 });
    }
    report.equityPoints = eqChart.set("equity", thin(eqAll, maxPoints), { area: true, color: "#388bfd" });
    report.equitySource = eqAll.length;
    ddChart.set("drawdown", thin(drawdown(eqAll), maxPoints), { area: true, color: "#ef5350", negative: true });
    const candles = await ctx.api.get("/market/candles", { symbol: cfg.symbol, timeframe: cfg.timeframe,
      start: isoParam(job.equity[0].ts), end: isoParam(job.equity[job.equity.length - 1].ts) });
    if (destroyed) return;
    prec = inferPrecision(candles.map((c) => c.close));
    chart.setPrecision(prec);
    chart.setCandles(candles, { maxBars: Math.max(600, Math.floor(width * 2)) });
    const log = chart.autoLogScale();
    const events = [];
    for (const t of tradesRows) {
      const long = t.side !== "short";
      events.push({ time: t.entry_time, kind: long ? "long entry" : "short entry", price: t.entry_price });
      if (t.exit_time && !t.is_open) events.push({ time: t.exit_time, kind: long ? "long exit" : "short exit", price: t.exit_price });
    }
    const info = chart.setTradeMarkers(events, { maxMarkers: Math.max(60, Math.floor(width / 6)) });
    report.markers = info.drawn;
    report.represented = info.represented;
    report.markerBucket = info.bucket;
    report.expectedMarkers = events.length;
    report.candles = chart.data.length;
    const notes = [];
    if (log) notes.push("Logarithmic price axis (the prices span 4 times or more).");
    if (chart.barsPerCandle > 1) notes.push(`${fixed(chart.sourceBars, 0)} bars shown as ${fixed(chart.data.length, 0)} candles of ${chart.barsPerCandle} bars.`);
    if (info.drawn < info.represented) {
      notes.push(`${fixed(info.represented, 0)} entries and exits drawn as ${fixed(info.drawn, 0)} markers `
        + `(the same kind within ${info.bucket} candle${info.bucket > 1 ? "s" : ""} merged; ×n = count).`);
    }
    priceNote.textContent = notes.join(" ");
    syncTimeRanges([eqChart, ddChart, chart]);
    shown = { equity: eqChart, drawdown: ddChart, price: chart };
    trades.setRows(tradesRows);
  }

  function uniqueBySecond(points) {
    const out = [];
    for (const p of points) {
      if (p.time === null || !Number.isFinite(p.value)) continue;
      if (out.length && out[out.length - 1].time === p.time) out[out.length - 1] = p;
      else if (!out.length || out[out.length - 1].time < p.time) out.push(p);
    }
    return out;
  }

  async function compare(ids) {
    const jobs = await Promise.all(ids.map((id) => ctx.api.get(`/backtests/${id}`)));
    for (const c of charts.filter((x) => x.compare)) c.destroy();
    const keys = METRICS.map(([k]) => k).filter((k) => jobs.some((j) => j.metrics && k in j.metrics));
    const best = {};
    for (const k of keys) {
      const vals = jobs.map((j) => j.metrics?.[k]).filter((v) => typeof v === "number");
      best[k] = vals.length ? Math.max(...vals) : null; // drawdowns are negative: higher is better for every metric marked
    }
    const table = h("table", { class: "data", id: "bt-compare-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Metric"), jobs.map((j) => h("th", { class: "num" },
        `${j.config?.strategy} ${Object.entries(j.config?.params || {}).map(([k, v]) => `${k}=${v}`).join(" ")}`, h("br"), h("span", { class: "mono muted" }, j.id.slice(0, 8)))))),
      h("tbody", {}, keys.map((k) => {
        const [, label, f] = METRICS.find(([x]) => x === k);
        return h("tr", { dataset: { metric: k } }, h("td", {}, label), jobs.map((j) => {
          const v = j.metrics?.[k];
          return h("td", { class: `num ${v === best[k] && jobs.length > 1 && !["num_trades", "total_fees", "annual_volatility_pct", "exposure_pct", "var_95_pct"].includes(k) ? "up" : ""}` }, f(v));
        }));
      })));
    const eqBox = h("div", { id: "bt-compare-equity" });
    clear(compareBox, card("Comparison", h("div", { class: "grid" }, h("div", { class: "table-scroll" }, table),
      h("h3", {}, "Return on the same clock"), eqBox)));
    const withEq = jobs.filter((j) => j.equity);
    if (withEq.length) {
      const lc = new LineChart(eqBox, { percent: true });
      lc.compare = true;
      charts.push(lc);
      const maxPoints = Math.max(1000, Math.floor((eqBox.clientWidth || 1000) * 4));
      for (const j of withEq) {
        const start = j.equity[0].equity;
        const pts = uniqueBySecond(j.equity.map((p) => ({ time: toSec(p.ts), value: (p.equity / start - 1) * 100 })));
        lc.set(`${j.config.strategy} ${j.id.slice(0, 6)}`, thin(pts, maxPoints)); // the whole run of each
      }
    } else {
      eqBox.append(empty("Equity curves are kept for runs of this session only."));
    }
    ctx.qd.backtests.compare = { ids, metrics: keys.length, curves: withEq.length };
    compareBox.scrollIntoView({ block: "nearest" });
  }

  await loadRuns();
  return {
    poll: 0,
    destroy: () => { destroyed = true; timers.forEach(clearTimeout); destroyCharts(); },
  };
}
