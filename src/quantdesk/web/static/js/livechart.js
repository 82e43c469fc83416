// BotChart: a PriceChart that follows a paper bot: its candles up to the bot's current bar, then every bar it
// trades on (WebSocket "candles"), its fills as ▲/▼ markers ("trades" channel, type Fill) and, optionally, its
// manual/API signals as circles. A replay bot trades history, so the window ends at the bot's clock, not now.
// With `strategyIndicators`, the strategy's own indicators (GET /bots/{name}/indicators: overlays on the price,
// panes below, as the strategy declares them) are drawn too and extended as bars arrive.
import { PriceChart } from "./charts.js";
import { h } from "./ui.js";
import { inferPrecision, isoParam, symbolOf, tfSeconds, toSec } from "./format.js";

const IND_PREFIX = "strategy:";
const IND_REFRESH_MS = 1500; // at most one indicator request per this, however fast the bars come

export class BotChart {
  constructor(container, ctx, { bars = 300, onStatus = null, showSignals = true, strategyIndicators = false } = {}) {
    this.ctx = ctx;
    this.bars = bars;
    this.onStatus = onStatus || (() => {});
    this.showSignals = showSignals;
    this.strategyIndicators = strategyIndicators;
    this.plots = []; // the strategy's plot groups drawn: [{id, label, overlay, outputs, colors}]
    this.indLegend = strategyIndicators ? h("div", { class: "legend strategy-legend", "aria-label": "Strategy indicators" }) : null;
    if (this.indLegend) container.append(this.indLegend);
    this.chart = new PriceChart(container, { precision: 2 });
    this.bot = null;
    this.symbol = null;
    this.timeframe = null;
    this.loading = false;
    this.pending = [];
    this.fills = [];
    this.signals = [];
    this.offs = [
      ctx.ws.on("candles", (m) => this.onBar(m)),
      ctx.ws.on("trades", (m) => this.onFill(m)),
      ctx.ws.on("signals", (m) => this.onSignal(m)),
    ];
  }

  /** follow bot `name` (symbol: the first of its symbols unless given) */
  async follow(name, symbol = null) {
    this.bot = name;
    const row = this.ctx.botRow(name);
    if (!row) { this.onStatus("no such bot"); return; }
    this.symbol = symbol || row.symbols[0];
    this.timeframe = row.timeframe;
    this.chart.tf = tfSeconds(this.timeframe);
    this.fills = [];
    this.signals = [];
    this.pending = [];
    this.clearIndicators();
    this.chart.setCandles([]);
    this.chart.setMarkers([]);
    const token = (this.token = {});
    this.loading = true;
    try {
      const [fills, signals] = await Promise.all([
        this.ctx.api.maybe("/fills", { bot: name }, []),
        this.showSignals ? this.ctx.api.maybe("/signals", { bot: name }, []) : Promise.resolve([]),
      ]);
      if (token !== this.token) return;
      this.fills = (fills || []).filter((f) => f.symbol === this.symbol);
      // the strategy's own orders are signals too (source "strategy"), already drawn as their fills: the circles
      // are for the others (manual, API, simulated)
      this.signals = (signals || []).filter((s) => (!s.symbol || s.symbol === this.symbol) && s.source !== "strategy");
      // the window ends at the bot's clock: its last live bar, its engine's time (a finished replay's last bar,
      // not its last fill), else its last fill or equity point (a bot of the database, not running here)
      let end = this.ctx.lastBar?.[name] ?? null;
      if (end === null && this.ctx.running?.(name)?.time) end = toSec(this.ctx.running(name).time);
      if (end === null && this.fills.length) end = toSec(this.fills[this.fills.length - 1].ts);
      if (end === null) {
        const perf = await this.ctx.api.maybe("/paper-trading/performance", { bot: name }, null);
        const curve = perf?.equity_curve || [];
        if (curve.length) end = toSec(curve[curve.length - 1].ts);
      }
      if (token !== this.token) return;
      if (end === null) {
        this.onStatus("waiting for the bot's first bar…");
        this.loading = false;
        this.flushPending();
        return;
      }
      await this.loadHistory(end, token);
    } finally {
      if (token === this.token) this.loading = false;
    }
    if (token === this.token) this.flushPending();
  }

