"""How `quantdesk risk report|stress|heat` and `portfolio optimize` print, and risk_report.html.

The risk layer works in FRACTIONS (VaR 0.0037 = 0.37 % of the book, a shock of -0.3 = -30 %); people read
percentages: every fraction is printed as a percentage with its unit in the column header, money in the book's
currency (the symbols' common quote currency) with 2 decimals, prices at their precision, betas and correlations
with 3 decimals. A historical replay whose data do not cover the episode says "no data", never 0.00. `--json`
keeps the raw fractions at full precision.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from quantdesk.cli.output import columns_table, kv_table
from quantdesk.core.numfmt import format_value, quote_currency

# key -> (header, kind); money headers get the currency appended
COLUMNS: dict[str, tuple[str, str]] = {
    "symbol": ("symbol", "text"), "method": ("method", "text"), "scenario": ("scenario", "text"),
    "note": ("note", "text"),
    "level": ("level (%)", "fraction"), "weight": ("weight (%)", "fraction"),
    "vol": ("vol per bar (%)", "fraction"), "vol_annual": ("vol annualised (%)", "fraction"),
    "beta": ("beta", "ratio3"), "corr": ("corr", "ratio3"),
    "var": ("VaR (% of book)", "fraction"), "cvar": ("CVaR (% of book)", "fraction"),
    "var_value": ("VaR", "money"), "cvar_value": ("CVaR", "money"),
    "marginal_var": ("marginal VaR (%)", "fraction"), "component_var": ("component VaR (% of book)", "fraction"),
    "pct_contribution": ("share of VaR (%)", "fraction"), "component_var_value": ("component VaR", "money"),
    "value": ("value", "money"), "shock": ("shock (%)", "fraction"), "pnl": ("P&L", "money"),
    "value_after": ("value after", "money"), "trough_shock": ("trough shock (%)", "fraction"),
    "trough_pnl": ("trough P&L", "money"), "end_shock": ("end shock (%)", "fraction"),
    "base_price": ("price before", "price"), "end_price": ("price after", "price"),
    "return": ("move (%)", "fraction"), "trough_return": ("trough move (%)", "fraction"), "bars": ("bars", "count"),
    "stressed_component_var": ("stressed component VaR (% of book)", "fraction"),
    "stressed_component_var_value": ("stressed component VaR", "money"),
    "total_pnl": ("P&L", "money"), "total_pct": ("P&L (% of book)", "fraction"),
    "risk_contribution": ("risk contribution (%)", "fraction"), "allocation": ("allocation", "money"),
    "qty": ("quantity", "qty"), "entry": ("entry", "price"), "stop": ("stop", "price"), "risk": ("risk to stop", "money"),
    "heat": ("heat", "money"),
}


def book_currency(symbols: Sequence[str]) -> str | None:
    """The common quote currency of the book's symbols (None when they differ)."""
    quotes = {quote_currency(s) for s in symbols}
    return quotes.pop() if len(quotes) == 1 else None


def columns_for(keys: Sequence[str], currency: str | None) -> list[tuple[str, str, str]]:
    out = []
    for k in keys:
        header, kind = COLUMNS.get(k, (k.replace("_", " "), "general"))
        if kind == "money" and currency:
            header = f"{header} ({currency})"
        out.append((k, header, kind))
    return out


def _rows(records: Any) -> list[dict[str, Any]]:
    if hasattr(records, "reset_index"):
        frame = records.reset_index() if records.index.name else records
        return frame.to_dict(orient="records")
    return [dict(r) for r in records]


def _keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys and k != "index")
    return keys


# ---- risk report --------------------------------------------------------------------------------------------
def render_report(c: Console, d: dict[str, Any]) -> None:
    cur = book_currency(d["symbols"])
    vol = d["portfolio_vol"]
    c.print(kv_table({
        "symbols": ", ".join(d["symbols"]), "timeframe": d["timeframe"], "rows": d["alignment"],
        "returns": d["returns"], f"book value ({cur or 'quote currency'})": format_value(d["value"], "money"),
        "benchmark": d["benchmark"] or d["benchmark_note"],
        "volatility per bar (%)": format_value(vol["per_period"], "fraction"),
        "volatility annualised (%)": format_value(vol["annualised"], "fraction"),
        "bars per year": format_value(d["periods_per_year"], "general"),
    }, title="Portfolio"))
    assets = _rows(d["assets"])
    c.print(columns_table(assets, columns_for(_keys(assets), cur),
                          title="Per asset (beta and corr to the benchmark)"))
    var = _rows(d["var"])
    c.print(columns_table(var, columns_for(_keys(var), cur),
                          title="Portfolio VaR / CVaR over one bar (positive = loss)"))
    for level, comp in d["component_var"].items():
        rows = _rows(comp)
        c.print(columns_table(rows, columns_for(_keys(rows), cur),
                              title=f"Component VaR (parametric, {float(level):.0%} level)"))
    corr = d["correlation"]
    t = Table(title="Correlation of bar returns")
    t.add_column("")
    for col in corr.columns:
        t.add_column(col, justify="right")
    for idx, row in corr.iterrows():
        t.add_row(str(idx), *(format_value(float(x), "ratio3") for x in row))
    c.print(t)
    if d.get("html"):
        c.print(f"HTML report: {d['html']}")


