"""Optimisation trial workers: one batch of trials on the event engine or the compiled fast path, as plain
records (params, metrics, bucketed per-period returns). Module level so process pools and Ray can pickle them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import QuantDeskError
from quantdesk.research.overfitting import moments
from quantdesk.research.trial_store import encode_array


# ---- workers (module level: picklable for process pools and Ray) ---------------------------------------------
def _bucket_returns(r: np.ndarray, max_periods: int | None) -> np.ndarray:
    if max_periods is None or len(r) <= max_periods:
        return r
    size = math.ceil(len(r) / max_periods)
    starts = np.arange(0, len(r), size)
    with np.errstate(divide="ignore"):
        logs = np.log1p(r)
    return np.expm1(np.add.reduceat(logs, starts))


def bucket_index(index: pd.Index, max_periods: int | None) -> pd.Index:
    idx = index[1:]
    if max_periods is None or len(idx) <= max_periods:
        return idx
    size = math.ceil(len(idx) / max_periods)
    ends = np.minimum(np.arange(0, len(idx), size) + size - 1, len(idx) - 1)
    return idx[ends]


def _record(item: Mapping[str, Any], metrics: Mapping[str, float] | None, equity: np.ndarray | None,
            error: str | None, max_periods: int | None) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": item["id"], "key": item["key"], "params": dict(item["params"]),
                           "metrics": {}, "stats": {}, "error": error, "returns": None}
    if metrics is not None and equity is not None:
        rec["metrics"] = {k: float(v) for k, v in metrics.items()}
        eq = np.asarray(equity, dtype=np.float64)
        r = eq[1:] / eq[:-1] - 1.0 if len(eq) >= 2 else np.zeros(0)
        rec["stats"] = moments(r)
        rec["returns"] = encode_array(_bucket_returns(r, max_periods))
    return rec


def _fail(item: Mapping[str, Any], exc: BaseException, max_periods: int | None) -> dict[str, Any]:
    msg = str(exc) if isinstance(exc, QuantDeskError) else f"{type(exc).__name__}: {exc}"
    return _record(item, None, None, msg, max_periods)


def _event_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from quantdesk.backtest.runner import run_backtest

    base = BacktestConfig(**ctx["base_config"])
    out = []
    for item in batch:
        try:
            cfg = base.model_copy(update={"params": dict(item["run_params"])})
            res = run_backtest(cfg, ctx["data"])
            out.append(_record(item, res.metrics, res.equity.to_numpy(), None, ctx["max_periods"]))
        except Exception as exc:  # noqa: BLE001 - a failing parameter set is an infeasible trial, not a crash
            out.append(_fail(item, exc, ctx["max_periods"]))
    return out


def _fast_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from quantdesk.backtest import signals as sig
    from quantdesk.backtest.fastpath import simulate
    from quantdesk.backtest.metrics import compute_metrics

    cfg = BacktestConfig(**ctx["base_config"])
    cls = sig.strategy_class(cfg.strategy)
    frame: pd.DataFrame = ctx["data"]
    out: dict[int, dict[str, Any]] = {}
    ok: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for item in batch:
        try:
            ok.append((item, cls.validate_params(dict(item["run_params"]))))
        except Exception as exc:  # noqa: BLE001
            out[item["id"]] = _fail(item, exc, ctx["max_periods"])
    if ok:
        # one signal column per trial, each distinct indicator computed once; one simulate call for all
        ent, ext = sig.signals_many(cfg.strategy, frame, [p for _, p in ok])
        fr = simulate(frame, ent, ext, cash=cfg.cash, fee=cfg.fee, slippage_bps=cfg.slippage_bps,
                      **ctx["precision"])
        close = frame["close"]
        recs = fr.trades
        cols = recs["col"]
        for j, (item, _p) in enumerate(ok):
            trades = _trades_frame(recs[cols == j], frame.index)
            equity = pd.Series(fr.equity[:, j], index=frame.index, name="equity")
            metrics = compute_metrics(trades, equity, close=close)
            out[item["id"]] = _record(item, metrics, fr.equity[:, j], None, ctx["max_periods"])
    return [out[item["id"]] for item in batch]


def _trades_frame(recs: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The columns of a BacktestResult trade list that `compute_metrics` reads, from fast-path records
    (the same values as `fastpath.records_to_frames`, without building the order list)."""
    is_open = recs["is_open"].astype(bool)
    entry = index[recs["entry_idx"]]
    exit_t = index[recs["exit_idx"]]
    if isinstance(index, pd.DatetimeIndex):
        exit_t = exit_t.where(~is_open, pd.NaT)
    return pd.DataFrame({
        "entry_time": entry,
        "exit_time": exit_t,
        "fees": recs["entry_fee"] + recs["exit_fee"],
        "pnl": recs["pnl"],
        "return_pct": recs["return_pct"],
        "bars_held": (recs["exit_idx"] - recs["entry_idx"]).astype(np.int64),
        "is_open": is_open,
    })


def run_trial_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The executor task: run a batch of trials, return one record per trial (same order)."""
    if ctx["engine"] == "fast":
        return _fast_batch(ctx, batch)
    return _event_batch(ctx, batch)


