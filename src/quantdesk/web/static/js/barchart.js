// ProfitBars: profit per period as an SVG bar chart (green above zero, red below), a y axis with round ticks, the
// period under each bar (thinned when they would overlap) and a tooltip per bar. SVG, not a canvas chart: a
// few dozen bars with labels read better as plain shapes, and every bar is an element the tests can check.
import { fixed, signedMoney } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const UP = "#26a69a";
const DOWN = "#ef5350";

function el(tag, attrs = {}, text = null) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  if (text !== null) e.textContent = text;
  return e;
}

/** round tick step for a span (1, 2, 2.5, 5 x 10^k) giving about `n` ticks */
export function niceStep(span, n = 5) {
  if (!(span > 0)) return 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

export class ProfitBars {
  /** bars: [{label, value, title, key}] */
  constructor(container, { height = 240, id = null, dp = 2 } = {}) {
    this.height = height;
    this.dp = dp;
    this.svg = el("svg", { class: "bars", role: "img", "aria-label": "Profit per period", height, width: "100%",
      preserveAspectRatio: "none", id });
    container.append(this.svg);
    this.bars = [];
    this.resize = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => this.render());
    this.resize?.observe(container);
    this.container = container;
  }

  set(bars, { dp = this.dp } = {}) {
    this.bars = bars;
    this.dp = dp;
    this.render();
  }

  render() {
    const svg = this.svg;
    svg.replaceChildren();
    const width = Math.max(200, Math.floor(this.container.clientWidth || 600));
    const H = this.height;
    svg.setAttribute("viewBox", `0 0 ${width} ${H}`);
    const bars = this.bars;
    svg.style.display = bars.length ? "" : "none"; // no empty frame: the caller says why there is nothing
    if (!bars.length) return;
    const values = bars.map((b) => b.value);
    let lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    if (lo === hi) { hi += 1; lo -= 1; }
    const step = niceStep(hi - lo);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const tickDp = Math.max(0, Math.min(this.dp, -Math.floor(Math.log10(step)) + (step % 1 ? 1 : 0)));
    const labels = [];
    for (let v = lo; v <= hi + step / 2; v += step) labels.push(fixed(v, tickDp));
    const left = 12 + 7 * Math.max(...labels.map((s) => s.length));
    const top = 10;
    const bottom = 26;
    const plotW = width - left - 8;
    const plotH = H - top - bottom;
    const y = (v) => top + ((hi - v) / (hi - lo)) * plotH;
    const grid = el("g", { class: "grid" });
    labels.forEach((text, i) => {
      const v = lo + i * step;
      grid.append(el("line", { x1: left, x2: width - 8, y1: y(v), y2: y(v), stroke: Math.abs(v) < step / 1e6 ? "#57606a" : "#1f2630" }));
      grid.append(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", fill: "#8b949e", "font-size": 11 }, text));
    });
    svg.append(grid);
    const slot = plotW / bars.length;
    const barW = Math.max(1, Math.min(48, slot * 0.7));
    const every = Math.max(1, Math.ceil(bars.length / Math.max(1, Math.floor(plotW / 78))));
    const g = el("g", { class: "bar-set" });
    bars.forEach((b, i) => {
      const x = left + slot * i + (slot - barW) / 2;
      const y0 = y(0);
      const y1 = y(b.value);
      const rect = el("rect", { x, y: Math.min(y0, y1), width: barW, height: Math.max(1, Math.abs(y1 - y0)),
        fill: b.value >= 0 ? UP : DOWN, rx: 2, "data-key": b.key, "data-value": b.value, class: "bar" });
      rect.append(el("title", {}, b.title || `${b.label}: ${signedMoney(b.value, this.dp)}`));
      g.append(rect);
      if (i % every === 0) {
        g.append(el("text", { x: left + slot * i + slot / 2, y: H - 8, "text-anchor": "middle", fill: "#8b949e", "font-size": 11 },
          b.label));
      }
    });
    svg.append(g);
  }

  stats() {
    return { bars: this.bars.length, values: this.bars.map((b) => b.value), keys: this.bars.map((b) => b.key),
      drawn: this.svg.querySelectorAll("rect.bar").length };
  }

  destroy() { this.resize?.disconnect(); this.svg.remove(); }
}
