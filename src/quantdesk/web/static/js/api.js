// fetch wrapper: the API key on every call, a client-side request budget under the server's per-key token bucket
// (default 20 req/s, burst 40), at most 4 requests in flight, 429 -> wait Retry-After and retry, and readable
// errors ({"detail": ...} -> "POST /orders: price: a limit order needs a price") shown as toasts.
import { toast } from "./ui.js";

export const PREFIX = "/api/v1";
const STORE = "qd.apiKey";

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

export function describe(body, status) {
  if (!body) return `HTTP ${status}`;
  const d = body.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => {
      const loc = (e.loc || []).filter((p) => p !== "body" && p !== "query").join(".");
      return loc ? `${loc}: ${e.msg}` : e.msg;
    }).join("; ");
  }
  if (body.message) return body.message;
  return `HTTP ${status}`;
}

class Budget {
  // a token bucket like the server's, a bit slower, so that a page's burst never reaches the server's limit
  constructor(rate = 8, burst = 16, concurrency = 4) {
    this.rate = rate; this.burst = burst; this.tokens = burst; this.last = performance.now();
    this.concurrency = concurrency; this.inflight = 0; this.waiting = []; this.pausedUntil = 0;
  }
  refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
  async acquire() {
    for (;;) {
      this.refill();
      const now = performance.now();
      if (now >= this.pausedUntil && this.tokens >= 1 && this.inflight < this.concurrency) {
        this.tokens -= 1;
        this.inflight += 1;
        return;
      }
      const wait = Math.max(this.pausedUntil - now, this.tokens < 1 ? ((1 - this.tokens) / this.rate) * 1000 : 0, 20);
      await new Promise((r) => {
        const t = setTimeout(r, wait);
        this.waiting.push(() => { clearTimeout(t); r(); });
      });
    }
  }
  release() {
    this.inflight -= 1;
    const w = this.waiting.splice(0);
    w.forEach((f) => f());
  }
  pause(ms) { this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms); }
}

export class Api {
  constructor() {
    this.key = localStorage.getItem(STORE);
    this.budget = new Budget();
    this.onUnauthorized = null;
    this.stats = { requests: 0, throttled: 0, errors: 0 };
  }

  setKey(key) {
    this.key = key;
    if (key) localStorage.setItem(STORE, key);
    else localStorage.removeItem(STORE);
  }

  url(path, params) {
    const u = new URL(path.startsWith("/") && !path.startsWith(PREFIX) && !path.startsWith("/health") ? PREFIX + path : path,
      location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") u.searchParams.set(k, v);
    }
    return u.pathname + u.search;
  }

  /**
   * request(method, path, {params, body, quiet, key, raw})
   * quiet: true = no toast; a number or list of numbers = no toast for these statuses (e.g. 404 "no bot yet").
   */
  async request(method, path, { params = null, body = undefined, quiet = false, key = undefined, signal = undefined } = {}) {
    const url = this.url(path, params);
    const headers = { Accept: "application/json" };
    const k = key === undefined ? this.key : key;
    if (k) headers["X-API-Key"] = k;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    for (let attempt = 0; ; attempt++) {
      await this.budget.acquire();
      let res;
      try {
        this.stats.requests += 1;
        res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal,
          cache: "no-store" });
      } catch (err) {
        this.budget.release();
        if (err && err.name === "AbortError") throw err;
        const e = new ApiError(0, `${method} ${path}: the API cannot be reached (${err.message || err})`);
        if (!quiet) toast(e.message, "error");
        throw e;
      }
      this.budget.release();
      if (res.status === 429 && attempt < 4) {
        this.stats.throttled += 1;
        const after = Number(res.headers.get("Retry-After")) || 1;
        this.budget.pause(after * 1000 * (attempt + 1));
        continue;
      }
      const text = await res.text();
      let data = null;
      if (text) {
        try { data = JSON.parse(text); } catch { data = text; }
      }
      if (res.ok) return data;
      this.stats.errors += 1;
      const msg = describe(typeof data === "object" ? data : { detail: data }, res.status);
      const err = new ApiError(res.status, `${method} ${path.split("?")[0]}: ${msg}`, data);
      err.reason = msg;
      if (res.status === 401 && key === undefined && this.onUnauthorized) this.onUnauthorized(msg);
      const silent = quiet === true || (Array.isArray(quiet) ? quiet.includes(res.status) : quiet === res.status);
      if (!silent) toast(res.status === 429 ? `${method} ${path}: rate limited, slowing down` : err.message, "error");
      throw err;
    }
  }

  get(path, params, opts = {}) { return this.request("GET", path, { params, ...opts }); }
  post(path, body, opts = {}) { return this.request("POST", path, { body, ...opts }); }
  del(path, params, opts = {}) { return this.request("DELETE", path, { params, ...opts }); }

  /** a GET whose 404 means "nothing yet" (no paper bot): returns `fallback` instead of an error. */
  async maybe(path, params, fallback = null) {
    try {
      return await this.get(path, params, { quiet: 404 });
    } catch (e) {
      if (e.status === 404) return fallback;
      throw e;
    }
  }
}
