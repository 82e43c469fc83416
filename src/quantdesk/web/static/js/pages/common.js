// Helpers shared by the pages: the "no bot yet" state, debounced refreshes, strategy parameter fields.
import { h, empty } from "../ui.js";
import { inferPrecision } from "../format.js";

export function noBot(ctx) {
  return h("div", { class: "card" }, empty("No paper bot yet. "),
    h("p", { class: "muted", style: { textAlign: "center" } }, "Start one on ",
      h("a", { href: "#/bots" }, "Live trading"), " (or run ", h("code", {}, "quantdesk up"), " for the demo bot)."));
}

/** fn called at most once per `ms`, trailing: for WebSocket-triggered refreshes. */
export function debounce(fn, ms = 1200) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

/** inputs for a strategy's parameters ({name: {type, default, min, max, step, choices, description}}) */
export function paramFields(params, values = {}) {
  const fields = [];
  for (const [name, spec] of Object.entries(params || {})) {
    const v = values[name] ?? spec.default;
    let input;
    if (spec.type === "bool") {
      input = h("input", { type: "checkbox", name, dataset: { param: name, ptype: "bool" } });
      input.checked = !!v;
    } else if (spec.type === "text") {
      input = h("input", { type: "text", name, dataset: { param: name, ptype: "text" }, value: v ?? "", spellcheck: "false" });
    } else if (spec.choices && spec.choices.length) {
      input = h("select", { name, dataset: { param: name, ptype: "choice" } }, spec.choices.map((c) => h("option", { value: c }, c)));
      if (v !== null && v !== undefined) input.value = v;
    } else {
      input = h("input", { type: "number", name, dataset: { param: name, ptype: spec.type },
        step: spec.type === "int" ? spec.step || 1 : "any", min: spec.min ?? null, max: spec.max ?? null, value: v ?? "" });
    }
    const id = `p-${name}-${Math.random().toString(36).slice(2, 7)}`;
    input.id = id;
    fields.push(h("div", { class: `field ${spec.type === "bool" ? "check" : ""}`, title: spec.description || "" },
      spec.type === "bool" ? [input, h("label", { for: id }, name)] : [h("label", { for: id }, name), input]));
  }
  return fields;
}

export function readParams(container) {
  const out = {};
  for (const el of container.querySelectorAll("[data-param]")) {
    const t = el.dataset.ptype;
    if (t === "bool") out[el.dataset.param] = el.checked;
    else if (t === "int") { if (el.value !== "") out[el.dataset.param] = parseInt(el.value, 10); }
    else if (t === "float") { if (el.value !== "") out[el.dataset.param] = parseFloat(el.value); }
    else out[el.dataset.param] = el.value;
  }
  return out;
}

export const RISK_BADGE_TITLE = { ACTIVE: "trading normally", HALTED: "no new risk: reducing and closing orders pass",
  REDUCING: "halted and flattening positions", KILLED: "kill switch: everything canceled and flattened" };

// ---- what a bot replays, in words (Overview, Live trading) ---------------------------------------------------
const UNIT_WORDS = { s: "second", m: "minute", h: "hour", d: "day", w: "week", M: "month" };

/** "1m" -> "one minute", "5m" -> "5 minutes" */
export function timeframeWords(tf) {
  const m = /^(\d+)([smhdwM])$/.exec(tf || "");
  if (!m) return tf || "a bar";
  const n = Number(m[1]);
  return n === 1 ? `one ${UNIT_WORDS[m[2]]}` : `${n} ${UNIT_WORDS[m[2]]}s`;
}

/** seconds of wall time in words: 0.5 -> "0.5 s", 90 -> "1.5 min" */
export function wallWords(sec) {
  const trim = (x) => String(Number(x.toPrecision(3)));
  if (sec < 60) return `${trim(sec)} s`;
  if (sec < 3600) return `${trim(sec / 60)} min`;
  return `${trim(sec / 3600)} h`;
}

function when(iso, withTime) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const s = d.toISOString();
  return withTime ? `${s.slice(0, 10)} ${s.slice(11, 16)} UTC` : s.slice(0, 10);
}

/**
 * What a bot is replaying, as a sentence a newcomer understands, e.g.
 * "demo-sma replays BTC/USDT 1m candles from 2022-01-01 at 120x: one minute of market every 0.5 s".
 * row: a GET /bots row (config: feed, start, end, speed); run: its live summary (status, bars, time) or null.
 */
