"""Backtest report files: summary.json, trades.csv, equity.csv, orders.csv and an offline interactive report.html.

    paths = write_report(result, "out/run1", data=frame, engine="event")

- `summary.json`: `{"config": ..., "data": {symbol, timeframe, exchange, first, last, rows, fingerprint}, "metrics":
  {...}, "engine": ..., "events": [...]}`; every metric under its snake_case key with its unit; NaN/inf -> null.
- `trades.csv` / `orders.csv`: the BacktestResult column contract; times as UTC ISO-8601 (`...Z`).
- `equity.csv`: `timestamp,equity,drawdown_pct`.
- `report.html`: one self-contained file (plotly.js embedded, no CDN: it opens offline), in the dashboard's dark
  theme: candlesticks (OHLC aggregated to at most `max_candles` candles for big data, stated on the page) with the
  overlay indicators and the trade markers (aggregated when dense), volume, a pane per oscillator, equity with buy
  & hold, drawdown, the metrics with their units, the trades, the run events (see report_html.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from quantdesk.backtest.report_html import MAX_CANDLES, MAX_TRADE_ROWS, downsample_ohlc, render_html
from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS, BacktestResult
from quantdesk.core.jsonable import to_jsonable
from quantdesk.core.timeutil import iso

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


__all__ = ["FILES", "MAX_CANDLES", "MAX_TRADE_ROWS", "downsample_ohlc", "render_html", "summary_document",
           "write_report"]
