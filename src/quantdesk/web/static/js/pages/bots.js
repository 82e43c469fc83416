// Live trading: the bots (start / pause / resume / stop with confirmation), a form to start a paper bot, the
// selected bot's chart with its fills and signals as markers and the strategy's own indicators (live over the
// WebSocket), its position with a Force exit (confirmation dialog), the risk engine's decisions (orders denied
// or sized down, by rule), its trades (P&L net of fees, tags, exit reasons), live fills, its strategy, and a
// manual order form (market / limit / stop).
import { h, clear, card, badge, toast, confirmDialog, field, select, busy, progress, empty } from "../ui.js";
import { BotChart } from "../livechart.js";
import { DataTable } from "../tables.js";
import { tradeTable } from "../trades.js";
import { money, qty, price, ts, num, signedMoney, signClass, currencyDp, quoteOf } from "../format.js";
import { paramFields, readParams, debounce, describeReplay, replayProgress, riskDecisions, riskDecisionsText } from "./common.js";

export async function mount(view, ctx) {
  const [strategies, symbols] = await Promise.all([ctx.once("/strategies"), ctx.once("/market/symbols")]);

  // ---- bots table ----
  const bots = new DataTable({
    id: "bots-table", csvName: "bots", empty: "No bot yet: start one below.", rowKey: "bot",
    onRowClick: (r) => select_(r.bot),
    columns: [
      { key: "bot", label: "Bot", fmt: (v, r) => (r.mode === "live"
        ? h("span", {}, v, " ", h("span", { class: "badge badge-live", title: "Trades on a real venue" }, "LIVE")) : v) },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "strategy", label: "Strategy" },
      { key: "symbols", label: "Symbols", value: (r) => (r.symbols || []).join(", ") },
      { key: "timeframe", label: "TF" },
      { key: "progress", label: "Progress", sortable: false, csv: false, value: (r) => r.progress,
        fmt: (v, r) => (r.bars_total ? h("span", { style: { display: "inline-flex", gap: "8px", alignItems: "center" } },
          h("span", { style: { width: "80px" } }, progress(r.bars / r.bars_total)), `${r.bars}/${r.bars_total}`) : `bar ${r.cursor ?? "—"}`) },
      { key: "equity", label: "Equity", num: true, fmt: (v, r) => money(v, currencyDp(quoteOf((r.symbols || [])[0]))) },
      { key: "fills", label: "Fills", num: true },
      { key: "actions", label: "Actions", sortable: false, csv: false, fmt: (v, r) => actions(r) },
    ],
  });

  function actions(r) {
    const box = h("span", { style: { display: "inline-flex", gap: "6px" } });
    const b = (label, action, cls = "") => h("button", { class: `btn btn-sm ${cls}`, type: "button", "aria-label": `${label} ${r.bot}`,
      dataset: { action, bot: r.bot }, onclick: (e) => { e.stopPropagation(); control(r.bot, action, e.currentTarget); } }, label);
    if (r.mode === "live") {  // its own process: stop it or pull its kill switch; started from the command line
      if (r.status === "running") box.append(b("Kill switch", "kill", "btn-danger"), b("Stop", "stop", "btn-danger"));
      return box;
    }
    if (r.status === "running") box.append(b("Pause", "pause"), b("Stop", "stop", "btn-danger"));
    else if (r.status === "paused") box.append(b("Resume", "resume", "btn-ok"), b("Stop", "stop", "btn-danger"));
    else if (r.status !== "finished") box.append(b("Start", "start", "btn-ok"));
    return box;
  }

  async function control(bot, action, btn) {
    if (action === "kill") {
      const ok = await confirmDialog({ title: `Kill switch for ${bot}?`, text: "After its next closed bar the live bot cancels its orders on the venue and closes its position at market.", confirm: "Kill" });
      if (!ok) return;
      await busy(btn, async () => {
        try { await ctx.api.post(`/live/${encodeURIComponent(bot)}/kill`); toast(`${bot}: kill switch queued`, "ok"); } catch { /* toast shown */ }
        await renderLive();
      });
      return;
    }
    if (action === "stop") {
      const ok = await confirmDialog({ title: `Stop ${bot}?`, text: "The bot stops trading; its state is kept and it can be started again.", confirm: "Stop bot" });
      if (!ok) return;
    }
    await busy(btn, async () => {
      try {
        await ctx.api.post(`/bots/${encodeURIComponent(bot)}/${action}`);
        toast(`${bot}: ${action} done`, "ok");
      } catch { /* toast shown */ }
      await ctx.refreshStatus();
      renderBots();
    });
  }

  function rows() {
    return ctx.status.bots.map((b) => {
      const r = ctx.running(b.bot);
      return { ...b, ...(r ? { status: r.status, bars: r.bars, bars_total: r.bars_total, equity: r.equity, fills: r.fills } : {}) };
    });
  }

  // ---- live bots: venue balances and reconciliation state ----
  const liveBox = h("div", { id: "live-bots" });
  const liveCard = card("Live bots (venue)", liveBox, { id: "live-card" });
  liveCard.hidden = true;
  async function renderLive() {
    if (!ctx.status.bots.some((b) => b.mode === "live")) { liveCard.hidden = true; return; }
    const rows = await ctx.api.get("/live", null, { quiet: true }).catch(() => []);
    liveCard.hidden = !rows.length;
    clear(liveBox, rows.map((r) => {
      const rec = r.reconciliation || {};
      return h("div", { class: "live-bot", dataset: { bot: r.bot } },
        h("strong", {}, r.bot), " ", h("span", { class: "badge badge-live" }, "LIVE"), " ", badge(rec.verdict || "pending"),
        h("span", { class: "muted small" }, ` ${r.exchange || ""} · positions ${Object.entries(r.positions || {}).map(([s, q]) => `${s} ${q}`).join(", ")}`
          + ` · balances ${Object.entries(r.balances || {}).map(([a, v]) => `${a} ${v}`).join(", ") || "—"}`
          + ` · ${r.orders.length} orders, ${r.fills.length} fills`),
        r.halted ? h("p", { class: "form-error" }, `Halted: ${r.halted}`) : null);
    }));
  }

  function renderBots() {
    renderLive();
    bots.setRows(rows());
    for (const tr of bots.tbody.querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.key === ctx.bot);
  }

  // ---- start form ----
  const stratSel = select(strategies.map((s) => ({ value: s.name, label: s.name })), { value: "sma_cross", id: "start-strategy", name: "strategy" });
  const paramBox = h("div", { class: "form-grid", id: "start-params" });
  const uniqSymbols = [...new Set(symbols.map((s) => s.symbol))];
  const symSel = select(uniqSymbols, { id: "start-symbol", name: "symbol" });
  const tfSel = h("select", { id: "start-timeframe", name: "timeframe" });
  const fillTf = () => {
    const tfs = symbols.filter((s) => s.symbol === symSel.value).map((s) => s.timeframe);
    tfSel.replaceChildren(...tfs.map((t) => h("option", { value: t }, t)));
  };
  symSel.addEventListener("change", fillTf);
  fillTf();
  const nameIn = h("input", { id: "start-name", name: "name", placeholder: "auto", pattern: "[A-Za-z0-9_.:\\-]{1,64}" });
  const speedIn = h("input", { id: "start-speed", name: "speed", value: "120", title: "x real time, or max" });
  const cashIn = h("input", { id: "start-cash", name: "cash", type: "number", value: "10000", min: "1", step: "any" });
  const startIn = h("input", { id: "start-start", name: "start", placeholder: "2022-01-05T00:00:00Z" });
  const endIn = h("input", { id: "start-end", name: "end", placeholder: "(data end)" });
  const riskIn = h("input", { id: "start-risk", name: "risk", type: "checkbox" });
  riskIn.checked = true;
  // with the risk limits on, orders without a quantity (all-cash strategies) are sized to this share of equity,
  // so that they fit the position limit instead of being denied
  const sizeIn = h("input", { id: "start-size", name: "size", type: "number", value: "10", min: "0.1", max: "100",
    step: "any", title: "% of equity per order without a quantity (fixed-fraction sizer)" });
  riskIn.addEventListener("change", () => { sizeIn.disabled = !riskIn.checked; });
  const renderParams = () => clear(paramBox, paramFields(strategies.find((s) => s.name === stratSel.value)?.params));
  stratSel.addEventListener("change", renderParams);
  renderParams();
  const startBtn = h("button", { class: "btn btn-primary", type: "submit", id: "start-submit" }, "Start paper bot");
  const startErr = h("p", { class: "form-error", role: "alert" });
  const startForm = h("form", { id: "start-form", "aria-label": "Start a paper bot" },
    h("div", { class: "form-grid" }, field("Strategy", stratSel), field("Name", nameIn), field("Symbol", symSel),
      field("Timeframe", tfSel), field("Speed", speedIn), field("Cash", cashIn), field("Start (UTC)", startIn), field("End (UTC)", endIn),
      h("div", { class: "field check" }, riskIn, h("label", { for: "start-risk" }, "Risk limits")),
      field("Order size % equity", sizeIn)),
    h("h3", { style: { margin: "14px 0 8px" } }, "Parameters"), paramBox,
    h("div", { class: "form-actions" }, startBtn, startErr));
  startForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    startErr.textContent = "";
    const params = readParams(paramBox);
    const speed = speedIn.value.trim().toLowerCase();
    const body = { strategy: stratSel.value, params, symbols: [symSel.value], timeframe: tfSel.value,
      speed: speed === "max" ? "max" : Number(speed || 120), cash: Number(cashIn.value || 10000),
      risk: riskIn.checked ? { sizing: { method: "fixed_fraction", fraction: Number(sizeIn.value || 10) / 100 } } : false };
    if (nameIn.value.trim()) body.name = nameIn.value.trim();
    if (startIn.value.trim()) body.start = startIn.value.trim();
    if (endIn.value.trim()) body.end = endIn.value.trim();
    await busy(startBtn, async () => {
      try {
        const res = await ctx.api.post("/paper-trading/start", body, { quiet: true });
        toast(`Bot ${res.bot} started (${res.bars_total} bars to replay)`, "ok");
        await ctx.refreshStatus();
        select_(res.bot);
      } catch (err) {
        startErr.textContent = err.reason || err.message;
        toast(err.message, "error");
      }
    });
  });

  // ---- selected bot: chart, fills, strategy, manual order ----
  const chartBox = h("div", { id: "bot-chart" });
  const chartTitle = h("h2", { id: "bot-chart-title" }, "Chart");
  const chartStatus = h("span", { class: "muted", id: "bot-chart-status" });
  const fillsFeed = h("ul", { class: "feed", id: "bot-fills", "aria-label": "Live fills" });
  const strategyBox = h("div", { id: "bot-strategy" });
  const side = select(["buy", "sell"], { id: "order-side", name: "side" });
  const otype = select(["market", "limit", "stop"], { id: "order-type", name: "type" });
  const oqty = h("input", { id: "order-qty", name: "quantity", type: "number", step: "any", min: "0", placeholder: "e.g. 0.01" });
  const onotional = h("input", { id: "order-notional", name: "notional", type: "number", step: "any", min: "0", placeholder: "or quote amount" });
  const oprice = h("input", { id: "order-price", name: "price", type: "number", step: "any", min: "0", disabled: true, placeholder: "limit/stop only" });
  const osym = h("select", { id: "order-symbol", name: "symbol" });
  const oreason = h("input", { id: "order-reason", name: "reason", value: "dashboard", maxlength: "500" });
  otype.addEventListener("change", () => { oprice.disabled = otype.value === "market"; if (oprice.disabled) oprice.value = ""; });
  const orderBtn = h("button", { class: "btn btn-primary", type: "submit", id: "order-submit" }, "Place order");
  const orderErr = h("p", { class: "form-error", role: "alert", id: "order-error" });
  const orderForm = h("form", { id: "order-form", "aria-label": "Manual order" },
    h("div", { class: "form-grid" }, field("Side", side), field("Type", otype), field("Symbol", osym), field("Quantity", oqty),
      field("Notional", onotional), field("Price", oprice), field("Reason", oreason)),
    h("div", { class: "form-actions" }, orderBtn, orderErr));
  orderForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    orderErr.textContent = "";
    if (!ctx.bot) { orderErr.textContent = "Select a running bot first."; return; }
    const body = { bot: ctx.bot, side: side.value, type: otype.value, reason: oreason.value || "dashboard" };
    if (osym.value) body.symbol = osym.value;
    if (oqty.value) body.quantity = Number(oqty.value);
    if (onotional.value) body.notional = Number(onotional.value);
    if (otype.value !== "market") body.price = oprice.value ? Number(oprice.value) : null;
    if (!body.quantity && !body.notional) { orderErr.textContent = "Give a quantity or a notional."; return; }
    await busy(orderBtn, async () => {
      try {
        const res = await ctx.api.post("/orders", body, { quiet: true });
        toast(`Order ${res.client_order_id || res.id} ${res.status}: ${body.side} ${body.quantity ?? body.notional} ${body.type}`, "ok");
        ctx.qd.lastOrder = res;
      } catch (err) {
        orderErr.textContent = err.reason || err.message;
        toast(err.message, "error");
      }
    });
  });

  // ---- position (force exit), risk decisions, trades ----
  const positionBox = h("div", { id: "bot-position" });
  const forceResult = h("p", { class: "muted small", id: "force-exit-result", role: "status" });
  const riskBox = h("div", { id: "bot-risk" });
  const replayLine = h("p", { class: "muted small replay-line", id: "bot-replay" });
  const trades = tradeTable({ id: "bot-trades", csvName: "bot-trades", maxHeight: "360px" });

  view.append(
    card("Bots", bots.el, { id: "bots-card" }),
    liveCard,
    h("div", { class: "grid grid-side" },
      card(h("div", { style: { display: "flex", gap: "12px", alignItems: "baseline" } }, chartTitle, chartStatus),
        [replayLine, chartBox], { id: "bot-chart-card" }),
      h("div", { class: "grid" },
        card("Position", [positionBox, forceResult], { id: "bot-position-card" }),
        card("Risk decisions", riskBox, { id: "bot-risk-card" }),
        card("Live fills", fillsFeed), card("Strategy", strategyBox))),
    card("Trades", trades.el, { id: "bot-trades-card" }),
    h("div", { class: "grid grid-2" },
      card("Manual order", orderForm, { id: "order-card" }),
      card("Start a paper bot", startForm, { id: "start-card" })));

  let live = null;
  let botTrades = [];
  let positionSig = null;
  ctx.qd.charts.bots = { stats: () => (live ? live.stats() : null), indicators: () => (live ? live.indicatorValues() : []) };
  const limits = await ctx.once("/risk/limits").catch(() => null);

  function renderPosition() {
    const row = ctx.botRow();
    const run = ctx.running();
    if (!row) { clear(positionBox, empty("No bot selected.")); return; }
    const held = run ? run.positions || {} : row.positions || {};
    const canAct = run && (run.status === "running" || run.status === "paused") && !ctx.readOnly;
    // unchanged since the last poll: keep the elements (a click on Force exit must not land on a replaced button)
    const sig = JSON.stringify([row.bot, row.symbols, held, canAct, live?.chart.precision,
      botTrades.filter((t) => t.status === "open").map((t) => [t.symbol, t.entry_price, t.unrealized_pnl])]);
    if (sig === positionSig && positionBox.firstChild) return;
    positionSig = sig;
    const rows = (row.symbols || []).map((sym) => {
      const q = num(held[sym]) || 0;
      const open = botTrades.find((t) => t.symbol === sym && t.status === "open");
      const dp = currencyDp(quoteOf(sym));
      const btn = h("button", { class: "btn btn-sm btn-danger", type: "button", dataset: { action: "force-exit", symbol: sym },
        "aria-label": `Force exit ${sym}`, disabled: !(q && canAct),
        title: !run ? "the bot is not running on this node" : !q ? "no open position" : ctx.readOnly ? "read-only key"
          : "close this position now at market (next bar's open)",
        onclick: (e) => forceExit(row.bot, sym, q, e.currentTarget) }, "Force exit");
      return h("div", { class: "pos-row", dataset: { symbol: sym } },
        h("div", {},
          h("div", {}, h("strong", {}, sym), " ", q ? badge(q > 0 ? "long" : "short") : h("span", { class: "muted" }, "flat"),
            " ", h("span", { class: "num", dataset: { col: "quantity" } }, qty(q))),
          h("div", { class: "muted small num" }, "entry ", h("span", { dataset: { col: "entry" } },
            open ? price(open.entry_price, live?.chart.precision ?? 2) : "—"),
          " · unrealized ", h("span", { class: open ? signClass(open.unrealized_pnl) : "", dataset: { col: "unrealized" },
            title: "the open trade's P&L at the last close, before fees" }, open ? signedMoney(open.unrealized_pnl, dp) : "—"))),
        btn);
    });
    clear(positionBox, rows);
  }

  async function forceExit(bot, sym, q, btn) {
    const ok = await confirmDialog({ title: `Force exit ${sym} on ${bot}?`,
      text: `Closes the whole position (${qty(Math.abs(q))} ${sym}, ${q > 0 ? "long" : "short"}) with a market order at the `
        + `next bar's open and cancels the bot's working orders on ${sym}. The strategy keeps running and may enter again.`,
      confirm: "Force exit" });
    if (!ok) return;
    await busy(btn, async () => {
      try {
        const res = await ctx.api.post(`/bots/${encodeURIComponent(bot)}/force-exit`, { symbol: sym, reason: "force exit (dashboard)" },
          { quiet: true });
        const paused = ctx.running(bot)?.status === "paused";
        const msg = `Force exit ${sym}: ${res.side} ${qty(res.quantity)} at market, order ${res.client_order_id || "—"} `
          + `${res.status}; it fills at the next bar's open${paused ? ", once the bot is resumed" : ""}`;
        forceResult.textContent = msg;
        forceResult.className = "small ok-text";
        ctx.qd.lastForceExit = res;
        toast(msg, "ok");
      } catch (err) {
        forceResult.textContent = `Force exit ${sym} failed: ${err.reason || err.message}`;
        forceResult.className = "small down";
        toast(err.message, "error");
      }
      await ctx.refreshStatus();
      renderPosition();
    });
  }

  function renderRisk() {
    const row = ctx.botRow();
    const run = ctx.running();
    if (!row) { clear(riskBox, empty("No bot selected.")); return; }
    const riskCfg = row.config?.risk;
    if (riskCfg === false || riskCfg == null || (typeof riskCfg === "object" && riskCfg.enabled === false)) {
      clear(riskBox, h("p", { class: "muted", id: "bot-risk-off" }, "Risk limits are off for this bot: every order goes through as sized."));
      return;
    }
    if (!run) {
      clear(riskBox, h("p", { class: "muted" }, "The risk engine counts its decisions while the bot runs on this node."));
      return;
    }
    const rows = riskDecisions(run, row, limits);
    ctx.qd.data = { ...(ctx.qd.data || {}), riskDecisions: rows };
    clear(riskBox, rows.length ? [
      h("table", { class: "data", id: "bot-risk-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Rule (limit)"), h("th", { class: "num", title: "orders refused" }, "Denied"),
          h("th", { class: "num", title: "orders sized down to fit the limit" }, "Sized down"))),
        h("tbody", {}, rows.map((d) => h("tr", { dataset: { rule: d.rule } },
          h("td", {}, d.rule, d.limit ? h("div", { class: "muted small", dataset: { col: "limit" } }, d.limit) : null),
          h("td", { class: `num ${d.denied ? "down" : ""}`.trim(), dataset: { col: "denied" } }, String(d.denied)),
          h("td", { class: `num ${d.resized ? "warn" : ""}`.trim(), dataset: { col: "resized" } }, String(d.resized)))))),
      h("p", { class: "muted small" }, riskDecisionsText(rows))]
      : h("p", { class: "muted", id: "bot-risk-none" }, "No order denied or sized down so far: every order fitted the limits."));
  }

  function renderReplay() {
    const row = ctx.botRow();
    replayLine.textContent = row ? `${describeReplay(row, ctx.running())} · ${replayProgress(row, ctx.running())}` : "";
    const st = ctx.running()?.status || row?.status;
    if (row && ["live", "running", "paused", "finished", "stopped", "failed"].includes(chartStatus.textContent)) {
      chartStatus.textContent = st === "running" ? "live" : st; // the chart's state follows the bot's
    }
  }

  async function loadTrades() {
    const bot = ctx.bot;
    const rows = bot ? await ctx.api.maybe("/paper-trading/trades", { bot }, []) : [];
    if (bot !== ctx.bot) return;
    botTrades = rows || [];
    trades.setRows(botTrades);
    renderPosition();
  }

  function renderStrategy() {
    const row = ctx.botRow();
    if (!row) { clear(strategyBox, empty("No bot selected.")); return; }
    const spec = strategies.find((s) => s.name === row.strategy);
    const used = row.config?.params || {}; // what the bot was started with (GET /bots); defaults for the rest
    const risk = row.config?.risk;
    clear(strategyBox,
      h("p", {}, h("strong", {}, row.strategy), spec?.doc ? h("span", { class: "muted" }, ` — ${spec.doc}`) : null),
      spec && Object.keys(spec.params).length ? h("table", { class: "data" },
        h("thead", {}, h("tr", {}, h("th", {}, "Parameter"), h("th", { class: "num" }, "Value"), h("th", {}, "Range"))),
        h("tbody", {}, Object.entries(spec.params).map(([k, p]) => h("tr", {}, h("td", { title: p.description }, k),
          h("td", { class: "num", title: k in used ? "as started" : "the strategy's default" },
            String(k in used ? used[k] : p.default)),
          h("td", { class: "muted" }, p.choices ? p.choices.join(" | ") : `${p.min ?? "…"} – ${p.max ?? "…"}`)))))
        : h("p", { class: "muted" }, "No parameters."),
      h("p", { class: "muted", style: { fontSize: "12px" } },
        `Risk: ${risk === false || risk == null ? "no limits" : risk === true ? "the configured limits"
          : "configured limits" + (risk.sizing ? `, orders sized ${risk.sizing.method.replace("_", " ")}`
            + (risk.sizing.fraction != null ? ` ${(risk.sizing.fraction * 100).toFixed(1)}% of equity` : "") : "")}`
));
  }

  let lastFills = [];
  async function loadFills() {
    lastFills = ctx.bot ? await ctx.api.maybe("/fills", { bot: ctx.bot }, []) : [];
    renderFills();
  }

  function renderFills() {
    clear(fillsFeed, lastFills.length ? lastFills.slice(-30).reverse().map(fillItem) : h("li", { class: "muted", id: "no-fills" }, "No fills yet."));
  }

  function fillItem(f) {
    return h("li", { class: "feed-2", dataset: { trade: f.trade_id } },
      h("span", {}, badge(f.side), " ", h("span", { class: "num" }, `${qty(f.quantity)} @ ${price(f.price, live?.chart.precision ?? 2)}`)),
      h("span", { class: "num muted" }, `fee ${money(f.fee, currencyDp(quoteOf(f.symbol)))}`),
      h("span", { class: "time" }, `${ts(f.ts)} · ${f.symbol}`));
  }

  async function select_(name) {
    if (name && name !== ctx.bot) {
      localStorage.setItem("qd.bot", name);
      ctx.bot = name;
      document.getElementById("bot-picker").value = name;
    }
    renderBots();
    renderStrategy();
    botTrades = [];
    forceResult.textContent = "";
    renderPosition();
    renderRisk();
    renderReplay();
    const row = ctx.botRow();
    clear(osym, (row?.symbols || []).map((s) => h("option", { value: s }, s)));
    if (live) { live.destroy(); live = null; }
    clear(chartBox);
    if (!row) { chartTitle.textContent = "Chart"; chartBox.append(empty("No bot selected.")); trades.setRows([]); return; }
    chartTitle.textContent = `${row.bot} · ${row.symbols[0]} ${row.timeframe}`;
    live = new BotChart(chartBox, ctx, { bars: 300, strategyIndicators: true,
      onStatus: (s) => {
        const st = ctx.running(row.bot)?.status || row.status;
        chartStatus.textContent = s || (st === "running" ? "live" : st);
      } });
    await Promise.all([live.follow(row.bot), loadFills(), loadTrades()]);
    renderFills(); // at the instrument's precision, known once the chart has its candles
    renderPosition();
  }

  const tradesSoon = debounce(() => { ctx.refreshStatus().then(() => { renderPosition(); renderRisk(); }); loadTrades().catch(() => {}); }, 800);
  const offFill = ctx.ws.on("trades", (m) => {
    if (m.type !== "Fill" || m.bot !== ctx.bot || !m.data) return;
    document.getElementById("no-fills")?.remove();
    lastFills.push(m.data);
    fillsFeed.prepend(fillItem(m.data));
    while (fillsFeed.children.length > 50) fillsFeed.lastChild.remove();
    tradesSoon();
  });

  renderBots();
  await select_(ctx.bot);
  let polls = 0;
  return {
    poll: 3000,
    refresh: async () => {
      renderBots();
      renderPosition();
      renderRisk();
      renderReplay();
      // the open trade's unrealised P&L moves with every bar: its table every other poll while the bot runs
      if (ctx.running()?.status === "running" && ++polls % 2 === 0) await loadTrades();
    },
    onBot: (name) => select_(name),
    destroy: () => { offFill(); tradesSoon.cancel(); if (live) live.destroy(); delete ctx.qd.charts.bots; },
  };
}

