// Orders and trades: the selected bot's orders (cancel a working one), fills and round-trip trades (P&L net of
// fees, P&L %, entry tag, exit reason, duration, the open trade's unrealised P&L: trades.js), each a sortable,
// filterable table with CSV export.
import { h, card, badge, toast, confirmDialog, busy } from "../ui.js";
import { DataTable } from "../tables.js";
import { money, qty, price, ts, toMs, precisionOf, currencyDp, quoteOf } from "../format.js";

const fee = (v, r) => money(v, currencyDp(quoteOf(r?.symbol))); // in the quote currency: 8 decimals for BTC
import { noBot, debounce } from "./common.js";
import { tradeTable } from "../trades.js";

let prec = 2; // the instrument's price precision, from the prices the rows carry

const WORKING = ["submitted", "accepted", "partially_filled", "initialized", "working", "triggered"];

export async function mount(view, ctx) {
  if (!ctx.bot) {
    view.append(noBot(ctx));
    return { poll: 5000, refresh: async () => { if (ctx.bot) ctx.reload(); } };
  }
  const tsCol = (key, label = "Time") => ({ key, label, fmt: ts, sortValue: (r) => toMs(r[key]), csvValue: (r) => ts(r[key]) });
  const orders = new DataTable({
    id: "orders-table", csvName: "orders", empty: "No orders yet.", rowKey: "client_order_id",
    facets: [{ key: "status", label: "Status" }, { key: "side", label: "Side" }, { key: "type", label: "Type" }],
    initialSort: { key: "ts_init", dir: -1 },
    columns: [
      tsCol("ts_init"),
      { key: "client_order_id", label: "Order id" },
      { key: "symbol", label: "Symbol" },
      { key: "side", label: "Side", fmt: (v) => badge(v) },
      { key: "type", label: "Type" },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "price", label: "Price", num: true, value: (r) => r.price ?? r.trigger_price, fmt: (v) => price(v, prec) },
      { key: "filled_qty", label: "Filled", num: true, fmt: qty },
      { key: "avg_price", label: "Avg price", num: true, fmt: (v) => price(v, prec) },
      { key: "fees", label: "Fees", num: true, fmt: fee },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "reason", label: "Reason" },
      { key: "cancel", label: "", sortable: false, csv: false, fmt: (v, r) => (WORKING.includes(r.status)
        ? h("button", { class: "btn btn-sm btn-danger", type: "button", "aria-label": `Cancel order ${r.client_order_id}`,
          onclick: (e) => cancel(r, e.currentTarget) }, "Cancel") : "") },
    ],
  });
  const fills = new DataTable({
    id: "fills-table", csvName: "fills", empty: "No fills yet.", rowKey: "trade_id",
    facets: [{ key: "side", label: "Side" }, { key: "symbol", label: "Symbol" }],
    initialSort: { key: "ts", dir: -1 },
    columns: [
      tsCol("ts"),
      { key: "trade_id", label: "Trade id" },
      { key: "client_order_id", label: "Order id" },
      { key: "symbol", label: "Symbol" },
      { key: "side", label: "Side", fmt: (v) => badge(v) },
      { key: "price", label: "Price", num: true, fmt: (v) => price(v, prec) },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "fee", label: "Fee", num: true, fmt: fee },
      { key: "liquidity", label: "Liquidity" },
    ],
  });
  const trades = tradeTable({ id: "trades-table", csvName: "trades" });
  const tabs = [
    { id: "orders", label: "Orders", table: orders, path: "/orders" },
    { id: "fills", label: "Fills", table: fills, path: "/fills" },
    { id: "trades", label: "Trades", table: trades, path: "/paper-trading/trades" },
  ];
  let active = sessionStorage.getItem("qd.ordersTab") || "orders";
  const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Orders, fills, trades" });
  const panels = h("div");
  for (const t of tabs) {
    t.btn = h("button", { role: "tab", type: "button", id: `tab-${t.id}`, "aria-controls": `panel-${t.id}`,
      onclick: () => show(t.id) }, t.label);
    t.panel = h("div", { role: "tabpanel", id: `panel-${t.id}`, "aria-labelledby": `tab-${t.id}` }, t.table.el);
    tabBar.append(t.btn);
    panels.append(t.panel);
  }
  tabBar.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const i = tabs.findIndex((t) => t.id === active);
    const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    show(next.id);
    next.btn.focus();
  });
  view.append(card(null, [tabBar, panels]));

  function show(id) {
    active = id;
    sessionStorage.setItem("qd.ordersTab", id);
    for (const t of tabs) {
      t.btn.setAttribute("aria-selected", String(t.id === id));
      t.btn.tabIndex = t.id === id ? 0 : -1;
      t.panel.hidden = t.id !== id;
    }
    return refresh();
  }

  async function cancel(order, btn) {
    const ok = await confirmDialog({ title: `Cancel ${order.client_order_id}?`, text: `${order.side} ${qty(order.quantity)} ${order.symbol} ${order.type}`, confirm: "Cancel order" });
    if (!ok) return;
    await busy(btn, async () => {
      try {
        await ctx.api.del(`/orders/${encodeURIComponent(order.client_order_id)}`, { reason: "dashboard" });
        toast(`Order ${order.client_order_id} canceled`, "ok");
      } catch { /* toast shown */ }
      await refresh();
    });
  }

  async function refresh() {
    const bot = ctx.bot;
    const t = tabs.find((x) => x.id === active);
    const rows = await ctx.api.maybe(t.path, { bot }, []);
    if (bot !== ctx.bot) return;
    prec = precisionOf(rows, "price", "entry_price", "exit_price", "avg_price", "trigger_price");
    t.table.setRows(rows || []);
    ctx.qd.data = { ...(ctx.qd.data || {}), [t.id]: rows };
  }

  await show(tabs.some((t) => t.id === active) ? active : "orders");
  const soon = debounce(() => refresh().catch(() => {}), 1000);
  const offs = ["orders", "trades", "signals"].map((c) => ctx.ws.on(c, (m) => { if (m.bot === ctx.bot) soon(); }));
  return { poll: 5000, refresh, onBot: refresh, destroy: () => { soon.cancel(); offs.forEach((f) => f()); } };
}
