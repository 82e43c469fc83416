"""`quantdesk demo`: an offline tour of the data layer on the bundled sample (what `make run` runs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import typer

from quantdesk.cli.output import emit, frame_table, kv_table


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def series_summary(df: pd.DataFrame, timeframe: str, gaps: dict[str, Any] | None = None) -> dict[str, Any]:
    """Range, rows, first/last close, total return, annualised volatility, max drawdown, best/worst day."""
    from quantdesk.data.resample import resample
    from quantdesk.model.timeframe import Timeframe

    close = df["close"].to_numpy()
    tf = Timeframe.parse(timeframe)
    logret = np.diff(np.log(close))
    per_year = 365.0 * 86_400.0 / tf.seconds
    peak = np.maximum.accumulate(close)
    dd = close / peak - 1.0
    trough = int(np.argmin(dd))
    peak_at = int(np.argmax(close[: trough + 1])) if trough else 0
    daily = resample(df, timeframe, "1d") if tf.nanos < 86_400 * 10**9 else df
    day_ret = daily["close"].pct_change().dropna()
    return {
        "first": df.index[0],
        "last": df.index[-1],
        "rows": len(df),
        "gaps": (gaps or {}).get("gaps", 0),
        "missing_bars": (gaps or {}).get("missing_bars", 0),
        "first_close": float(close[0]),
        "last_close": float(close[-1]),
        "total_return_pct": float((close[-1] / close[0] - 1.0) * 100.0),
        "annualised_volatility_pct": float(np.std(logret, ddof=1) * np.sqrt(per_year) * 100.0),
        "max_drawdown_pct": float(dd[trough] * 100.0),
        "max_drawdown_peak": df.index[peak_at],
        "max_drawdown_trough": df.index[trough],
        "best_day": day_ret.idxmax() if len(day_ret) else None,
        "best_day_return_pct": float(day_ret.max() * 100.0) if len(day_ret) else None,
        "worst_day": day_ret.idxmin() if len(day_ret) else None,
        "worst_day_return_pct": float(day_ret.min() * 100.0) if len(day_ret) else None,
    }


def demo() -> None:
    """A data tour on the bundled BTC sample: catalog, a summary of BTC/USDT 1h, and daily bars (offline)."""
    from quantdesk.data import load
    from quantdesk.data.resample import resample_detail
    from quantdesk.data.sample import SAMPLE_EXCHANGE, SAMPLE_SYMBOL
    from quantdesk.data.store import open_store

    store = open_store()  # seeds the bundled sample on first use
    catalog = store.catalog()
    info = store.info(SAMPLE_EXCHANGE, SAMPLE_SYMBOL, "1h")
    df = load(SAMPLE_SYMBOL, "1h", exchange=SAMPLE_EXCHANGE, store=store)
    summary = series_summary(df, "1h", info)
    daily, rinfo = resample_detail(df, "1h", "1d")
    doc = {
        "store": str(store.root),
        "catalog": catalog,
        "symbol": SAMPLE_SYMBOL,
        "exchange": SAMPLE_EXCHANGE,
        "timeframe": "1h",
        "source": info["source"],
        "summary": summary,
        "daily": {
            "bars": len(daily),
            "partial_last_day_dropped": rinfo.partial_dropped,
            "last_10": daily.tail(10),
        },
    }
    emit(doc, render=_render)


def _render(console, d: dict[str, Any]) -> None:
    from quantdesk.cli.data_cmds import _render_catalog

    _render_catalog(console, {"store": d["store"], "series": d["catalog"]})
    s = d["summary"]
    view = {
        "source": d["source"],
        "range": f"{_t(s['first'])} -> {_t(s['last'])}",
        "rows": f"{s['rows']:,}",
        "gaps": f"{s['gaps']} ({s['missing_bars']} missing bars)",
        "first / last close": f"{s['first_close']:,.2f} / {s['last_close']:,.2f}",
        "total return": f"{s['total_return_pct']:+,.1f}%",
        "annualised volatility": f"{s['annualised_volatility_pct']:.1f}%",
        "max drawdown (close)": f"{s['max_drawdown_pct']:.1f}% ({_t(s['max_drawdown_peak'])} -> {_t(s['max_drawdown_trough'])})",
        "biggest up day": f"{_t(s['best_day'])[:10]} {s['best_day_return_pct']:+.1f}%",
        "biggest down day": f"{_t(s['worst_day'])[:10]} {s['worst_day_return_pct']:+.1f}%",
    }
    console.print(kv_table(view, title=f"{d['symbol']} {d['timeframe']} @ {d['exchange']}"))
    note = " (incomplete last day left out)" if d["daily"]["partial_last_day_dropped"] else ""
    console.print(frame_table(d["daily"]["last_10"], title=f"Last 10 daily bars (resampled from 1h){note}"))


def _t(ts: Any) -> str:
    from quantdesk.core.timeutil import iso

    return iso(ts) if ts is not None else "-"


def _short_t(text: str | None) -> str:
    """`2021-12-31T23:01:00Z` -> `2021-12-31 23:01` for narrow tables."""
    return "-" if not text else text[:16].replace("T", " ")
