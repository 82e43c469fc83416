// Charts on TradingView lightweight-charts 4.2.3 (vendored standalone build: window.LightweightCharts).
// PriceChart: candles + volume, indicator overlays, indicator panes (stacked charts with a synced time scale),
// fill/signal/trade markers, live bar updates. LineChart: equity / drawdown curves, several series to compare.
import { fixed, price as fmtPrice, toSec, ts as fmtTs, compact } from "./format.js";
import { h } from "./ui.js";

const LWC = () => window.LightweightCharts;
export const PALETTE = ["#f0b429", "#58a6ff", "#d2a8ff", "#3fb950", "#ff7b72", "#39c5cf", "#e3b341", "#a5d6ff", "#ffa657"];
export const UP = "#26a69a";
export const DOWN = "#ef5350";

function baseOptions(extra = {}) {
  return {
    autoSize: true,
    layout: { background: { type: "solid", color: "#161b22" }, textColor: "#8b949e", fontSize: 11,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
    grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
    rightPriceScale: { borderColor: "#2a3140" },
    timeScale: { borderColor: "#2a3140", timeVisible: true, secondsVisible: false, minBarSpacing: 0.05 },
    crosshair: { mode: 0 },
    localization: { timeFormatter: (t) => fmtTs(t) },
    ...extra,
  };
}

/** fit the time scale now and once the container has its final size (autoSize resizes a frame later) */
function refit(owner) {
  const fit = () => { if (!owner.dead) owner.chart.timeScale().fitContent(); };
  fit();
  requestAnimationFrame(() => requestAnimationFrame(fit));
}

function uniqueSorted(points) {
  // strictly ascending unique times (the last value of a duplicated time wins), as the library requires
  const out = [];
  for (const p of points) {
    if (p.time === null || p.time === undefined) continue;
    if (out.length && out[out.length - 1].time === p.time) out[out.length - 1] = p;
    else if (!out.length || out[out.length - 1].time < p.time) out.push(p);
  }
  return out;
}

export class PriceChart {
  constructor(container, { volume = true, precision = 2, tfSeconds = 60 } = {}) {
    this.container = container;
    this.precision = precision;
    this.tf = tfSeconds;
    this.mainEl = h("div", { class: "chart chart-lg", role: "img", "aria-label": "Candlestick chart" });
    this.legend = h("div", { class: "chart-legend" });
    this.panesEl = h("div", { class: "panes" });
    container.append(h("div", { class: "chart-wrap" }, this.legend, this.mainEl), this.panesEl);
    this.chart = LWC().createChart(this.mainEl, baseOptions());
    this.candles = this.chart.addCandlestickSeries({ upColor: UP, downColor: DOWN, borderVisible: false,
      wickUpColor: UP, wickDownColor: DOWN, priceFormat: this.priceFormat() });
    this.volume = volume ? this.chart.addHistogramSeries({ priceScaleId: "vol", priceFormat: { type: "volume" },
      lastValueVisible: false, priceLineVisible: false }) : null;
    if (this.volume) this.chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.22 } });
    this.data = [];
    this.times = new Set();
    this.indicators = new Map(); // id -> {series: [], pane: {chart, el} | null}
    this.markers = [];
    this.syncing = false;
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((r) => this.sync(this.chart, r));
    this.chart.subscribeCrosshairMove((p) => this.showLegend(p));
  }

  priceFormat() {
    return { type: "price", precision: this.precision, minMove: 1 / 10 ** this.precision };
  }

  setPrecision(p) {
    this.precision = p;
    this.candles.applyOptions({ priceFormat: this.priceFormat() });
  }

  sync(source, range) {
    if (this.syncing || !range) return;
    this.syncing = true;
    for (const c of [this.chart, ...[...this.indicators.values()].filter((i) => i.pane).map((i) => i.pane.chart)]) {
      if (c !== source) c.timeScale().setVisibleLogicalRange(range);
    }
    this.syncing = false;
  }

  showLegend(p) {
    const bar = p && p.time ? p.seriesData.get(this.candles) : this.data[this.data.length - 1];
    if (!bar) { this.legend.textContent = ""; return; }
    const cls = bar.close >= bar.open ? "up" : "down";
    // the hovered candle comes without volume (a separate series): take it from our own data
    const volume = bar.volume ?? this.data.find((d) => d.time === bar.time)?.volume;
    const parts = [
      h("span", {}, fmtTs(bar.time), "  "),
      h("span", { class: cls }, `O ${fmtPrice(bar.open, this.precision)} H ${fmtPrice(bar.high, this.precision)} `
        + `L ${fmtPrice(bar.low, this.precision)} C ${fmtPrice(bar.close, this.precision)}`)];
    if (volume !== undefined) parts.push(h("span", {}, `  V ${compact(volume)}`));
    this.legend.replaceChildren(...parts); // (replaceChildren would print a null child as "null")
  }

  static bar(row) {
    return { time: toSec(row.timestamp ?? row.ts ?? row.ts_ns ?? row.time), open: Number(row.open), high: Number(row.high),
      low: Number(row.low), close: Number(row.close), volume: Number(row.volume ?? 0) };
  }

  setCandles(rows) {
    if (this.dead) return;
    const bars = uniqueSorted(rows.map(PriceChart.bar));
    this.data = bars;
    this.times = new Set(bars.map((b) => b.time));
    this.candles.setData(bars);
    if (this.volume) {
      this.volume.setData(bars.map((b) => ({ time: b.time, value: b.volume,
        color: b.close >= b.open ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)" })));
    }
    for (const ind of this.indicators.values()) {
      if (ind.pane) ind.pane.base.setData(bars.map((b) => ({ time: b.time })));
    }
    this.showLegend(null);
    refit(this);
  }

  /** a live bar: appended (or the last one updated); older bars are ignored. True when applied. */
  update(row) {
    if (this.dead) return false;
    const b = PriceChart.bar(row);
    const last = this.data[this.data.length - 1];
    if (b.time === null || (last && b.time < last.time)) return false;
    if (last && b.time === last.time) this.data[this.data.length - 1] = b;
    else { this.data.push(b); this.times.add(b.time); }
    this.candles.update(b);
    if (this.volume) this.volume.update({ time: b.time, value: b.volume,
      color: b.close >= b.open ? "rgba(38,166,154,.45)" : "rgba(239,83,80,.45)" });
    for (const ind of this.indicators.values()) if (ind.pane) ind.pane.base.update({ time: b.time });
    this.showLegend(null);
    return true;
  }

  lastTime() { return this.data.length ? this.data[this.data.length - 1].time : null; }
  firstTime() { return this.data.length ? this.data[0].time : null; }

  /** indicator values {timestamp, out1, out2...}: lines on the price chart (overlay) or in a pane of their own */
  setIndicator(id, { label, outputs, values, overlay, colors = null }) {
    if (this.dead) return [];
    this.removeIndicator(id);
    const n = this.indicators.size;
    let target = this.chart;
    let pane = null;
    if (!overlay) {
      const el = h("div", { class: "chart chart-pane", role: "img", "aria-label": `${label} pane` });
      const title = h("div", { class: "chart-legend" }, label);
      const wrap = h("div", { class: "chart-wrap", dataset: { pane: id } }, title, el);
      this.panesEl.append(wrap);
      const chart = LWC().createChart(el, baseOptions({ timeScale: { visible: true, borderColor: "#2a3140", timeVisible: true, minBarSpacing: 0.05 } }));
      const base = chart.addLineSeries({ visible: false, lastValueVisible: false, priceLineVisible: false });
      base.setData(this.data.map((b) => ({ time: b.time })));
      chart.timeScale().subscribeVisibleLogicalRangeChange((r) => this.sync(chart, r));
      pane = { chart, el: wrap, base };
      target = chart;
    }
    const series = outputs.map((out, i) => {
      const color = (colors && colors[i]) || PALETTE[(n + i) % PALETTE.length];
      const isHist = !overlay && /hist/i.test(out);
      const s = isHist ? target.addHistogramSeries({ color, priceLineVisible: false, lastValueVisible: false })
        : target.addLineSeries({ color, lineWidth: 2, priceLineVisible: false, lastValueVisible: !overlay || i === 0,
          title: overlay ? "" : out, crosshairMarkerVisible: false });
      s.setData(this.indicatorPoints(values, out, isHist));
      s.output = out;
      s.color = color;
      return s;
    });
    this.indicators.set(id, { series, pane, label, overlay, outputs });
    if (pane) {
      const range = this.chart.timeScale().getVisibleLogicalRange();
      if (range) pane.chart.timeScale().setVisibleLogicalRange(range);
    }
    return series.map((s) => s.color);
  }

  indicatorPoints(values, out, hist = false) {
    return uniqueSorted(values.map((v) => {
      const t = toSec(v.timestamp);
      const y = v[out];
      if (y === null || y === undefined || !Number.isFinite(Number(y))) return { time: t };
      return hist ? { time: t, value: Number(y), color: Number(y) >= 0 ? "rgba(38,166,154,.6)" : "rgba(239,83,80,.6)" }
        : { time: t, value: Number(y) };
    }));
  }

  /** live refresh of an indicator: the last values updated / appended. */
  updateIndicator(id, values) {
    if (this.dead) return;
    const ind = this.indicators.get(id);
    if (!ind) return;
    for (const s of ind.series) {
      for (const p of this.indicatorPoints(values, s.output, s.seriesType() === "Histogram")) {
        try { s.update(p); } catch { /* older than the last point */ }
      }
    }
  }

  removeIndicator(id) {
    const ind = this.indicators.get(id);
    if (!ind) return;
    if (ind.pane) {
      ind.pane.chart.remove();
      ind.pane.el.remove();
    } else {
      for (const s of ind.series) this.chart.removeSeries(s);
    }
    this.indicators.delete(id);
  }

  /** markers: [{time (any), side: buy|sell|long|exit, text}] snapped to the bar that contains them. */
  setMarkers(list) {
    if (this.dead) return 0;
    const snapped = [];
    for (const m of list) {
      let t = toSec(m.time);
      if (t === null) continue;
      t = this.snap(t);
      if (t === null) continue;
      const buy = /buy|long|entry/i.test(m.side || "");
      snapped.push({ time: t, position: buy ? "belowBar" : "aboveBar", color: m.color || (buy ? UP : DOWN),
        shape: m.shape || (buy ? "arrowUp" : "arrowDown"), text: m.text || "", id: m.id });
    }
    snapped.sort((a, b) => a.time - b.time);
    this.markers = snapped;
    this.candles.setMarkers(snapped);
    return snapped.length;
  }

  snap(t) {
    if (!this.data.length) return null;
    if (this.times.has(t)) return t;
    const first = this.data[0].time;
    const last = this.data[this.data.length - 1].time;
    if (t < first || t > last + this.tf) return null;
    // binary search: the bar at or before t
    let lo = 0;
    let hi = this.data.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.data[mid].time <= t) lo = mid; else hi = mid - 1;
    }
    return this.data[lo].time;
  }

  fit() { this.chart.timeScale().fitContent(); }

  stats() {
    let series = 1 + (this.volume ? 1 : 0);
    for (const ind of this.indicators.values()) series += ind.series.length;
    return { candles: this.data.length, series, overlays: [...this.indicators.values()].filter((i) => !i.pane).length,
      panes: [...this.indicators.values()].filter((i) => i.pane).length, markers: this.markers.length,
      lastTime: this.lastTime() };
  }

  destroy() {
    if (this.dead) return;
    for (const id of [...this.indicators.keys()]) this.removeIndicator(id);
    this.chart.remove();
    this.dead = true;
  }
}