  async loadHistory(endSec, token) {
    const rows = await this.ctx.api.get("/market/candles", { symbol: this.symbol, timeframe: this.timeframe,
      end: isoParam(endSec), limit: this.bars });
    if (token !== this.token) return;
    this.chart.setPrecision(inferPrecision(rows.map((r) => r.close)));
    this.chart.setCandles(rows);
    this.renderMarkers();
    this.onStatus(null);
    if (this.strategyIndicators) await this.loadIndicators(token);
  }

  // ---- the strategy's own indicators ----------------------------------------------------------------------
  /** all of the strategy's plot groups over the bars shown */
  async loadIndicators(token = this.token) {
    let res;
    try {
      res = await this.ctx.api.get(`/bots/${encodeURIComponent(this.bot)}/indicators`,
        { symbol: this.symbol, limit: Math.max(this.chart.data.length, 1) }, { quiet: true });
    } catch (e) {
      if (token === this.token) this.onStatus(`strategy indicators unavailable: ${e.reason || e.message}`);
      return;
    }
    if (token !== this.token || this.chart.dead) return;
    this.clearIndicators();
    this.plots = (res.plots || []).map((p) => {
      const colors = this.chart.setIndicator(IND_PREFIX + p.id, { label: p.label, outputs: p.outputs, values: p.values,
        overlay: p.overlay });
      return { id: p.id, label: p.label, overlay: p.overlay, outputs: p.outputs, colors };
    });
    this.indLast = lastTime(res.plots);
    this.indLoads = (this.indLoads || 0) + 1;
    // nothing yet (a bot before its first bar, or a strategy that declares no indicator): ask again as bars
    // come, less and less often (1.5 s, 3 s, 6 s... at most one a minute)
    this.indEmpty = this.plots.length ? 0 : (this.indEmpty || 0) + 1;
    this.renderIndicatorLegend();
  }

  /** the values since the last request, appended (a live bar arrived); one request per IND_REFRESH_MS at most */
  scheduleIndicators() {
    if (!this.strategyIndicators || this.indTimer || this.chart.dead) return;
    if (!this.plots.length) {
      if (!this.indEmpty) return; // the first load is still on its way
      const wait = Math.min(60000, IND_REFRESH_MS * 2 ** (this.indEmpty - 1));
      this.indTimer = setTimeout(() => { this.indTimer = null; this.loadIndicators().catch(() => {}); }, wait);
      return;
    }
    this.indTimer = setTimeout(() => { this.indTimer = null; this.extendIndicators().catch(() => {}); }, IND_REFRESH_MS);
  }

  async extendIndicators() {
    const token = this.token;
    const lastBar = this.chart.lastTime();
    if (lastBar === null || this.indLast === null || lastBar <= this.indLast) return;
    const missing = Math.ceil((lastBar - this.indLast) / (this.chart.tf || 60)) + 2;
    if (missing > this.chart.data.length) { await this.loadIndicators(token); return; }
    const res = await this.ctx.api.get(`/bots/${encodeURIComponent(this.bot)}/indicators`,
      { symbol: this.symbol, limit: missing }, { quiet: true });
    if (token !== this.token || this.chart.dead) return;
    for (const p of res.plots || []) this.chart.updateIndicator(IND_PREFIX + p.id, p.values);
    const t = lastTime(res.plots);
    const moved = t !== null && t > this.indLast;
    if (moved) this.indLast = t;
    this.indUpdates = (this.indUpdates || 0) + 1;
    // the bot's stored bar may lag the live one a little: come back for the rest (a few times without progress)
    this.indStalls = moved ? 0 : (this.indStalls || 0) + 1;
    if (this.indLast < this.chart.lastTime() && this.indStalls <= 3) this.scheduleIndicators();
  }

  clearIndicators() {
    clearTimeout(this.indTimer);
    this.indTimer = null;
    for (const p of this.plots) this.chart.removeIndicator(IND_PREFIX + p.id);
    this.plots = [];
    this.indLast = null;
    this.renderIndicatorLegend();
  }

