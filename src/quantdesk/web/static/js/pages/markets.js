// Markets: candlestick chart with volume, indicators from the catalog as overlays or panes, symbol / timeframe /
// window pickers, and live updates: "Follow" a running bot to see its bars (and fills) as they come.
import { h, clear, card, toast, field } from "../ui.js";
import { PriceChart } from "../charts.js";
import { BotChart } from "../livechart.js";
import { inferPrecision, isoParam, pct, price, signClass, tfSeconds, compact } from "../format.js";
import { LAYERS } from "../layers/index.js";

const STORE = "qd.markets";

export async function mount(view, ctx) {
  const saved = JSON.parse(localStorage.getItem(STORE) || "{}");
  const [symbols, catalog] = await Promise.all([ctx.once("/market/symbols"), ctx.once("/indicators")]);
  const bySymbol = new Map();
  for (const s of symbols) {
    if (!bySymbol.has(s.symbol)) bySymbol.set(s.symbol, []);
    bySymbol.get(s.symbol).push(s);
  }
  const state = {
    symbol: bySymbol.has(saved.symbol) ? saved.symbol : symbols[0]?.symbol,
    timeframe: saved.timeframe || "1m",
    bars: saved.bars || 500,
    follow: "",
    indicators: [], // [{id, name, params, overlay, label, outputs}]
  };
  const symSel = h("select", { id: "mk-symbol", "aria-label": "Symbol" }, [...bySymbol.keys()].map((s) => h("option", { value: s }, s)));
  const tfSel = h("select", { id: "mk-timeframe", "aria-label": "Timeframe" });
  const barsSel = h("select", { id: "mk-bars", "aria-label": "Bars shown" }, [200, 500, 1000, 3000].map((n) => h("option", { value: n }, `${n} bars`)));
  const followSel = h("select", { id: "mk-follow", "aria-label": "Follow a bot live" });
  const indSel = h("select", { id: "mk-indicator", "aria-label": "Indicator" },
    groupOptions(catalog));
  const paramsBox = h("div", { class: "toolbar", id: "mk-ind-params" });
  const addBtn = h("button", { class: "btn btn-primary", type: "submit", id: "mk-add" }, "Add indicator");
  const chips = h("div", { class: "chips", id: "mk-chips", "aria-label": "Indicators on the chart" });
  const layersOn = new Set(saved.layers || []);
  const layerBox = h("div", { class: "toolbar", id: "mk-layers", hidden: !LAYERS.length },
    LAYERS.map((layer) => h("label", { class: "inline-label" },
      h("input", { type: "checkbox", checked: layersOn.has(layer.id), dataset: { layer: layer.id },
        onchange: (e) => toggleLayer(layer, e.target.checked) }), ` ${layer.label}`)));
  const info = h("div", { class: "kpis", id: "mk-info" });
  const status = h("span", { class: "muted", id: "mk-status" });
  const chartBox = h("div", { id: "mk-chart" });
  const indForm = h("form", { class: "toolbar", "aria-label": "Add an indicator" }, field("Indicator", indSel), paramsBox, addBtn);
  view.append(
    card(null, h("div", { class: "grid" },
      h("div", { class: "toolbar" }, field("Symbol", symSel), field("Timeframe", tfSel), field("Window", barsSel),
        field("Follow bot (live)", followSel), status),
      indForm, chips, layerBox)),
    info,
    card(null, chartBox));

  let live = null; // BotChart while following
  let chart = null; // PriceChart (historical)
  ctx.qd.charts.markets = {
    candleCount: () => current().data.length,
    stats: () => current().stats(),
    indicators: () => state.indicators.map((i) => ({ id: i.id, name: i.name, overlay: i.overlay, outputs: i.outputs })),
  };
  const current = () => (live ? live.chart : chart);

  function fillTimeframes() {
    const tfs = (bySymbol.get(state.symbol) || []).map((s) => s.timeframe);
    tfSel.replaceChildren(...tfs.map((t) => h("option", { value: t }, t)));
    if (!tfs.includes(state.timeframe)) state.timeframe = tfs[0];
    tfSel.value = state.timeframe;
  }

  function fillFollow() {
    const running = ctx.status.running.filter((b) => b.status === "running" || b.status === "paused");
    followSel.replaceChildren(h("option", { value: "" }, "— latest data —"),
      ...running.map((b) => h("option", { value: b.bot }, `${b.bot} (${b.symbols.join(",")} ${b.timeframe})`)));
    if (state.follow && !running.some((b) => b.bot === state.follow)) state.follow = "";
    followSel.value = state.follow;
  }

  function renderParams() {
    const spec = catalog.find((c) => c.name === indSel.value);
    clear(paramsBox, (spec?.params || []).map((p) => {
      const input = p.choices ? h("select", { dataset: { iparam: p.name } }, p.choices.map((c) => h("option", { value: c }, c)))
        : h("input", { type: "number", step: p.type === "int" ? 1 : "any", min: p.min ?? null, max: p.max ?? null,
          value: p.default ?? "", style: { width: "90px" }, dataset: { iparam: p.name }, title: p.description || "" });
      if (p.choices && p.default !== undefined) input.value = p.default;
      return field(p.name, input);
    }));
  }

  function saveState() {
    localStorage.setItem(STORE, JSON.stringify({ symbol: state.symbol, timeframe: state.timeframe, bars: state.bars,
      layers: [...layersOn] }));
  }

  function renderInfo() {
    const c = current();
    const d = c.data;
    if (!d.length) { clear(info); return; }
    const last = d[d.length - 1];
    const first = d[0];
    const hi = Math.max(...d.map((b) => b.high));
    const lo = Math.min(...d.map((b) => b.low));
    const chg = first.open ? (last.close / first.open - 1) * 100 : null;
    const p = c.precision;
    clear(info,
      kpiBox("Last", price(last.close, p), signClass(last.close - last.open)),
      kpiBox("Change (window)", pct(chg, 2, true), signClass(chg)),
      kpiBox("High", price(hi, p)), kpiBox("Low", price(lo, p)),
      kpiBox("Volume (last bar)", compact(last.volume)),
      kpiBox("Bars", String(d.length)));
  }

  async function load() {
    status.textContent = "loading…";
    saveState();
    if (live) { live.destroy(); live = null; }
    if (chart) { chart.destroy(); chart = null; }
    clear(chartBox);
    if (state.follow) {
      const row = ctx.botRow(state.follow);
      if (row) { state.symbol = row.symbols[0]; state.timeframe = row.timeframe; symSel.value = state.symbol; fillTimeframes(); }
      live = new BotChart(chartBox, ctx, { bars: state.bars, onStatus: (s) => { status.textContent = s || `following ${state.follow} live`; renderInfo(); } });
      await live.follow(state.follow, state.symbol);
    } else {
      chart = new PriceChart(chartBox, { tfSeconds: tfSeconds(state.timeframe) });
      const rows = await ctx.api.get("/market/candles", { symbol: state.symbol, timeframe: state.timeframe, limit: state.bars });
      chart.setPrecision(inferPrecision(rows.map((r) => r.close)));
      chart.setCandles(rows);
      status.textContent = rows.length ? `${state.symbol} ${state.timeframe} · latest ${rows.length} bars` : "no candles";
    }
    for (const ind of state.indicators) await drawIndicator(ind);
    for (const layer of LAYERS) if (layersOn.has(layer.id)) await drawLayer(layer);
    renderInfo();
  }

  function layerView() {
    const c = current();
    return { symbol: state.symbol, timeframe: state.timeframe, bars: state.bars, start: c.firstTime(), end: c.lastTime() };
  }

  async function drawLayer(layer) {
    if (!current().data.length) return;
    try {
      await layer.draw(current(), ctx, layerView());
    } catch (err) {
      if (!err.status) toast(`${layer.label}: ${err.message}`, "error");
    }
  }

  async function toggleLayer(layer, on) {
    if (on) { layersOn.add(layer.id); await drawLayer(layer); } else { layersOn.delete(layer.id); layer.clear(current()); }
    saveState();
  }

  async function drawIndicator(ind) {
    const c = current();
    if (!c.data.length) return;
    const res = await ctx.api.get(`/indicators/${ind.name}`, { symbol: state.symbol, timeframe: state.timeframe,
      end: isoParam(c.lastTime()), limit: c.data.length, ...ind.params });
    const colors = c.setIndicator(ind.id, { label: ind.label, outputs: ind.outputs, values: res.values, overlay: ind.overlay, colors: ind.colors });
    ind.colors = colors;
    renderChips();
  }

  function renderChips() {
    clear(chips, state.indicators.map((ind) => h("span", { class: "chip", dataset: { indicator: ind.id } },
      ind.colors ? h("span", { class: "swatch", style: { background: ind.colors[0] } }) : null,
      `${ind.label}${ind.overlay ? "" : " · pane"}`,
      h("button", { type: "button", "aria-label": `Remove ${ind.label}`, onclick: () => removeIndicator(ind.id) }, "×"))));
  }

  function removeIndicator(id) {
    state.indicators = state.indicators.filter((i) => i.id !== id);
    current().removeIndicator(id);
    renderChips();
  }

  indForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const spec = catalog.find((c) => c.name === indSel.value);
    if (!spec) return;
    const params = {};
    for (const el of paramsBox.querySelectorAll("[data-iparam]")) if (el.value !== "") params[el.dataset.iparam] = el.value;
    const label = `${spec.name}(${Object.values(params).join(",")})`;
    const ind = { id: `${spec.name}-${Date.now().toString(36)}`, name: spec.name, params, overlay: !!spec.overlay, label,
      outputs: spec.outputs };
    addBtn.disabled = true;
    try {
      state.indicators.push(ind);
      await drawIndicator(ind);
    } catch (err) {
      state.indicators = state.indicators.filter((i) => i !== ind);
      if (!err.status) toast(`${label}: ${err.message}`, "error");
    } finally {
      addBtn.disabled = false;
      renderChips();
    }
  });
  indSel.addEventListener("change", renderParams);
  symSel.addEventListener("change", () => { state.symbol = symSel.value; state.follow = ""; followSel.value = ""; fillTimeframes(); load(); });
  tfSel.addEventListener("change", () => { state.timeframe = tfSel.value; state.follow = ""; followSel.value = ""; load(); });
  barsSel.addEventListener("change", () => { state.bars = Number(barsSel.value); load(); });
  followSel.addEventListener("change", () => { state.follow = followSel.value; load(); });

  symSel.value = state.symbol;
  barsSel.value = String(state.bars);
  fillTimeframes();
  fillFollow();
  indSel.value = catalog.some((c) => c.name === "sma") ? "sma" : catalog[0]?.name;
  renderParams();
  await load();

  // historical chart: a bot's bars on the same series extend it when newer than its last bar
  const off = ctx.ws.on("candles", (m) => {
    if (live || !chart || m.type !== "Bar" || !m.data) return;
    const d = m.data;
    if (String(d.instrument).split("@")[0] === state.symbol && Number(d.timeframe) / 1e9 === tfSeconds(state.timeframe)) {
      if (chart.update(d)) renderInfo();
    }
  });
  let lastInd = 0;
  return {
    poll: 5000,
    async refresh() {
      fillFollow();
      renderInfo();
      // indicators follow a live chart: the last values again, every few seconds at most
      if (live && state.indicators.length && performance.now() - lastInd > 4000) {
        lastInd = performance.now();
        const c = current();
        for (const ind of state.indicators) {
          const res = await ctx.api.get(`/indicators/${ind.name}`, { symbol: state.symbol, timeframe: state.timeframe,
            end: isoParam(c.lastTime()), limit: 20, ...ind.params }, { quiet: true }).catch(() => null);
          if (res) c.updateIndicator(ind.id, res.values);
        }
      }
    },
    destroy() { off(); if (live) live.destroy(); if (chart) chart.destroy(); delete ctx.qd.charts.markets; },
  };
}

function kpiBox(label, value, cls = "") {
  return h("div", { class: "kpi" }, h("div", { class: "label" }, label), h("div", { class: `value ${cls}` }, value));
}

function groupOptions(catalog) {
  const groups = new Map();
  for (const c of catalog) {
    if (!groups.has(c.group)) groups.set(c.group, []);
    groups.get(c.group).push(c);
  }
  return [...groups.entries()].sort().map(([g, items]) => h("optgroup", { label: g },
    items.sort((a, b) => a.name.localeCompare(b.name)).map((c) => h("option", { value: c.name, title: c.description },
      `${c.name}${c.overlay ? "" : " (pane)"}`))));
}
