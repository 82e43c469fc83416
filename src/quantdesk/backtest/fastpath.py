"""Compiled fast path: a numba simulator for strategies expressed as vectorised signals.

Same semantics as the event engine (`quantdesk.backtest.runner.run_backtest`), checked by parity tests:

- A signal is read on the CLOSE of bar i; the market order it creates fills at the OPEN of bar i+1. A signal on
  the last bar is never filled.
- Sizing: all available cash, fractional quantity `cash / (fill * (1 + fee))`, so notional plus fee uses all the
  cash. Fee = `fee * notional`, charged on entry and on exit.
- Slippage: fixed `slippage_bps`, adverse: buys fill at `price * (1 + bps/1e4)`, sells at `price * (1 - bps/1e4)`.
  It applies to market fills and to stop-loss fills; take-profit fills are limit fills (no slippage).
- Long only by default: `entries` open a long when flat, `exits` close it. With `short_entries` / `short_exits`
  a short is opened when flat / closed when short (a signal for the other side while in a position is ignored).
  If an entry and a short entry fire on the same bar, the long entry wins.
- Stops (`sl_pct`, `tp_pct`, in percent of the entry fill price), checked on every bar a position is held,
  including the bar it was opened: if the open is already through a level the exit fills at the open
  (gap-through); if both levels are inside one bar's range the worse one (the stop loss) is assumed to have hit
  first; otherwise the level that was touched fills at the level.
- Equity after each bar = cash + position * close. An open position at the end is marked to the last close and
  reported as an open trade (no exit fee).

Inputs are 1-D (one backtest) or 2-D `(bars, columns)` arrays (one backtest per column, e.g. one per parameter
combination); columns run in parallel (`prange`). Two kernels share one per-column simulation:
`simulate` keeps the equity curves and the trade records; `simulate_summary` / `sweep_sma_cross` keep only a
per-column summary (final equity, total return, Sharpe, max drawdown, trades, win rate), so a sweep over
hundreds of columns of a million bars never materialises more than one column of signals per thread.
`simulate_weights` rebalances to target weights (fraction of equity) with the same fill/fee/slippage rules.

Rounding: with `price_precision` / `size_precision` (what `run_fast` uses, taken from the event engine's
instrument rules: price decimals found in the data, 8 size decimals) fill prices are rounded to the nearest tick
and quantities DOWN to the lot, so the fast path gives the event engine's trades to ~1e-12.

    ent, ext = sma_cross_signals(df["close"], [10, 20], [30, 50])   # 2 columns
    fr = simulate(df, ent, ext, fee=0.001)                           # equity (n, 2), trade records
    table = sweep_sma_cross(df, *param_grid(range(5, 101, 5), range(110, 301, 10)))   # 400 backtests
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import pandas as pd
from numba import njit, prange

from quantdesk.core.errors import DataError, ParameterError

# ---- records --------------------------------------------------------------------------------------------------
TRADE_DTYPE = np.dtype(
    [
        ("col", np.int64),
        ("entry_idx", np.int64),
        ("exit_idx", np.int64),
        ("direction", np.int8),  # 1 long, -1 short
        ("is_open", np.bool_),
        ("exit_reason", np.int8),  # see EXIT_REASONS
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("quantity", np.float64),
        ("entry_fee", np.float64),
        ("exit_fee", np.float64),
        ("pnl", np.float64),
        ("return_pct", np.float64),
    ],
    align=True,
)
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "end")
SUMMARY_FIELDS = (
    "final_equity",
    "total_return_pct",
    "sharpe",
    "max_drawdown_pct",
    "num_trades",
    "win_rate_pct",
    "total_fees",
)
_N_STATS = len(SUMMARY_FIELDS)
TRADE_NB = nb.from_dtype(TRADE_DTYPE)


# ---- kernels --------------------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _sma_kernel(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - numba
    """Simple moving average, NaN during warm-up. The same running sum, in the same order of float operations,
    as the indicator catalog's `sma` (TA-Lib's algorithm), so both engines see bit-identical averages and
    therefore the same crossings (a test checks this bit for bit)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period <= 0 or period > n:
        return out
    total = 0.0
    for i in range(period - 1):
        total += x[i]
    trailing = 0
    for i in range(period - 1, n):
        total += x[i]
        tmp = total
        total -= x[trailing]
        trailing += 1
        out[i] = tmp / period
    return out


