// Portfolio: the selected bot's balances, positions with realized / unrealized P&L, allocation and exposure, and
// every bot's balance side by side.
import { h, clear, card, kpi, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { PALETTE } from "../charts.js";
import { money, signedMoney, pct, qty, price, num, signClass, precisionOf } from "../format.js";
import { noBot, debounce } from "./common.js";

let prec = 2; // the instrument's price precision (from the marks: candle closes)

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
      { key: "unrealized", label: "Unrealized P&L", num: true, fmt: signedMoney, cls: signClass },
      { key: "realized_pnl", label: "Realized P&L", num: true, fmt: signedMoney, cls: signClass },
      { key: "fees", label: "Fees", num: true, fmt: money },
      { key: "weight", label: "Weight", num: true, fmt: (v) => pct(v) },
    ],
  });
  const balances = new DataTable({
    id: "pf-bots", csvName: "balances", empty: "No bot yet.", rowKey: "bot",
    columns: [
      { key: "bot", label: "Bot" },
      { key: "status", label: "Status" },
      { key: "starting_cash", label: "Starting cash", num: true, fmt: money },
      { key: "cash", label: "Cash", num: true, fmt: money },
      { key: "equity", label: "Equity", num: true, fmt: money },
      { key: "ret", label: "Return", num: true, fmt: (v) => pct(v, 2, true), cls: signClass },
    ],
  });
  view.append(kpis,
    h("div", { class: "grid grid-side" }, card("Positions", positions.el), card("Allocation", allocBox)),
    card("Balances (all bots)", balances.el));

  async function refresh() {
    const bot = ctx.bot;
    const [account, pos] = await Promise.all([
      ctx.api.maybe("/paper-trading/account", { bot }, null),
      ctx.api.maybe("/positions", { bot }, []),
    ]);
    if (bot !== ctx.bot || !account) return;
    const equity = num(account.equity) || 0;
    const marks = new Map((account.positions || []).map((p) => [p.symbol, p]));
    prec = precisionOf(account.positions, "mark_price");
    const rows = (pos || []).map((p) => {
      const m = marks.get(p.symbol) || {};
      const q = num(p.quantity) || 0;
      const mv = num(m.market_value);
      const avg = num(p.avg_price);
      const mark = num(m.mark_price);
      const unreal = q && avg !== null && mark !== null ? q * (mark - avg) : q ? null : 0;
      return { ...p, mark_price: m.mark_price ?? null, market_value: mv, unrealized: unreal,
        weight: equity && mv !== null ? (mv / equity) * 100 : null };
    });
    const unrealized = rows.reduce((s, r) => s + (r.unrealized || 0), 0);
    const posValue = num(account.positions_value) || 0;
    const gross = rows.reduce((s, r) => s + Math.abs(r.market_value || 0), 0);
    ctx.qd.data = { ...(ctx.qd.data || {}), portfolio: { account, positions: rows } };
    clear(kpis,
      kpi("Equity", money(account.equity), { sub: account.currency || "" }),
      kpi("Cash", money(account.cash)),
      kpi("Positions value", money(posValue)),
      kpi("Unrealized P&L", signedMoney(unrealized), { cls: signClass(unrealized) }),
      kpi("Realized P&L", signedMoney(account.realized_pnl), { cls: signClass(account.realized_pnl) }),
      kpi("Fees", money(account.fees)),
      kpi("Gross exposure", pct(equity ? (gross / equity) * 100 : null), { sub: `${money(gross)} of ${money(equity)}` }));
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
        h("dt", {}, "Total P&L"), h("dd", { class: signClass(equity - num(account.starting_cash)) }, signedMoney(equity - num(account.starting_cash))),
        h("dt", {}, "Net exposure"), h("dd", {}, pct(equity ? (posValue / equity) * 100 : null)),
        h("dt", {}, "Source"), h("dd", {}, account.live ? "running engine" : "database")),
    ] : empty("Nothing allocated."));
    balances.setRows(ctx.status.bots.map((b) => ({ ...b, ret: num(b.starting_cash) ? (num(b.equity) / num(b.starting_cash) - 1) * 100 : null })));
  }

  await refresh();
  const soon = debounce(() => refresh().catch(() => {}), 1500);
  const off = ctx.ws.on("positions", (m) => { if (m.bot === ctx.bot) soon(); });
  return { poll: 5000, refresh, onBot: refresh, destroy: () => { soon.cancel(); off(); } };
}