  renderIndicatorLegend() {
    if (!this.indLegend) return;
    this.indLegend.replaceChildren(...this.plots.flatMap((p) => p.outputs.map((out, i) => h("span", { dataset: { plot: p.id } },
      h("i", { style: { background: p.colors[i] } }),
      p.outputs.length > 1 ? `${p.label} ${out.split(".").pop()}` : p.label,
      p.overlay ? "" : h("span", { class: "muted" }, " (pane)")))));
  }

  /** what the chart draws for the strategy: per plot its series' points [time (s), value] */
  indicatorValues() {
    return this.plots.map((p) => {
      const ind = this.chart.indicators.get(IND_PREFIX + p.id);
      const series = {};
      (ind?.series || []).forEach((s) => {
        series[s.output] = s.data().filter((d) => d.value !== undefined).map((d) => [d.time, d.value]);
      });
      return { id: p.id, label: p.label, overlay: p.overlay, pane: Boolean(ind?.pane), outputs: p.outputs, series };
    });
  }

  flushPending() {
    const bars = this.pending.splice(0);
    if (!this.chart.data.length && bars.length) {
      // nothing loaded yet: the history up to the first live bar, then the rest live
      const first = bars[0];
      this.loading = true;
      const token = this.token;
      this.loadHistory(toSec(first.ts_ns), token).finally(() => {
        if (token !== this.token) return;
        this.loading = false;
        for (const b of bars.slice(1)) this.chart.update(b);
        this.flushPending();
      });
      return;
    }
    for (const b of bars) this.chart.update(b);
    if (bars.length) { this.renderMarkers(); this.scheduleIndicators(); }
  }

  matches(m) {
    return this.bot && m.bot === this.bot;
  }

  onBar(m) {
    if (m.type !== "Bar" || !m.data) return;
    const d = m.data;
    if (!this.ctx.lastBar) this.ctx.lastBar = {};
    this.ctx.lastBar[m.bot] = toSec(d.ts_ns);
    if (!this.matches(m) || symbolOf(d.instrument) !== this.symbol) return;
    if (this.loading || !this.chart.data.length) {
      this.pending.push(d);
      if (!this.loading) this.flushPending();
      return;
    }
    if (this.chart.update(d)) { this.lastPrice = d.close; this.scheduleIndicators(); }
    if (this.markDirty) this.renderMarkers();
  }

  onFill(m) {
    if (m.type !== "Fill" || !this.matches(m) || !m.data || m.data.symbol !== this.symbol) return;
    if (this.fills.some((f) => f.trade_id === m.data.trade_id)) return;
    this.fills.push(m.data);
    this.renderMarkers();
  }

  onSignal(m) {
    if (!this.showSignals || !this.matches(m) || !m.data) return;
    if (m.data.symbol && m.data.symbol !== this.symbol) return;
    this.signals.push(m.data);
    this.renderMarkers();
  }

  renderMarkers() {
    const list = this.fills.map((f) => ({ time: f.ts, side: f.side, id: f.trade_id, text: f.side === "buy" ? "B" : "S" }));
    for (const s of this.signals) {
      if (!s.ts) continue;
      list.push({ time: s.ts, side: s.side || "", shape: "circle", color: "#d2a8ff", text: "" });
    }
    const placed = this.chart.setMarkers(list);
    // a marker newer than the last bar is placed when that bar arrives
    this.markDirty = placed < list.length;
    this.fillMarkers = this.chart.markers.filter((mk) => mk.shape === "arrowUp" || mk.shape === "arrowDown").length;
  }

  stats() {
    return { ...this.chart.stats(), bot: this.bot, symbol: this.symbol, timeframe: this.timeframe,
      fills: this.fills.length, fillMarkers: this.fillMarkers || 0, strategyPlots: this.plots.length,
      indicatorLast: this.indLast ?? null, indicatorLoads: this.indLoads || 0, indicatorUpdates: this.indUpdates || 0 };
  }

  destroy() {
    this.token = null;
    clearTimeout(this.indTimer);
    this.offs.forEach((f) => f());
    this.chart.destroy();
  }
}

/** the latest timestamp (s) with a value in any plot */
function lastTime(plots) {
  let t = null;
  for (const p of plots || []) {
    const v = p.values || [];
    if (v.length) { const s = toSec(v[v.length - 1].timestamp); if (s !== null && (t === null || s > t)) t = s; }
  }
  return t;
}