@njit(cache=True, nogil=True)
def _round_price(x, pmul):  # pragma: no cover - numba
    """Nearest tick (half up, like Decimal(repr(x)) rounding); pmul = 10**price_precision, 0 = no rounding."""
    if pmul <= 0.0:
        return x
    y = x * pmul
    return math.floor(y + 0.5 + 1e-14 * abs(y)) / pmul


@njit(cache=True, nogil=True)
def _round_money(x, mmul):  # pragma: no cover - numba
    """Fees to the money precision (half up, like the venue); mmul = 10**money_precision, 0 = no rounding."""
    if mmul <= 0.0:
        return x
    y = x * mmul
    return math.floor(y + 0.5 + 1e-14 * abs(y)) / mmul


@njit(cache=True, nogil=True)
def _all_cash_qty(cash, px, fee, qmul, mmul):  # pragma: no cover - numba
    """cash / (px * (1 + fee)), rounded DOWN to the lot (qmul = 10**size_precision, 0 = no rounding), then
    lowered by one lot at a time while notional + rounded fee exceeds the cash (the venue's rule)."""
    q = cash / (px * (1.0 + fee))
    if qmul <= 0.0 or q <= 0.0:
        return max(q, 0.0)
    units = math.floor(q * qmul)
    while units > 0:
        qty = units / qmul
        if px * qty + _round_money(px * qty * fee, mmul) <= cash:
            break
        units -= 1
    return units / qmul


@njit(cache=True, nogil=True)
def _close_position(
    pos, entry_px, entry_fee, entry_idx, cash, px, fee, mmul, i, reason, col, recs, store_recs, ntr
):  # pragma: no cover - numba
    qty = abs(pos)
    if pos > 0:
        proceeds = px * qty
        exit_fee = _round_money(proceeds * fee, mmul)
        cash += proceeds - exit_fee
        pnl = (px - entry_px) * qty - entry_fee - exit_fee
    else:
        cost = px * qty
        exit_fee = _round_money(cost * fee, mmul)
        cash -= cost + exit_fee
        pnl = (entry_px - px) * qty - entry_fee - exit_fee
    if store_recs:
        r = recs[ntr]
        r["col"] = col
        r["entry_idx"] = entry_idx
        r["exit_idx"] = i
        r["direction"] = 1 if pos > 0 else -1
        r["is_open"] = False
        r["exit_reason"] = reason
        r["entry_price"] = entry_px
        r["exit_price"] = px
        r["quantity"] = qty
        r["entry_fee"] = entry_fee
        r["exit_fee"] = exit_fee
        r["pnl"] = pnl
        r["return_pct"] = pnl / (entry_px * qty) * 100.0
    return cash, pnl, exit_fee


