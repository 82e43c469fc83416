"""Regime use cases shared by the CLI and the API: detect on a file or stored series, write regimes.csv and the
chart, summarise, and split a backtest / walk-forward folder, a stored backtest or a paper bot by regime."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.intel.regimes.detect import OUTPUTS, check_params, detect_regimes, regime_labels


def load_bars(*, data_file: str | Path | None = None, symbol: str | None = None, timeframe: str | None = None,
              exchange: str | None = None, start: str | None = None, end: str | None = None
              ) -> tuple[pd.DataFrame, str, str]:
    """(OHLCV frame, symbol, timeframe) from a file (validated like an import) or the candle store."""
    if data_file is not None:
        from quantdesk.data.io import read_file
        from quantdesk.data.validate import prepare
        from quantdesk.model.timeframe import Timeframe

        path = Path(data_file)
        if not path.exists():
            raise NotFoundError(f"data file not found: {path}")
        raw = read_file(path)
        tf = timeframe
        if tf is None:
            ts = np.sort(raw.ts[~raw.ts_bad])
            diffs = np.diff(ts)
            diffs = diffs[diffs > 0]
            if not len(diffs):
                raise DataError(f"{path}: cannot infer the timeframe; pass --timeframe")
            tf = str(Timeframe(int(np.median(diffs))))
        frame, _ = prepare(raw, tf)
        if start or end:
            frame = frame.loc[pd.Timestamp(start, tz="UTC") if start else None:
                              pd.Timestamp(end, tz="UTC") if end else None]
        return frame, symbol or path.stem, tf
    if not symbol:
        raise ParameterError("give --symbol SYMBOL (with --timeframe) or --data FILE")
    from quantdesk.data import load

    tf = timeframe or "1h"
    frame = load(symbol, tf, exchange=exchange, start=start, end=end)
    if len(frame) == 0:
        raise NotFoundError(f"no bars for {symbol} {tf}" + (f" between start={start} and end={end}"
                                                            if start or end else ""))
    return frame, symbol, tf


def summarize(out: pd.DataFrame, method: str, params: dict[str, Any], symbol: str, timeframe: str
              ) -> dict[str, Any]:
    """What `regime detect --json` prints: time share per regime, changes, the current regime."""
    p = check_params({**params, "method": method})
    labels = regime_labels(method, p["n_states"])
    reg = out["regime"]
    valid = reg.dropna()
    shares = valid.value_counts(normalize=True).sort_index()
    share = {labels[int(k)]: round(float(v), 6) for k, v in zip(shares.index.tolist(), shares.tolist(), strict=True)}
    changes = out.index[(out["bars_since_change"] == 0)]
    changes = changes[changes > valid.index[0]] if len(valid) else changes[:0]
    last = out.iloc[-1]
    return {
        "symbol": symbol, "timeframe": timeframe, "method": method,
        "params": {k: v for k, v in p.items() if k != "method"}, "labels": labels, "bars": int(len(out)),
        "first": out.index[0] if len(out) else None, "last": out.index[-1] if len(out) else None,
        "labelled_bars": int(len(valid)), "time_share": share, "changes": int(len(changes)),
        "last_change": changes[-1] if len(changes) else None,
        "current": None if math.isnan(last["regime"]) else {
            "regime": labels[int(last["regime"])], "code": int(last["regime"]),
            "probabilities": {labels[k]: last[f"p_regime_{k}"] for k in range(len(labels))
                              if not math.isnan(last[f"p_regime_{k}"])},
            "p_changepoint": last["p_changepoint"], "bars_since_change": last["bars_since_change"]},
    }


def detect(bars: pd.DataFrame, method: str, params: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    out = detect_regimes(bars, method, **params)
    return out, regime_labels(method, check_params({**params, "method": method})["n_states"])


def write_outputs(out_dir: str | Path, bars: pd.DataFrame, out: pd.DataFrame, labels: list[str], title: str,
                  chart: bool = True) -> dict[str, str]:
    """DIR/regimes.csv (timestamp, regime, regime_name, probabilities, change point) and DIR/regimes.html."""
    from quantdesk.core.timeutil import iso
    from quantdesk.intel.regimes.chart import regime_chart_html
    from quantdesk.intel.regimes.report import regime_names

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    table = out.copy()
    table.insert(1, "regime_name", regime_names(out["regime"], labels).to_numpy())
    table.index = [iso(t) for t in table.index]
    table.index.name = "timestamp"
    paths = {"regimes.csv": d / "regimes.csv"}
    table.to_csv(paths["regimes.csv"], float_format="%.10g")
    if chart:
        paths["regimes.html"] = d / "regimes.html"
        paths["regimes.html"].write_text(regime_chart_html(bars, out, labels, title), encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}


# ---- reports ---------------------------------------------------------------------------------------------------
def _read_times(df: pd.DataFrame, col: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(df[col], utc=True))


def read_run_dir(run_dir: str | Path) -> tuple[pd.Series, pd.DataFrame, dict[str, Any]]:
    """(equity, trades, summary) of a `backtest --out` folder (equity.csv, trades.csv) or a `walk-forward --out`
    folder (oos_equity.csv, oos_trades.csv)."""
    d = Path(run_dir)
    if not d.is_dir():
        raise NotFoundError(f"run folder not found: {d}")
    summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
    for eq_name, tr_name in (("equity.csv", "trades.csv"), ("oos_equity.csv", "oos_trades.csv")):
        if (d / eq_name).exists():
            eq = pd.read_csv(d / eq_name)
            if "timestamp" not in eq or "equity" not in eq:
                raise DataError(f"{d / eq_name}: needs columns timestamp and equity")
            equity = pd.Series(eq["equity"].to_numpy(dtype=np.float64), index=_read_times(eq, "timestamp"))
            trades = pd.read_csv(d / tr_name) if (d / tr_name).exists() else pd.DataFrame(columns=["entry_time", "pnl"])
            return equity, trades, summary
    raise NotFoundError(f"{d}: no equity.csv or oos_equity.csv (a `backtest --out` or `walk-forward --out` folder)")


def bars_for_summary(summary: dict[str, Any], *, data_file: str | None = None, symbol: str | None = None,
                     timeframe: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """The bars a run was made on: the override if given, else the run config's data file or stored series."""
    cfg = summary.get("config") or {}
    if data_file or symbol:
        return load_bars(data_file=data_file, symbol=symbol, timeframe=timeframe or cfg.get("timeframe"))
    if cfg.get("data_file"):
        return load_bars(data_file=cfg["data_file"], symbol=cfg.get("symbol"), timeframe=cfg.get("timeframe"))
    if cfg.get("symbol"):
        return load_bars(symbol=cfg["symbol"], timeframe=cfg.get("timeframe"), exchange=cfg.get("exchange"))
    raise DataError("the run folder does not say which data it ran on: pass --data FILE or --symbol")


