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
  owner.fitted = true;
  const fit = () => { if (!owner.dead && owner.fitted) owner.chart.timeScale().fitContent(); };
  fit();
  requestAnimationFrame(() => requestAnimationFrame(fit));
}

/** a chart that shows all its data keeps showing all of it when its box is resized (the library keeps the bar
 * spacing, which would cut the run short); scrolling or zooming it by hand ends that. */
function keepFitted(owner, el, { heal = false } = {}) {
  const stop = () => { owner.fitted = false; };
  if (heal) {
    // the plot area can also shrink from inside (a wider price axis): back to all of the data unless moved by hand
    owner.chart.timeScale().subscribeVisibleTimeRangeChange((r) => {
      if (!r || !owner.fitted || owner.dead) return;
      const [first, last] = owner.span();
      if (first !== null && (r.from > first || r.to < last)) {
        requestAnimationFrame(() => { if (owner.fitted && !owner.dead) owner.chart.timeScale().fitContent(); });
      }
    });
  }
  el.addEventListener("wheel", stop, { passive: true });
  el.addEventListener("mousedown", stop);
  el.addEventListener("touchstart", stop, { passive: true });
  if (typeof ResizeObserver === "undefined") return;
  owner.resizeObs = new ResizeObserver(() => {
    if (owner.fitted && !owner.dead) requestAnimationFrame(() => { if (owner.fitted && !owner.dead) owner.chart.timeScale().fitContent(); });
  });
  owner.resizeObs.observe(el);
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
  /** volume: true = bars along the bottom of the price chart on a scale of their own ("vol"), "pane" = in a pane
   * of their own under the price chart (the price axis then spans the candles only), false = none.
   * showAll: keep all the data in view until the user scrolls or zooms (a finished run, not a live feed). */
  constructor(container, { volume = true, precision = 2, tfSeconds = 60, showAll = false } = {}) {
    this.container = container;
    this.precision = precision;
    this.tf = tfSeconds;
    this.mainEl = h("div", { class: "chart chart-lg", role: "img", "aria-label": "Candlestick chart" });
    this.legend = h("div", { class: "chart-legend" });
    this.panesEl = h("div", { class: "panes" });
    container.append(h("div", { class: "chart-wrap" }, this.legend, this.mainEl), this.panesEl);
    this.chart = LWC().createChart(this.mainEl, baseOptions());
    keepFitted(this, this.mainEl, { heal: showAll });
    this.candles = this.chart.addCandlestickSeries({ upColor: UP, downColor: DOWN, borderVisible: false,
      wickUpColor: UP, wickDownColor: DOWN, priceFormat: this.priceFormat() });
    this.volumePane = null;
    if (volume === "pane") {
      const el = h("div", { class: "chart chart-vol", role: "img", "aria-label": "Volume", style: { height: "110px" } });
      const wrap = h("div", { class: "chart-wrap", dataset: { pane: "volume" } }, h("div", { class: "chart-legend" }, "Volume"), el);
      this.panesEl.before(wrap);
      const chart = LWC().createChart(el, baseOptions({ timeScale: { visible: false, borderColor: "#2a3140", minBarSpacing: 0.05 } }));
      this.volume = chart.addHistogramSeries({ priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false });
      chart.timeScale().subscribeVisibleLogicalRangeChange((r) => this.sync(chart, r));
      this.volumePane = { chart, el: wrap };
      this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.06 } });
    } else {
      this.volume = volume ? this.chart.addHistogramSeries({ priceScaleId: "vol", priceFormat: { type: "volume" },
        lastValueVisible: false, priceLineVisible: false }) : null;
      if (this.volume) this.chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
      this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.22 } });
    }
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
    const panes = [...this.indicators.values()].filter((i) => i.pane).map((i) => i.pane.chart);
    for (const c of [this.chart, ...(this.volumePane ? [this.volumePane.chart] : []), ...panes]) {
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

  /** rows -> candles; with `maxBars`, consecutive bars are merged (aggregateBars) so a long run fits the chart */
  setCandles(rows, { maxBars = null } = {}) {
    if (this.dead) return;
    let bars = uniqueSorted(rows.map(PriceChart.bar));
    this.baseTf = this.baseTf || this.tf;
    this.barsPerCandle = 1;
    this.sourceBars = bars.length;
    if (maxBars && bars.length > maxBars) {
      this.barsPerCandle = Math.ceil(bars.length / maxBars);
      bars = aggregateBars(bars, this.barsPerCandle);
    }
    this.tf = this.baseTf * this.barsPerCandle;
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

  /** trade events [{time, kind: "long entry"|"long exit"|"short entry"|"short exit", price}] as markers below /
   * above the candles; events of one kind in one candle (or, when dense, in one bucket of candles) become one
   * marker "×n". Returns {drawn, represented, bucket}: represented = events drawn (every event in range counts). */
  setTradeMarkers(events, { maxMarkers = 200 } = {}) {
    if (this.dead) return { drawn: 0, represented: 0, bucket: 0 };
    const times = this.data.map((b) => b.time);
    const { groups, bucket } = groupMarkers(events.map((e) => ({ ...e, time: this.snap(toSec(e.time)) }))
      .filter((e) => e.time !== null), times, maxMarkers);
    const list = groups.map((g) => {
      const buy = g.kind === "long entry" || g.kind === "short exit";
      const exit = /exit/.test(g.kind);
      return { time: g.time, side: buy ? "buy" : "sell", shape: exit ? "circle" : undefined,
        color: exit ? "#f0b429" : undefined, text: g.count > 1 ? `×${g.count}` : "" };
    });
    const drawn = this.setMarkers(list);
    this.markerInfo = { drawn, represented: groups.reduce((a, g) => a + g.count, 0), bucket,
      groups: groups.map((g) => ({ time: g.time, kind: g.kind, count: g.count })) };
    return this.markerInfo;
  }

  visibleRange() { return this.chart.timeScale().getVisibleRange(); }

  span() { return [this.firstTime(), this.lastTime()]; }

  /** a logarithmic price axis when the prices span `ratio` times or more (a multi-year run: equal moves look
   * equal, and the axis never runs below zero); returns whether it is logarithmic */
  autoLogScale(ratio = 4) {
    const lows = this.data.map((b) => b.low).filter((v) => v > 0);
    const log = lows.length > 0 && Math.max(...this.data.map((b) => b.high)) / Math.min(...lows) >= ratio;
    this.candles.priceScale().applyOptions({ mode: log ? 1 : 0 });
    this.logScale = log;
    return log;
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

  fit() { this.fitted = true; this.chart.timeScale().fitContent(); }

  stats() {
    let series = 1 + (this.volume ? 1 : 0);
    for (const ind of this.indicators.values()) series += ind.series.length;
    return { candles: this.data.length, series, overlays: [...this.indicators.values()].filter((i) => !i.pane).length,
      panes: [...this.indicators.values()].filter((i) => i.pane).length, markers: this.markers.length,
      lastTime: this.lastTime(), firstTime: this.firstTime(), barsPerCandle: this.barsPerCandle || 1,
      priceScale: this.candles.options().priceScaleId || "right",
      volumeScale: this.volume ? (this.volumePane ? "pane" : this.volume.options().priceScaleId) : null,
      volumeOnPriceChart: Boolean(this.volume) && !this.volumePane, visible: this.visibleRange(), logScale: Boolean(this.logScale),
      axisBottom: this.data.length ? this.candles.coordinateToPrice(this.chart.paneSize().height) : null };
  }

  destroy() {
    if (this.dead) return;
    for (const id of [...this.indicators.keys()]) this.removeIndicator(id);
    this.resizeObs?.disconnect();
    if (this.volumePane) { this.volumePane.chart.remove(); this.volumePane.el.remove(); }
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
    keepFitted(this, this.el, { heal: true });
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
    s.span = data.length ? [data[0].time, data[data.length - 1].time] : null;
    s.extremes = data.length ? data.reduce((acc, p) => [Math.min(acc[0], p.value), Math.max(acc[1], p.value)],
      [Infinity, -Infinity]) : null;
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

  stats() {
    const spans = [...this.series.values()].map((s) => s.span).filter(Boolean);
    return { series: this.series.size, points: [...this.series.values()].map((s) => s.count || 0),
      min: spans.length ? Math.min(...[...this.series.values()].map((s) => s.extremes?.[0] ?? Infinity)) : null,
      max: spans.length ? Math.max(...[...this.series.values()].map((s) => s.extremes?.[1] ?? -Infinity)) : null,
      first: spans.length ? Math.min(...spans.map((x) => x[0])) : null,
      last: spans.length ? Math.max(...spans.map((x) => x[1])) : null, visible: this.visibleRange() };
  }

  visibleRange() { return this.chart.timeScale().getVisibleRange(); }

  span() {
    const spans = [...this.series.values()].map((s) => s.span).filter(Boolean);
    return spans.length ? [Math.min(...spans.map((x) => x[0])), Math.max(...spans.map((x) => x[1]))] : [null, null];
  }

  fit() { this.fitted = true; this.chart.timeScale().fitContent(); }

  destroy() {
    this.resizeObs?.disconnect();
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

/** at most about `max` points: per bucket of consecutive points its lowest and its highest (in time order), and
 * the first and last point, so a thinned curve keeps its peaks, its troughs and its whole span. */
export function thin(points, max = 2000) {
  const n = points.length;
  if (n <= max) return points;
  const size = Math.ceil(n / Math.max(1, Math.floor(max / 2)));
  const out = [points[0]];
  for (let i = 0; i < n; i += size) {
    let lo = i;
    let hi = i;
    const end = Math.min(n, i + size);
    for (let j = i; j < end; j++) {
      if (points[j].value < points[lo].value) lo = j;
      if (points[j].value > points[hi].value) hi = j;
    }
    for (const j of lo <= hi ? [lo, hi] : [hi, lo]) {
      if (points[j].time > out[out.length - 1].time) out.push(points[j]);
    }
  }
  if (out[out.length - 1].time < points[n - 1].time) out.push(points[n - 1]);
  return out;
}

/** consecutive bars merged k at a time: first open, highest high, lowest low, last close, summed volume, stamped
 * with the first bar's time (like the HTML report's candles). */
export function aggregateBars(bars, k) {
  if (k <= 1) return bars;
  const out = [];
  for (let i = 0; i < bars.length; i += k) {
    const chunk = bars.slice(i, i + k);
    out.push({ time: chunk[0].time, open: chunk[0].open, high: Math.max(...chunk.map((b) => b.high)),
      low: Math.min(...chunk.map((b) => b.low)), close: chunk[chunk.length - 1].close,
      volume: chunk.reduce((a, b) => a + (b.volume || 0), 0) });
  }
  return out;
}

/** trade events [{time (snapped to a candle), kind, price}] grouped per kind and per candle; when there are more
 * groups than `maxMarkers`, per bucket of 2, 4, 8... candles. Returns {groups: [{time, kind, count, price}],
 * bucket: candles per group (1 = per candle)}. The counts add up to the number of events. */
export function groupMarkers(events, candleTimes, maxMarkers = 200) {
  const index = new Map(candleTimes.map((t, i) => [t, i]));
  const pos = events.map((e) => index.get(e.time) ?? 0);
  const build = (bucket) => {
    const map = new Map();
    events.forEach((e, i) => {
      const key = `${e.kind}|${Math.floor(pos[i] / bucket)}`;
      const g = map.get(key);
      if (g) { g.count += 1; g.sum += Number(e.price) || 0; } else {
        map.set(key, { time: e.time, kind: e.kind, count: 1, sum: Number(e.price) || 0 });
      }
    });
    return [...map.values()].map((g) => ({ time: g.time, kind: g.kind, count: g.count, price: g.sum / g.count }));
  };
  let bucket = 1;
  let groups = build(bucket);
  while (groups.length > maxMarkers && bucket < candleTimes.length) {
    bucket *= 2;
    groups = build(bucket);
  }
  groups.sort((a, b) => a.time - b.time);
  return { groups, bucket };
}

/** keep the visible time range of several charts together: scrolling or zooming one by hand moves the others
 * with it; a chart that shows all its data (not touched by hand) makes the others show all of theirs too (their
 * last points need not share a timestamp, and a resize must not cut the run short). */
export function syncTimeRanges(charts) {
  for (const c of charts) {
    c.chart.timeScale().subscribeVisibleTimeRangeChange((range) => {
      if (!range || c.dead) return;
      for (const o of charts) {
        if (o === c || o.dead) continue;
        try {
          if (c.fitted) { if (!o.fitted) o.fit(); } else { o.fitted = false; o.chart.timeScale().setVisibleRange(range); }
        } catch { /* no data yet */ }
      }
    });
  }
}
