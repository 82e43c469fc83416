// Models: the ML registry. Every model with its out-of-sample validation next to the no-skill baselines and the
// live calibration of its tracked signals; a model's reliability diagram (validation vs live) and importance; a
// form to train a model in the background (write key) with its progress.
import { h, clear, card, badge, kpi, field, select, progress, toast, busy, empty } from "../ui.js";
import { DataTable } from "../tables.js";
import { fixed, ts, toMs } from "../format.js";
import { reliabilityChart, decileChart } from "./mlviz.js";

const f3 = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? "—" : fixed(Number(v), 3));

export async function mount(view, ctx) {
  const table = new DataTable({
    id: "models-table", csvName: "models", rowKey: "id", initialSort: { key: "created_at", dir: -1 },
    empty: "No models yet: train one below or with `quantdesk ml train`.",
    facets: [{ key: "slot", label: "Slot" }, { key: "kind", label: "Model" }, { key: "status", label: "Status" }],
    onRowClick: (r) => showDetail(r.id),
    columns: [
      { key: "id", label: "Model id" },
      { key: "created_at", label: "Created", fmt: ts, sortValue: (r) => toMs(r.created_at) },
      { key: "slot", label: "Slot" },
      { key: "kind", label: "Model" },
      { key: "status", label: "Status", fmt: (v) => badge(v) },
      { key: "auc", label: "AUC (0.5)", num: true, value: (r) => r.metrics?.auc, fmt: f3 },
      { key: "accuracy", label: "Accuracy", num: true, value: (r) => r.metrics?.accuracy, fmt: f3 },
      { key: "baseline", label: "Baseline", num: true, value: (r) => r.metrics?.baseline_accuracy, fmt: f3 },
      { key: "brier", label: "Brier", num: true, value: (r) => r.metrics?.brier, fmt: f3 },
      { key: "ece", label: "ECE", num: true, value: (r) => r.metrics?.ece, fmt: f3 },
      { key: "dsr", label: "Deflated Sharpe", num: true, value: (r) => r.metrics?.dsr, fmt: f3 },
      { key: "live_n", label: "Live signals", num: true, value: (r) => r.live?.resolved ?? 0 },
      { key: "live_hit", label: "Live hit rate", num: true, value: (r) => r.live?.hit_rate, fmt: f3 },
      { key: "live_ece", label: "Live ECE", num: true, value: (r) => r.live?.ece, fmt: f3 },
    ],
  });
  const detail = h("div", { id: "model-detail" }, empty("Select a model to see its calibration and importance."));
  const form = trainForm(ctx, () => refresh());
  view.append(card("Models (validation: purged out-of-sample)", table.el), card("Model", detail), form);

  async function refresh() {
    const rows = await ctx.api.get("/ml/models", { limit: 200 }, { quiet: true }).catch(() => null);
    if (rows) table.setRows(rows);
    ctx.qd.data = { ...(ctx.qd.data || {}), models: rows };
  }

  async function showDetail(id) {
    const m = await ctx.api.get(`/ml/models/${id}`);
    const cv = m.meta?.cv || {};
    const live = m.live || {};
    const kpis = h("div", { class: "kpis" },
      kpi("AUC", f3(cv.auc), { sub: "no skill 0.5" }),
      kpi("Accuracy", f3(cv.accuracy), { sub: `baseline ${f3(cv.baseline_accuracy)}` }),
      kpi("Brier", f3(cv.brier), { sub: `baseline ${f3(cv.baseline_brier)}` }),
      kpi("ECE", f3(cv.ece), { sub: `live ${f3(live.ece)}` }),
      kpi("Deflated Sharpe", f3(cv.strategy?.dsr), { sub: cv.strategy?.dsr_significant ? "significant" : "not significant" }),
      kpi("Live signals", String(live.resolved ?? 0), { sub: `hit rate ${f3(live.hit_rate)}` }));
    const imp = (m.meta?.importance || []).slice(0, 12);
    const charts = h("div", { class: "grid grid-2" },
      reliabilityChart([{ name: "validation (out of sample)", points: cv.reliability || [] },
        { name: "live signals", points: live.reliability || [] }], { id: "model-reliability" }),
      live.deciles?.length ? decileChart(live.deciles, live.baseline_hit_rate, { id: "model-deciles" })
        : h("div", {}, h("h3", {}, "Permutation importance (AUC drop)"),
          imp.length ? h("table", { class: "data", id: "model-importance" }, h("tbody", {}, imp.map((r) =>
            h("tr", {}, h("td", {}, r.feature), h("td", { class: "num" }, f3(r.importance)))))) : empty("—")));
    clear(detail, h("p", { class: "muted" }, `${m.id} · ${m.kind} · ${m.label} · ${m.symbol} ${m.timeframe} · `,
      `${m.meta?.first ?? ""} → ${m.meta?.last ?? ""} · ${m.meta?.samples ?? "?"} samples`), kpis, charts);
    ctx.qd.data = { ...(ctx.qd.data || {}), model: m };
  }

  await refresh();
  return { poll: 10000, refresh };
}

function trainForm(ctx, done) {
  const symbol = h("input", { id: "ml-symbol", value: "BTC/USDT", required: true });
  const tf = select(["1m", "5m", "15m", "1h", "4h", "1d"], { id: "ml-timeframe", value: "1h" });
  const label = h("input", { id: "ml-label", value: "horizon:12", title: "horizon:N or barrier:tp=2:sl=1:max=24" });
  const model = select(["lightgbm", "rf", "et", "gb", "xgboost", "ensemble"], { id: "ml-model", value: "lightgbm" });
  const cv = select(["walk-forward", "cpcv"], { id: "ml-cv" });
  const folds = h("input", { id: "ml-folds", type: "number", min: 2, max: 30, value: 5 });
  const start = h("input", { id: "ml-start", placeholder: "2019-01-01", title: "first bar (UTC)" });
  const status = h("div", { id: "ml-job", "aria-live": "polite" });
  const go = h("button", { class: "btn btn-primary", type: "submit", disabled: ctx.readOnly || null }, "Train");
  const formEl = h("form", { class: "toolbar", id: "ml-train-form", "aria-label": "Train a model" },
    field("Symbol", symbol), field("Timeframe", tf), field("Label", label), field("Model", model), field("CV", cv),
    field("Folds", folds), field("Start", start), go);
  formEl.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(go, async () => {
      const body = { symbol: symbol.value.trim(), timeframe: tf.value, label: label.value.trim(), model: model.value,
        cv: cv.value, folds: Number(folds.value) };
      if (start.value.trim()) body.start = start.value.trim();
      const job = await ctx.api.post("/ml/train", body);
      for (;;) {
        const j = await ctx.api.get(`/ml/jobs/${job.id}`, null, { quiet: true });
        clear(status, h("div", { class: "muted" }, `${j.stage} (${Math.round((j.progress || 0) * 100)}%)`), progress(j.progress));
        if (j.status !== "running") {
          if (j.status === "completed") { toast(`Model ${j.model_id} trained`, "success"); clear(status, `trained ${j.model_id}`); done(); }
          else { toast(`Training failed: ${j.error}`, "error"); clear(status, j.error || "failed"); }
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }).catch(() => {});
  });
  return card("Train a model (background job; at most two at once)", [formEl, status]);
}
