"""The look every HTML report shares (backtest, walk-forward, optimisation, Monte Carlo, risk): the dashboard's dark
theme (the colours of web/static/css/app.css), one page template, figures, KPI cards and formatted tables.

    fig = themed(go.Figure(...), height=400)
    body = kpis([("Total return", "+12.35%", "up")]) + card("Equity", figure_block(fig, "equity"))
    html = page("Backtest: sma_cross", body, subtitle="BTC/USDT 1h")

A page is self-contained and opens offline: plotly.js is embedded once in the head, each figure is a JSON document in
`<script type="application/json" id="<id>-json">` (what the tests read) drawn by one `Plotly.newPlot` call once
the page is laid out (DOMContentLoaded: a figure in a grid gets its final width). Numbers
in tables go through quantdesk.core.numfmt, so a report and the CLI print a figure the same way; nothing on a page
is a raw JSON dump.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from quantdesk.core.numfmt import decimals_needed, format_key, format_value, infer_kind

COLORS = {
    "bg": "#0d1117", "bg2": "#11161d", "panel": "#161b22", "panel2": "#1c2330", "border": "#2a3140",
    "grid": "#1f2630", "text": "#e6edf3", "muted": "#8b949e", "accent": "#388bfd", "up": "#26a69a",
    "down": "#ef5350", "warn": "#d29922", "exit": "#f0b429",
}
PALETTE = ("#f0b429", "#58a6ff", "#d2a8ff", "#3fb950", "#ff7b72", "#39c5cf", "#e3b341", "#a5d6ff", "#ffa657")
SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif'
MONO = 'ui-monospace, SFMono-Regular, "JetBrains Mono", Menlo, Consolas, "Liberation Mono", monospace'
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "scrollZoom": False}

CSS = f"""
:root {{ color-scheme: dark; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: {COLORS['bg']}; color: {COLORS['text']}; font: 14px/1.45 {SANS}; }}
main {{ max-width: 1400px; margin: 0 auto; padding: 20px 24px 48px; display: grid; gap: 16px; }}
h1 {{ font-size: 20px; margin: 0; font-weight: 600; }}
h2 {{ font-size: 13px; margin: 0 0 10px; color: {COLORS['muted']}; text-transform: uppercase; letter-spacing: .04em;
      font-weight: 600; }}
p {{ margin: 0 0 6px; }}
a {{ color: {COLORS['accent']}; }}
code {{ font-family: {MONO}; font-size: 12px; background: {COLORS['panel2']}; padding: 1px 5px; border-radius: 4px; }}
.sub {{ color: {COLORS['muted']}; margin-top: 4px; }}
.card {{ background: {COLORS['panel']}; border: 1px solid {COLORS['border']}; border-radius: 8px; padding: 16px;
         min-width: 0; }}
.grid-2 {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }}
.grid-3 {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 16px; }}
.kpis {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }}
.kpi {{ background: {COLORS['bg2']}; border: 1px solid {COLORS['border']}; border-radius: 6px; padding: 8px 10px; }}
.kpi .label {{ color: {COLORS['muted']}; font-size: 11px; }}
.kpi .value {{ font-family: {MONO}; font-size: 16px; font-weight: 600; }}
.up {{ color: {COLORS['up']}; }} .down {{ color: {COLORS['down']}; }} .muted {{ color: {COLORS['muted']}; }}
.note {{ color: {COLORS['warn']}; font-size: 13px; }}
.explain {{ color: {COLORS['muted']}; font-size: 13px; }}
.table-scroll {{ overflow: auto; max-height: 560px; border: 1px solid {COLORS['border']}; border-radius: 6px; }}
table.data {{ width: 100%; border-collapse: collapse; font-size: 13px; }}
table.data th, table.data td {{ padding: 6px 10px; border-bottom: 1px solid {COLORS['border']}; text-align: left;
                               white-space: nowrap; }}
table.data th {{ position: sticky; top: 0; background: {COLORS['panel2']}; color: {COLORS['muted']}; font-weight: 600;
                font-size: 12px; }}
table.data td.num, table.data th.num {{ text-align: right; font-family: {MONO}; font-variant-numeric: tabular-nums; }}
table.data tbody tr:hover {{ background: rgba(56, 139, 253, .06); }}
table.kv td:first-child {{ color: {COLORS['muted']}; }}
table.data td.wrap {{ white-space: normal; min-width: 260px; }}
.plot {{ width: 100%; }}
"""


def themed(fig: Any, *, height: int | None = None, title: str | None = None) -> Any:
    """Apply the dark theme to a plotly figure (in place; returned for chaining)."""
    layout: dict[str, Any] = {
        "paper_bgcolor": COLORS["panel"], "plot_bgcolor": COLORS["panel"],
        "font": {"family": SANS, "color": COLORS["text"], "size": 12},
        "colorway": list(PALETTE),
        "margin": {"l": 70, "r": 30, "t": 50 if title else 30, "b": 40},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0,
                   "bgcolor": "rgba(0,0,0,0)", "font": {"color": COLORS["muted"]}},
        "hoverlabel": {"bgcolor": COLORS["panel2"], "bordercolor": COLORS["border"],
                       "font": {"family": MONO, "color": COLORS["text"]}},
    }
    if height is not None:
        layout["height"] = height
    if title is not None:
        layout["title"] = {"text": title, "font": {"size": 14, "color": COLORS["text"]}, "x": 0, "xanchor": "left"}
    fig.update_layout(**layout)
    axis = {"gridcolor": COLORS["grid"], "linecolor": COLORS["border"], "zerolinecolor": COLORS["border"],
            "tickfont": {"color": COLORS["muted"], "family": MONO, "size": 11},
            "title": {"font": {"color": COLORS["muted"], "size": 12}}}
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_annotations(font={"color": COLORS["muted"], "size": 12})
    return fig


def _script_json(text: str) -> str:
    """JSON text safe inside a <script> element."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def figure_block(fig: Any, fig_id: str) -> str:
    """A figure as a div, its JSON document and the call that draws it."""
    import json

    doc = _script_json(fig.to_json())
    cfg = json.dumps(PLOT_CONFIG)
    fid = html.escape(fig_id)
    return (f'<div id="{fid}" class="plot"></div>\n'
            f'<script type="application/json" id="{fid}-json" data-figure="{fid}">{doc}</script>\n'
            f'<script>document.addEventListener("DOMContentLoaded", function () {{ '
            f'var f = JSON.parse(document.getElementById("{fid}-json").textContent); '
            f'Plotly.newPlot("{fid}", f.data, f.layout, {cfg}); }});</script>')


