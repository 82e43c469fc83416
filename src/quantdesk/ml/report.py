"""The training report: one self-contained HTML file (plotly.js embedded, opens offline).

Panels: the reliability diagram of the out-of-sample probabilities (with the diagonal of perfect calibration),
hit rate by confidence decile next to the no-skill baseline, and permutation importance. Above them, a table of
the out-of-sample scores, each next to its baseline.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.ml.evaluation import deciles, reliability


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def render_training_report(doc: dict[str, Any], oos: pd.DataFrame) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    first = oos[oos["path"] == 0] if "path" in oos else oos
    p, y = first["proba"].to_numpy(np.float64), first["y"].to_numpy(np.float64)
    rel = [r for r in reliability(p, y) if r["n"]]
    conf = np.maximum(p, 1 - p)
    hit = ((p >= 0.5) == (y == 1)).astype(np.float64)
    dec = deciles(conf, hit)
    cv = doc.get("cv", {})
    imp = (doc.get("importance") or [])[:20]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Reliability (out of sample)", "Hit rate by confidence decile",
                                                        "Permutation importance (AUC drop)"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dot"}), 1, 1)
    fig.add_trace(go.Scatter(x=[r["mean_predicted"] for r in rel], y=[r["observed"] for r in rel],
                             mode="lines+markers", name="model", text=[f"n={r['n']}" for r in rel]), 1, 1)
    fig.add_trace(go.Bar(x=[d["decile"] for d in dec], y=[d["hit_rate"] for d in dec], name="hit rate"), 1, 2)
    base = cv.get("baseline_accuracy")
    if base is not None:
        fig.add_hline(y=base, line_dash="dot", annotation_text="no-skill", row=1, col=2)
    fig.add_trace(go.Bar(x=[r["importance"] for r in imp][::-1], y=[r["feature"] for r in imp][::-1],
                         orientation="h", name="importance"), 1, 3)
    fig.update_layout(height=480, showlegend=False, margin={"t": 40, "l": 40, "r": 20, "b": 40})
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"responsive": True})
    rows = [("AUC", cv.get("auc"), 0.5), ("Brier", cv.get("brier"), cv.get("baseline_brier")),
            ("Log loss", cv.get("logloss"), cv.get("baseline_logloss")),
            ("Accuracy", cv.get("accuracy"), cv.get("baseline_accuracy")), ("ECE", cv.get("ece"), None)]
    strat = cv.get("strategy") or {}
    rows += [("Strategy Sharpe (per bar, net)", strat.get("sharpe"), None),
             ("Deflated Sharpe (P > 0 skill)", strat.get("dsr"), 0.95)]
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{_num(v)}</td><td>{_num(b)}</td></tr>" for k, v, b in rows)
    title = f"Model {html.escape(str(doc.get('model_id')))}: {html.escape(str(doc.get('kind')))} on " \
            f"{html.escape(str(doc.get('symbol')))} {html.escape(str(doc.get('timeframe')))}, " \
            f"label {html.escape(str(doc.get('label')))}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}td:first-child{text-align:left}"
            "</style></head><body>"
            f"<h1>{title}</h1><p>Out-of-sample ({html.escape(str((cv.get('splitter') or {}).get('cv')))}, "
            f"{cv.get('n')} samples). Every score is next to its no-skill baseline.</p>"
            f"<table><tr><th>score</th><th>model</th><th>no-skill baseline / threshold</th></tr>{table}</table>{plot}</body></html>")