def report_table(equity: pd.Series, trades: pd.DataFrame, bars: pd.DataFrame, method: str,
                 params: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Regimes detected on the bars (all of them, so the detector is warm before the run starts), then the split."""
    from quantdesk.intel.regimes.report import by_regime

    out, labels = detect(bars, method, params)
    return by_regime(equity, trades, out["regime"], labels=labels), labels


def report_run_dir(run_dir: str | Path, method: str, params: dict[str, Any], **data: Any) -> dict[str, Any]:
    equity, trades, summary = read_run_dir(run_dir)
    bars, symbol, tf = bars_for_summary(summary, **data)
    table, labels = report_table(equity, trades, bars, method, params)
    return {"run": str(run_dir), "symbol": symbol, "timeframe": tf, "method": method, "labels": labels,
            "by_regime": table}


def report_backtest(svc: Any, run_id: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A backtest of the service by id: its in-memory result, else its stored folder, else a deterministic re-run
    of its stored config (a config reproduces its run)."""
    job = svc.backtest(run_id)
    if job.get("status") == "running":
        from quantdesk.core.errors import ConflictError

        raise ConflictError(f"backtest {run_id} is still running")
    cfg = job.get("config") or {}
    if job.get("equity"):
        eq = pd.DataFrame(job["equity"])
        equity = pd.Series(eq["equity"].astype("float64").to_numpy(), index=_read_times(eq, "ts"))
        trades = pd.DataFrame(job.get("trades") or [], columns=None)
        if not len(trades):
            trades = pd.DataFrame(columns=["entry_time", "pnl"])
    else:
        from quantdesk.storage import db

        row = db.get_run(run_id, svc.settings.database_url)
        out_dir = row.get("out_dir")
        if out_dir and Path(out_dir).is_dir():
            res = report_run_dir(out_dir, method, params)
            res["run"] = run_id
            return res
        from quantdesk.backtest.config import BacktestConfig
        from quantdesk.backtest.runner import run_backtest

        result = run_backtest(BacktestConfig(**row["config"]))
        equity, trades = result.equity, result.trades
    bars, symbol, tf = bars_for_summary({"config": cfg})
    table, labels = report_table(equity, trades, bars, method, params)
    return {"run": run_id, "symbol": symbol, "timeframe": tf, "method": method, "labels": labels,
            "by_regime": table}


def report_bot(store: Any, name: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A paper bot's committed equity snapshots and closed trades (from the trading store, e.g. the service's
    `node.store` or a `TradingStore(url)`), split by the regimes of its first symbol."""
    row = store.find_bot(name)
    if row is None:
        raise NotFoundError(f"no bot named {name!r}")
    snaps = store.snapshots(row["id"])
    if len(snaps) < 2:
        raise DataError(f"bot {name!r} has fewer than two equity snapshots yet")
    times = pd.DatetimeIndex(pd.to_datetime([int(s["ts"]) for s in snaps], unit="ns", utc=True))
    equity = pd.Series([float(s["equity"]) for s in snaps], index=times).groupby(level=0).last()
    st = store.load_state(row["id"])
    trades = pd.DataFrame({
        "entry_time": pd.to_datetime([int(t["entry_ts"]) for t in st.trades], unit="ns", utc=True),
        "pnl": [float(t["realized_pnl"]) - float(t["fees"]) for t in st.trades],
    })
    cfg = row.get("config") or {}
    symbol = row["symbols"][0]
    bars, _, tf = load_bars(symbol=symbol, timeframe=row["timeframe"], exchange=cfg.get("exchange"),
                            end=str(equity.index[-1]))
    table, labels = report_table(equity, trades, bars, method, params)
    return {"bot": name, "symbol": symbol, "timeframe": tf, "method": method, "labels": labels,
            "by_regime": table}


__all__ = ["OUTPUTS", "detect", "load_bars", "report_backtest", "report_bot", "report_run_dir", "summarize",
           "write_outputs"]
