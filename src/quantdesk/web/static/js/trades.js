// The round-trip trade table as a trader reads it (FreqUI's trade list), shared by the Orders & trades page and
// the Live trading page: P&L net of fees and in %, the open trade's unrealised P&L at the mark, why the trade was
// entered (entry tag) and exited (exit reason), how long it lasted. Numbers come from GET /paper-trading/trades
// as they are (the API computes them); the table only formats them: money at the quote currency's decimals,
// prices at the instrument's precision, UTC times. The CSV export carries the raw values.
import { h } from "./ui.js";
import { DataTable } from "./tables.js";
import { badge } from "./ui.js";
import { fixed, signedMoney, pct, qty, price, ts, toMs, signClass, precisionOf, currencyDp, quoteOf } from "./format.js";

/** money of a trade row at its quote currency's decimals */
function amount(v, r, signed = false) {
  const dp = currencyDp(quoteOf(r?.symbol));
  return signed ? signedMoney(v, dp) : fixed(v, dp);
}

const isOpen = (r) => r.status === "open";

/**
 * tradeTable({id, csvName, maxHeight}) -> {table: DataTable, setRows(rows)}: setRows takes the API's trades and
 * works out the price precision from their prices (the instrument's tick).
 */
export function tradeTable({ id = "trades-table", csvName = "trades", maxHeight = null, empty = "No trades yet." } = {}) {
  let prec = 2;
  const when = (v) => ts(v).replace(/:00Z$/, "Z"); // bar times: whole minutes read better without ":00"
  const tsCol = (key, label, sortKey) => ({ key, label, fmt: (v, r) => (v ? when(v) : isOpen(r) && key === "exit_time" ? "open" : "—"),
    cls: (v, r) => (!v && isOpen(r) ? "muted" : ""), sortValue: (r) => toMs(r[sortKey] ?? r[key]), csvValue: (r) => r[key] ?? "" });
  const wrap = () => "wrap";
  const table = new DataTable({
    id, csvName, empty, rowKey: "id", maxHeight,
    facets: [{ key: "status", label: "Status" }, { key: "symbol", label: "Symbol" }, { key: "exit_reason", label: "Exit reason" }],
    initialSort: { key: "entry_time", dir: -1 },
    columns: [
      tsCol("entry_time", "Entry (UTC)", "entry_ts"),
      tsCol("exit_time", "Exit (UTC)", "exit_ts"),
      { key: "duration_s", label: "Duration", num: true, fmt: (v, r) => r.duration ?? "—",
        title: "entry to exit; the open trade: entry to the bot's clock" },
      { key: "symbol", label: "Symbol" },
      { key: "side", label: "Side", fmt: (v) => badge(v) },
      { key: "pnl", label: "P&L (net)", num: true, fmt: (v, r) => amount(v, r, true), cls: signClass,
        title: "net of every fee of the trade; for the open trade at the mark" },
      { key: "pnl_pct", label: "P&L %", num: true, fmt: (v) => pct(v, 2, true), cls: signClass,
        title: "net P&L over the entry value (entry price x quantity)" },
      { key: "unrealized_pnl", label: "Unrealized", num: true, fmt: (v, r) => (isOpen(r) ? amount(v, r, true) : ""),
        cls: (v, r) => (isOpen(r) ? signClass(v) : ""), title: "the open trade's P&L at the mark, before fees" },
      { key: "exit_reason", label: "Exit reason", fmt: (v, r) => (isOpen(r) ? "" : v || "—"), cls: wrap,
        title: "why it was exited: the strategy's signal, stop-loss, take-profit, a manual order or a force exit" },
      { key: "entry_tag", label: "Entry tag", fmt: (v) => v || "—", cls: wrap, title: "why the trade was entered" },
      { key: "quantity", label: "Quantity", num: true, fmt: qty },
      { key: "entry_price", label: "Entry price", num: true, fmt: (v) => price(v, prec) },
      { key: "exit_price", label: "Exit price / mark", num: true, value: (r) => (isOpen(r) ? r.mark_price : r.exit_price),
        fmt: (v, r) => (isOpen(r) && v != null
          ? h("span", { title: "mark: the last close (the trade is open)" }, price(v, prec), h("span", { class: "muted" }, " mark"))
          : price(v, prec)),
        csvValue: (r) => r.exit_price ?? "" },
      { key: "fees", label: "Fees", num: true, fmt: (v, r) => amount(v, r) },
    ],
  });
  table.table.classList.add("compact");
  return {
    table,
    el: table.el,
    setRows(rows) {
      prec = precisionOf(rows, "entry_price", "exit_price");
      table.setRows(rows || []);
    },
  };
}
