// Signals: the selected bot's signal history (manual trades, API orders, cancellations, risk actions, simulated
// signals), filterable by source / action / side / status, refreshed live.
import { h, card, badge } from "../ui.js";
import { DataTable } from "../tables.js";
import { qty, price, money, ts, toMs } from "../format.js";
import { noBot, debounce } from "./common.js";

export async function mount(view, ctx) {
  if (!ctx.bot) {
    view.append(noBot(ctx));
    return { poll: 5000, refresh: async () => { if (ctx.bot) ctx.reload(); } };
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
  view.append(card("Signal history", table.el, { actions: title }));

  async function refresh() {
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