@njit(cache=True, nogil=True)
def _simulate_column(
    o, h, lo, c, ent, ext, sent, sext, use_short, fee, slip, cash0, sl, tp, pmul, qmul, mmul, col,
    eq_out, store_eq, recs, store_recs, stats, ppy,
):  # pragma: no cover - numba
    """One backtest over one column of signals. Returns the number of trade records written."""
    n = c.shape[0]
    has_sl = sl > 0.0
    has_tp = tp > 0.0
    buy_mult = 1.0 + slip
    sell_mult = 1.0 - slip
    cash = cash0
    pos = 0.0
    entry_px = 0.0
    entry_fee = 0.0
    entry_idx = -1
    pending = 0  # 1 open long, -1 open short, 2 close
    ntr = 0
    closed = 0
    wins = 0
    fees = 0.0
    peak = -np.inf
    max_dd = 0.0
    prev_eq = np.nan
    s1 = 0.0
    s2 = 0.0
    cnt = 0
    dd_floor = -np.inf
    eq = cash0
    for i in range(n):
        # 1) the market order decided on the previous close fills at this open
        if pending != 0:
            if pending == 2:
                if pos > 0:
                    px = _round_price(o[i] * sell_mult, pmul)
                else:
                    px = _round_price(o[i] * buy_mult, pmul)
                cash, pnl, xf = _close_position(
                    pos, entry_px, entry_fee, entry_idx, cash, px, fee, mmul, i, 0, col, recs, store_recs, ntr
                )
                fees += xf
                ntr += 1
                closed += 1
                if pnl > 0:
                    wins += 1
                pos = 0.0
            elif pending == 1:
                px = _round_price(o[i] * buy_mult, pmul)
                qty = _all_cash_qty(cash, px, fee, qmul, mmul)
                if qty > 0.0:  # else the order is cancelled: not enough cash for one lot
                    entry_fee = _round_money(px * qty * fee, mmul)
                    cash -= px * qty + entry_fee
                    fees += entry_fee
                    pos = qty
                    entry_px = px
                    entry_idx = i
            else:
                px = _round_price(o[i] * sell_mult, pmul)
                qty = _all_cash_qty(cash, px, fee, qmul, mmul)
                if qty > 0.0:
                    entry_fee = _round_money(px * qty * fee, mmul)
                    cash += px * qty - entry_fee
                    fees += entry_fee
                    pos = -qty
                    entry_px = px
                    entry_idx = i
            pending = 0
        # 2) stop loss / take profit inside this bar
        if pos != 0.0 and (has_sl or has_tp):
            reason = -1
            px = 0.0
            if pos > 0:
                stop = _round_price(entry_px * (1.0 - sl), pmul)
                take = _round_price(entry_px * (1.0 + tp), pmul)
                if has_sl and o[i] <= stop:
                    reason = 1
                    px = _round_price(o[i] * sell_mult, pmul)
                elif has_tp and o[i] >= take:
                    reason = 2
                    px = o[i]
                elif has_sl and lo[i] <= stop:
                    reason = 1
                    px = _round_price(stop * sell_mult, pmul)
                elif has_tp and h[i] >= take:
                    reason = 2
                    px = take
            else:
                stop = _round_price(entry_px * (1.0 + sl), pmul)
                take = _round_price(entry_px * (1.0 - tp), pmul)
                if has_sl and o[i] >= stop:
                    reason = 1
                    px = _round_price(o[i] * buy_mult, pmul)
                elif has_tp and o[i] <= take:
                    reason = 2
                    px = o[i]
                elif has_sl and h[i] >= stop:
                    reason = 1
                    px = _round_price(stop * buy_mult, pmul)
                elif has_tp and lo[i] <= take:
                    reason = 2
                    px = take
            if reason > 0:
                cash, pnl, xf = _close_position(
                    pos, entry_px, entry_fee, entry_idx, cash, px, fee, mmul, i, reason, col, recs, store_recs, ntr
                )
                fees += xf
                ntr += 1
                closed += 1
                if pnl > 0:
                    wins += 1
                pos = 0.0
        # 3) mark to market at the close
        eq = cash + pos * c[i]
        if store_eq:
            eq_out[i] = eq
        if i > 0:
            cnt += 1
            if eq != prev_eq:  # flat bars have r == 0: no division
                r = eq / prev_eq - 1.0
                s1 += r
                s2 += r * r
        prev_eq = eq
        if eq > peak:
            peak = eq
            dd_floor = peak * (1.0 + max_dd)
        elif eq < dd_floor:  # a new maximum drawdown: divide only then
            dd = eq / peak - 1.0
            if dd < max_dd:
                max_dd = dd
                dd_floor = peak * (1.0 + max_dd)
        # 4) signals on this close (never on the last bar: there is no next open to fill at)
        if i < n - 1:
            if pos > 0:
                if ext[i]:
                    pending = 2
            elif pos < 0:
                if sext[i]:
                    pending = 2
            else:
                if ent[i]:
                    pending = 1
                elif use_short and sent[i]:
                    pending = -1
    # an open position at the end: marked to the last close, no exit fee
    if pos != 0.0 and store_recs:
        px = c[n - 1]
        qty = abs(pos)
        if pos > 0:
            pnl = (px - entry_px) * qty - entry_fee
        else:
            pnl = (entry_px - px) * qty - entry_fee
        r = recs[ntr]
        r["col"] = col
        r["entry_idx"] = entry_idx
        r["exit_idx"] = n - 1
        r["direction"] = 1 if pos > 0 else -1
        r["is_open"] = True
        r["exit_reason"] = 3
        r["entry_price"] = entry_px
        r["exit_price"] = px
        r["quantity"] = qty
        r["entry_fee"] = entry_fee
        r["exit_fee"] = 0.0
        r["pnl"] = pnl
        r["return_pct"] = pnl / (entry_px * qty) * 100.0
        ntr += 1
    stats[0] = eq
    stats[1] = (eq / cash0 - 1.0) * 100.0
    var = (s2 - s1 * s1 / cnt) / (cnt - 1) if cnt > 1 else 0.0
    if var > 0.0:
        stats[2] = (s1 / cnt) / math.sqrt(var) * math.sqrt(ppy)
    else:
        stats[2] = np.nan
    stats[3] = max_dd * 100.0
    stats[4] = closed
    stats[5] = wins / closed * 100.0 if closed > 0 else np.nan
    stats[6] = fees
    return ntr


