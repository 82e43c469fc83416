// Helpers shared by the pages: the "no bot yet" state, debounced refreshes, strategy parameter fields.
import { h, empty } from "../ui.js";

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
