// SVG charts for ML calibration (no library, no external request): the reliability diagram (mean predicted
// probability vs observed frequency per bin, with the diagonal of perfect calibration) and bars by confidence
// decile next to a no-skill baseline line. Used by the Models and Signals pages.
import { h } from "../ui.js";
import { PALETTE } from "../charts.js";

const NS = "http://www.w3.org/2000/svg";
const W = 360, H = 260, L = 44, R = 12, T = 14, B = 36;
const FIG = { margin: "0", maxWidth: "560px" };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(svg, { xLabel, yLabel, yMin = 0, yMax = 1 }) {
  const x = (v) => L + v * (W - L - R);
  const y = (v) => T + (1 - (v - yMin) / (yMax - yMin)) * (H - T - B);
  svg.append(s("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#30363d" }));
  for (let i = 0; i <= 4; i++) {
    const v = yMin + (i / 4) * (yMax - yMin);
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#21262d" }),
      s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", fill: "#8b949e", "font-size": 10 }, v.toFixed(2)));
  }
  svg.append(s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", fill: "#8b949e", "font-size": 11 }, xLabel),
    s("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", fill: "#8b949e", "font-size": 11,
      transform: `rotate(-90 12 ${(T + H - B) / 2})` }, yLabel));
  return { x, y };
}

/** series: [{name, points: [{mean_predicted, observed, n}]}] -> <figure> with an SVG reliability diagram */
export function reliabilityChart(series, { id = null, title = "Reliability" } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": title, class: "ml-chart" });
  const { x, y } = frame(svg, { xLabel: "predicted probability", yLabel: "observed frequency" });
  for (let i = 0; i <= 4; i++) {
    svg.append(s("text", { x: x(i / 4), y: H - B + 14, "text-anchor": "middle", fill: "#8b949e", "font-size": 10 }, (i / 4).toFixed(2)));
  }
  svg.append(s("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: "#8b949e", "stroke-dasharray": "4 4" }));
  const legend = [];
  series.forEach((ser, k) => {
    const color = PALETTE[k % PALETTE.length];
    const pts = (ser.points || []).filter((p) => p.n > 0 && Number.isFinite(p.mean_predicted) && Number.isFinite(p.observed));
    if (!pts.length) return;
    svg.append(s("polyline", { points: pts.map((p) => `${x(p.mean_predicted)},${y(p.observed)}`).join(" "), fill: "none",
      stroke: color, "stroke-width": 2 }));
    for (const p of pts) {
      const dot = s("circle", { cx: x(p.mean_predicted), cy: y(p.observed), r: 3 + Math.min(4, Math.log10(p.n + 1)), fill: color,
        "data-bin": p.bin });
      dot.append(s("title", {}, `${ser.name}: predicted ${p.mean_predicted.toFixed(3)}, observed ${p.observed.toFixed(3)}, n=${p.n}`));
      svg.append(dot);
    }
    legend.push(h("span", { class: "muted", style: { marginRight: "12px" } }, h("span", { style: { color } }, "● "), ser.name));
  });
  return h("figure", { class: "ml-figure", id, style: FIG }, svg, h("figcaption", {}, legend.length ? legend : "no resolved predictions yet"));
}

/** rows: [{decile, hit_rate, n}] -> bars of the hit rate per confidence decile with the baseline as a line */
export function decileChart(rows, baseline, { id = null, title = "Hit rate by confidence decile" } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": title, class: "ml-chart" });
  const { y } = frame(svg, { xLabel: "confidence decile (1 = least confident)", yLabel: "hit rate" });
  const n = Math.max(1, rows.length);
  const bw = (W - L - R) / n;
  rows.forEach((r, i) => {
    const top = y(Math.max(0, Math.min(1, r.hit_rate)));
    const bar = s("rect", { x: L + i * bw + 3, y: top, width: Math.max(1, bw - 6), height: y(0) - top, fill: PALETTE[1],
      "data-decile": r.decile });
    bar.append(s("title", {}, `decile ${r.decile}: hit rate ${(r.hit_rate * 100).toFixed(1)}% (n=${r.n}, mean confidence ${r.mean_confidence?.toFixed(3)})`));
    svg.append(bar, s("text", { x: L + i * bw + bw / 2, y: H - B + 14, "text-anchor": "middle", fill: "#8b949e", "font-size": 10 }, r.decile));
  });
  if (Number.isFinite(baseline)) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(baseline), y2: y(baseline), stroke: PALETTE[4], "stroke-dasharray": "5 3" }),
      s("text", { x: W - R - 4, y: y(baseline) - 4, "text-anchor": "end", fill: PALETTE[4], "font-size": 10 }, "no-skill"));
  }
  return h("figure", { class: "ml-figure", id, style: FIG }, svg);
}
