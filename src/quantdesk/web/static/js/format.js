// Number and time formatting: money 2 decimals with thousands separators, prices at the instrument's precision,
// timestamps as UTC ISO-8601 ("2022-01-01 00:05:00Z"). The API sends Decimals as strings ("0E-8"), times as
// ISO strings or integer nanoseconds: everything goes through num() / toMs() first.

export const DASH = "—";

export function num(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

const cache = new Map();
function nf(min, max) {
  const k = `${min}:${max}`;
  if (!cache.has(k)) cache.set(k, new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max }));
  return cache.get(k);
}

export function fixed(v, dp = 2) {
  if (!Number.isInteger(dp)) dp = 2; // also used directly as a table formatter fmt(value, row)
  const n = num(v);
  return n === null ? DASH : nf(dp, dp).format(n === 0 ? 0 : n);
}

export function money(v, dp = 2) { return fixed(v, dp); }

export function signedMoney(v, dp = 2) {
  if (!Number.isInteger(dp)) dp = 2;
  const n = num(v);
  if (n === null) return DASH;
  return (n > 0 ? "+" : "") + fixed(n, dp);
}

export function price(v, precision = 2) { return fixed(v, Math.max(0, Math.min(8, precision ?? 2))); }

export function qty(v) {
  const n = num(v);
  if (n === null) return DASH;
  return nf(0, 8).format(n === 0 ? 0 : n);
}

/** value in percent units (12.3 -> "12.30%"). */
export function pct(v, dp = 2, signed = false) {
  if (!Number.isInteger(dp)) { dp = 2; signed = false; }
  const n = num(v);
  if (n === null) return DASH;
  return (signed && n > 0 ? "+" : "") + fixed(n, dp) + "%";
}

/** a fraction (0.123 -> "12.30%"). */
export function frac(v, dp = 2, signed = false) {
  const n = num(v);
  return n === null ? DASH : pct(n * 100, dp, signed);
}

export function compact(v) {
  const n = num(v);
  if (n === null) return DASH;
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 }).format(n);
}

/** milliseconds since the epoch from ISO text, ns / ms / s integers. */
export function toMs(v) {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "number" || /^-?\d+$/.test(String(v))) {
    const n = Number(v);
    if (Math.abs(n) > 1e17) return Math.floor(n / 1e6); // ns
    if (Math.abs(n) > 1e14) return Math.floor(n / 1e3); // us
    if (Math.abs(n) > 1e11) return n; // ms
    return n * 1000; // s
  }
  const s = String(v);
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + "Z");
  return Number.isFinite(t) ? t : null;
}

export function toSec(v) {
  const ms = toMs(v);
  return ms === null ? null : Math.floor(ms / 1000);
}

/** "2022-01-01 00:05:00Z" */
export function ts(v) {
  const ms = toMs(v);
  if (ms === null) return DASH;
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** ISO-8601 for query parameters: "2022-01-01T00:05:00Z" */
export function isoParam(v) {
  const ms = toMs(v);
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

export function signClass(v) {
  const n = num(v);
  if (n === null || n === 0) return "";
  return n > 0 ? "up" : "down";
}

/** decimals the prices use (like the engine's infer_price_precision), at most 8. */
export function inferPrecision(values, max = 8) {
  let best = 0;
  const n = Math.min(values.length, 500);
  for (let i = 0; i < n; i++) {
    const v = values[values.length - 1 - i];
    if (v === null || v === undefined) continue;
    const s = String(v);
    if (s.includes("e") || s.includes("E")) { best = max; break; }
    const dot = s.indexOf(".");
    if (dot >= 0) best = Math.max(best, s.length - dot - 1);
  }
  return Math.min(best, max);
}

/** timeframe text ("1m", "4h", "1d") to seconds. */
export function tfSeconds(tf) {
  const m = /^(\d+)([smhdwM])$/.exec(tf || "");
  if (!m) return 60;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 }[m[2]];
  return Number(m[1]) * unit;
}

/** "BTC/USDT@sim" -> "BTC/USDT" */
export function symbolOf(instrument) {
  return String(instrument || "").split("@")[0];
}

export function titleCase(s) {
  return String(s || "").replace(/_/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
}

/** the price precision shown for table rows: the decimals their on-grid price columns use (fills, marks) */
export function precisionOf(rows, ...keys) {
  const values = [];
  for (const r of rows || []) for (const k of keys) if (r[k] !== null && r[k] !== undefined && r[k] !== "") values.push(r[k]);
  return values.length ? inferPrecision(values) : 2;
}

const FIAT = new Set(["USD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "FDUSD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD"]);

/** decimals for amounts in a currency: 2 for fiat and stablecoins, 8 for a coin (a BTC-quoted pair's P&L in
 * BTC would read 0.00 at 2 decimals) */
export function currencyDp(currency) {
  const c = String(currency || "").toUpperCase();
  return !c || FIAT.has(c) ? 2 : 8;
}

/** the quote currency of a ccxt symbol ("ETH/BTC" -> "BTC", "BTC/USDT:USDT" -> "USDT") */
export function quoteOf(symbol) {
  const s = String(symbol || "").split("@")[0];
  const settle = s.split(":")[1];
  return settle || s.split("/")[1] || "";
}