export function describeReplay(row, run = null) {
  if (!row) return "";
  const cfg = row.config || {};
  const what = `${(row.symbols || []).join(", ")} ${row.timeframe} candles`;
  const status = run?.status || row.status;
  if (cfg.feed && cfg.feed !== "replay") return `${row.bot} trades ${what} from the ${cfg.feed} feed as they close`;
  const midnight = (x) => !x || /T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?$/.test(String(x)) || /^\d{4}-\d\d-\d\d$/.test(String(x));
  const withTime = !(midnight(cfg.start) && midnight(cfg.end));
  const span = `${cfg.start ? `from ${when(cfg.start, withTime)}` : "from the start of the stored data"}`
    + (cfg.end ? ` to ${when(cfg.end, withTime)}` : "");
  const speed = String(cfg.speed ?? "").toLowerCase();
  const x = Number(speed);
  const pace = speed === "max" || speed === "0" || speed === "inf" || !Number.isFinite(x) || x <= 0
    ? "as fast as it can (no pause between bars)"
    : `at ${Number(x.toPrecision(4))}x: ${timeframeWords(row.timeframe)} of market every ${wallWords(tfSecondsOf(row.timeframe) / x)}`;
  const verb = status === "finished" ? "replayed" : "replays";
  return `${row.bot} ${verb} ${what} ${span} ${pace}`;
}

function tfSecondsOf(tf) {
  const m = /^(\d+)([smhdwM])$/.exec(tf || "");
  if (!m) return 60;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 }[m[2]];
}

/** where the replay is: "bar 120 of 1,440 · market time 2022-01-01 02:00 UTC" */
export function replayProgress(row, run = null) {
  if (!row) return "";
  const status = run?.status || row.status;
  if (!run) return `${status}: not running on this node`;
  const at = run.time ? ` · market time ${when(run.time, true)}` : "";
  if (status === "finished") return `finished: all ${run.bars_total.toLocaleString("en-US")} bars replayed${at}`;
  return `${status} · bar ${run.bars.toLocaleString("en-US")} of ${run.bars_total.toLocaleString("en-US")}${at}`;
}

/** the risk engine's decisions for a running bot: [{rule, denied, resized, limit}] (counts since it started).
 * configured: GET /risk/limits, for a bot started with "the configured limits" (config.risk === true) */
export function riskDecisions(run, row = null, configured = null) {
  const r = run?.risk || {};
  const denied = r.denied_by_rule || {};
  const resized = r.resized_by_rule || {};
  const own = row?.config?.risk;
  const limits = own && typeof own === "object" ? own : own === true && configured ? configured : {};
  return [...new Set([...Object.keys(denied), ...Object.keys(resized)])].sort().map((rule) => ({
    rule, denied: denied[rule] || 0, resized: resized[rule] || 0, limit: limitText(rule, limits[rule]) }));
}

function limitText(rule, v) {
  if (v === null || v === undefined || typeof v === "object") return "";
  if (typeof v === "number" && /pct/.test(rule)) return `${Number((v * 100).toPrecision(4))}%${/position|exposure/.test(rule) ? " of equity" : ""}`;
  return String(v);
}

/** one line: "18 orders sized down to fit max_position_pct (15% of equity) · 2 denied by daily_loss_pct" */
export function riskDecisionsText(decisions) {
  const parts = [];
  for (const d of decisions) {
    const lim = d.limit ? ` (${d.limit})` : "";
    if (d.resized) parts.push(`${d.resized} order${d.resized === 1 ? "" : "s"} sized down to fit ${d.rule}${lim}`);
    if (d.denied) parts.push(`${d.denied} order${d.denied === 1 ? "" : "s"} denied by ${d.rule}${lim}`);
  }
  return parts.join(" · ");
}

/** the decimals an instrument's prices use (its last stored closes; memoised per symbol and timeframe), or
 * null when its candles cannot be read. A single price string ("6928.5") under-states them. */
export async function instrumentPrecision(ctx, symbol, timeframe) {
  if (!symbol || !timeframe) return null;
  try {
    const rows = await ctx.once("/market/candles", { symbol, timeframe, limit: 50 });
    return rows.length ? inferPrecision(rows.map((r) => r.close)) : null;
  } catch {
    return null;
  }
}
