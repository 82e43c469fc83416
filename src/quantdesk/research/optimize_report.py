"""report.html of an optimisation, in the dashboard's dark theme (plotly, offline: the plotly.js library is embedded,
no network needed).

Contents: headline cards (best parameters and figures, DSR, PBO), then
- one searched parameter: the objective against the parameter;
- two: a heat map of the objective over the two parameters (feasible trials; infeasible cells empty);
- more: parameter importance = scikit-learn `RandomForestRegressor(n_estimators=200, random_state=0)`
  impurity-based feature importances of the objective on the parameters (categorical parameters as codes),
  over the feasible trials; without scikit-learn, the absolute Spearman correlation (normalised to sum 1);
the distribution of the objective over all trials (the best marked), the overfitting statistics (DSR, PSR, PBO,
number of trials) and the top trials, every figure with its unit.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest import plot_theme as th
from quantdesk.core.numfmt import format_key, format_value, metric_label


def parameter_importance(table: pd.DataFrame, params: list[str], score: str = "score") -> tuple[dict[str, float], str]:
    """(importance per parameter summing to 1, method name)."""
    rows = table[table["feasible"] & table[score].notna() & np.isfinite(table[score].astype(float))]
    if len(rows) < 3 or not params:
        return {p: math.nan for p in params}, "none (fewer than 3 feasible trials)"
    x = np.column_stack([_codes(rows[_col(table, p)]) for p in params])
    y = rows[score].to_numpy(dtype=np.float64)
    try:
        from sklearn.ensemble import RandomForestRegressor

        rf = RandomForestRegressor(n_estimators=200, random_state=0, n_jobs=1)
        rf.fit(x, y)
        imp = rf.feature_importances_
        method = "random forest (scikit-learn, impurity-based)"
    except ImportError:  # pragma: no cover - scikit-learn is an optional extra
        imp = np.array([abs(pd.Series(x[:, i]).corr(pd.Series(y), method="spearman")) for i in range(len(params))])
        imp = np.nan_to_num(imp)
        method = "absolute Spearman correlation"
    total = float(np.sum(imp))
    return {p: (float(v) / total if total > 0 else 0.0) for p, v in zip(params, imp, strict=True)}, method


def _codes(col: pd.Series) -> np.ndarray:
    try:
        return col.astype(float).to_numpy()
    except (TypeError, ValueError):
        return pd.Categorical(col.astype(str)).codes.astype(float)


def _col(table: pd.DataFrame, p: str) -> str:
    return p if p in table.columns else f"param_{p}"


def _label(result: Any) -> str:
    return metric_label(result.objective)


def build_figures(result: Any) -> list[tuple[str, Any]]:
    """(title, figure) pairs: heat map / objective curve, parameter importance, distribution of the objective."""
    import plotly.graph_objects as go

    table: pd.DataFrame = result.table
    params = list(result.space)
    figs: list[tuple[str, Any]] = []
    label = _label(result)
    better = "higher" if result.direction == "maximize" else "lower"
    feas = table[table["feasible"]]
    value = feas[result.objective] if result.objective in feas else feas["score"]
    best = result.best_params or {}
    if len(params) == 2:
        a, b = _col(table, params[0]), _col(table, params[1])
        pivot = pd.DataFrame({"a": feas[a], "b": feas[b], "v": value}).pivot_table(
            index="a", columns="b", values="v", aggfunc="mean")
        fig = go.Figure(go.Heatmap(
            z=pivot.to_numpy(), x=[str(c) for c in pivot.columns], y=[str(i) for i in pivot.index],
            colorscale="RdYlGn", reversescale=result.direction != "maximize", texttemplate="%{z:.2f}",
            colorbar={"title": {"text": label, "side": "right"}, "tickfont": {"color": th.COLORS["muted"]}},
            hovertemplate=f"{params[0]}=%{{y}}, {params[1]}=%{{x}}<br>{label}: %{{z:.3f}}<extra></extra>"))
        if params[0] in best and params[1] in best:
            fig.add_trace(go.Scatter(x=[str(best[params[1]])], y=[str(best[params[0]])], mode="markers",
                                     name="best", marker={"symbol": "star", "size": 16, "color": th.COLORS["text"],
                                                          "line": {"width": 1, "color": th.COLORS["bg"]}},
                                     hovertemplate="best<extra></extra>"))
        th.themed(fig, height=560)
        fig.update_layout(xaxis_title=params[1], yaxis_title=params[0], showlegend=False)
        fig.update_xaxes(type="category")
        fig.update_yaxes(type="category")
        figs.append((f"Heat map: {label} over {params[0]} x {params[1]} ({better} is better; empty: infeasible)", fig))
    elif len(params) == 1:
        a = _col(table, params[0])
        order = feas.sort_values(a)
        fig = go.Figure(go.Scatter(x=order[a], y=value.loc[order.index], mode="lines+markers", name=label,
                                   line={"color": th.COLORS["accent"]}))
        th.themed(fig, height=400)
        fig.update_layout(xaxis_title=params[0], yaxis_title=label)
        figs.append((f"Objective by parameter: {label} against {params[0]} ({better} is better)", fig))
    if len(params) > 2:
        imp, method = parameter_importance(table, params)
        fig = go.Figure(go.Bar(x=list(imp), y=[imp[p] * 100 for p in imp], marker={"color": th.COLORS["accent"]},
                               hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
        th.themed(fig, height=380)
        fig.update_layout(yaxis_title="share of importance (%)", xaxis_title="parameter")
        fig.update_yaxes(ticksuffix="%")
        figs.append((f"Parameter importance ({method})", fig))
    sign = 1 if result.direction == "maximize" else -1
    scores = (table["score"].replace([np.inf, -np.inf], np.nan).dropna()) * sign
    if len(scores):
        fig = go.Figure(go.Histogram(x=scores, nbinsx=40, marker={"color": th.COLORS["accent"], "line": {"width": 0}},
                                     hovertemplate=f"{label} %{{x}}<br>%{{y}} trials<extra></extra>"))
        best_v = result.best_metrics.get(result.objective) if result.best_metrics else None
        if best_v is not None and np.isfinite(best_v):
            fig.add_vline(x=float(best_v), line={"color": th.COLORS["exit"], "dash": "dash", "width": 2},
                          annotation_text="best", annotation_position="top")
        th.themed(fig, height=340)
        fig.update_layout(xaxis_title=label, yaxis_title="trials", bargap=0.03)
        figs.append((f"Distribution of {label} over {len(scores)} trials", fig))
    return figs


def write_report(result: Any, path: Path | str, *, top: int = 20, command: str | None = None) -> Path:
    """Write the HTML report of an OptimizationResult; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figs = build_figures(result)
    over = result.overfitting
    over_rows = [
        ("deflated Sharpe ratio (DSR)", format_value(over.get("dsr"), "ratio3"),
         "P(true Sharpe of the best > expected best of N unskilled trials)"),
        ("probabilistic Sharpe ratio (PSR)", format_value(over.get("psr"), "ratio3"), "P(true Sharpe > 0)"),
        ("probability of backtest overfitting (PBO, CSCV)", format_value(over.get("pbo"), "ratio3"),
         f"{over.get('pbo_splits', 0)} blocks, {over.get('pbo_combinations', 0)} combinations"),
        ("trials taken into account", format_value(over.get("n_trials"), "count"), "trials that ran"),
        ("best trial's Sharpe per bar", format_value(over.get("sr_best"), "ratio3"), f"over {over.get('n_obs')} bars"),
        ("expected max Sharpe per bar of N trials", format_value(over.get("expected_max_sr"), "ratio3"),
         "the DSR's benchmark"),
    ]
    over_html = ('<table class="data" id="overfitting"><thead><tr><th>Statistic</th><th class="num">Value</th>'
                 "<th>Meaning</th></tr></thead><tbody>"
                 + "".join(f'<tr><td>{html.escape(a)}</td><td class="num">{html.escape(b)}</td>'
                           f'<td class="wrap muted">{html.escape(c)}</td></tr>' for a, b, c in over_rows)
                 + "</tbody></table>")
    params = list(result.space)
    cols = ["rank", "trial", *[_col(result.table, p) for p in params], result.objective, "total_return_pct",
            "sharpe", "max_drawdown_pct", "num_trades", "feasible"]
    seen: list[str] = []
    for c in cols:
        if c in result.table.columns and c not in seen:
            seen.append(c)
    top_rows = result.table.head(top)[seen].to_dict(orient="records")
    headers = [(c, c.removeprefix("param_") if c.startswith("param_") or c in params
                else {"rank": "#", "trial": "Trial", "feasible": "Feasible"}.get(c, metric_label(c))) for c in seen]
    kinds = {c: "general" for c in seen if c.startswith("param_") or c in params}
    kinds.update({"rank": "count", "trial": "count"})
    top_html = th.table(top_rows, headers, table_id="top-trials", kinds=kinds,
                        signed=("total_return_pct",)) if top_rows else '<p class="muted">No trial.</p>'
    best = ", ".join(f"{k}={v}" for k, v in result.best_params.items()) or "none (no feasible trial)"
    n_feas = int(result.table["feasible"].sum()) if len(result.table) else 0
    bm = result.best_metrics or {}
    cards = [("Best parameters", best, ""),
             (f"Best {_label(result)}", format_key(result.objective, bm.get(result.objective)), ""),
             ("Total return of the best (%)", format_key("total_return_pct", bm.get("total_return_pct"), signed=True),
              th.sign_class(bm.get("total_return_pct"))),
             ("Max drawdown of the best (%)", format_key("max_drawdown_pct", bm.get("max_drawdown_pct")), ""),
             ("Trials (feasible)", f"{len(result.table):,} ({n_feas:,})", ""),
             ("Deflated Sharpe ratio", format_value(over.get("dsr"), "ratio3"), ""),
             ("Probability of overfitting", format_value(over.get("pbo"), "ratio3"), "")]
    sub = (f"method {html.escape(result.method)} · objective {html.escape(result.objective)} "
           f"({html.escape(result.direction)}) · engine {html.escape(result.engine)} · constraints: "
           f"{html.escape('; '.join(result.constraints) or 'none')}")
    rerun = f'<p class="explain">Re-run the best: <code>{html.escape(command)}</code></p>' if command else ""
    parts = "".join(th.card(title, th.figure_block(fig, f"fig-{i}")) for i, (title, fig) in enumerate(figs))
    body = (th.kpis(cards) + rerun + parts + th.card("Overfitting", over_html)
            + th.card(f"Top {len(top_rows)} trials", top_html))
    path.write_text(th.page(f"Optimisation of {result.strategy}", body, subtitle=sub), encoding="utf-8")
    return path