def write_html(report: dict[str, Any], out_dir: Path) -> Path:
    """risk_report.html: headline cards, VaR table, correlation heat map, return distribution with the VaR lines,
    component VaR bars (dark theme, plotly.js embedded: opens offline)."""
    import plotly.graph_objects as go

    from quantdesk.backtest import plot_theme as th

    out_dir.mkdir(parents=True, exist_ok=True)
    cur = book_currency(report["symbols"])
    unit = f" ({cur})" if cur else ""
    corr = report["correlation"]
    z = corr.to_numpy()
    fig_corr = go.Figure(go.Heatmap(z=z, x=list(corr.columns), y=list(corr.index), zmin=-1, zmax=1, colorscale="RdBu",
                                    reversescale=True, text=np.round(z, 2), texttemplate="%{text:.2f}",
                                    colorbar={"title": {"text": "correlation"}},
                                    hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>"))
    th.themed(fig_corr, height=120 + 60 * len(corr))
    fig_corr.update_yaxes(autorange="reversed")
    port = report["_portfolio_returns"] * 100.0
    fig_dist = go.Figure(go.Histogram(x=port.to_numpy(), nbinsx=80, name="portfolio return per bar",
                                      marker={"color": th.COLORS["accent"], "line": {"width": 0}},
                                      hovertemplate="%{x:.2f}%: %{y} bars<extra></extra>"))
    var = report["var"]
    styles = {"historical": "solid", "parametric": "dash", "cornish_fisher": "dot", "monte_carlo": "dashdot"}
    for row in var.itertuples():  # a line per (method, level), named in the legend (labels on the lines overlap)
        line = {"dash": styles.get(row.method, "solid"), "width": 1.4,
                "color": th.COLORS["down"] if row.level >= 0.99 else th.COLORS["warn"]}
        fig_dist.add_vline(x=-row.var * 100.0, line=line)
        fig_dist.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line,
                                      name=f"-VaR {row.method} {row.level:.0%}: {-row.var * 100:.2f}%"))
    th.themed(fig_dist, height=440)
    fig_dist.update_layout(xaxis_title="portfolio return per bar (%)", yaxis_title="bars", bargap=0.02,
                           legend={"orientation": "v", "x": 1.01, "y": 1, "yanchor": "top", "xanchor": "left"})
    fig_dist.update_xaxes(ticksuffix="%")
    fig_comp = go.Figure()
    for i, (level, comp) in enumerate(report["component_var"].items()):
        fig_comp.add_bar(x=list(comp.index), y=comp["component_var_value"].to_numpy(), name=f"{float(level):.0%} level",
                         marker={"color": th.PALETTE[i % len(th.PALETTE)]},
                         hovertemplate="%{x}: %{y:,.2f}" + unit + "<extra></extra>")
    th.themed(fig_comp, height=380)
    fig_comp.update_layout(barmode="group", yaxis_title=f"component VaR{unit}", xaxis_title="asset")
    vol = report["portfolio_vol"]
    hist = var[(var["method"] == "historical")]
    cards = [(f"Book value{unit}", format_value(report["value"], "money"), ""),
             ("Volatility annualised (%)", format_value(vol["annualised"], "fraction"), "")]
    for r in hist.itertuples():
        cards.append((f"Historical VaR {r.level:.0%}, one bar{unit}",
                      format_value(getattr(r, "var_value", float("nan")), "money"), ""))
    var_rows = _rows(var)
    body = (th.kpis(cards)
            + f'<p class="explain">{html.escape(report["alignment"])}. VaR and CVaR are losses over one '
              f'{html.escape(report["timeframe"])} bar, positive = loss. {html.escape(report["var_conventions"])}.</p>'
            + th.card("Portfolio VaR / CVaR", th.table(var_rows, [(k, h) for k, h, _ in columns_for(_keys(var_rows), cur)],
                                                      table_id="var", kinds={k: kd for k, _, kd in
                                                                             columns_for(_keys(var_rows), cur)},
                                                      scroll=False))
            + '<div class="grid-2">'
            + th.card("Return correlation", th.figure_block(fig_corr, "correlation"))
            + th.card(f"Component VaR (parametric){unit}", th.figure_block(fig_comp, "component-var"))
            + "</div>"
            + th.card("Portfolio return distribution with the VaR thresholds", th.figure_block(fig_dist, "distribution")))
    sub = f"{html.escape(', '.join(report['symbols']))} · {html.escape(report['timeframe'])} bars"
    path = out_dir / "risk_report.html"
    path.write_text(th.page("QuantDesk risk report", body, subtitle=sub), encoding="utf-8")
    return path


