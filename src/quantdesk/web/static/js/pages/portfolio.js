// Portfolio: the selected bot's P&L cards, positions, allocation, profit bars by day / week / month and profit
// per pair, and every bot's balance side by side. The cards are the API's figures as they are
// (GET /paper-trading/account): realized (net of every fee) + unrealized = total = equity - starting cash, so
// they agree with each other, with the positions table (per position: realized net of its fees, unrealized at
// the mark) and with the selected bot's row of the balances table (the same account figures).
import { h, clear, card, kpi, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { PALETTE } from "../charts.js";
import { ProfitBars } from "../barchart.js";
import { fixed, signedMoney, pct, qty, price, num, signClass, precisionOf, currencyDp, quoteOf } from "../format.js";
import { noBot, debounce, instrumentPrecision } from "./common.js";

let prec = 2; // the instrument's price precision (from the marks: candle closes)
let dp = 2; // decimals of the account's currency
const PERIODS = [{ id: "day", label: "Daily" }, { id: "week", label: "Weekly" }, { id: "month", label: "Monthly" }];
const PERIOD_STORE = "qd.profitPeriod";

const money = (v) => fixed(v, dp);
const signed = (v) => signedMoney(v, dp);

/** "2022-01-03" as the bar's label: a day as "Jan 03", a week as "wk Jan 03", a month as "2022-01" */
function periodLabel(period, kind) {
  const d = new Date(`${period}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return period;
  const md = d.toLocaleDateString("en-US", { month: "short", day: "2-digit", timeZone: "UTC" });
  return kind === "month" ? period.slice(0, 7) : kind === "week" ? `wk ${md}` : md;
}

export async function mount(view, ctx) {
  if (!ctx.bot) {
    view.append(noBot(ctx));
    return { poll: 5000, refresh: async () => { if (ctx.bot) ctx.reload(); } };
  }
  const kpis = h("div", { class: "kpis", id: "pf-kpis" });
  const allocBox = h("div", { id: "pf-alloc" });
  const positions = new DataTable({
    id: "pf-positions", csvName: "positions", empty: "No positions yet.", rowKey: "symbol",
    columns: [
      { key: "symbol", label: "Symbol" },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "avg_price", label: "Avg price", num: true, fmt: (v) => price(v, prec) },
      { key: "mark_price", label: "Mark", num: true, fmt: (v) => price(v, prec) },
      { key: "market_value", label: "Market value", num: true, fmt: money },
      { key: "unrealized", label: "Unrealized", num: true, fmt: signed, cls: signClass,
        title: "quantity x (mark - average entry price)" },
      { key: "realized_net", label: "Realized (net)", num: true, fmt: signed, cls: signClass,
        title: "closed quantity's P&L minus every fee paid in this symbol" },
      { key: "fees", label: "Fees", num: true, fmt: money },
    ],
  });
  const balances = new DataTable({
    id: "pf-bots", csvName: "balances", empty: "No bot yet.", rowKey: "bot",
    columns: [
      { key: "bot", label: "Bot" },
      { key: "status", label: "Status" },
      { key: "currency", label: "Currency", title: "the quote currency the bot's money is counted in" },
      { key: "starting_cash", label: "Starting cash", num: true, fmt: (v, r) => fixed(v, r.dp) },
      { key: "cash", label: "Cash", num: true, fmt: (v, r) => fixed(v, r.dp) },
      { key: "equity", label: "Equity", num: true, fmt: (v, r) => fixed(v, r.dp) },
      { key: "total_pnl", label: "Total P&L", num: true, fmt: (v, r) => signedMoney(v, r.dp), cls: signClass },
      { key: "ret", label: "Return", num: true, fmt: (v) => pct(v, 2, true), cls: signClass },
    ],
  });
  const pairs = new DataTable({
    id: "pf-pairs", csvName: "profit-per-pair", empty: "No closed trade yet.", rowKey: "symbol",
    initialSort: { key: "pnl", dir: -1 },
    columns: [
      { key: "symbol", label: "Pair" },
      { key: "pnl", label: "Profit (net)", num: true, fmt: (v, r) => signedMoney(v, currencyDp(quoteOf(r.symbol))), cls: signClass },
      { key: "trades", label: "Trades", num: true },
      { key: "wins", label: "Wins", num: true },
      { key: "win_rate_pct", label: "Win rate", num: true, fmt: (v) => pct(v, 1) },
    ],
  });

  // ---- profit bars with a day / week / month toggle ----
  let period = PERIODS.some((p) => p.id === sessionStorage.getItem(PERIOD_STORE)) ? sessionStorage.getItem(PERIOD_STORE) : "day";
  const toggle = h("div", { class: "seg", role: "radiogroup", "aria-label": "Profit per", id: "pf-period" });
  const segBtns = PERIODS.map((p) => {
    const b = h("button", { type: "button", role: "radio", dataset: { period: p.id }, onclick: () => setPeriod(p.id) }, p.label);
    toggle.append(b);
    return b;
  });
  const barsBox = h("div", { id: "pf-profit" });
  const barsNote = h("p", { class: "muted small", id: "pf-profit-note" });
  const bars = new ProfitBars(barsBox, { id: "pf-profit-bars" });

  view.append(kpis,
    h("div", { class: "grid grid-side" }, card("Positions", positions.el), card("Allocation", allocBox)),
    h("div", { class: "grid grid-profit" },
      card("Profit of closed trades", [barsBox, barsNote], { id: "pf-profit-card", actions: toggle }),
      card("Profit per pair", pairs.el, { id: "pf-pairs-card" })),
    card("Balances (all bots)", balances.el));
  ctx.qd.charts.portfolio = { profit: bars };

  function markSeg() {
    for (const b of segBtns) b.setAttribute("aria-checked", String(b.dataset.period === period));
  }

  async function setPeriod(p) {
    period = p;
    sessionStorage.setItem(PERIOD_STORE, p);
    markSeg();
    await loadProfit();
  }

  async function loadProfit() {
    const bot = ctx.bot;
    const want = period;
    const res = await ctx.api.maybe("/paper-trading/profit", { bot, period: want }, null);
    if (bot !== ctx.bot || want !== period) return;
    const cdp = currencyDp(res?.currency);
    const rows = res?.bars || [];
    bars.set(rows.map((r) => ({ key: r.period, label: periodLabel(r.period, want), value: num(r.pnl),
      title: `${want} of ${r.period}: ${signedMoney(r.pnl, cdp)} ${res.currency || ""} · ${r.trades} trade${r.trades === 1 ? "" : "s"}, ${r.wins} won` })),
    { dp: cdp });
    const total = rows.reduce((s, r) => s + num(r.pnl), 0);
    const n = rows.reduce((s, r) => s + r.trades, 0);
    barsNote.textContent = rows.length
      ? `${n} closed trade${n === 1 ? "" : "s"} in ${rows.length} ${want}${rows.length === 1 ? "" : "s"}: ${signedMoney(total, cdp)} ${res.currency || ""} net of fees (by exit time, UTC${want === "week" ? ", weeks from Monday" : ""})`
      : "No closed trade yet: the bars appear once a trade is closed.";
    barsNote.className = rows.length ? "muted small" : "empty";
    pairs.setRows(res?.pairs || []);
    ctx.qd.data = { ...(ctx.qd.data || {}), profit: res };
  }

  async function refresh() {
    const bot = ctx.bot;
    const [account, pos] = await Promise.all([
      ctx.api.maybe("/paper-trading/account", { bot }, null),
      ctx.api.maybe("/positions", { bot }, []),
    ]);
    if (bot !== ctx.bot || !account) return;
    dp = currencyDp(account.currency);
    const equity = num(account.equity) || 0;
    const marks = new Map((account.positions || []).map((p) => [p.symbol, p]));
    const row = ctx.botRow(bot);
    prec = (await instrumentPrecision(ctx, row?.symbols?.[0], row?.timeframe))
      ?? precisionOf([...(account.positions || []), ...(pos || [])], "mark_price", "avg_price");
    if (bot !== ctx.bot) return;
    const rows = (pos || []).map((p) => {
      const m = marks.get(p.symbol) || {};
      const q = num(p.quantity) || 0;
      const mv = num(m.market_value);
      const avg = num(p.avg_price);
      const mark = num(m.mark_price);
      const unreal = q && avg !== null && mark !== null ? q * (mark - avg) : q ? null : 0;
      return { ...p, mark_price: m.mark_price ?? null, market_value: mv, unrealized: unreal,
        realized_net: num(p.realized_pnl) - (num(p.fees) || 0),
        weight: equity && mv !== null ? (mv / equity) * 100 : null };
    });
    const posValue = num(account.positions_value) || 0;
    const gross = rows.reduce((s, r) => s + Math.abs(r.market_value || 0), 0);
    const cur = account.currency ? ` ${account.currency}` : "";
    ctx.qd.data = { ...(ctx.qd.data || {}), portfolio: { account, positions: rows } };
    clear(kpis,
      kpi("Equity", money(account.equity), { sub: `start ${money(account.starting_cash)}${cur}` }),
      kpi("Cash", money(account.cash), { sub: `positions ${money(posValue)}` }),
      kpi("Total P&L", signed(account.total_pnl), { cls: signClass(account.total_pnl), sub: "equity − starting cash" }),
      kpi("Realized P&L", signed(account.realized_pnl), { cls: signClass(account.realized_pnl),
        sub: `net of fees: gross ${signed(account.realized_pnl_gross)} − fees ${money(account.fees)}` }),
      kpi("Unrealized P&L", signed(account.unrealized_pnl), { cls: signClass(account.unrealized_pnl), sub: "open positions at the mark" }),
      kpi("Fees", money(account.fees), { sub: "paid, all trades" }));
    positions.setRows(rows);
    const parts = [{ label: "Cash", value: Math.max(0, num(account.cash) || 0), color: "#30363d" },
      ...rows.filter((r) => r.market_value).map((r, i) => ({ label: r.symbol, value: Math.abs(r.market_value), color: PALETTE[i % PALETTE.length] }))];
    const total = parts.reduce((s, p) => s + p.value, 0);
    clear(allocBox, total > 0 ? [
      h("div", { class: "alloc-bar", role: "img", "aria-label": "Allocation" },
        parts.map((p) => h("span", { style: { width: `${(p.value / total) * 100}%`, background: p.color }, title: `${p.label} ${pct((p.value / total) * 100)}` }))),
      h("div", { class: "legend" }, parts.map((p) => h("span", {}, h("i", { style: { background: p.color } }), `${p.label} ${pct((p.value / total) * 100, 1)}`))),
      h("dl", { class: "kv", style: { marginTop: "14px" } },
        h("dt", {}, "Starting cash"), h("dd", {}, money(account.starting_cash)),
        h("dt", {}, "Positions value"), h("dd", {}, money(posValue)),
        h("dt", {}, "Total P&L"), h("dd", { class: signClass(account.total_pnl) }, signed(account.total_pnl)),
        h("dt", {}, "Gross exposure"), h("dd", {}, `${pct(equity ? (gross / equity) * 100 : null)} (${money(gross)})`),
        h("dt", {}, "Net exposure"), h("dd", {}, pct(equity ? (posValue / equity) * 100 : null)),
        h("dt", {}, "Source"), h("dd", {}, account.live ? "running engine" : "database")),
    ] : empty("Nothing allocated."));
    balances.setRows(ctx.status.bots.map((b) => balanceRow(b, account)));
  }

  /** a bot's balance: the selected bot's from its account (the cards' figures), a running bot's from its live
   * engine, the others' from their last stored snapshot */
  function balanceRow(b, account) {
    const live = ctx.running(b.bot);
    const src = b.bot === account.bot ? account : live || b;
    const start = num(src.starting_cash ?? b.starting_cash);
    const eq = num(src.equity);
    const total = b.bot === account.bot ? num(account.total_pnl) : eq !== null && start !== null ? eq - start : null;
    return { bot: b.bot, status: live?.status || b.status, starting_cash: start, cash: num(src.cash), equity: eq,
      total_pnl: total, ret: start ? (total / start) * 100 : null, currency: quoteOf((b.symbols || [])[0]),
      dp: currencyDp(quoteOf((b.symbols || [])[0])) };
  }

  markSeg();
  await Promise.all([refresh(), loadProfit()]);
  const soon = debounce(() => { refresh().catch(() => {}); loadProfit().catch(() => {}); }, 1500);
  const off = ctx.ws.on("positions", (m) => { if (m.bot === ctx.bot) soon(); });
  let polls = 0;
  return {
    poll: 5000,
    refresh: async () => { await refresh(); if (++polls % 3 === 0) await loadProfit(); },
    onBot: () => Promise.all([refresh(), loadProfit()]),
    destroy: () => { soon.cancel(); off(); bars.destroy(); delete ctx.qd.charts.portfolio; },
  };
}