def page(title: str, body: str, *, subtitle: str | None = None) -> str:
    """A whole report page (plotly.js embedded once: it opens offline)."""
    from plotly.offline import get_plotlyjs

    sub = f'<p class="sub">{subtitle}</p>' if subtitle else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style>\n"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n'
            f"<body><main>\n<header><h1>{html.escape(title)}</h1>{sub}</header>\n{body}\n</main></body></html>\n")


def card(title: str | None, inner: str, *, card_id: str | None = None) -> str:
    head = f"<h2>{html.escape(title)}</h2>" if title else ""
    ident = f' id="{html.escape(card_id)}"' if card_id else ""
    return f'<section class="card"{ident}>{head}{inner}</section>\n'


def sign_class(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(v) or v == 0:
        return ""
    return "up" if v > 0 else "down"


def kpis(items: Sequence[tuple[str, str, str]], *, kpi_id: str = "kpis") -> str:
    """Headline figures as cards: (label, formatted value, css class)."""
    cells = "".join(f'<div class="kpi"><div class="label">{html.escape(label)}</div>'
                    f'<div class="value {cls}">{html.escape(value)}</div></div>' for label, value, cls in items)
    return f'<div class="kpis" id="{html.escape(kpi_id)}">{cells}</div>'


def text_value(value: Any) -> str:
    """A nested value as readable text (k=v pairs, comma lists), never a JSON dump."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={text_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(text_value(v) for v in value) or "-"
    return format_key(None, value) if not isinstance(value, str) else value


def table(rows: Sequence[Mapping[Any, Any]], columns: Sequence[tuple[str, str]], *, table_id: str,
          kinds: Mapping[str, str] | None = None, signed: Sequence[str] = (), scroll: bool = True) -> str:
    """An HTML table: `columns` = (key, header); numbers formatted by kind (given, or inferred from the key;
    prices at the column's precision), right-aligned; `signed` columns coloured and signed."""
    kinds = dict(kinds or {})
    kind_of = {k: kinds.get(k) or infer_kind(k) for k, _ in columns}
    prec = {k: decimals_needed(r.get(k) for r in rows) for k, _ in columns if kind_of[k] == "price"}
    head = "".join(f'<th class="{"num" if _numeric_col(rows, k) else ""}">{html.escape(h)}</th>' for k, h in columns)
    body = []
    for r in rows:
        cells = []
        for k, _ in columns:
            v = r.get(k)
            if isinstance(v, (Mapping, list, tuple)):
                cells.append(f"<td>{html.escape(text_value(v))}</td>")
                continue
            if _is_number(v):
                txt = format_value(v, kind_of[k], precision=prec.get(k), signed=k in signed)  # type: ignore[arg-type]
                cls = "num " + (sign_class(v) if k in signed else "")
                cells.append(f'<td class="{cls.strip()}">{html.escape(txt)}</td>')
            else:
                cells.append(f"<td>{html.escape(_plain(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    tbl = (f'<table class="data" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
           f'<tbody>{"".join(body)}</tbody></table>')
    return f'<div class="table-scroll">{tbl}</div>' if scroll else tbl


def kv_table(items: Sequence[tuple[str, str]], *, table_id: str) -> str:
    """Two columns: a label and an already formatted value."""
    rows = "".join(f'<tr><td>{html.escape(k)}</td><td class="num">{html.escape(v)}</td></tr>' for k, v in items)
    return f'<table class="data kv" id="{html.escape(table_id)}"><tbody>{rows}</tbody></table>'


def _is_number(v: Any) -> bool:
    import numpy as np

    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _numeric_col(rows: Sequence[Mapping[str, Any]], key: str) -> bool:
    return any(_is_number(r.get(key)) for r in rows[:50])


def _plain(v: Any) -> str:
    import pandas as pd

    if v is None:
        return "-"
    if isinstance(v, pd.Timestamp):
        from quantdesk.core.timeutil import iso

        return "-" if pd.isna(v) else iso(v)
    try:
        if pd.isna(v):
            return "-"
    except (TypeError, ValueError):
        pass
    return str(v)


__all__ = ["COLORS", "PALETTE", "card", "figure_block", "kpis", "kv_table", "page", "sign_class", "table",
           "text_value", "themed"]
