// Markets layer: the shown asset's news sentiment (time-decayed mean score, -1..1) in its own pane, computed
// causally on the chart's own bar times by GET /sentiment/series.
import { isoParam } from "../format.js";

const ID = "layer-sentiment";

export default {
  id: "sentiment",
  label: "Sentiment",
  async draw(chart, ctx, view) {
    if (view.start == null || view.end == null) return;
    const rows = await ctx.api.get("/sentiment/series", {
      symbol: view.symbol, every: /^[1-9][0-9]{0,3}[mhdw]$/.test(view.timeframe) ? view.timeframe : "1h",
      start: isoParam(view.start * 1000), end: isoParam(view.end * 1000),
    }, { quiet: true });
    chart.setIndicator(ID, {
      label: "Sentiment (decayed mean)", outputs: ["mean"], overlay: false, colors: ["#f0b90b"],
      values: (rows || []).map((r) => ({ timestamp: r.ts, mean: r.count > 0 || r.mean !== 0 ? r.mean : null })),
    });
  },
  clear(chart) {
    chart.removeIndicator(ID);
  },
};