@njit(cache=True, parallel=True)
def _simulate_many(
    o, h, lo, c, ent, ext, sent, sext, use_short, fee, slip, cash0, sl, tp, pmul, qmul, mmul,
    eq_out, store_eq, recs, offsets, store_recs, stats, counts, ppy,
):  # pragma: no cover - numba
    k = ent.shape[1]
    for j in prange(k):
        counts[j] = _simulate_column(
            o, h, lo, c, ent[:, j], ext[:, j], sent[:, j], sext[:, j], use_short, fee, slip, cash0, sl, tp, pmul, qmul, mmul, j,
            eq_out[:, j], store_eq, recs[offsets[j] : offsets[j + 1]], store_recs, stats[j], ppy,
        )


@njit(cache=True, parallel=True)
def _sweep_sma_kernel(o, h, lo, c, smas, fast_idx, slow_idx, fee, slip, cash0, sl, tp, pmul, qmul, mmul, stats,
                      ppy):
    # pragma: no cover - numba
    n = c.shape[0]
    k = fast_idx.shape[0]
    empty_f = np.empty(0)
    empty_b = np.zeros(0, dtype=np.bool_)
    recs = np.empty(0, dtype=TRADE_NB)
    for j in prange(k):
        f = smas[fast_idx[j]]
        s = smas[slow_idx[j]]
        ent = np.zeros(n, dtype=np.bool_)
        ext = np.zeros(n, dtype=np.bool_)
        for i in range(1, n):
            ent[i] = f[i] > s[i] and f[i - 1] <= s[i - 1]
            ext[i] = f[i] < s[i] and f[i - 1] >= s[i - 1]
        _simulate_column(
            o, h, lo, c, ent, ext, empty_b, empty_b, False, fee, slip, cash0, sl, tp, pmul, qmul, mmul, j,
            empty_f, False, recs, False, stats[j], ppy,
        )


@njit(cache=True, parallel=True)
def _cross_signals(smas, fast_idx, slow_idx, ent, ext):  # pragma: no cover - numba
    n = smas.shape[1]
    for j in prange(fast_idx.shape[0]):
        f = smas[fast_idx[j]]
        s = smas[slow_idx[j]]
        ent[0, j] = False
        ext[0, j] = False
        for i in range(1, n):
            ent[i, j] = f[i] > s[i] and f[i - 1] <= s[i - 1]
            ext[i, j] = f[i] < s[i] and f[i - 1] >= s[i - 1]


@njit(cache=True, parallel=True)
def _sma_rows(c, periods, out):  # pragma: no cover - numba
    for row in prange(periods.shape[0]):
        out[row] = _sma_kernel(c, periods[row])


FILL_DTYPE = np.dtype(
    [("col", np.int64), ("idx", np.int64), ("quantity", np.float64), ("price", np.float64), ("fee", np.float64)],
    align=True,
)


