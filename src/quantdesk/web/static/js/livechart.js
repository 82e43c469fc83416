// BotChart: a PriceChart that follows a paper bot: its candles up to the bot's current bar, then every bar it
// trades on (WebSocket "candles"), its fills as ▲/▼ markers ("trades" channel, type Fill) and, optionally, its
// manual/API signals as circles. A replay bot trades history, so the window ends at the bot's clock, not now.
import { PriceChart } from "./charts.js";
import { inferPrecision, isoParam, symbolOf, tfSeconds, toSec } from "./format.js";

export class BotChart {
  constructor(container, ctx, { bars = 300, onStatus = null, showSignals = true } = {}) {
    this.ctx = ctx;
    this.bars = bars;
    this.onStatus = onStatus || (() => {});
    this.showSignals = showSignals;
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
      this.signals = (signals || []).filter((s) => !s.symbol || s.symbol === this.symbol);
      let end = this.ctx.lastBar?.[name] ?? null;
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
    if (bars.length) this.renderMarkers();
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
    if (this.chart.update(d)) this.lastPrice = d.close;
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
      fills: this.fills.length, fillMarkers: this.fillMarkers || 0 };
  }

  destroy() {
    this.token = null;
    this.offs.forEach((f) => f());
    this.chart.destroy();
  }
}
