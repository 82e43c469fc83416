// Risk: trading state per bot with halt / resume / kill switch (confirmed), limits and how much of each is used,
// VaR / CVaR, the correlation heat map and the stress-test scenarios on the bundled data.
import { h, clear, card, badge, toast, confirmDialog, busy, field, select, empty } from "../ui.js";
import { money, signedMoney, frac, fixed, titleCase, signClass } from "../format.js";
import { RISK_BADGE_TITLE } from "./common.js";

export async function mount(view, ctx) {
  const symbols = await ctx.once("/market/symbols");
  const uniq = [...new Set(symbols.map((s) => s.symbol))];
  const stateBox = h("div", { id: "risk-state" });
  const controls = h("div", { class: "toolbar" });
  const usageBox = h("div", { id: "risk-usage" });
  const limitsBox = h("div", { id: "risk-limits" });
  const varBox = h("div", { id: "risk-var" });
  const corrBox = h("div", { id: "risk-corr" });
  const stressBox = h("div", { id: "risk-stress" });

  // the default analysis: the symbols stored at its timeframe (VaR of a symbol without 1h candles would fail)
  const tf0 = symbols.some((s) => s.timeframe === "1h") ? "1h" : symbols[0]?.timeframe;
  const atTf0 = [...new Set(symbols.filter((s) => s.timeframe === tf0).map((s) => s.symbol))];
  const symIn = h("input", { id: "risk-symbols", value: (atTf0.length ? atTf0 : uniq).join(","), "aria-label": "Symbols (comma separated)" });
  const tfSel = select([...new Set(symbols.map((s) => s.timeframe))], { id: "risk-timeframe", value: tf0 });
  const alphaSel = select(["0.95", "0.99"], { id: "risk-alpha" });
  const valueIn = h("input", { id: "risk-value", type: "number", value: "10000", min: "1", step: "any" });
  const analyticsForm = h("form", { class: "toolbar", id: "risk-analytics-form" },
    field("Symbols", symIn), field("Timeframe", tfSel), field("Confidence", alphaSel), field("Book value", valueIn),
    h("button", { class: "btn btn-primary", type: "submit" }, "Compute"));
  analyticsForm.addEventListener("submit", (e) => { e.preventDefault(); analytics(); });

  const haltAll = h("button", { class: "btn", type: "button", id: "risk-halt" }, "Halt");
  const resumeAll = h("button", { class: "btn btn-ok", type: "button", id: "risk-resume" }, "Resume");
  const killBtn = h("button", { class: "btn btn-danger", type: "button", id: "risk-kill" }, "Kill switch");
  const scope = h("select", { id: "risk-scope", "aria-label": "Which bots the controls act on" });
  controls.append(field("Acts on", scope), haltAll, resumeAll, killBtn);

  view.append(
    card("Trading state", [h("div", { style: { marginBottom: "12px" } }, controls), stateBox], { id: "risk-state-card" }),
    h("div", { class: "grid grid-2" }, card("Limit usage", usageBox), card("Configured limits", limitsBox)),
    card("Market risk", [analyticsForm, h("div", { class: "grid grid-2", style: { marginTop: "14px" } },
      h("div", {}, h("h3", { style: { marginBottom: "8px" } }, "Value at risk"), varBox),
      h("div", {}, h("h3", { style: { marginBottom: "8px" } }, "Correlation"), corrBox))]),
    card("Stress tests", stressBox));

  let states = [];
  async function act(action, btn) {
    const target = scope.value || null;
    const who = target ? `bot ${target}` : "every running bot";
    if (action !== "resume") {
      const ok = await confirmDialog(action === "kill"
        ? { title: "Activate the kill switch?", text: `Cancels every working order and flattens the positions of ${who}. Trading stays stopped until resumed.`, confirm: "Kill switch" }
        : { title: `Halt ${who}?`, text: "No new risk is taken (reducing and closing orders still pass) until resumed.", confirm: "Halt trading" });
      if (!ok) { toast(`${action === "kill" ? "Kill switch" : "Halt"} canceled: nothing was changed`, "info"); return; }
    }
    await busy(btn, async () => {
      try {
        states = await ctx.api.post(`/risk/${action === "kill" ? "kill-switch" : action}`, { bot: target, reason: `dashboard ${action}` });
        toast(`${titleCase(action)}: ${who}`, action === "resume" ? "ok" : "warn");
        renderState();
      } catch { /* toast shown */ }
    });
  }
  haltAll.addEventListener("click", (e) => act("halt", e.currentTarget));
  resumeAll.addEventListener("click", (e) => act("resume", e.currentTarget));
  killBtn.addEventListener("click", (e) => act("kill", e.currentTarget));

  function renderState() {
    const cur = scope.value;
    scope.replaceChildren(h("option", { value: "" }, "all running bots"), ...states.map((s) => h("option", { value: s.bot }, s.bot)));
    scope.value = states.some((s) => s.bot === cur) ? cur : "";
    const disabled = !states.length;
    for (const b of [haltAll, resumeAll, killBtn]) b.disabled = disabled;
    ctx.qd.data = { ...(ctx.qd.data || {}), risk: states };
    if (!states.length) { clear(stateBox, empty("No bot is running on this node: nothing to halt.")); clear(usageBox, empty("No running bot.")); return; }
    clear(stateBox, h("table", { class: "data", id: "risk-state-table" },
      h("thead", {}, h("tr", {}, ["Bot", "State", "Reason", "Equity", "Denials"].map((t, i) => h("th", { class: i >= 3 ? "num" : null }, t)))),
      h("tbody", {}, states.map((s) => h("tr", { dataset: { bot: s.bot } },
        h("td", {}, s.bot), h("td", { title: RISK_BADGE_TITLE[s.state] || "" }, badge(s.state, "badge-lg")),
        h("td", { class: "muted" }, s.halted_reason || "—"), h("td", { class: "num" }, money(s.equity)),
        h("td", { class: "num" }, Object.entries(s.denials || {}).map(([k, v]) => `${k}: ${v}`).join(", ") || "0"))))));
    const sel = states.find((s) => s.bot === ctx.bot) || states[0];
    const usage = Object.entries(sel.usage || {});
    clear(usageBox, h("p", { class: "muted" }, `Bot ${sel.bot}`), usage.length ? usage.map(([k, u]) => {
      const used = u.used_pct;
      const w = used === null || used === undefined ? 0 : Math.min(100, used);
      return h("div", { class: "usage", dataset: { limit: k } }, h("span", {}, titleCase(k.replace(/_pct$/, ""))),
        h("div", { class: "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(w), "aria-label": `${k} used` },
          h("span", { class: used >= 100 ? "over" : used >= 75 ? "hot" : "", style: { width: `${w}%` } })),
        h("span", { class: "num", style: { textAlign: "right" } }, `${k.endsWith("_pct") ? frac(u.value) : fixed(u.value, 0)} / ${k.endsWith("_pct") ? frac(u.limit) : fixed(u.limit, 0)}`));
    }) : empty("No usage yet (the bot has not traded a bar, or risk limits are off for it)."));
  }

  async function refresh() {
    states = await ctx.api.get("/risk/state", null, { quiet: true }).catch(() => states);
    renderState();
  }

  async function loadLimits() {
    const lim = await ctx.api.get("/risk/limits");
    const rows = [];
    const walk = (obj, prefix = "") => {
      for (const [k, v] of Object.entries(obj)) {
        if (v && typeof v === "object" && !Array.isArray(v)) walk(v, `${prefix}${k}.`);
        else rows.push([prefix + k, v]);
      }
    };
    walk(lim);
    clear(limitsBox, h("table", { class: "data", id: "risk-limits-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Limit"), h("th", { class: "num" }, "Value"))),
      h("tbody", {}, rows.map(([k, v]) => h("tr", { dataset: { limit: k } }, h("td", {}, k),
        h("td", { class: "num" }, v === null ? "off" : typeof v === "number" && /pct/.test(k) ? frac(v) : String(v)))))));
  }

  async function analytics() {
    const syms = symIn.value.split(",").map((s) => s.trim()).filter(Boolean).join(",");
    const tf = tfSel.value;
    const [vr, corr, stress] = await Promise.all([
      ctx.api.get("/risk/var", { symbols: syms, timeframe: tf, alpha: alphaSel.value }).catch(() => null),
      ctx.api.get("/risk/correlation", { symbols: syms, timeframe: tf }).catch(() => null),
      ctx.api.get("/risk/stress", { symbols: syms, timeframe: tf, value: valueIn.value || 10000 }).catch(() => null),
    ]);
    ctx.qd.data = { ...(ctx.qd.data || {}), var: vr, correlation: corr, stress };
    clear(varBox, vr ? [h("table", { class: "data", id: "risk-var-table" },
      h("thead", {}, h("tr", {}, ["Symbol", "Historical VaR", "Historical CVaR", "Parametric VaR"].map((t, i) => h("th", { class: i ? "num" : null }, t)))),
      h("tbody", {}, Object.entries(vr.var).map(([s, v]) => h("tr", { dataset: { symbol: s } }, h("td", {}, s),
        h("td", { class: "num down" }, frac(v.historical_var)), h("td", { class: "num down" }, frac(v.historical_cvar)),
        h("td", { class: "num down" }, frac(v.parametric_var)))))),
    h("p", { class: "muted", style: { fontSize: "12px" } }, `One-bar loss at ${fixed(vr.alpha * 100, 0)}% confidence, ${vr.timeframe} bars, ${vr.observations} observations.`)] : empty("VaR unavailable."));
    clear(corrBox, corr ? heatmap(corr) : empty("Correlation unavailable."));
    clear(stressBox, stress ? stressTable(stress) : empty("Stress tests unavailable."));
  }

  await Promise.all([refresh(), loadLimits(), analytics()]);
  return { poll: 4000, refresh, onBot: renderState };
}