@njit(cache=True, nogil=True)
def _weights_column(o, c, w, fee, slip, cash0, allow_short, pmul, qmul, mmul, col, eq_out, fills, stats, ppy):
    # pragma: no cover - numba
    """Target-weight rebalancing of one column; returns the number of fills written."""
    n = c.shape[0]
    cash = cash0
    pos = 0.0
    pending = np.nan
    nf = 0
    trip_start = 0.0
    closed = 0
    wins = 0
    fees = 0.0
    peak = -np.inf
    max_dd = 0.0
    dd_floor = -np.inf
    prev_eq = np.nan
    s1 = 0.0
    s2 = 0.0
    cnt = 0
    eq = cash0
    for i in range(n):
        if not np.isnan(pending):
            tgt = pending
            if tgt < 0.0 and not allow_short:
                tgt = 0.0
            pending = np.nan
            cur_w_num = pos * o[i]
            e_open = cash + cur_w_num
            if tgt == 0.0:
                dq = -pos
                px = _round_price(o[i] * (1.0 + slip if dq > 0 else 1.0 - slip), pmul)
            else:
                buy = tgt * e_open > cur_w_num
                px = _round_price(o[i] * (1.0 + slip if buy else 1.0 - slip), pmul)
                e = cash + pos * px
                if buy:
                    dq = (tgt * e - pos * px) / (px * (1.0 + tgt * fee))
                else:
                    dq = (tgt * e - pos * px) / (px * (1.0 - tgt * fee))
                if qmul > 0.0:
                    dq = math.floor(abs(dq) * qmul) / qmul * (1.0 if dq > 0 else -1.0)
            if dq != 0.0:
                if pos == 0.0:
                    trip_start = cash
                f = _round_money(abs(dq) * px * fee, mmul)
                cash -= dq * px + f
                fees += f
                pos += dq
                if abs(pos) * px < 1e-12 * max(abs(cash), 1.0):
                    pos = 0.0
                if fills.shape[0] > nf:
                    fills[nf]["col"] = col
                    fills[nf]["idx"] = i
                    fills[nf]["quantity"] = dq
                    fills[nf]["price"] = px
                    fills[nf]["fee"] = f
                nf += 1
                if pos == 0.0:
                    closed += 1
                    if cash > trip_start:
                        wins += 1
        eq = cash + pos * c[i]
        if eq_out.shape[0] > 0:
            eq_out[i] = eq
        if i > 0:
            cnt += 1
            if eq != prev_eq:
                r = eq / prev_eq - 1.0
                s1 += r
                s2 += r * r
        prev_eq = eq
        if eq > peak:
            peak = eq
            dd_floor = peak * (1.0 + max_dd)
        elif eq < dd_floor:
            dd = eq / peak - 1.0
            if dd < max_dd:
                max_dd = dd
                dd_floor = peak * (1.0 + max_dd)
        if i < n - 1 and not np.isnan(w[i]):
            pending = w[i]
    stats[0] = eq
    stats[1] = (eq / cash0 - 1.0) * 100.0
    var = (s2 - s1 * s1 / cnt) / (cnt - 1) if cnt > 1 else 0.0
    stats[2] = (s1 / cnt) / math.sqrt(var) * math.sqrt(ppy) if var > 0.0 else np.nan
    stats[3] = max_dd * 100.0
    stats[4] = closed
    stats[5] = wins / closed * 100.0 if closed > 0 else np.nan
    stats[6] = fees
    return nf


@njit(cache=True, parallel=True)
def _weights_many(o, c, w, fee, slip, cash0, allow_short, pmul, qmul, mmul, eq_out, fills, offsets, stats, counts,
                  ppy):
    # pragma: no cover - numba
    for j in prange(w.shape[1]):
        counts[j] = _weights_column(o, c, w[:, j], fee, slip, cash0, allow_short, pmul, qmul, mmul, j,
                                    eq_out[:, j],
                                    fills[offsets[j] : offsets[j + 1]], stats[j], ppy)


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
    keep = np.concatenate([np.arange(offsets[j], offsets[j] + counts[j]) for j in range(k)]) if k else []
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
    keep = np.concatenate([np.arange(offsets[j], offsets[j] + counts[j]) for j in range(k)]) if k else []
    cols = pd.Index(columns) if columns is not None else pd.RangeIndex(k)
    return WeightsResult(equity=eq, fills=fills[np.asarray(keep, dtype=np.int64)],
                         summary=pd.DataFrame(stats, columns=list(SUMMARY_FIELDS), index=cols), columns=cols)


