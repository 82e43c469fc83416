// Markets chart layers: extra drawings a feature contributes to the Markets page (regime bands, sentiment pane,
// PowerTrader levels...). Each layer module exports an object
//   { id: "regimes", label: "Regimes", async draw(chart, ctx, view), clear(chart) }
// where `chart` is the page's PriceChart (charts.js: setIndicator/removeIndicator/setMarkers, and `chart.chart`,
// the lightweight-charts instance, for anything else), `ctx` the page context (ctx.api.get(...)) and
// `view` = { symbol, timeframe, start, end, bars } (start/end: epoch seconds of the first/last candle shown).
// The Markets page shows one toggle per layer and calls draw() after every (re)load while it is on.
// Add a layer by importing its module here and appending it to LAYERS.
import { powertraderLayer } from "./powertrader.js";
import { regimesLayer } from "./regimes.js";
import sentiment from "./sentiment.js";

export const LAYERS = [regimesLayer, powertraderLayer, sentiment];
