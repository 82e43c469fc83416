"""The offline regime chart (plotly.js embedded, dark theme): price with regime bands, state probabilities and
the change-point probability."""

from __future__ import annotations

import html

import pandas as pd

from quantdesk.intel.regimes.report import UNKNOWN, regime_names

COLORS = ("rgba(38,166,154,0.18)", "rgba(239,83,80,0.18)", "rgba(88,166,255,0.18)", "rgba(240,180,41,0.18)")


def segments(names: pd.Series) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Consecutive runs of one regime: (first time, last time, name)."""
    out: list[tuple[pd.Timestamp, pd.Timestamp, str]] = []
    values = names.to_numpy(dtype=object)
    idx = names.index
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((idx[start], idx[i - 1], str(values[start])))
            start = i
    return out


def regime_chart_html(bars: pd.DataFrame, out: pd.DataFrame, labels: list[str], title: str) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.6, 0.2, 0.2],
                        subplot_titles=("Price and regimes", "Regime probabilities", "Change-point probability"))
    fig.add_trace(go.Scattergl(x=bars.index, y=bars["close"], mode="lines", name="close",
                               line={"color": "#c9d1d9", "width": 1}), row=1, col=1)
    names = regime_names(out["regime"], labels)
    for start, end, name in segments(names):
        if name == UNKNOWN:
            continue
        color = COLORS[labels.index(name) % len(COLORS)] if name in labels else COLORS[0]
        fig.add_vrect(x0=start, x1=end, fillcolor=color, line_width=0, layer="below", row=1, col=1)
    for k, name in enumerate(labels):
        col = f"p_regime_{k}"
        if col in out and out[col].notna().any():
            fig.add_trace(go.Scattergl(x=out.index, y=out[col], mode="lines", name=f"p({name})"), row=2, col=1)
    fig.add_trace(go.Scattergl(x=out.index, y=out["p_changepoint"], mode="lines", name="p_changepoint",
                               line={"color": "#f0b429"}), row=3, col=1)
    fig.update_layout(template="plotly_dark", height=850, title=title, hovermode="x unified",
                      legend={"orientation": "h"}, paper_bgcolor="#0d1117", plot_bgcolor="#161b22")
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"responsive": True})
    legend = " ".join(f'<span style="background:{COLORS[i % len(COLORS)]};padding:2px 8px">{html.escape(n)}</span>'
                      for i, n in enumerate(labels))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<style>body{background:#0d1117;color:#c9d1d9;font-family:system-ui,sans-serif;margin:1.5em}</style>'
            f"</head><body><h1>{html.escape(title)}</h1><p>Regimes: {legend}</p>{plot}</body></html>\n")