function heatColor(v) {
  // -1 red .. 0 grey .. +1 teal
  const x = Math.max(-1, Math.min(1, Number(v) || 0));
  const a = Math.abs(x);
  const [r, g, b] = x >= 0 ? [38, 166, 154] : [239, 83, 80];
  return `rgba(${r},${g},${b},${0.15 + 0.75 * a})`;
}

function heatmap(corr) {
  return [h("table", { class: "heat", id: "risk-heatmap", "aria-label": "Correlation matrix" },
    h("thead", {}, h("tr", {}, h("th", {}), corr.symbols.map((s) => h("th", { scope: "col" }, s)))),
    h("tbody", {}, corr.matrix.map((row, i) => h("tr", {}, h("th", { scope: "row" }, corr.symbols[i]),
      row.map((v, j) => h("td", { style: { background: heatColor(v) }, title: `${corr.symbols[i]} / ${corr.symbols[j]}: ${fixed(v, 3)}` }, fixed(v, 2))))))),
  h("p", { class: "muted", style: { fontSize: "12px" } }, `${corr.timeframe} returns, ${corr.observations} common observations.`,
    corr.symbols.length < 2 ? " Add symbols to the store to see cross-correlations." : "")];
}

function stressTable(st) {
  return [h("table", { class: "data", id: "risk-stress-table" },
    h("thead", {}, h("tr", {}, ["Scenario", "Kind", "P&L", "P&L %", "Trough P&L", "Window"].map((t, i) => h("th", { class: i >= 2 && i <= 4 ? "num" : null }, t)))),
    h("tbody", {}, st.scenarios.map((s) => h("tr", { dataset: { scenario: s.name } },
      h("td", { title: s.description || "" }, s.episode || s.name), h("td", { class: "muted" }, titleCase(s.kind)),
      h("td", { class: `num ${signClass(s.total_pnl)}` }, signedMoney(s.total_pnl)),
      h("td", { class: `num ${signClass(s.total_pct)}` }, frac(s.total_pct, 2, true)),
      h("td", { class: `num ${signClass(s.trough_pnl)}` }, s.trough_pnl !== undefined ? signedMoney(s.trough_pnl) : "—"),
      h("td", { class: "muted mono" }, s.start ? `${s.start.slice(0, 10)} → ${s.end.slice(0, 10)}` : "—"))))),
  h("p", { class: "muted", style: { fontSize: "12px" } }, `Book ${money(st.value)} on ${Object.keys(st.book).join(", ")} (${st.timeframe}).`)];
}
