"""The fast path's public simulator: vectorised signals in, equity curves, trade records or summaries out.

Semantics (fills, fees, stops, rounding) are documented in quantdesk.backtest.fastpath; the loops are in
quantdesk.backtest.fast_kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from quantdesk.backtest.fast_kernels import (
    _N_STATS,
    FILL_DTYPE,
    SUMMARY_FIELDS,
    TRADE_DTYPE,
    _cross_signals,
    _simulate_many,
    _sma_kernel,
    _sma_rows,
    _sweep_sma_kernel,
    _weights_many,
)
from quantdesk.core.errors import DataError, ParameterError


# ---- public API -----------------------------------------------------------------------------------------------
def sma(close: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average of `close` (NaN for the first `period - 1` bars)."""
    return _sma_kernel(np.ascontiguousarray(close, dtype=np.float64), int(period))


def param_grid(fasts: Sequence[int], slows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """All (fast, slow) combinations with fast < slow, as two aligned int arrays."""
    pairs = [(f, s) for f in fasts for s in slows if f < s]
    if not pairs:
        raise ParameterError("sma_cross grid: no combination with fast < slow")
    arr = np.array(pairs, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _sma_table(close: np.ndarray, fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    periods = np.unique(np.concatenate([fast, slow]))
    if (periods <= 0).any():
        raise ParameterError("sma_cross: periods must be positive integers")
    c = np.ascontiguousarray(close, dtype=np.float64)
    smas = np.empty((len(periods), len(c)))
    _sma_rows(c, periods.astype(np.int64), smas)  # each distinct SMA once, in parallel
    pos = {int(p): i for i, p in enumerate(periods)}
    return smas, np.array([pos[int(p)] for p in fast]), np.array([pos[int(p)] for p in slow])


def sma_cross_signals(
    close: np.ndarray | pd.Series, fast: int | Sequence[int], slow: int | Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Entry (fast crosses above slow) and exit (fast crosses below slow) signals on each close.

    `fast` and `slow` are ints (1-D result) or equal-length sequences of pairs (2-D result, one column per pair).
    Each distinct SMA is computed once. entry[i] = fast[i] > slow[i] and fast[i-1] <= slow[i-1] (NaN compares
    false, so there is no signal before both averages and their previous values exist).
    """
    scalar = np.isscalar(fast) and np.isscalar(slow)
    f = np.atleast_1d(np.asarray(fast, dtype=np.int64))
    s = np.atleast_1d(np.asarray(slow, dtype=np.int64))
    if f.shape != s.shape:
        raise ParameterError("sma_cross_signals: fast and slow must have the same length (pairs)")
    smas, fi, si = _sma_table(np.asarray(close, dtype=np.float64), f, s)
    n = smas.shape[1]
    ent = np.empty((n, len(f)), dtype=np.bool_, order="F")
    ext = np.empty((n, len(f)), dtype=np.bool_, order="F")
    if n:
        _cross_signals(smas, fi, si, ent, ext)
    if scalar:
        return ent[:, 0].copy(), ext[:, 0].copy()
    return ent, ext


@dataclass
class FastResult:
    """Output of `simulate`: equity `(bars, columns)` and the trade records of every column (sorted by col)."""

    equity: np.ndarray
    trades: np.ndarray  # TRADE_DTYPE records
    summary: pd.DataFrame  # one row per column, SUMMARY_FIELDS
    columns: pd.Index


def _ohlc(data: pd.DataFrame | dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    cols = {str(k).lower(): k for k in data.keys()}
    try:
        arrays = tuple(np.ascontiguousarray(np.asarray(data[cols[name]], dtype=np.float64)) for name in
                       ("open", "high", "low", "close"))
    except KeyError as exc:
        raise DataError(f"fast path needs open, high, low and close columns (missing {exc})") from None
    return arrays


@overload
def _as_2d(x: None, n: int, k: int | None, name: str) -> None: ...
@overload
def _as_2d(x: np.ndarray | pd.DataFrame | pd.Series, n: int, k: int | None, name: str) -> np.ndarray: ...
def _as_2d(x: np.ndarray | pd.DataFrame | pd.Series | None, n: int, k: int | None, name: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.bool_)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ParameterError(f"{name}: expected {n} rows (one per bar), got shape {arr.shape}")
    if k is not None and arr.shape[1] not in (1, k):
        raise ParameterError(f"{name}: expected 1 or {k} columns, got {arr.shape[1]}")
    if k is not None and arr.shape[1] == 1 and k > 1:
        arr = np.repeat(arr, k, axis=1)
    return np.asfortranarray(arr)


def _prec(price_precision: int | None, size_precision: int | None,
          money_precision: int | None = None) -> tuple[float, float, float]:
    pm = 10.0 ** int(price_precision) if price_precision is not None else 0.0
    qm = 10.0 ** int(size_precision) if size_precision is not None else 0.0
    mm = 10.0 ** int(money_precision) if money_precision is not None else 0.0
    return pm, qm, mm


def _prepare(data, entries, exits, short_entries, short_exits, fee, slippage_bps, cash, sl_pct, tp_pct):
    o, h, lo, c = _ohlc(data)
    n = len(c)
    if n == 0:
        raise DataError("fast path: no bars")
    if not np.isfinite(c).all() or not np.isfinite(o).all():
        raise DataError("fast path: open/close contain NaN or inf")
    if not (0 <= fee < 0.1):
        raise ParameterError(f"fee must be in [0, 0.1), got {fee}")
    if not (0 <= slippage_bps <= 1000):
        raise ParameterError(f"slippage_bps must be in [0, 1000], got {slippage_bps}")
    if cash <= 0:
        raise ParameterError(f"cash must be > 0, got {cash}")
    ent = _as_2d(entries, n, None, "entries")
    k = ent.shape[1]
    ext = _as_2d(exits, n, k, "exits")
    ent = _as_2d(ent, n, k, "entries")
    use_short = short_entries is not None
    if use_short:
        sent = _as_2d(short_entries, n, k, "short_entries")
        sext = _as_2d(short_exits if short_exits is not None else np.zeros(n, bool), n, k, "short_exits")
    else:
        sent = sext = np.zeros((0, k), dtype=np.bool_, order="F")
    sl = float(sl_pct) / 100.0 if sl_pct else 0.0
    tp = float(tp_pct) / 100.0 if tp_pct else 0.0
    if sl < 0 or tp < 0 or sl >= 1:
        raise ParameterError("sl_pct must be in (0, 100) and tp_pct > 0")
    return o, h, lo, c, ent, ext, sent, sext, use_short, float(fee), float(slippage_bps) / 1e4, float(cash), sl, tp


def _ppy(data: Any, periods_per_year: float | None) -> float:
    if periods_per_year:
        return float(periods_per_year)
    from quantdesk.backtest.metrics import infer_periods_per_year

    return infer_periods_per_year(getattr(data, "index", pd.RangeIndex(0)))


def simulate(
    data: pd.DataFrame,
    entries: np.ndarray,
    exits: np.ndarray,
    *,
    short_entries: np.ndarray | None = None,
    short_exits: np.ndarray | None = None,
    cash: float = 10_000.0,
    fee: float = 0.001,
    slippage_bps: float = 0.0,
    sl_pct: float | None = None,
    tp_pct: float | None = None,
    price_precision: int | None = None,
    size_precision: int | None = None,
    money_precision: int | None = None,
    periods_per_year: float | None = None,
    columns: Sequence[Any] | pd.Index | None = None,
) -> FastResult:
    """Run one backtest per signal column, keeping equity curves and trade records (see module docstring).

    `price_precision` (decimals): fill prices and stop levels are rounded to the nearest tick (half up);
    `size_precision`: quantities are rounded DOWN to the lot; `money_precision`: fees are rounded (half up),
    like the simulated venue's instrument. None = exact floats. `run_fast` uses the event engine's instrument rules (price decimals found in the data, 8 for sizes).
    """
    o, h, lo, c, ent, ext, sent, sext, use_short, fee_, slip, cash_, sl, tp = _prepare(
        data, entries, exits, short_entries, short_exits, fee, slippage_bps, cash, sl_pct, tp_pct
    )
    n, k = ent.shape
    # a trade needs an entry signal: the entry counts bound the number of records per column
    bound = ent.sum(axis=0).astype(np.int64) + (sent.sum(axis=0).astype(np.int64) if use_short else 0) + 1
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(bound, out=offsets[1:])
    recs = np.zeros(int(offsets[-1]), dtype=TRADE_DTYPE)
    eq = np.empty((n, k), order="F")
    stats = np.empty((k, _N_STATS))
    counts = np.zeros(k, dtype=np.int64)
    _simulate_many(o, h, lo, c, ent, ext, sent, sext, use_short, fee_, slip, cash_, sl, tp,
                   *_prec(price_precision, size_precision, money_precision), eq, True, recs, offsets, True, stats, counts, _ppy(data, periods_per_year))
    keep: np.ndarray | list[int] = (
        np.concatenate([np.arange(offsets[j], offsets[j] + counts[j]) for j in range(k)]) if k else []
    )
    cols = pd.Index(columns) if columns is not None else pd.RangeIndex(k)
    summary = pd.DataFrame(stats, columns=list(SUMMARY_FIELDS), index=cols)
    return FastResult(equity=eq, trades=recs[np.asarray(keep, dtype=np.int64)], summary=summary, columns=cols)


def simulate_summary(
    data: pd.DataFrame,
    entries: np.ndarray,
    exits: np.ndarray,
    *,
    short_entries: np.ndarray | None = None,
    short_exits: np.ndarray | None = None,
    cash: float = 10_000.0,
    fee: float = 0.001,
    slippage_bps: float = 0.0,
    sl_pct: float | None = None,
    tp_pct: float | None = None,
    price_precision: int | None = None,
    size_precision: int | None = None,
    money_precision: int | None = None,
    periods_per_year: float | None = None,
    columns: Sequence[Any] | pd.Index | None = None,
) -> pd.DataFrame:
    """Like `simulate` but only the per-column summary (no equity curves, no records): for sweeps."""
    o, h, lo, c, ent, ext, sent, sext, use_short, fee_, slip, cash_, sl, tp = _prepare(
        data, entries, exits, short_entries, short_exits, fee, slippage_bps, cash, sl_pct, tp_pct
    )
    n, k = ent.shape
    stats = np.empty((k, _N_STATS))
    counts = np.zeros(k, dtype=np.int64)
    _simulate_many(o, h, lo, c, ent, ext, sent, sext, use_short, fee_, slip, cash_, sl, tp,
                   *_prec(price_precision, size_precision, money_precision), np.empty((0, k), order="F"), False, np.zeros(0, dtype=TRADE_DTYPE), np.zeros(k + 1, np.int64),
                   False, stats, counts, _ppy(data, periods_per_year))
    cols = pd.Index(columns) if columns is not None else pd.RangeIndex(k)
    return pd.DataFrame(stats, columns=list(SUMMARY_FIELDS), index=cols)


def sweep_sma_cross(
    data: pd.DataFrame,
    fast: Sequence[int],
    slow: Sequence[int],
    *,
    cash: float = 10_000.0,
    fee: float = 0.001,
    slippage_bps: float = 0.0,
    sl_pct: float | None = None,
    tp_pct: float | None = None,
    price_precision: int | None = None,
    size_precision: int | None = None,
    money_precision: int | None = None,
    periods_per_year: float | None = None,
) -> pd.DataFrame:
    """Summary of sma_cross for each (fast[j], slow[j]) pair; signals are built per column inside the kernel.

    Use `param_grid(fasts, slows)` for a full grid. Each distinct SMA is computed once. Index: (fast, slow).
    """
    o, h, lo, c = _ohlc(data)
    f = np.asarray(fast, dtype=np.int64)
    s = np.asarray(slow, dtype=np.int64)
    if f.shape != s.shape or f.ndim != 1:
        raise ParameterError("sweep_sma_cross: fast and slow must be equal-length 1-D sequences of pairs")
    dummy = np.zeros((len(c), 1), dtype=bool)
    _, _, _, _, _, _, _, _, _, fee_, slip, cash_, sl, tp = _prepare(
        data, dummy, dummy, None, None, fee, slippage_bps, cash, sl_pct, tp_pct
    )
    smas, fi, si = _sma_table(c, f, s)
    stats = np.empty((len(f), _N_STATS))
    _sweep_sma_kernel(o, h, lo, c, smas, fi, si, fee_, slip, cash_, sl, tp, *_prec(price_precision, size_precision, money_precision),
                      stats, _ppy(data, periods_per_year))
    index = pd.MultiIndex.from_arrays([f, s], names=["fast", "slow"])
    return pd.DataFrame(stats, columns=list(SUMMARY_FIELDS), index=index)


@dataclass
class WeightsResult:
    """Output of `simulate_weights`: equity `(bars, columns)`, every fill (FILL_DTYPE, signed quantity) and the
    per-column summary (num_trades / win_rate_pct count round trips from flat back to flat)."""

    equity: np.ndarray
    fills: np.ndarray
    summary: pd.DataFrame
    columns: pd.Index


def simulate_weights(
    data: pd.DataFrame,
    weights: np.ndarray | pd.DataFrame | pd.Series,
    *,
    cash: float = 10_000.0,
    fee: float = 0.001,
    slippage_bps: float = 0.0,
    allow_short: bool = False,
    price_precision: int | None = None,
    size_precision: int | None = None,
    money_precision: int | None = None,
    periods_per_year: float | None = None,
    columns: Sequence[Any] | pd.Index | None = None,
) -> WeightsResult:
    """Target weights: a finite `weights[i]` set on the close of bar i rebalances at the open of bar i+1 so that
    the position is that fraction of equity AFTER the fee (weight 1 from flat = the all-cash entry,
    `cash / (fill * (1 + fee))`; weight 0 closes the position); NaN keeps the current position. Negative
    weights need `allow_short` (else they mean 0). Same fill, fee, slippage and rounding rules as `simulate`.
    """
    o, _h, _l, c = _ohlc(data)
    n = len(c)
    if n == 0:
        raise DataError("fast path: no bars")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    if w.ndim != 2 or w.shape[0] != n:
        raise ParameterError(f"weights: expected {n} rows (one per bar), got shape {w.shape}")
    if np.isinf(w).any():
        raise ParameterError("weights must be finite or NaN")
    dummy = np.zeros((n, 1), dtype=bool)
    _, _, _, _, _, _, _, _, _, fee_, slip, cash_, _, _ = _prepare(data, dummy, dummy, None, None, fee, slippage_bps,
                                                                  cash, None, None)
    w = np.asfortranarray(w)
    k = w.shape[1]
    bound = np.isfinite(w).sum(axis=0).astype(np.int64)
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(bound, out=offsets[1:])
    fills = np.zeros(int(offsets[-1]), dtype=FILL_DTYPE)
    eq = np.empty((n, k), order="F")
    stats = np.empty((k, _N_STATS))
    counts = np.zeros(k, dtype=np.int64)
    _weights_many(o, c, w, fee_, slip, cash_, bool(allow_short), *_prec(price_precision, size_precision, money_precision), eq, fills,
                  offsets, stats, counts, _ppy(data, periods_per_year))
    keep: np.ndarray | list[int] = (
        np.concatenate([np.arange(offsets[j], offsets[j] + counts[j]) for j in range(k)]) if k else []
    )
    cols = pd.Index(columns) if columns is not None else pd.RangeIndex(k)
    return WeightsResult(equity=eq, fills=fills[np.asarray(keep, dtype=np.int64)],
                         summary=pd.DataFrame(stats, columns=list(SUMMARY_FIELDS), index=cols), columns=cols)


