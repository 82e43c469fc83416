// DOM helpers: element builder, toasts, the confirmation <dialog>, badges, cards, KPIs, empty states.
// Text always goes in as text nodes (never innerHTML with API data).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- toasts ----
const recent = new Map(); // message -> time: the same error from a poll loop is shown once per 10 s

export function toast(message, kind = "info", ms = 6000) {
  const now = Date.now();
  if (recent.has(message) && now - recent.get(message) < 10000) return;
  recent.set(message, now);
  const box = document.getElementById("toasts");
  if (!box) return;
  const close = h("button", { "aria-label": "Dismiss", type: "button" }, "×");
  const t = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("div", { class: "msg" }, message), close);
  close.addEventListener("click", () => t.remove());
  box.append(t);
  while (box.children.length > 5) box.firstChild.remove();
  setTimeout(() => t.remove(), kind === "error" ? ms + 4000 : ms);
}

// ---- confirmation dialog ----
export function confirmDialog({ title = "Are you sure?", text = "", confirm = "Confirm", danger = true } = {}) {
  const dlg = document.getElementById("confirm-dialog");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = confirm;
  ok.className = `btn ${danger ? "btn-danger" : "btn-primary"}`;
  if (dlg.open) dlg.close("cancel");
  const form = dlg.querySelector("form");
  // settled by the button that submitted the form (or Esc), not by the "close" event: a close still queued from
  // the previous dialog must not answer this one
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      dlg.removeEventListener("cancel", onCancel);
      resolve(value);
    };
    const onSubmit = (e) => finish(e.submitter?.value === "ok");
    const onCancel = () => finish(false);
    form.addEventListener("submit", onSubmit);
    dlg.addEventListener("cancel", onCancel);
    dlg.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

// ---- small components ----
const BADGE = {
  ACTIVE: "ok", RUNNING: "ok", FILLED: "ok", COMPLETED: "ok", OK: "ok", SENT: "ok", ACCEPTED: "ok", DISPATCHED: "ok",
  HALTED: "bad", KILLED: "bad", FAILED: "bad", CRASHED: "bad", DENIED: "bad", REJECTED: "bad", CRITICAL: "bad", DOWN: "bad",
  REDUCING: "warn", PAUSED: "warn", WARNING: "warn", DEGRADED: "warn", PARTIALLY_FILLED: "warn", PENDING: "warn",
  IN_SYNC: "ok", ADJUSTED: "info", STALE: "warn", HALT: "bad",
  SUBMITTED: "info", WORKING: "info", INFO: "info", BUY: "ok", SELL: "bad", LONG: "ok", SHORT: "bad",
};

export function badge(text, extra = "") {
  const t = String(text ?? "—");
  const kind = BADGE[t.toUpperCase()] || "mute";
  return h("span", { class: `badge badge-${kind} ${extra}`.trim() }, t);
}

export function card(title, body, { actions = null, id = null, cls = "" } = {}) {
  return h("section", { class: `card ${cls}`.trim(), id, "aria-label": typeof title === "string" ? title : null },
    title || actions ? h("div", { class: "card-head" }, typeof title === "string" ? h("h2", {}, title) : title,
      actions ? h("div", { class: "actions" }, actions) : null) : null,
    body);
}

export function kpi(label, value, { cls = "", sub = null, id = null } = {}) {
  return h("div", { class: "kpi", id },
    h("div", { class: "label" }, label),
    h("div", { class: `value ${cls}`.trim(), "data-kpi": label }, value),
    sub !== null ? h("div", { class: "sub" }, sub) : null);
}

export function empty(text) {
  return h("div", { class: "empty" }, text);
}

export function field(label, input, { cls = "" } = {}) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: `field ${cls}`.trim() }, h("label", { for: id }, label), input);
}

export function select(options, { value = null, ...attrs } = {}) {
  const el = h("select", attrs,
    options.map((o) => (typeof o === "object" ? h("option", { value: o.value }, o.label ?? o.value) : h("option", { value: o }, o))));
  if (value !== null && value !== undefined) el.value = value;
  return el;
}

export function progress(fraction) {
  const p = Math.max(0, Math.min(1, fraction || 0));
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": Math.round(p * 100) }, h("span", { style: { width: `${p * 100}%` } }));
}

/** re-render guard: `busy(button, fn)` disables the button while fn runs. */
export async function busy(button, fn) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } finally {
    if (button) button.disabled = false;
  }
}
