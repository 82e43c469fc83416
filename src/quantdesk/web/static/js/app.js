// Bootstrap: login (key from the URL fragment #key=..., localStorage, or the form), the shell, the hash router
// (#/overview, #/markets, ...), keyboard shortcuts, the bot picker, gentle polling of the visible page only, and
// the window.qd debug hooks the browser tests read.
import { Api } from "./api.js";
import { LiveSocket } from "./ws.js";
import { h, toast, clear } from "./ui.js";

const PAGES = [
  { id: "overview", title: "Overview", key: "o", module: "./pages/overview.js" },
  { id: "markets", title: "Markets", key: "m", module: "./pages/markets.js" },
  { id: "bots", title: "Live trading", key: "b", module: "./pages/bots.js" },
  { id: "portfolio", title: "Portfolio", key: "p", module: "./pages/portfolio.js" },
  { id: "orders", title: "Orders & trades", key: "t", module: "./pages/orders.js" },
  { id: "backtests", title: "Backtests", key: "k", module: "./pages/backtests.js" },
  { id: "risk", title: "Risk", key: "r", module: "./pages/risk.js" },
  { id: "signals", title: "Signals", key: "s", module: "./pages/signals.js" },
  { id: "alerts", title: "Alerts", key: "a", module: "./pages/alerts.js" },
  { id: "training", title: "PowerTrader", key: "w", module: "./pages/training.js" },
  { id: "news", title: "News", key: "n", module: "./pages/news.js" },
  { id: "assistant", title: "Assistant", key: "q", module: "./pages/assistant.js" },
  { id: "models", title: "Models", key: "l", module: "./pages/models.js" },
  { id: "anomalies", title: "Anomalies & regimes", key: "y", module: "./pages/anomalies.js" },
];
const BOT_STORE = "qd.bot";

const api = new Api();
const ws = new LiveSocket();
const qd = { api, ws, charts: {}, pages: PAGES.map((p) => p.id), page: null, ready: false, version: "1" };
window.qd = qd;

const ctx = {
  api, ws, qd,
  bot: null, // the bot the pages show (picker), null = none yet
  status: { running: [], bots: [] },
  readOnly: false,
  liveAlerts: [], // this session's "alerts" channel messages, newest first
  lastBar: {}, // bot -> time (s) of the last bar it traded (WebSocket "candles")
  cache: new Map(),
  /** memoised GET for catalog-like data (symbols, strategies, indicator catalog) */
  once(path, params) {
    const k = path + JSON.stringify(params || {});
    if (!this.cache.has(k)) {
      const p = api.get(path, params).catch((e) => { this.cache.delete(k); throw e; });
      this.cache.set(k, p);
    }
    return this.cache.get(k);
  },
  running(name = this.bot) { return this.status.running.find((b) => b.bot === name) || null; },
  botRow(name = this.bot) { return this.status.bots.find((b) => b.bot === name) || null; },
  refreshStatus: () => refreshStatus(),
  go: (id) => { location.hash = `#/${id}`; },
  reload: () => route(true),
};

let current = null; // {id, handle}
let lastPoll = 0;
let polling = false;

