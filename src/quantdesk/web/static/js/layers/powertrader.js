// PowerTrader levels on the Markets chart, drawn like the original's chart: each timeframe's lower bound (greens,
// the LONG side) and upper bound (reds, the SHORT side) as lines. The coin's trained memory is used when the
// coin (the symbol's base, e.g. BTC for BTC/USDT) was trained; else the improved model trains on the bars shown.
import { isoParam } from "../format.js";

const TFS = ["1hour", "2hour", "4hour", "8hour", "12hour", "1day", "1week"];
const GREENS = ["#b7f5c8", "#8ee6a8", "#5fd38a", "#3fb950", "#2ea043", "#238636", "#196c2e"];
const REDS = ["#ffc9c5", "#ffa8a2", "#ff8a82", "#ff7b72", "#f85149", "#da3633", "#b62324"];

let shown = null; // the page context of the last draw (to report a clear)

export const powertraderLayer = {
  id: "powertrader",
  label: "PowerTrader levels",
  async draw(chart, ctx, view) {
    const coin = (view.symbol || "").split("/")[0].replace(/[^A-Za-z0-9._-]/g, "");
    const limit = Math.max(10, Math.min(Number(view.bars) || chart.data.length || 500, 20000));
    const res = await ctx.api.get("/training/levels", { coin: coin || undefined, symbol: view.symbol,
      timeframe: view.timeframe, limit, end: view.end ? isoParam(view.end) : undefined });
    const values = res.time.map((t, i) => {
      const row = { timestamp: t };
      for (const tf of TFS) {
        row[`lower_${tf}`] = res[`lower_${tf}`][i];
        row[`upper_${tf}`] = res[`upper_${tf}`][i];
      }
      return row;
    });
    const lower = chart.setIndicator("pt-lower", { label: "PowerTrader lower bounds", outputs: TFS.map((tf) => `lower_${tf}`),
      values, overlay: true, colors: GREENS });
    const upper = chart.setIndicator("pt-upper", { label: "PowerTrader upper bounds", outputs: TFS.map((tf) => `upper_${tf}`),
      values, overlay: true, colors: REDS });
    const last = res.long.length - 1;
    const points = TFS.reduce((n, tf) => n + res[`lower_${tf}`].filter((v) => v !== null).length, 0);
    shown = ctx;
    ctx.qd.data = { ...(ctx.qd.data || {}), powertrader: { memory: res.memory, long: res.long[last], short: res.short[last],
      bars: res.time.length, lines: lower.length + upper.length, points, cleared: false } };
  },
  clear(chart) {
    chart.removeIndicator("pt-lower");
    chart.removeIndicator("pt-upper");
    if (shown?.qd.data?.powertrader) shown.qd.data.powertrader.cleared = true;
  },
};