# ---- conversion to the BacktestResult contract --------------------------------------------------------------
def data_fingerprint(df: pd.DataFrame) -> str:
    """sha256 over the bar times (int64 ns) and the OHLCV values (float64), in that order."""
    h = hashlib.sha256()
    idx = df.index
    if isinstance(idx, pd.DatetimeIndex):
        h.update(np.ascontiguousarray(idx.as_unit("ns").asi8).tobytes())
    cols = {str(k).lower(): k for k in df.columns}
    for name in ("open", "high", "low", "close", "volume"):
        if name in cols:
            h.update(np.ascontiguousarray(df[cols[name]].to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def records_to_frames(
    records: np.ndarray, index: pd.Index, symbol: str, col: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trade records of one column -> (trades, orders) frames in the BacktestResult column contract."""
    from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS

    recs = records[records["col"] == col]
    times = pd.DatetimeIndex(index) if isinstance(index, pd.DatetimeIndex) else None

    def t(i: np.ndarray) -> Any:
        return times[i] if times is not None else i

    is_open = recs["is_open"].astype(bool)
    exit_time = pd.Series(t(recs["exit_idx"]), dtype=times.dtype if times is not None else None)
    if times is not None:
        exit_time[is_open] = pd.NaT
    trades = pd.DataFrame(
        {
            "symbol": symbol,
            "side": np.where(recs["direction"] > 0, "long", "short"),
            "entry_time": pd.Series(t(recs["entry_idx"])),
            "exit_time": exit_time,
            "entry_price": recs["entry_price"],
            "exit_price": recs["exit_price"],
            "quantity": recs["quantity"],
            "fees": recs["entry_fee"] + recs["exit_fee"],
            "pnl": recs["pnl"],
            "return_pct": recs["return_pct"],
            "bars_held": (recs["exit_idx"] - recs["entry_idx"]).astype(np.int64),
            "is_open": is_open,
        },
        columns=list(TRADE_COLUMNS),
    )
    # ts = submission time, like the event engine: a market order on the signal bar's close (the bar before
    # its fill); stop-loss / take-profit orders when the entry filled. Two rows per closed trade, one if open.
    k = len(recs)
    long = recs["direction"] > 0
    reasons = np.asarray(EXIT_REASONS, dtype=object)[recs["exit_reason"].astype(np.int64)]
    otype = np.select([reasons == "stop_loss", reasons == "take_profit"], ["stop", "limit"], "market")
    exit_sub = np.where(reasons == "signal", recs["exit_idx"] - 1, recs["entry_idx"])
    entry_rows = pd.DataFrame({
        "ts": pd.Series(t(np.maximum(recs["entry_idx"] - 1, 0))),
        "client_order_id": [f"fp-{col}-{2 * j}" for j in range(k)],
        "symbol": symbol, "side": np.where(long, "buy", "sell"), "type": "market",
        "quantity": recs["quantity"], "price": recs["entry_price"], "status": "filled", "reason": "signal",
        "_key": np.arange(k) * 2,
    })
    closed = ~is_open
    exit_rows = pd.DataFrame({
        "ts": pd.Series(t(exit_sub[closed])),
        "client_order_id": [f"fp-{col}-{2 * j + 1}" for j in np.flatnonzero(closed)],
        "symbol": symbol, "side": np.where(long[closed], "sell", "buy"), "type": otype[closed],
        "quantity": recs["quantity"][closed], "price": recs["exit_price"][closed], "status": "filled",
        "reason": reasons[closed].astype(str), "_key": np.flatnonzero(closed) * 2 + 1,
    })
    orders = pd.concat([entry_rows, exit_rows], ignore_index=True) if k else entry_rows
    orders = orders.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
    orders = orders.reindex(columns=list(ORDER_COLUMNS))
    return trades, orders


def to_backtest_result(fr: FastResult, col: int, data: pd.DataFrame, config: Any, *, indicators=None,
                       data_info: dict[str, Any] | None = None) -> Any:
    """One column of a FastResult as a BacktestResult (metrics from `compute_metrics`)."""
    from quantdesk.backtest.metrics import compute_metrics
    from quantdesk.backtest.result import BacktestResult

    trades, orders = records_to_frames(fr.trades, data.index, config.symbol, col)
    equity = pd.Series(fr.equity[:, col], index=data.index, name="equity")
    close = data[[c for c in data.columns if str(c).lower() == "close"][0]]
    metrics = compute_metrics(trades, equity, close=close)
    info = data_info or describe_data(data, config)
    return BacktestResult(config=config, data_info=info, trades=trades, equity=equity, orders=orders,
                          metrics=metrics, indicators=dict(indicators or {}), events=[])


def describe_data(data: pd.DataFrame, config: Any) -> dict[str, Any]:
    """The run's data description, as the event engine's runner writes it (same fingerprint bytes)."""
    from quantdesk.core.timeutil import iso

    idx = data.index
    try:
        from quantdesk.backtest.runner import fingerprint

        fp_hex = fingerprint(data)
    except (ImportError, KeyError):
        fp_hex = data_fingerprint(data)
    return {
        "symbol": config.symbol,
        "timeframe": config.timeframe,
        "exchange": config.exchange,
        "first": iso(idx[0]) if len(idx) else None,
        "last": iso(idx[-1]) if len(idx) else None,
        "rows": len(data),
        "fingerprint": fp_hex,
    }


def prepare_frame(data: pd.DataFrame, config: Any) -> pd.DataFrame:
    """Normalise (float64 OHLCV, UTC index) and cut to config.start/end, like the event engine's runner."""
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.engine.feed import normalize_ohlcv

    frame = normalize_ohlcv(data)
    if config.start:
        frame = frame[frame.index >= parse_utc(config.start, name="start")]
    if config.end:
        frame = frame[frame.index <= parse_utc(config.end, name="end")]
    if len(frame) == 0:
        raise DataError(f"no bars between start={config.start} and end={config.end}")
    return frame


def instrument_precision(data: pd.DataFrame) -> dict[str, int]:
    """The simulated venue's rounding for this data: price decimals found in the data, 8 size decimals."""
    try:
        from quantdesk.backtest.runner import infer_price_precision
    except ImportError:  # pragma: no cover - the runner ships with the package
        infer_price_precision = _infer_price_precision
    cols = [c for c in data.columns if str(c).lower() in ("open", "high", "low", "close")]
    return {"price_precision": infer_price_precision(data[cols].to_numpy().ravel()), "size_precision": 8,
            "money_precision": 10}


def _infer_price_precision(values: np.ndarray, max_decimals: int = 8) -> int:
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) > 5000:
        x = x[np.linspace(0, len(x) - 1, 5000).astype(np.int64)]
    for d in range(max_decimals + 1):
        if np.all(np.abs(np.round(x, d) - x) <= 1e-9 * np.maximum(1.0, np.abs(x))):
            return d
    return max_decimals


def validate_sma_cross_params(params: dict[str, Any]) -> dict[str, Any]:
    """The event engine's `sma_cross` parameter rules (same defaults, ranges and messages)."""
    from quantdesk.strategies.loader import load_strategy

    return load_strategy("sma_cross").validate_params(dict(params))


def run_fast(config: Any, data: pd.DataFrame) -> Any:
    """A vectorisable built-in strategy (`quantdesk.backtest.signals.REGISTRY`: sma_cross, ema_cross,
    rsi_reversion, macd, bollinger, momentum, vwap_flow, buy_and_hold) through the fast path, as a
    BacktestResult (the `--engine fast` path). Long only: `margin=True` and `risk` configs are refused (use the
    event engine)."""
    from quantdesk.backtest import signals as sig

    name = str(config.strategy).strip().lower()
    if not sig.is_vectorised(name):
        raise ParameterError(
            f"the fast engine runs only the vectorised built-ins ({', '.join(sig.vectorised_strategies())}); "
            f"got {config.strategy!r}; use --engine event"
        )
    if config.margin:
        raise ParameterError(f"the fast engine's {name} is long only (margin=True is not supported); "
                             "use --engine event")
    if getattr(config, "risk", None):
        raise ParameterError("the fast engine has no pre-trade risk checks; run configs with `risk` on the event engine")
    p = sig.validate(name, dict(config.params))
    data = prepare_frame(data, config)
    cache = sig.IndicatorCache(data)
    ent, ext = sig.signals(name, data, p, cache=cache)
    prec = instrument_precision(data)
    fr = simulate(data, ent, ext, cash=config.cash, fee=config.fee, slippage_bps=config.slippage_bps,
                  **prec)
    indicators = sig.indicator_series(name, data, p, cache=cache)
    info = describe_data(data, config)
    info["price_precision"] = prec["price_precision"]
    return to_backtest_result(fr, 0, data, config, indicators=indicators, data_info=info)
