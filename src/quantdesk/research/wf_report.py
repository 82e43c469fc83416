"""The walk-forward report page: one self-contained HTML file in the dashboard's dark theme (plotly.js embedded, opens
offline).

Per-window figures are RETURNS OVER THE WINDOW (in %), never annualised: a 3-day test window that gained 8 % shows
+8.00 %, not the 1,000,000 %+ its annualisation would print. In-sample (IS) = the chosen parameters' return over
the train window, out-of-sample (OOS) = the return over the test window (= the stitched curve's growth over the
window). Annualised figures appear only for the whole stitched OOS curve and in the walk-forward efficiency (WFE,
the ratio of annualised OOS to IS returns, its usual definition), labelled as such.

Contents: headline cards; the stitched OOS equity with its drawdown, test windows shaded; OOS return per window
(bars) with the compounded return (line); Sharpe per window IS vs OOS; the windows table (dates, chosen
parameters, returns, Sharpe, drawdown, trades, WFE); the totals (IS mean vs stitched OOS).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest import plot_theme as th
from quantdesk.core.numfmt import format_key, format_value, metric_label

TOTALS = ("total_return_pct", "annual_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct",
          "profit_factor", "exposure_pct")


def window_returns(wf: Any) -> pd.DataFrame:
    """One row per window: `is_return_pct` (train window), `oos_return_pct` (test window), the compounded OOS
    return after the window (`oos_cum_return_pct`), Sharpe IS / OOS, OOS max drawdown and trades, WFE."""
    rows = []
    growth = 1.0
    for r in wf.results:
        oos = float(r.oos_metrics.get("total_return_pct", math.nan))
        if math.isfinite(oos):
            growth *= 1.0 + oos / 100.0
        rows.append({
            "window": r.window.number + 1, "train_start": r.times["train_start"], "train_end": r.times["train_end"],
            "test_start": r.times["test_start"], "test_end": r.times["test_end"],
            "params": ", ".join(f"{k}={v}" for k, v in r.params.items()),
            "is_return_pct": r.is_metrics.get("total_return_pct", math.nan), "oos_return_pct": oos,
            "oos_cum_return_pct": (growth - 1.0) * 100.0,
            "is_sharpe": r.is_metrics.get("sharpe", math.nan), "oos_sharpe": r.oos_metrics.get("sharpe", math.nan),
            "oos_max_drawdown_pct": r.oos_metrics.get("max_drawdown_pct", math.nan),
            "oos_trades": r.oos_metrics.get("num_trades", math.nan), "wfe": r.wfe,
        })
    return pd.DataFrame(rows)


def _equity_figure(wf: Any) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    eq = wf.oos_equity
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.72, 0.28])
    fig.add_trace(go.Scatter(x=eq.index, y=eq["equity"], mode="lines", name="out-of-sample equity (stitched)",
                             line={"color": th.COLORS["accent"], "width": 1.6},
                             customdata=(eq["window"].to_numpy() + 1),
                             hovertemplate="window %{customdata}<br>equity %{y:,.2f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=eq.index, y=eq["drawdown_pct"], mode="lines", name="drawdown", fill="tozeroy",
                             line={"color": th.COLORS["down"], "width": 1}, fillcolor="rgba(239,83,80,.25)",
                             showlegend=False, hovertemplate="drawdown %{y:.2f}%<extra></extra>"), row=2, col=1)
    for i, r in enumerate(wf.results):
        if i % 2 == 0:
            fig.add_vrect(x0=pd.Timestamp(r.times["test_start"]), x1=pd.Timestamp(r.times["test_end"]),
                          fillcolor="rgba(56,139,253,.08)", line={"width": 0}, layer="below", row=1, col=1)
    th.themed(fig, height=520)
    fig.update_yaxes(title_text="Equity (account currency)", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown (%)", ticksuffix="%", row=2, col=1)
    fig.update_xaxes(title_text="time (UTC); shaded bands: every other test window", row=2, col=1)
    fig.update_layout(hovermode="x")
    return fig


def _returns_figure(table: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    labels = [f"W{w}" for w in table["window"]]
    oos = table["oos_return_pct"].to_numpy(dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=oos, name="OOS return over the test window (%)",
                         marker={"color": np.where(oos >= 0, th.COLORS["up"], th.COLORS["down"]).tolist()},
                         customdata=np.column_stack([table["test_start"], table["test_end"]]).tolist(),
                         hovertemplate="%{x}: %{y:+.2f}%<br>%{customdata[0]} to %{customdata[1]}<extra></extra>"))
    fig.add_trace(go.Scatter(x=labels, y=table["oos_cum_return_pct"], mode="lines+markers",
                             name="compounded OOS return (%)", line={"color": th.COLORS["exit"], "width": 1.5},
                             hovertemplate="after %{x}: %{y:+.2f}%<extra></extra>"))
    th.themed(fig, height=340)
    fig.update_yaxes(title_text="Return (%)", ticksuffix="%")
    fig.update_xaxes(title_text="test window")
    return fig


def _sharpe_figure(table: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    labels = [f"W{w}" for w in table["window"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=table["is_sharpe"], name="in-sample (train window)",
                         marker={"color": th.COLORS["muted"]}, hovertemplate="%{x} IS: %{y:.2f}<extra></extra>"))
    fig.add_trace(go.Bar(x=labels, y=table["oos_sharpe"], name="out-of-sample (test window)",
                         marker={"color": th.COLORS["accent"]}, hovertemplate="%{x} OOS: %{y:.2f}<extra></extra>"))
    th.themed(fig, height=320)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="Sharpe ratio (annualised)")
    fig.update_xaxes(title_text="window")
    return fig


def render_html(wf: Any) -> str:
    """The report page of a WalkForwardResult."""
    table = window_returns(wf)
    oos, is_mean = wf.oos_metrics, wf.is_mean_metrics
    wins = int((table["oos_return_pct"] > 0).sum())
    cards = [
        ("Windows", f"{len(wf.results)}", ""),
        ("OOS total return (%)", format_key("total_return_pct", oos.get("total_return_pct"), signed=True),
         th.sign_class(oos.get("total_return_pct"))),
        ("Profitable OOS windows", f"{wins} of {len(table)}", ""),
        ("Median OOS window return (%)", format_value(float(np.nanmedian(table["oos_return_pct"]))
                                                      if len(table) else math.nan, "pct", signed=True), ""),
        ("OOS Sharpe (annualised)", format_key("sharpe", oos.get("sharpe")), ""),
        ("OOS max drawdown (%)", format_key("max_drawdown_pct", oos.get("max_drawdown_pct")), ""),
        ("OOS trades", format_key("num_trades", oos.get("num_trades")), ""),
        ("Walk-forward efficiency", format_key("wfe", wf.wfe), ""),
    ]
    title = f"Walk-forward: {wf.strategy}"
    sub = (f"{len(wf.results)} windows, {'anchored' if wf.anchored else 'rolling'}: train {html.escape(wf.train)}, "
           f"test {html.escape(wf.test)}, step {html.escape(wf.step)} · optimiser "
           f"{html.escape(wf.method)} on {html.escape(wf.objective)}")
    explain = ('<p class="explain">Per-window figures are returns over the window, not annualised. IS = the chosen '
               "parameters over their train window; OOS = the same parameters over the unseen test window that "
               "follows. Walk-forward efficiency = annualised OOS return / annualised IS return (mean over windows; "
               "empty when the IS return is not positive).</p>")
    cols = [("window", "#"), ("test_start", "Test from (UTC)"), ("test_end", "Test to (UTC)"), ("params", "Parameters"),
            ("is_return_pct", "IS return (%)"), ("oos_return_pct", "OOS return (%)"),
            ("oos_cum_return_pct", "OOS compounded (%)"), ("oos_sharpe", "OOS Sharpe"),
            ("oos_max_drawdown_pct", "OOS max DD (%)"), ("oos_trades", "OOS trades"), ("wfe", "WFE")]
    windows_html = th.table(table.to_dict(orient="records"), cols, table_id="windows",
                            kinds={"window": "count", "oos_trades": "count", "oos_cum_return_pct": "pct"},
                            signed=("is_return_pct", "oos_return_pct", "oos_cum_return_pct"))
    # the mean of the train windows' annualised returns says nothing (short windows explode): OOS only
    totals = [{"metric": metric_label(k), "is": None if k == "annual_return_pct" else is_mean.get(k),
               "oos": oos.get(k), "_k": k} for k in TOTALS]
    totals_rows = [(t["metric"], format_key(t["_k"], t["is"]), format_key(t["_k"], t["oos"])) for t in totals]
    totals_html = ('<table class="data" id="totals"><thead><tr><th>Metric</th>'
                   '<th class="num">IS (mean over the train windows)</th><th class="num">OOS (stitched curve)</th>'
                   "</tr></thead><tbody>"
                   + "".join(f'<tr><td>{html.escape(a)}</td><td class="num">{html.escape(b)}</td>'
                             f'<td class="num">{html.escape(c)}</td></tr>' for a, b, c in totals_rows)
                   + "</tbody></table>")
    body = (th.kpis(cards) + explain
            + th.card("Stitched out-of-sample equity", th.figure_block(_equity_figure(wf), "equity"))
            + '<div class="grid-2">'
            + th.card("Out-of-sample return per window", th.figure_block(_returns_figure(table), "window-returns"))
            + th.card("Sharpe per window", th.figure_block(_sharpe_figure(table), "window-sharpe"))
            + "</div>"
            + th.card("Windows and chosen parameters", windows_html)
            + th.card("Totals", totals_html))
    return th.page(title, body, subtitle=sub)


__all__ = ["render_html", "window_returns"]
