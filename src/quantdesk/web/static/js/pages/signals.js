// Signals: the selected bot's signal history (manual trades, API orders, cancellations, risk actions, simulated
// signals), filterable by source / action / side / status, refreshed live; below it, signal TRACKING for every
// signal (ML or rule-based, any bot or backtest): confidence and realised outcome per signal, the reliability
// diagram and the hit rate by confidence decile next to the no-skill baseline (GET /signal-tracking/...).
import { h, clear, card, badge, kpi, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { qty, price, money, ts, toMs, fixed, pct } from "../format.js";
import { noBot, debounce } from "./common.js";
import { reliabilityChart, decileChart } from "./mlviz.js";

const f3 = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? "—" : fixed(Number(v), 3));

export async function mount(view, ctx) {
  const tracking = await mountTracking(ctx);
  if (!ctx.bot) {
    view.append(noBot(ctx), ...tracking.cards);
    return { poll: 5000, refresh: async () => { if (ctx.bot) ctx.reload(); else await tracking.refresh(); } };
  }
  const table = new DataTable({
    id: "signals-table", csvName: "signals", empty: "No signals yet: manual orders and API trades show up here.", rowKey: "id",
    facets: [{ key: "source", label: "Source" }, { key: "action", label: "Action" }, { key: "side", label: "Side" }, { key: "status", label: "Status" }],
    initialSort: { key: "ts", dir: -1 },
    columns: [
      { key: "ts", label: "Time (bar)", fmt: ts, sortValue: (r) => toMs(r.ts), csvValue: (r) => ts(r.ts) },
      { key: "seq", label: "#", num: true },
      { key: "source", label: "Source" },
      { key: "action", label: "Action" },
      { key: "symbol", label: "Symbol", fmt: (v) => v || "—" },
      { key: "side", label: "Side", fmt: (v) => (v ? badge(v) : "—") },
      { key: "order_type", label: "Type" },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "notional", label: "Notional", num: true, fmt: money },
      { key: "price", label: "Price", num: true, fmt: (v) => price(v, 2) },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "client_order_id", label: "Order id" },
      { key: "reason", label: "Reason" },
    ],
  });
  const title = h("span", { class: "muted" }, ctx.bot);
  view.append(card("Signal history", table.el, { actions: title }), ...tracking.cards);

  async function refresh() {
    await tracking.refresh();
    const bot = ctx.bot;
    const rows = await ctx.api.maybe("/signals", { bot }, []);
    if (bot !== ctx.bot) return;
    title.textContent = bot;
    table.setRows(rows || []);
    ctx.qd.data = { ...(ctx.qd.data || {}), signals: rows };
  }
  await refresh();
  const soon = debounce(() => refresh().catch(() => {}), 800);
  const off = ctx.ws.on("signals", (m) => { if (!m.bot || m.bot === ctx.bot) soon(); });
  return { poll: 5000, refresh, onBot: refresh, destroy: () => { soon.cancel(); off(); } };
}

/** Tracked signals with outcomes + calibration report: cards and their refresh. */
async function mountTracking(ctx) {
  const table = new DataTable({
    id: "tracked-table", csvName: "tracked-signals", rowKey: "id", initialSort: { key: "ts", dir: -1 }, maxHeight: "420px",
    empty: "No tracked signal yet: `quantdesk signals track-backtest --store`, or POST /signal-tracking/validate.",
    facets: [{ key: "source", label: "Source" }, { key: "symbol", label: "Symbol" }, { key: "status", label: "Outcome" }],
    columns: [
      { key: "ts", label: "Time (bar)", fmt: ts, sortValue: (r) => toMs(r.time), value: (r) => r.time },
      { key: "source", label: "Source" },
      { key: "symbol", label: "Symbol" },
      { key: "timeframe", label: "TF" },
      { key: "direction", label: "Direction", fmt: (v) => badge(v > 0 ? "long" : "short") },
      { key: "confidence", label: "Confidence", num: true, fmt: f3 },
      { key: "price", label: "Price", num: true, fmt: (v) => price(v, 2) },
      { key: "horizon", label: "Horizon", num: true },
      { key: "status", label: "Outcome", fmt: (v, r) => (v === "resolved" ? badge(r.hit ? "hit" : "miss") : badge("pending")) },
      { key: "ret", label: "Return", num: true, fmt: (v) => (v === null || v === undefined ? "—" : pct(Number(v) * 100, 2, true)) },
      { key: "resolved_by", label: "Resolved by", fmt: (v) => v || "—" },
    ],
  });
  const kpis = h("div", { class: "kpis", id: "tracking-kpis" });
  const charts = h("div", { class: "grid grid-2", id: "tracking-charts" });
  const cards = [card("Tracked signals and outcomes", table.el),
    card("Confidence vs outcome (calibration)", [kpis, charts])];

  async function refresh() {
    const [rows, acc] = await Promise.all([
      ctx.api.get("/signal-tracking/signals", { limit: 2000 }, { quiet: true }).catch(() => null),
      ctx.api.get("/signal-tracking/accuracy", null, { quiet: true }).catch(() => null)]);
    if (rows) table.setRows(rows);
    if (acc) render(acc);
    ctx.qd.data = { ...(ctx.qd.data || {}), tracking: { rows, accuracy: acc } };
  }

  function render(acc) {
    const o = acc.overall || {};
    clear(kpis,
      kpi("Resolved", String(o.resolved ?? 0), { sub: `${o.pending ?? 0} pending` }),
      kpi("Hit rate", f3(o.hit_rate), { sub: `no-skill ${f3(o.baseline_hit_rate)}` }),
      kpi("Brier", f3(o.brier), { sub: `baseline ${f3(o.baseline_brier)}` }),
      kpi("ECE", f3(o.ece), { sub: (acc.drift || []).some((d) => d.drifted) ? "drift!" : "calibration error" }),
      kpi("Spearman", f3(o.spearman?.rho), { sub: "confidence vs return" }));
    clear(charts, o.reliability ? reliabilityChart([{ name: "all tracked signals", points: o.reliability }],
      { id: "tracking-reliability" }) : empty("No signal with a confidence resolved yet."),
    o.deciles?.length ? decileChart(o.deciles, o.baseline_hit_rate, { id: "tracking-deciles" }) : empty("—"));
  }

  await refresh();
  return { cards, refresh };
}