# ---- stress -------------------------------------------------------------------------------------------------
def no_data(s: Mapping[str, Any]) -> bool:
    """A replay none of whose assets has data over the episode."""
    return s.get("status") == "no data"


def render_stress(c: Console, d: dict[str, Any]) -> None:
    cur = book_currency(list(d.get("book") or {}))
    summary = []
    for s in d["scenarios"]:
        row: dict[str, Any] = {"scenario": s["name"], "total_pnl": s["total_pnl"], "total_pct": s["total_pct"],
                               "trough_pnl": s.get("trough_pnl")}
        note = ""
        if s["kind"] == "historical_replay":
            note = s["description"]
            if s.get("missing"):
                note += f"; no data for {', '.join(s['missing'])}"
        elif s["kind"] == "correlation_breakdown":
            note = "; ".join(f"VaR {v['level']:.0%} {v['var'] * 100:.2f}% -> {v['stressed_var'] * 100:.2f}%"
                             for v in s["var_by_level"])
            note += f" (P&L = -stressed VaR {s['component_level']:.0%})"
        if no_data(s):
            row.update(total_pnl="no data", total_pct="no data", trough_pnl="no data")
        row["note"] = note
        summary.append(row)
    cols = columns_for(["scenario", "total_pnl", "total_pct", "trough_pnl", "note"], cur)
    c.print(columns_table(summary, cols, title=f"Stress tests (book value {format_value(d['value'], 'money')}"
                                                 f"{' ' + cur if cur else ''})"))
    for s in d["scenarios"]:
        if s["positions"]:
            rows = s["positions"]
            c.print(columns_table(rows, columns_for(_keys(rows), cur), title=s["name"]))
        for sym, why in (s.get("missing") or {}).items():
            c.print(f"  {s['name']}: {sym} skipped: {why}")


# ---- heat, portfolio optimisation ----------------------------------------------------------------------------
def render_heat(c: Console, d: dict[str, Any]) -> None:
    if d["positions"]:
        c.print(columns_table(d["positions"], columns_for(["symbol", "qty", "entry", "stop", "risk", "heat"], None),
                              title="Risk to stops"))
    summary = {"heat (loss if every stop is hit)": format_value(d["heat"], "money")}
    if "heat_pct" in d:
        summary["heat (% of equity)"] = format_value(d["heat_pct"], "fraction")
    if d["unprotected"]:
        summary["unprotected (no stop)"] = ", ".join(d["unprotected"])
    c.print(kv_table(summary))


def render_opt(c: Console, d: dict[str, Any]) -> None:
    cur = book_currency(list(d["weights"]))
    rows = [{"symbol": k, "weight": v, "risk_contribution": d["risk_contributions"][k],
             **({"allocation": d["allocation"][k]} if d.get("allocation") else {})} for k, v in d["weights"].items()]
    c.print(columns_table(rows, columns_for(_keys(rows), cur), title=f"{d['method']} weights"))
    c.print(kv_table({"expected return, annual (%)": format_value(d["expected_return"], "fraction"),
                      "volatility, annual (%)": format_value(d["volatility"], "fraction"),
                      "sharpe ratio": format_value(d["sharpe"], "ratio"), "rows": d["alignment"],
                      **({"note": d["note"]} if d.get("note") else {})}))


__all__ = ["COLUMNS", "book_currency", "columns_for", "render_heat", "render_opt", "render_report", "render_stress",
           "write_html"]
