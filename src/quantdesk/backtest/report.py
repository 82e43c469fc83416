"""Backtest report files: summary.json, trades.csv, equity.csv, orders.csv and an offline interactive report.html.

    paths = write_report(result, "out/run1", data=frame, engine="event")

- `summary.json`: `{"config": ..., "data": {symbol, timeframe, exchange, first, last, rows, fingerprint}, "metrics":
  {...}, "engine": ..., "events": [...]}`; every metric under its snake_case key with its unit; NaN/inf -> null.
- `trades.csv` / `orders.csv`: the BacktestResult column contract; times as UTC ISO-8601 (`...Z`).
- `equity.csv`: `timestamp,equity,drawdown_pct`.
- `report.html`: one self-contained file (plotly.js embedded, no CDN: it opens offline) with candlesticks (OHLC
  aggregated to at most `max_candles` candles for big data, stated on the page), the strategy's indicators,
  buy/sell markers, equity and drawdown, the metrics table, the trade table and the run events.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS, BacktestResult
from quantdesk.cli.output import to_jsonable
from quantdesk.core.timeutil import iso

MAX_CANDLES = 5_000
MAX_TRADE_ROWS = 1_000
FILES = ("summary.json", "trades.csv", "equity.csv", "orders.csv", "report.html")


def summary_document(result: BacktestResult, *, engine: str | None = None, extra: dict[str, Any] | None = None) -> dict:
    """The summary.json document (plain JSON values)."""
    doc: dict[str, Any] = {
        "config": result.config.model_dump(mode="json"),
        "data": {k: v for k, v in result.data_info.items()},
        "metrics": dict(result.metrics),
        "engine": engine,
        "events": list(result.events),
    }
    if extra:
        doc.update(extra)
    return to_jsonable(doc)


def _iso_col(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.map(lambda t: iso(t) if not pd.isna(t) else "")


def _trades_csv(trades: pd.DataFrame) -> pd.DataFrame:
    out = trades.reindex(columns=list(TRADE_COLUMNS)).copy()
    for col in ("entry_time", "exit_time"):
        out[col] = _iso_col(out[col]) if len(out) else out[col]
    return out


def _orders_csv(orders: pd.DataFrame) -> pd.DataFrame:
    out = orders.reindex(columns=list(ORDER_COLUMNS)).copy()
    if len(out):
        out["ts"] = _iso_col(out["ts"])
    return out


def _equity_frame(equity: pd.Series) -> pd.DataFrame:
    eq = equity.astype("float64")
    dd = (eq / eq.cummax() - 1.0) * 100.0
    idx = [iso(t) for t in eq.index] if isinstance(eq.index, pd.DatetimeIndex) else list(eq.index)
    return pd.DataFrame({"timestamp": idx, "equity": eq.to_numpy(), "drawdown_pct": dd.to_numpy()})


def write_report(
    result: BacktestResult,
    out_dir: str | Path,
    *,
    data: pd.DataFrame | None = None,
    engine: str | None = None,
    max_candles: int = MAX_CANDLES,
    html_report: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the report files into `out_dir` (created if needed). `data` (the OHLCV bars) feeds the candles."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in FILES}
    doc = summary_document(result, engine=engine, extra=extra)
    paths["summary.json"].write_text(json.dumps(doc, indent=2) + "\n")
    _trades_csv(result.trades).to_csv(paths["trades.csv"], index=False, float_format="%.10g")
    _orders_csv(result.orders).to_csv(paths["orders.csv"], index=False, float_format="%.10g")
    _equity_frame(result.equity).to_csv(paths["equity.csv"], index=False, float_format="%.10g")
    if html_report:
        paths["report.html"].write_text(render_html(result, data=data, engine=engine, max_candles=max_candles),
                                        encoding="utf-8")
    else:
        paths.pop("report.html")
    return paths


# ---- HTML ----------------------------------------------------------------------------------------------------
def downsample_ohlc(df: pd.DataFrame, max_candles: int = MAX_CANDLES) -> tuple[pd.DataFrame, int]:
    """Aggregate consecutive bars into at most `max_candles` candles (open first, high max, low min, close last,
    volume sum; stamped with the first bar's time). Returns (frame, bars per candle)."""
    n = len(df)
    if n <= max_candles:
        return df, 1
    step = math.ceil(n / max_candles)
    groups = np.arange(n) // step
    g = df.groupby(groups, sort=True)
    out = pd.DataFrame(
        {
            "open": g["open"].first().to_numpy(),
            "high": g["high"].max().to_numpy(),
            "low": g["low"].min().to_numpy(),
            "close": g["close"].last().to_numpy(),
        },
        index=df.index[::step],
    )
    if "volume" in df:
        out["volume"] = g["volume"].sum().to_numpy()
    return out, step


def _every(series: pd.Series, step: int, how: str = "last") -> pd.Series:
    if step <= 1:
        return series
    n = len(series)
    groups = np.arange(n) // step
    agg = getattr(series.groupby(groups), how)()
    return pd.Series(agg.to_numpy(), index=series.index[::step][: len(agg)])


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"
    if isinstance(value, pd.Timestamp):
        return "" if pd.isna(value) else iso(value)
    return str(value)


def _table(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in rec) + "</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def render_html(
    result: BacktestResult, *, data: pd.DataFrame | None = None, engine: str | None = None,
    max_candles: int = MAX_CANDLES,
) -> str:
    """The self-contained interactive report (plotly.js embedded)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cfg = result.config
    title = f"{cfg.strategy} {cfg.params or ''} on {result.data_info.get('symbol', cfg.symbol)} " \
            f"{result.data_info.get('timeframe', cfg.timeframe)}"
    notes: list[str] = []
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.55, 0.25, 0.20],
                        subplot_titles=("Price", "Equity", "Drawdown %"))
    step = 1
    if data is not None and len(data):
        cols = {str(c).lower(): c for c in data.columns}
        bars = pd.DataFrame({k: data[cols[k]].astype("float64") for k in ("open", "high", "low", "close")
                             if k in cols}, index=data.index)
        if "volume" in cols:
            bars["volume"] = data[cols["volume"]].astype("float64")
        candles, step = downsample_ohlc(bars, max_candles)
        if step > 1:
            notes.append(f"{len(bars):,} bars are shown as {len(candles):,} candles of {step} bars each "
                         f"(OHLC aggregated: first open, highest high, lowest low, last close).")
        fig.add_trace(go.Candlestick(x=candles.index, open=candles["open"], high=candles["high"],
                                     low=candles["low"], close=candles["close"], name="price"), row=1, col=1)
    for name, series in (result.indicators or {}).items():
        s = pd.Series(series).astype("float64")
        s = _every(s, step, "last")
        fig.add_trace(go.Scattergl(x=s.index, y=s.to_numpy(), mode="lines", name=str(name), line={"width": 1}),
                      row=1, col=1)
    trades = result.trades
    if len(trades):
        long = trades["side"].astype(str).eq("long").to_numpy()
        entry_t = pd.to_datetime(trades["entry_time"], utc=True)
        fig.add_trace(go.Scattergl(
            x=entry_t[long], y=trades["entry_price"][long], mode="markers", name="buy",
            marker={"symbol": "triangle-up", "size": 9, "color": "#2ca02c"}), row=1, col=1)
        fig.add_trace(go.Scattergl(
            x=entry_t[~long], y=trades["entry_price"][~long], mode="markers", name="sell short",
            marker={"symbol": "triangle-down", "size": 9, "color": "#d62728"}), row=1, col=1)
        closed = ~trades["is_open"].astype(bool).to_numpy()
        exit_t = pd.to_datetime(trades["exit_time"], utc=True)
        fig.add_trace(go.Scattergl(
            x=exit_t[closed & long], y=trades["exit_price"][closed & long], mode="markers", name="sell",
            marker={"symbol": "triangle-down", "size": 9, "color": "#d62728"}), row=1, col=1)
        fig.add_trace(go.Scattergl(
            x=exit_t[closed & ~long], y=trades["exit_price"][closed & ~long], mode="markers", name="buy to cover",
            marker={"symbol": "triangle-up", "size": 9, "color": "#2ca02c"}), row=1, col=1)
    eq = result.equity.astype("float64")
    dd = (eq / eq.cummax() - 1.0) * 100.0
    eq_s, dd_s = _every(eq, step, "last"), _every(dd, step, "min")
    fig.add_trace(go.Scattergl(x=eq_s.index, y=eq_s.to_numpy(), mode="lines", name="equity"), row=2, col=1)
    fig.add_trace(go.Scattergl(x=dd_s.index, y=dd_s.to_numpy(), mode="lines", name="drawdown %",
                               fill="tozeroy", line={"color": "#d62728"}), row=3, col=1)
    fig.update_layout(height=900, xaxis_rangeslider_visible=False, title=title, hovermode="x unified",
                      legend={"orientation": "h"})
    plot = fig.to_html(full_html=False, include_plotlyjs=True, config={"responsive": True})

    metrics = pd.DataFrame({"metric": list(result.metrics), "value": list(result.metrics.values())})
    shown = trades.reindex(columns=list(TRADE_COLUMNS))
    trade_note = ""
    if len(shown) > MAX_TRADE_ROWS:
        trade_note = f"<p>First {MAX_TRADE_ROWS:,} of {len(shown):,} trades; all are in trades.csv.</p>"
        shown = shown.head(MAX_TRADE_ROWS)
    events_html = "<p>none</p>"
    if result.events:
        ev = pd.DataFrame([to_jsonable(e) for e in result.events])
        events_html = _table(ev, "events")
    data_info = to_jsonable(result.data_info)
    cfg_json = json.dumps(to_jsonable(cfg.model_dump(mode="json")), indent=2)
    notes_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child {{ text-align: left; }}
.note {{ color: #8a5a00; }} pre {{ background: #f7f7f7; padding: 0.8em; }}
</style></head><body>
<h1>Backtest: {html.escape(title)}</h1>
<p>Engine: {html.escape(str(engine or "-"))}. Data: {html.escape(str(data_info.get("first")))} to
{html.escape(str(data_info.get("last")))}, {html.escape(str(data_info.get("rows")))} bars, fingerprint
<code>{html.escape(str(data_info.get("fingerprint")))}</code>.</p>
{notes_html}
{plot}
<h2>Metrics</h2>
{_table(metrics, "metrics")}
<h2>Trades</h2>
{trade_note}
{_table(shown, "trades")}
<h2>Run events (denials, errors)</h2>
{events_html}
<h2>Config</h2>
<pre>{html.escape(cfg_json)}</pre>
</body></html>
"""
