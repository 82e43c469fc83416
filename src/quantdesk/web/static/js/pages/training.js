// PowerTrader: training status per coin and timeframe (progress, ETA, age; start a training with a read-write
// key) and the DCA ladder of an open position (trigger prices, buy sizes, cost after each stage).
import { h, clear, card, badge, toast, field, select, busy, progress, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { money, price, qty, fixed, ts } from "../format.js";

const TFS = ["1hour", "2hour", "4hour", "8hour", "12hour", "1day", "1week"];

function tfCells(timeframes) {
  return TFS.map((tf) => {
    const e = (timeframes || {})[tf];
    if (!e) return h("td", { class: "muted" }, "—");
    const frac = e.state === "done" ? 1 : (e.total ? (e.done || 0) / e.total : 0);
    const eta = e.state === "running" && e.eta_s != null ? ` · ETA ${Math.round(e.eta_s)} s` : "";
    return h("td", { dataset: { tf, state: e.state } }, progress(frac), h("div", { class: "muted" }, `${e.state}${eta}`));
  });
}

function statusTable(rows, id) {
  if (!rows.length) return empty("Nothing trained yet: start a training below or run `quantdesk powertrader train`.");
  return h("div", { class: "table-wrap" }, h("table", { class: "table", id },
    h("thead", {}, h("tr", {}, h("th", {}, "Coin"), h("th", {}, "Mode"), h("th", {}, "State"), h("th", {}, "Age"),
      TFS.map((tf) => h("th", {}, tf)))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { coin: r.coin } }, h("td", {}, r.coin), h("td", {}, r.mode),
      h("td", {}, badge(r.state)), h("td", {}, r.age_hours == null ? "—" : `${fixed(r.age_hours, 1)} h`),
      tfCells(r.timeframes))))));
}

export async function mount(view, ctx) {
  const symbols = await ctx.once("/market/symbols");
  const jobsBox = h("div", { id: "pt-jobs" });
  const coinsBox = h("div", { id: "pt-coins" });

  // ---- start a training ----
  const coinIn = h("input", { id: "pt-coin", name: "coin", value: "BTC", maxlength: "32" });
  const symSel = select([...new Set(symbols.map((s) => s.symbol))], { id: "pt-symbol", name: "symbol" });
  const modeSel = select(["improved", "compat"], { id: "pt-mode", name: "mode" });
  const tfIn = h("input", { id: "pt-timeframes", name: "timeframes", placeholder: "all" });
  const err = h("p", { class: "form-error", role: "alert", id: "pt-error" });
  const startBtn = h("button", { class: "btn btn-primary", type: "submit", id: "pt-start", disabled: ctx.readOnly }, "Train");
  const form = h("form", { id: "pt-form", "aria-label": "Train a PowerTrader memory" },
    h("div", { class: "form-grid" }, field("Coin", coinIn), field("Symbol", symSel), field("Mode", modeSel),
      field("Timeframes", tfIn)), h("div", { class: "toolbar" }, startBtn, err));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    err.textContent = "";
    busy(startBtn, async () => {
      try {
        const body = { coin: coinIn.value.trim(), symbol: symSel.value, mode: modeSel.value };
        if (tfIn.value.trim()) body.timeframes = tfIn.value.trim();
        await ctx.api.post("/training/start", body);
        toast(`Training ${body.coin} started`, "success");
        await refresh();
      } catch (ex) {
        err.textContent = ex.message;
      }
    });
  });

  // ---- DCA ladder ----
  const avgIn = h("input", { id: "pt-avg", type: "number", step: "any", min: "0", value: "100" });
  const qtyIn = h("input", { id: "pt-qty", type: "number", step: "any", min: "0", value: "1" });
  const stagesIn = h("input", { id: "pt-stages-done", type: "number", step: "1", min: "0", value: "0" });
  const multIn = h("input", { id: "pt-mult", type: "number", step: "any", min: "0", value: "2" });
  const ladder = new DataTable({
    id: "pt-ladder", csvName: "dca-ladder", empty: "Enter a position to see its ladder.", rowKey: "stage",
    columns: [
      { key: "stage", label: "Stage", num: true },
      { key: "trigger_pnl_pct", label: "Trigger P&L %", num: true, fmt: (v) => fixed(v, 2) },
      { key: "trigger_price", label: "Trigger price", num: true, fmt: (v) => price(v, 4) },
      { key: "buy_notional", label: "Buy", num: true, fmt: money },
      { key: "cost_after", label: "Cost after", num: true, fmt: money },
      { key: "quantity_after", label: "Quantity after", num: true, fmt: qty },
      { key: "avg_after", label: "Average after", num: true, fmt: (v) => price(v, 4) },
    ],
  });
  const ladderNote = h("p", { class: "muted", id: "pt-ladder-note" });
  async function drawLadder() {
    const res = await ctx.api.get("/training/ladder", { avg_price: avgIn.value, quantity: qtyIn.value,
      stages_done: stagesIn.value || 0, dca_multiplier: multIn.value });
    ladder.setRows(res.stages);
    ctx.qd.data = { ...(ctx.qd.data || {}), ptLadder: res };
  }
  for (const el of [avgIn, qtyIn, stagesIn, multIn]) el.addEventListener("change", () => drawLadder().catch((e) => toast(e.message, "error")));
  async function fromBot() {
    if (!ctx.bot) return;
    const rows = await ctx.api.maybe("/positions", { bot: ctx.bot }, []);
    const pos = (rows || []).find((p) => Number(p.quantity) > 0);
    if (!pos) { ladderNote.textContent = `${ctx.bot}: no open long position; the ladder below is for the numbers entered.`; return; }
    avgIn.value = pos.avg_price ?? pos.average_price ?? pos.entry_price ?? avgIn.value;
    qtyIn.value = pos.quantity;
    ladderNote.textContent = `${ctx.bot}: open position ${pos.symbol || ""} (${qty(pos.quantity)} @ ${price(Number(avgIn.value), 4)}).`;
  }

  view.append(
    card("Training jobs (this server)", jobsBox),
    card("Trained coins", coinsBox),
    card("Train a coin", form),
    card("DCA ladder of a position", h("div", {}, ladderNote,
      h("div", { class: "form-grid" }, field("Average price", avgIn), field("Quantity", qtyIn),
        field("Stages done", stagesIn), field("DCA multiplier", multIn)), ladder.el)));

  async function refresh() {
    const st = await ctx.api.get("/training/status");
    clear(jobsBox, statusTable(st.jobs.map((j) => ({ ...j, age_hours: null })), "pt-jobs-table"));
    clear(coinsBox, statusTable(st.coins, "pt-coins-table"));
    ctx.qd.data = { ...(ctx.qd.data || {}), training: st, trainingAt: ts(Date.now()) };
  }
  await refresh();
  await fromBot().catch(() => {});
  await drawLadder().catch(() => {});
  return { poll: 2000, refresh, onBot: () => fromBot().then(drawLadder).catch(() => {}) };
}
