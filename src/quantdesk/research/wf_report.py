"""The walk-forward report page: one self-contained HTML file (plotly.js embedded, opens offline).

Stitched out-of-sample equity with the window boundaries, in-sample vs out-of-sample bars per window (annualised
return and Sharpe), the walk-forward efficiency per window, and the table of chosen parameters per window.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import pandas as pd


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


def render_html(wf: Any) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from quantdesk.cli.output import to_jsonable

    eq = wf.oos_equity
    labels = [f"W{r.window.number}" for r in wf.results]
    fig = make_subplots(rows=3, cols=1, vertical_spacing=0.08, row_heights=[0.5, 0.25, 0.25],
                        subplot_titles=("Stitched out-of-sample equity (dotted lines: test window starts)",
                                        "Annualised return % per window: in-sample vs out-of-sample",
                                        "Sharpe per window: in-sample vs out-of-sample"))
    fig.add_trace(go.Scattergl(x=eq.index, y=eq["equity"], mode="lines", name="OOS equity"), row=1, col=1)
    for r in wf.results:
        fig.add_vline(x=pd.Timestamp(r.times["test_start"]), line={"dash": "dot", "width": 1, "color": "#888"},
                      row=1, col=1)
    for key, row in (("annual_return_pct", 2), ("sharpe", 3)):
        fig.add_trace(go.Bar(x=labels, y=[r.is_metrics.get(key) for r in wf.results], name=f"IS {key}",
                             marker={"color": "#1f77b4"}), row=row, col=1)
        fig.add_trace(go.Bar(x=labels, y=[r.oos_metrics.get(key) for r in wf.results], name=f"OOS {key}",
                             marker={"color": "#ff7f0e"}), row=row, col=1)
    fig.update_layout(height=1000, barmode="group", title=f"Walk-forward: {wf.strategy}", legend={"orientation": "h"})
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"responsive": True})

    table = wf.windows
    cols = ["window", "train_start", "train_end", "test_start", "test_end", "params", "is_annual_return_pct",
            "oos_annual_return_pct", "is_sharpe", "oos_sharpe", "oos_num_trades", "wfe"]
    cols = [c for c in cols if c in table.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(row[c]))}</td>" for c in cols) + "</tr>"
                   for _, row in table.iterrows())
    summary = json.dumps(to_jsonable({"oos": wf.oos_metrics, "is_mean": wf.is_mean_metrics, "wfe": wf.wfe}),
                         indent=2)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Walk-forward {html.escape(wf.strategy)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; font-size: .85em; }} th, td {{ border: 1px solid #ccc; padding: 2px 8px; }}
pre {{ background: #f7f7f7; padding: .8em; }}</style></head><body>
<h1>Walk-forward: {html.escape(wf.strategy)}</h1>
<p>{len(wf.results)} windows, train {html.escape(wf.train)}, test {html.escape(wf.test)}, step {html.escape(wf.step)},
{'anchored' if wf.anchored else 'rolling'}; optimiser {html.escape(wf.method)} on {html.escape(wf.objective)}.
Walk-forward efficiency (annualised OOS / IS return): {_fmt(wf.wfe)}.</p>
{plot}
<h2>Windows and chosen parameters</h2>
<table id="windows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Totals</h2><pre>{html.escape(summary)}</pre>
</body></html>
"""
