"""The fast path's compiled numba kernels and record dtypes (semantics: quantdesk.backtest.fastpath).

Per-column simulation (`_simulate_column`), its parallel drivers (full records or summary only), the SMA sweep,
cross signals and the target-weights rebalancer. Kept in one module so numba's on-disk cache stays valid.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
from numba import njit, prange

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
TRADE_NB: Any = nb.from_dtype(TRADE_DTYPE)  # numba's record type (numpy reads it as a dtype)


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


