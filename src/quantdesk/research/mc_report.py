"""montecarlo.html: the Monte Carlo report page in the dashboard's dark theme (plotly.js embedded, opens offline).

Headline cards (probability of loss and of ruin, median and 5th-percentile outcomes); the equity fan chart
(5-95 % and 25-75 % bands, the median, a few simulated paths, the original run in red); histograms of the final
return (%), the max drawdown (%) and the Sharpe ratio with the original marked; the table of percentiles; and the
original run next to the backtest's own figures, with the reason when they differ (an open trade at the end, the
drawdown between trades only, per-trade Sharpe).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from quantdesk.backtest import plot_theme as th
from quantdesk.core.numfmt import Kind, format_value

LABELS: dict[str, tuple[str, Kind]] = {"final_return_pct": ("Final return (%)", "pct"), "max_drawdown_pct": ("Max drawdown (%)", "pct"),
          "sharpe": ("Sharpe ratio (annualised)", "ratio")}
METHOD_TEXT = {
    "trades-shuffle": "the closed trades' returns in a random order (the final return is the same in every "
                      "simulation; the path, and so the drawdown, changes)",
    "trades-bootstrap": "the closed trades' returns drawn with replacement (final return, drawdown and Sharpe "
                        "all vary)",
    "returns-block-bootstrap": "the bar returns of the equity curve resampled in blocks (keeps volatility "
                               "clustering and holding periods)",
}


def _fan_figure(mc: Any) -> Any:
    import plotly.graph_objects as go

    x = mc.fan_times if mc.fan_times is not None else mc.fan_steps
    fig = go.Figure()
    for path in mc.sample_paths:
        fig.add_trace(go.Scatter(x=x, y=path, mode="lines", line={"width": 0.6, "color": "rgba(139,148,158,.25)"},
                                 showlegend=False, hoverinfo="skip"))
    band = [("p5", "p95", "5-95% of simulations", "rgba(56,139,253,.15)"),
            ("p25", "p75", "25-75% of simulations", "rgba(56,139,253,.32)")]
    for lo, hi, name, colour in band:
        fig.add_trace(go.Scatter(x=x, y=mc.fan[lo], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=mc.fan[hi], mode="lines", fill="tonexty", name=name, line={"width": 0},
                                 fillcolor=colour, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=mc.fan["p50"], mode="lines", name="median simulation",
                             line={"color": th.COLORS["accent"], "width": 1.6},
                             hovertemplate="median %{y:,.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=mc.original_path, mode="lines", name="original run",
                             line={"color": th.COLORS["down"], "width": 2},
                             hovertemplate="original %{y:,.2f}<extra></extra>"))
    th.themed(fig, height=460)
    fig.update_yaxes(title_text="Equity (account currency)")
    unit = "time (UTC)" if mc.fan_times is not None else f"{'bar' if mc.method.startswith('returns') else 'trade'} number"
    fig.update_xaxes(title_text=unit)
    fig.update_layout(hovermode="x")
    return fig


def _histogram(mc: Any, key: str) -> Any:
    import plotly.graph_objects as go

    label, _ = LABELS[key]
    vals = mc.stats[key][np.isfinite(mc.stats[key])]
    fig = go.Figure(go.Histogram(x=vals, nbinsx=50, marker={"color": th.COLORS["accent"], "line": {"width": 0}},
                                 name=label, hovertemplate=f"{label} %{{x}}<br>%{{y}} simulations<extra></extra>"))
    orig = mc.original.get(key, math.nan)
    if np.isfinite(orig):
        fig.add_vline(x=orig, line={"color": th.COLORS["down"], "dash": "dash", "width": 2},
                      annotation_text="original", annotation_position="top")
    th.themed(fig, height=300)
    fig.update_xaxes(title_text=label, ticksuffix="%" if key != "sharpe" else None)
    fig.update_yaxes(title_text="simulations")
    fig.update_layout(bargap=0.02, showlegend=False)
    return fig


def _distribution_block(mc: Any, key: str) -> str:
    """A histogram, or one sentence when every simulation gives the same value (trades-shuffle's final return and
    Sharpe do not depend on the order of the trades)."""
    vals = mc.stats[key][np.isfinite(mc.stats[key])]
    label, kind = LABELS[key]
    if not len(vals):
        return '<p class="muted">No finite value in the simulations.</p>'
    if float(np.ptp(vals)) <= 1e-9 * max(1.0, float(np.abs(vals).max())):
        why = " (the order of the trades does not change it)" if mc.method == "trades-shuffle" else ""
        return (f'<p class="explain" id="same-{key}">Every simulation gives the same {label.split(" (")[0].lower()}: '
                f"{html.escape(format_value(float(vals[0]), kind))}{why}.</p>")
    return th.figure_block(_histogram(mc, key), f"hist-{key.split('_')[0]}")


def render_html(mc: Any, title: str = "Monte Carlo") -> str:
    """The report page of a MonteCarloResult."""
    pct = mc.percentiles
    cards = [
        ("Probability of a loss", format_value(mc.prob_loss, "fraction"), ""),
        (f"Probability of a {mc.ruin_dd_pct:g}% drawdown", format_value(mc.prob_ruin, "fraction"), ""),
        ("Median final return (%)", format_value(pct["final_return_pct"]["p50"], "pct", signed=True),
         th.sign_class(pct["final_return_pct"]["p50"])),
        ("5% worst final return (%)", format_value(pct["final_return_pct"]["p5"], "pct", signed=True),
         th.sign_class(pct["final_return_pct"]["p5"])),
        ("Median max drawdown (%)", format_value(pct["max_drawdown_pct"]["p50"], "pct"), ""),
        ("5% worst max drawdown (%)", format_value(pct["max_drawdown_pct"]["p5"], "pct"), ""),
        ("Simulations", f"{mc.sims:,} x {mc.n:,} {'bars' if mc.method.startswith('returns') else 'trades'}", ""),
    ]
    block = f", blocks of {mc.block} bars ({mc.block_kind})" if mc.block else ""
    sub = (f"{html.escape(mc.method)}{html.escape(block)} · seed {mc.seed} · start equity "
           f"{format_value(mc.start_equity, 'money')}")
    explain = (f'<p class="explain">Each simulation replays {html.escape(METHOD_TEXT.get(mc.method, mc.method))}. '
               "Red: the original run. Percentile p5 = 5% of the simulations did worse.</p>")
    doc = mc.summary()
    rows = []
    for key, (label, kind) in LABELS.items():
        d = doc["distributions"][key]
        rows.append({"statistic": label, "original": d.get("original"), "mean": d.get("mean"), "p5": d.get("p5"),
                     "p25": d.get("p25"), "p50": d.get("p50"), "p75": d.get("p75"), "p95": d.get("p95"),
                     "rank": d.get("original_percentile"), "_kind": kind})
    dist_html = _dist_table(rows)
    body = (th.kpis(cards) + explain
            + th.card("Equity paths", th.figure_block(_fan_figure(mc), "fan"))
            + '<div class="grid-3">'
            + "".join(th.card(LABELS[k][0], _distribution_block(mc, k)) for k in LABELS)
            + "</div>"
            + th.card("Distributions over the simulations", dist_html)
            + th.card("The original run and the backtest", _backtest_table(mc)))
    return th.page(title, body, subtitle=sub)


def _dist_table(rows: list[dict[str, Any]]) -> str:
    cols = ("original", "mean", "p5", "p25", "p50", "p75", "p95")
    head = "<th>Statistic</th>" + "".join(f'<th class="num">{c}</th>' for c in cols) + \
        '<th class="num">original\'s rank (%)</th>'
    body = ""
    for r in rows:
        cells = "".join(f'<td class="num">{html.escape(format_value(r[c], r["_kind"]))}</td>' for c in cols)
        body += (f"<tr><td>{html.escape(r['statistic'])}</td>{cells}"
                 f'<td class="num">{html.escape(format_value(r["rank"], "pct"))}</td></tr>')
    return (f'<table class="data" id="distributions"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            '<p class="explain">Original\'s rank: the share of simulations below the original run.</p>')


def _backtest_table(mc: Any) -> str:
    if not mc.backtest:
        return '<p class="muted">No backtest equity curve was given: nothing to compare with.</p>'
    body = ""
    for key, row in mc.backtest.items():
        label, kind = LABELS[key]
        status = "same" if row["matches"] else (row.get("why") or "differs")
        body += (f"<tr><td>{html.escape(label)}</td>"
                 f'<td class="num">{html.escape(format_value(row["original"], kind))}</td>'
                 f'<td class="num">{html.escape(format_value(row["backtest"], kind))}</td>'
                 f'<td class="wrap">{html.escape(status)}</td></tr>')
    return ('<table class="data" id="backtest"><thead><tr><th>Statistic</th><th class="num">Original run '
            '(simulated input)</th><th class="num">Backtest</th><th>Why they differ</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


__all__ = ["render_html"]