// ---- auth --------------------------------------------------------------------------------------------------
function keyFromFragment() {
  const m = /(?:^#|[#&?])key=([^&]+)/.exec(location.hash);
  if (!m) return null;
  const key = decodeURIComponent(m[1]);
  const rest = location.hash.replace(/[#&?]?key=[^&]+/, "").replace(/^#?&/, "#");
  const route = /^#\/\w+/.test(rest) ? rest : "#/overview";
  history.replaceState(null, "", location.pathname + location.search + route); // never leave the key in the bar
  return key;
}

async function verify(key) {
  return api.get("/auth/whoami", null, { key, quiet: true });
}

function showLogin(message = "") {
  ws.close();
  document.getElementById("shell").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message;
  const input = document.getElementById("login-key");
  input.value = "";
  input.focus();
  qd.ready = false;
}

async function login(key, { source = "saved" } = {}) {
  try {
    const who = await verify(key);
    api.setKey(key);
    await startShell(who);
    return true;
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      api.setKey(null);
      const why = e.reason || "invalid API key";
      showLogin(source === "form" ? `This API key was not accepted: ${why}.`
        : source === "link" ? `The key in the link was not accepted: ${why}. Paste a valid API key.`
          : `Your saved API key is no longer valid (${why}): sign in again.`);
    } else {
      showLogin(`Cannot check the key: ${e.reason || e.message}`);
    }
    return false;
  }
}

function logout(message = "") {
  api.setKey(null);
  if (current?.handle?.destroy) current.handle.destroy();
  current = null;
  clear(document.getElementById("view"));
  showLogin(message);
}

// ---- shell -------------------------------------------------------------------------------------------------
function buildNav() {
  const nav = document.getElementById("nav");
  clear(nav, PAGES.map((p, i) => h("a", { href: `#/${p.id}`, id: `nav-${p.id}`, "aria-keyshortcuts": `g ${p.key} ${i + 1}` },
    h("span", {}, p.title), h("kbd", { "aria-hidden": "true" }, `g ${p.key}`))));
  nav.addEventListener("click", () => closeNav());
  const help = document.getElementById("help-table");
  clear(help, h("tbody", {},
    PAGES.map((p, i) => h("tr", {}, h("td", {}, h("kbd", {}, "g"), " ", h("kbd", {}, p.key), "  or  ", h("kbd", {}, String(i + 1))), h("td", {}, p.title))),
    h("tr", {}, h("td", {}, h("kbd", {}, "/")), h("td", {}, "Focus the table filter")),
    h("tr", {}, h("td", {}, h("kbd", {}, "?")), h("td", {}, "This help")),
    h("tr", {}, h("td", {}, h("kbd", {}, "Esc")), h("td", {}, "Close dialogs and menus"))));
}

function closeNav() {
  const sb = document.querySelector(".sidebar");
  sb.classList.remove("open");
  document.getElementById("nav-toggle").setAttribute("aria-expanded", "false");
}

async function startShell(who) {
  document.getElementById("login").hidden = true;
  document.getElementById("shell").hidden = false;
  ctx.readOnly = !!who.read_only;
  document.getElementById("whoami").textContent = `key: ${who.name}${who.read_only ? " (read-only)" : ""}`;
  ws.connect(api.key);
  await refreshStatus();
  qd.ready = true;
  await route();
}

function wsState(s) {
  const dot = document.getElementById("ws-dot");
  const label = document.getElementById("ws-status");
  dot.className = `dot ${s === "live" ? "dot-on" : s === "offline" || s === "unauthorized" ? "dot-off" : "dot-wait"}`;
  label.textContent = s === "live" ? "live" : s;
  qd.wsState = s;
}

// ---- bots (picker) -------------------------------------------------------------------------------------------
async function refreshStatus() {
  try {
    ctx.status = await api.get("/paper-trading/status", null, { quiet: true });
  } catch (e) {
    if (e.status === 401) return;
  }
  const names = ctx.status.bots.map((b) => b.bot);
  const stored = localStorage.getItem(BOT_STORE);
  const runningNames = ctx.status.running.filter((b) => b.status === "running").map((b) => b.bot);
  let bot = ctx.bot && names.includes(ctx.bot) ? ctx.bot : null;
  if (!bot) bot = stored && names.includes(stored) ? stored : runningNames[runningNames.length - 1] || names[names.length - 1] || null;
  const changed = bot !== ctx.bot;
  ctx.bot = bot;
  const picker = document.getElementById("bot-picker");
  const opts = ctx.status.bots.map((b) => h("option", { value: b.bot }, `${b.bot} · ${b.status}`));
  if (!opts.length) opts.push(h("option", { value: "" }, "no bot yet"));
  picker.replaceChildren(...opts);
  picker.value = bot || "";
  picker.disabled = !names.length;
  if (changed && current && current.handle?.onBot) current.handle.onBot(bot);
  return ctx.status;
}

function pickBot(name) {
  ctx.bot = name || null;
  if (name) localStorage.setItem(BOT_STORE, name);
  if (current?.handle?.onBot) current.handle.onBot(ctx.bot);
  else route(true);
}

// ---- router --------------------------------------------------------------------------------------------------
async function route(force = false) {
  if (!qd.ready) return;
  const m = /^#\/(\w[\w-]*)/.exec(location.hash);
  const id = m && PAGES.some((p) => p.id === m[1]) ? m[1] : "overview";
  if (!m || m[1] !== id) { history.replaceState(null, "", `#/${id}`); }
  if (current && current.id === id && !force) return;
  const page = PAGES.find((p) => p.id === id);
  if (current?.handle?.destroy) {
    try { current.handle.destroy(); } catch (e) { console.warn(e); }
  }
  const view = document.getElementById("view");
  clear(view);
  qd.page = null;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.id === `nav-${id}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.getElementById("page-title").textContent = page.title;
  document.title = `${page.title} · QuantDesk`;
  const token = {};
  current = { id, handle: null, token };
  try {
    const mod = await import(page.module);
    if (current.token !== token) return;
    const handle = await mod.mount(view, ctx);
    if (current.token !== token) { handle?.destroy?.(); return; }
    current.handle = handle || {};
    lastPoll = performance.now();
    qd.page = id;
    view.dataset.page = id;
  } catch (e) {
    console.warn(e);
    if (current.token !== token) return;
    clear(view, h("div", { class: "card" }, h("h2", {}, `${page.title} could not be loaded`),
      h("p", { class: "muted" }, e.reason || e.message || String(e))));
    qd.page = id;
  }
}

// poll only the visible page, gently; the WebSocket carries the live data
async function tick() {
  if (!qd.ready || !current?.handle || document.visibilityState !== "visible" || polling) return;
  const every = current.handle.poll || 0;
  if (!every || performance.now() - lastPoll < every) return;
  polling = true;
  lastPoll = performance.now();
  try {
    await refreshStatus();
    if (current.handle.refresh) await current.handle.refresh();
  } catch (e) {
    console.warn("refresh failed", e);
  } finally {
    polling = false;
  }
}

// ---- keyboard ------------------------------------------------------------------------------------------------
let pendingG = 0;
function typing(el) {
  return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function onKey(e) {
  if (!qd.ready || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard (Esc closes it natively)
  if (e.key === "Escape") { closeNav(); return; }
  if (typing(e.target)) return;
  if (e.key === "?") { e.preventDefault(); document.getElementById("help-dialog").showModal(); return; }
  if (e.key === "/") {
    const f = document.querySelector("#view [data-table-filter]");
    if (f) { e.preventDefault(); f.focus(); }
    return;
  }
  if (e.key === "g") { pendingG = performance.now(); return; }
  if (pendingG && performance.now() - pendingG < 1500) {
    pendingG = 0;
    const p = PAGES.find((x) => x.key === e.key);
    if (p) { e.preventDefault(); ctx.go(p.id); }
    return;
  }
  if (/^[1-9]$/.test(e.key)) {
    const p = PAGES[Number(e.key) - 1];
    if (p) { e.preventDefault(); ctx.go(p.id); }
  }
}

// ---- start ---------------------------------------------------------------------------------------------------
function init() {
  buildNav();
  ws.onState = wsState;
  api.onUnauthorized = (msg) => logout(`Signed out: ${msg}.`);
  document.getElementById("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = document.getElementById("login-key").value.trim();
    const btn = document.getElementById("login-submit");
    if (!key) { document.getElementById("login-error").textContent = "Enter an API key."; return; }
    btn.disabled = true;
    document.getElementById("login-error").textContent = "";
    try { await login(key, { source: "form" }); } finally { btn.disabled = false; }
  });
  document.getElementById("logout-btn").addEventListener("click", () => { logout("Signed out."); toast("Signed out", "ok"); });
  document.getElementById("help-btn").addEventListener("click", () => document.getElementById("help-dialog").showModal());
  document.getElementById("bot-picker").addEventListener("change", (e) => pickBot(e.target.value));
  document.getElementById("nav-toggle").addEventListener("click", () => {
    const sb = document.querySelector(".sidebar");
    const open = sb.classList.toggle("open");
    document.getElementById("nav-toggle").setAttribute("aria-expanded", String(open));
  });
  window.addEventListener("hashchange", () => {
    if (/key=/.test(location.hash)) { const k = keyFromFragment(); if (k) { login(k, { source: "link" }); return; } }
    route();
  });
  document.addEventListener("keydown", onKey);
  setInterval(tick, 500);
  // live: a new bot appearing (started elsewhere) updates the picker soon after
  ws.on("alerts", (m) => { ctx.liveAlerts.unshift({ at: Date.now(), ...m }); if (ctx.liveAlerts.length > 200) ctx.liveAlerts.pop(); });
  ws.on("candles", (m) => { if (m.type === "Bar" && m.data) ctx.lastBar[m.bot] = Math.floor(Number(m.data.ts_ns) / 1e9); });
  ws.on("events", (m) => { if (String(m.type || "").startsWith("bot.")) refreshStatus(); });

  const fragKey = keyFromFragment();
  const key = fragKey || api.key;
  if (key) login(key, { source: fragKey ? "link" : "saved" });
  else showLogin("");
}

init();
