"""report.html of an optimisation (plotly, offline: the plotly.js library is embedded, no network needed).

Contents: the overfitting statistics (DSR, PSR, PBO, number of trials), the top trials, then
- one searched parameter: the objective against the parameter;
- two: a heat map of the objective over the two parameters (feasible trials; infeasible cells empty);
- more: parameter importance = scikit-learn `RandomForestRegressor(n_estimators=200, random_state=0)`
  impurity-based feature importances of the objective on the parameters (categorical parameters as codes),
  over the feasible trials; without scikit-learn, the absolute Spearman correlation (normalised to sum 1);
and the distribution of the objective over all trials.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


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


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return html.escape(str(v))


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>no rows</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def build_figures(result: Any) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go

    table: pd.DataFrame = result.table
    params = list(result.space)
    figs: list[tuple[str, Any]] = []
    label = f"{result.objective} ({'higher' if result.direction == 'maximize' else 'lower'} is better)"
    feas = table[table["feasible"]]
    value = feas[result.objective] if result.objective in feas else feas["score"]
    if len(params) == 2:
        a, b = _col(table, params[0]), _col(table, params[1])
        pivot = pd.DataFrame({"a": feas[a], "b": feas[b], "v": value}).pivot_table(
            index="a", columns="b", values="v", aggfunc="mean")
        fig = go.Figure(go.Heatmap(z=pivot.to_numpy(), x=[str(c) for c in pivot.columns],
                                   y=[str(i) for i in pivot.index], colorscale="RdYlGn",
                                   reversescale=result.direction != "maximize", colorbar={"title": result.objective}))
        fig.update_layout(title=f"{label} over {params[0]} x {params[1]}", xaxis_title=params[1],
                          yaxis_title=params[0], height=560)
        figs.append(("Heat map", fig))
    elif len(params) == 1:
        a = _col(table, params[0])
        order = feas.sort_values(a)
        fig = go.Figure(go.Scatter(x=order[a], y=value.loc[order.index], mode="lines+markers"))
        fig.update_layout(title=f"{label} against {params[0]}", xaxis_title=params[0], yaxis_title=result.objective)
        figs.append(("Objective by parameter", fig))
    if len(params) > 2:
        imp, method = parameter_importance(table, params)
        fig = go.Figure(go.Bar(x=list(imp), y=[imp[p] for p in imp]))
        fig.update_layout(title=f"Parameter importance: {method}", yaxis_title="share of importance")
        figs.append(("Parameter importance", fig))
    scores = table["score"].replace([np.inf, -np.inf], np.nan).dropna()
    if len(scores):
        fig = go.Figure(go.Histogram(x=scores * (1 if result.direction == "maximize" else -1), nbinsx=40))
        fig.update_layout(title=f"Distribution of {result.objective} over {len(scores)} trials",
                          xaxis_title=result.objective, yaxis_title="trials")
        figs.append(("Distribution", fig))
    return figs


def write_report(result: Any, path: Path | str, *, top: int = 20, command: str | None = None) -> Path:
    """Write the HTML report of an OptimizationResult; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figs = build_figures(result)
    parts = []
    for i, (title, fig) in enumerate(figs):
        parts.append(f"<h2>{html.escape(title)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    over = result.overfitting
    over_rows = [
        {"statistic": "deflated Sharpe ratio (DSR)", "value": over.get("dsr"),
         "meaning": "P(true Sharpe of the best > expected best of N unskilled trials)"},
        {"statistic": "probabilistic Sharpe ratio (PSR)", "value": over.get("psr"), "meaning": "P(true Sharpe > 0)"},
        {"statistic": "probability of backtest overfitting (PBO, CSCV)", "value": over.get("pbo"),
         "meaning": f"{over.get('pbo_splits', 0)} blocks, {over.get('pbo_combinations', 0)} combinations"},
        {"statistic": "trials taken into account", "value": over.get("n_trials"), "meaning": "trials that ran"},
        {"statistic": "best trial per-bar Sharpe", "value": over.get("sr_best"),
         "meaning": f"over {over.get('n_obs')} bars"},
        {"statistic": "expected max per-bar Sharpe of N trials", "value": over.get("expected_max_sr"),
         "meaning": "the DSR's benchmark"},
    ]
    params = list(result.space)
    cols = ["rank", "trial", *[_col(result.table, p) for p in params], result.objective, "total_return_pct",
            "sharpe", "max_drawdown_pct", "num_trades", "feasible"]
    seen: list[str] = []
    for c in cols:
        if c in result.table.columns and c not in seen:
            seen.append(c)
    top_rows = result.table.head(top)[seen].to_dict(orient="records")
    if not figs:  # still embed plotly.js once so the page is self-contained
        parts.append("")
    best = ", ".join(f"{k}={v}" for k, v in result.best_params.items()) or "none (no feasible trial)"
    doc = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Optimisation: {html.escape(result.strategy)}</title>
<style>body{{font-family:sans-serif;margin:24px;}} table{{border-collapse:collapse;font-size:13px;}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right;}} th{{background:#f3f3f3;}}</style></head>
<body><h1>Optimisation of {html.escape(result.strategy)}</h1>
<p>method <b>{html.escape(result.method)}</b>, objective <b>{html.escape(result.objective)}</b>
({html.escape(result.direction)}), engine {html.escape(result.engine)}, {len(result.table)} trials
({int(result.table['feasible'].sum())} feasible); constraints: {html.escape('; '.join(result.constraints) or 'none')}</p>
<p>best: <b>{html.escape(best)}</b></p>
{('<p>re-run: <code>' + html.escape(command) + '</code></p>') if command else ''}
<h2>Overfitting</h2>{_table_html(over_rows)}
<h2>Top {len(top_rows)} trials</h2>{_table_html(top_rows)}
{''.join(parts)}
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path
