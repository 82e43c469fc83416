// Markets layer "Regimes & anomalies": regime background bands (rule quadrant: trend x volatility, computed
// causally on the whole stored history, GET /regimes) and anomaly markers for the bars shown (GET /anomalies/scan:
// robust z-score plus feed-health checks).
import { toSec, isoParam } from "../format.js";

const COLORS = ["rgba(38,166,154,0.10)", "rgba(38,166,154,0.24)", "rgba(239,83,80,0.10)", "rgba(239,83,80,0.24)"];
const state = new WeakMap(); // chart -> {series}

export const regimesLayer = {
  id: "regimes",
  label: "Regimes & anomalies",
  async draw(chart, ctx, view) {
    this.clear(chart);
    const params = { symbol: view.symbol, timeframe: view.timeframe, method: "rules", limit: view.bars };
    if (view.end) params.end = isoParam(view.end);
    const [reg, scan] = await Promise.all([
      ctx.api.get("/regimes", params, { quiet: [400, 404] }),
      ctx.api.get("/anomalies/scan", { symbol: view.symbol, timeframe: view.timeframe, limit: view.bars }, { quiet: [400, 404] }),
    ]);
    if (chart.dead) return;
    const series = chart.chart.addHistogramSeries({ priceScaleId: "regime-bands", lastValueVisible: false,
      priceLineVisible: false, priceFormat: { type: "volume" } });
    chart.chart.priceScale("regime-bands").applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });
    const points = [];
    for (const row of reg.values) {
      const t = toSec(row.timestamp);
      if (t === null || row.regime === null || row.regime === undefined) continue;
      points.push({ time: t, value: 1, color: COLORS[row.regime % COLORS.length] });
    }
    series.setData(points);
    state.set(chart, { series, labels: reg.labels, anomalies: scan.rows.length });
    chart.setMarkers(scan.rows.map((r) => ({ time: r.timestamp, side: "anomaly", shape: "circle", color: "#f0b429",
      text: r.kind.replace("_", " ") })));
    if (ctx.qd) ctx.qd.layers = { ...(ctx.qd.layers || {}), regimes: { bands: points.length, markers: scan.rows.length, labels: reg.labels } };
  },
  clear(chart) {
    const s = state.get(chart);
    if (!s || chart.dead) return;
    chart.chart.removeSeries(s.series);
    chart.setMarkers([]);
    state.delete(chart);
  },
};
