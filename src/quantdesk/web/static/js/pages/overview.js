// Overview: what the selected bot is doing in words (what it replays, from when, how fast, where it is now),
// equity curve, today's P&L, open positions, risk state (ACTIVE/HALTED) with the risk engine's decisions (orders
// denied or sized down, by rule) when there are any, recent alerts.
import { h, clear, card, kpi, badge, empty, progress } from "../ui.js";
import { LineChart } from "../charts.js";
import { DataTable } from "../tables.js";
import { money, signedMoney, pct, qty, price, ts, num, signClass, precisionOf, currencyDp, quoteOf } from "../format.js";
import { noBot, debounce, describeReplay, replayProgress, riskDecisions, riskDecisionsText, instrumentPrecision } from "./common.js";

let posPrec = 2; // the instrument's price precision (from the positions' prices)
let cdp = 2; // decimals of the bot's quote currency (8 for a BTC-quoted pair)
const m = (v) => money(v, cdp);
const sm = (v) => signedMoney(v, cdp);

export async function mount(view, ctx) {
  if (!ctx.bot) {
    view.append(noBot(ctx));
    return { poll: 5000, refresh: async () => { if (ctx.bot) ctx.reload(); }, onBot: () => ctx.refreshStatus() };
  }
  const kpis = h("div", { class: "kpis", id: "overview-kpis" });
  const chartBody = h("div", { id: "overview-equity" });
  const riskBody = h("div", { id: "overview-risk" });
  const alertsBody = h("div", { id: "overview-alerts" });
  const positions = new DataTable({
    id: "overview-positions", csvName: "positions", empty: "No open positions yet.", rowKey: "symbol",
    columns: [
      { key: "symbol", label: "Symbol" },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "avg_price", label: "Avg price", num: true, fmt: (v) => price(v, posPrec) },
      { key: "cost", label: "Cost", num: true, fmt: m },
      { key: "realized_net", label: "Realized (net)", num: true, value: (r) => (num(r.realized_pnl) ?? 0) - (num(r.fees) ?? 0),
        fmt: sm, cls: signClass, title: "closed quantity's P&L minus every fee paid in this symbol (as on Portfolio)" },
    ],
  });
  const replayBox = h("section", { class: "card replay", id: "overview-replay", "aria-label": "What is running" });
  view.append(
    replayBox,
    kpis,
    h("div", { class: "grid grid-side" },
      card("Equity", chartBody, { actions: h("span", { class: "muted", id: "overview-bot" }, ctx.bot) }),
      card("Risk state", riskBody)),
    h("div", { class: "grid grid-2" },
      card("Open positions", positions.el),
      card("Recent alerts", alertsBody, { actions: h("a", { href: "#/alerts" }, "All alerts →") })));
  const equity = new LineChart(chartBody, { precision: 2 });
  ctx.qd.charts.overview = { equity };

  async function refresh() {
    const bot = ctx.bot;
    const [perf, pos, risk, alerts] = await Promise.all([
      ctx.api.maybe("/paper-trading/performance", { bot }, null),
      ctx.api.maybe("/positions", { bot }, []),
      ctx.api.get("/risk/state", null, { quiet: true }).catch(() => []),
      ctx.api.get("/alerts", { limit: 8 }, { quiet: true }).catch(() => []),
    ]);
    if (bot !== ctx.bot) return;
    const run = ctx.running(bot);
    const row = ctx.botRow(bot);
    const rs = risk.find((r) => r.bot === bot);
    const limits = row?.config?.risk === true ? await ctx.once("/risk/limits").catch(() => null) : null;
    if (bot !== ctx.bot) return;
    const decisions = riskDecisions(run, row, limits);
    cdp = currencyDp(quoteOf(row?.symbols?.[0]));
    renderReplay(row, run);
    const state = rs ? rs.state : "—";
    const open = (pos || []).filter((p) => num(p.quantity));
    ctx.qd.data = { ...(ctx.qd.data || {}), overview: { perf, positions: open, risk: rs, alerts } };
    clear(kpis,
      kpi("Equity", m(perf?.equity ?? row?.equity), { sub: `start ${m(perf?.starting_cash ?? row?.starting_cash)}` }),
      kpi("Today's P&L", sm(perf?.today_pnl), { cls: signClass(perf?.today_pnl), id: "kpi-today",
        sub: perf?.daily_pnl?.length ? `bar day ${perf.daily_pnl[perf.daily_pnl.length - 1].date}` : "" }),
      kpi("Total return", pct(perf?.total_return_pct, 2, true), { cls: signClass(perf?.total_return_pct) }),
      kpi("Max drawdown", pct(perf?.max_drawdown_pct)),
      kpi("Trades", String(perf?.trades ?? "—"), { sub: perf?.win_rate_pct != null ? `win rate ${pct(perf.win_rate_pct, 1)}` : "no closed trade" }),
      kpi("Risk", badge(state, "badge-lg"), { id: "kpi-risk", sub: run ? `${run.status} · bar ${run.bars}/${run.bars_total}` : row?.status || "" }));
    const pts = (perf?.equity_curve || []).map((p) => ({ ts: p.ts, value: p.equity }));
    if (pts.length) equity.set("equity", pts, { area: true, color: "#388bfd" });
    posPrec = (await instrumentPrecision(ctx, row?.symbols?.[0], row?.timeframe)) ?? precisionOf(open, "avg_price");
    if (bot !== ctx.bot) return;
    positions.setRows(open);
    clear(riskBody,
      h("div", { style: { display: "flex", alignItems: "center", gap: "12px", marginBottom: "12px" } },
        badge(state, "badge-lg"), h("span", { class: "muted" }, rs?.halted_reason || (rs ? "no halt" : "bot not running"))),
      decisions.length ? h("div", { id: "overview-risk-decisions", class: "risk-decisions" },
        h("p", { class: "small" }, h("strong", {}, "Risk engine: "), riskDecisionsText(decisions)),
        h("p", { class: "muted small" }, h("a", { href: "#/bots" }, "per rule on Live trading →"))) : null,
      risk.length ? h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", {}, "Bot"), h("th", {}, "State"), h("th", { class: "num" }, "Equity"))),
        h("tbody", {}, risk.map((r) => h("tr", {}, h("td", {}, r.bot), h("td", {}, badge(r.state)), h("td", { class: "num" }, money(r.equity))))))
        : empty("No bot running on this node."),
      h("p", {}, h("a", { href: "#/risk" }, "Limits, VaR and controls →")));
    clear(alertsBody, alerts.length
      ? h("ul", { class: "feed" }, alerts.map((a) => h("li", {}, h("span", { class: "time" }, ts(a.ts)),
        h("span", {}, a.title || a.kind, h("span", { class: "muted" }, a.text ? ` · ${a.text}` : "")), badge(a.severity))))
      : empty("No alerts yet."));
  }

  function renderReplay(row, run) {
    if (!row) { clear(replayBox, empty("No bot selected.")); return; }
    const frac = run?.bars_total ? run.bars / run.bars_total : null;
    ctx.qd.data = { ...(ctx.qd.data || {}), replay: describeReplay(row, run) };
    clear(replayBox,
      h("div", { class: "replay-head" },
        h("p", { class: "replay-text", id: "overview-replay-text" }, describeReplay(row, run)),
        h("span", { class: "muted small", id: "overview-replay-progress" }, replayProgress(row, run))),
      frac !== null ? progress(frac) : null,
      h("p", { class: "muted small" }, `${row.strategy}${row.config?.params ? ` ${paramsText(row.config.params)}` : ""} trades them `
        + `as if they were live, with paper money (${m(row.starting_cash)} ${quoteOf(row.symbols?.[0])} to start); fills, equity and risk below.`));
  }

  await refresh();
  const soon = debounce(() => refresh().catch(() => {}), 1500);
  const offs = [ctx.ws.on("trades", (m) => { if (m.bot === ctx.bot) soon(); }), ctx.ws.on("alerts", soon)];
  return {
    poll: 5000,
    refresh,
    onBot: () => { equity.clear(); document.getElementById("overview-bot").textContent = ctx.bot; refresh(); },
    destroy: () => { soon.cancel(); offs.forEach((f) => f()); equity.destroy(); delete ctx.qd.charts.overview; },
  };
}

function paramsText(params) {
  const items = Object.entries(params || {});
  return items.length ? `(${items.map(([k, v]) => `${k} ${v}`).join(", ")})` : "";
}
