// Alerts: the stored alerts (server-side filters: kind, severity, bot) with their delivery status, and the live
// risk / alert events of this session from the WebSocket "alerts" channel.
import { h, clear, card, badge, field, select, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { ts, toMs, titleCase } from "../format.js";

const KINDS = ["", "fill", "stop_loss_hit", "risk_halt", "drawdown", "feed_stalled", "bot_crashed", "calibration_drift"];
const SEVERITIES = ["", "info", "warning", "critical"];

export async function mount(view, ctx) {
  const live = ctx.liveAlerts; // this session's "alerts" channel messages (collected by app.js from the start)
  const kind = select(KINDS.map((k) => ({ value: k, label: k ? titleCase(k) : "all kinds" })), { id: "alerts-kind" });
  const sev = select(SEVERITIES.map((k) => ({ value: k, label: k ? titleCase(k) : "all severities" })), { id: "alerts-severity" });
  const bot = h("select", { id: "alerts-bot" });
  const limit = select(["50", "100", "500"], { id: "alerts-limit", value: "100" });
  const fillBots = () => {
    const cur = bot.value;
    bot.replaceChildren(h("option", { value: "" }, "all bots"), ...ctx.status.bots.map((b) => h("option", { value: b.bot }, b.bot)));
    bot.value = ctx.status.bots.some((b) => b.bot === cur) ? cur : "";
  };
  fillBots();
  const table = new DataTable({
    id: "alerts-table", csvName: "alerts", empty: "No alerts stored (alert rules: quantdesk alerts, QD_HOME/alerts.yaml).", rowKey: "id",
    initialSort: { key: "ts", dir: -1 },
    columns: [
      { key: "ts", label: "Time", fmt: ts, sortValue: (r) => toMs(r.ts), csvValue: (r) => ts(r.ts) },
      { key: "severity", label: "Severity", fmt: (v) => badge(v) },
      { key: "kind", label: "Kind" },
      { key: "title", label: "Title" },
      { key: "text", label: "Text" },
      { key: "bot", label: "Bot" },
      { key: "symbol", label: "Symbol" },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "deliveries", label: "Deliveries", value: (r) => (r.deliveries || []).map((d) => `${d.channel}:${d.status}`).join(" ") },
    ],
  });
  const liveBox = h("div", { id: "alerts-live" });
  const filters = h("form", { class: "toolbar", id: "alerts-filters", "aria-label": "Alert filters" },
    field("Kind", kind), field("Severity", sev), field("Bot", bot), field("Limit", limit));
  view.append(card("Alert history", [filters, h("div", { style: { height: "12px" } }), table.el]),
    card("Live risk & alert events (this session)", liveBox));

  async function refresh() {
    const rows = await ctx.api.get("/alerts", { kind: kind.value, severity: sev.value, bot: bot.value, limit: limit.value }, { quiet: true }).catch(() => null);
    if (rows) table.setRows(rows);
    ctx.qd.data = { ...(ctx.qd.data || {}), alerts: rows };
    renderLive();
  }
  function renderLive() {
    clear(liveBox, live.length ? h("ul", { class: "feed" }, live.slice(0, 50).map((m) => h("li", {},
      h("span", { class: "time" }, ts(m.data?.ts_event ?? m.data?.ts ?? m.at)),
      h("span", {}, h("strong", {}, m.type || m.topic || "event"), " ", h("span", { class: "muted" }, describe(m))),
      m.bot ? h("span", { class: "muted" }, m.bot) : badge(m.data?.severity || "info"))))
      : empty("No live event yet: halts, kill switches, breaker trips and alerts appear here as they happen."));
  }
  function describe(m) {
    const d = m.data || {};
    if (d.title) return `${d.title}${d.text ? ` — ${d.text}` : ""}`;
    if (d.bots) return `${d.bots.join(", ")}${d.reason ? ` — ${d.reason}` : ""}`;
    if (d.new) return `${d.old} → ${d.new}${d.reason ? ` — ${d.reason}` : ""}`;
    return d.reason || d.rule || "";
  }
  for (const el of [kind, sev, bot, limit]) el.addEventListener("change", refresh);
  filters.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  await refresh();
  const off = ctx.ws.on("alerts", () => setTimeout(refresh, 300));
  return { poll: 5000, refresh: async () => { fillBots(); await refresh(); }, destroy: off };
}