export class LineChart {
  constructor(container, { height = "chart", percent = false, precision = 2 } = {}) {
    this.el = h("div", { class: height, role: "img", "aria-label": "Line chart" });
    this.legend = h("div", { class: "chart-legend" });
    container.append(h("div", { class: "chart-wrap" }, this.legend, this.el));
    this.percent = percent;
    this.chart = LWC().createChart(this.el, baseOptions({
      localization: { timeFormatter: (t) => fmtTs(t), priceFormatter: (v) => (percent ? `${fixed(v, 2)}%` : fixed(v, precision)) },
    }));
    this.series = new Map();
  }

  /** points [{ts|time, value}] */
  set(name, points, { color = PALETTE[this.series.size % PALETTE.length], area = false, negative = false } = {}) {
    if (this.dead) return 0;
    let s = this.series.get(name);
    if (!s) {
      s = area
        ? this.chart.addAreaSeries({ lineColor: color, topColor: negative ? "rgba(239,83,80,.05)" : `${color}55`,
          bottomColor: negative ? "rgba(239,83,80,.35)" : `${color}05`, lineWidth: 2, priceLineVisible: false,
          invertFilledArea: negative })
        : this.chart.addLineSeries({ color, lineWidth: 2, priceLineVisible: false });
      this.series.set(name, s);
    }
    const data = uniqueSorted(points.map((p) => ({ time: toSec(p.time ?? p.ts ?? p.timestamp), value: Number(p.value) }))
      .filter((p) => Number.isFinite(p.value)));
    s.setData(data);
    s.count = data.length;
    refit(this);
    s.legendColor = color;
    if (this.series.size > 1) {
      this.legend.replaceChildren(...[...this.series.entries()].map(([k, v]) => h("span", { style: { marginRight: "12px" } },
        h("span", { style: { color: v.legendColor } }, "■ "), k)));
    }
    return data.length;
  }

  clear() {
    if (this.dead) return;
    for (const s of this.series.values()) this.chart.removeSeries(s);
    this.series.clear();
    this.legend.textContent = "";
  }

  stats() { return { series: this.series.size, points: [...this.series.values()].map((s) => s.count || 0) }; }

  destroy() {
    if (!this.dead) this.chart.remove();
    this.dead = true;
  }
}

/** drawdown in percent (negative) from an equity curve [{time, value}]. */
export function drawdown(points) {
  let peak = -Infinity;
  return points.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: peak > 0 ? (p.value / peak - 1) * 100 : 0 };
  });
}
