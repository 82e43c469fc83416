"""Multi-timeframe signal levels from trained PowerTrader memories.

Per timeframe, the last closed candle is matched against that timeframe's memory to predict the forming
candle's low and high. Original (compat) rules: bounds are `low * (1 - 0.5 %)` and `high * (1 + 0.5 %)`, a
timeframe with no match is inactive, the lower bounds are pushed apart (the k-th timeframe's lower bound at
least 0.25 % x k below the previous active one's), LONG = number of active timeframes whose lower bound is
above the price, SHORT = number whose upper bound is below it.

Improved rules: the bounds are calibrated quantiles (P(low <= lower) = alpha, P(high >= upper) = alpha) and
each active timeframe adds to LONG the calibrated probability that its candle's low would *not* have reached
the current price (1 when the price is far below anything expected, about 0 when it is where lows usually
are), and to SHORT the same for the high. The original's count is the 0/1 version of this sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from quantdesk.intel.powertrader.memory_io import MemoryBank

PADDING = 0.005
GAP = 0.0025


@njit(cache=True, nogil=True)
def compat_query(pattern: np.ndarray, mem_pattern: np.ndarray, mem_high: np.ndarray, mem_low: np.ndarray,
                 w_high: np.ndarray, w_low: np.ndarray, threshold: float, zero_sum_perfect_match: bool,
                 out_n: np.ndarray, out_high: np.ndarray, out_low: np.ndarray) -> None:
    """For each query pattern: the number of matches and the predicted high/low moves in % (the original's
    weighted sum divided by the number of matches)."""
    for q in range(pattern.shape[0]):
        c = pattern[q]
        n = 0
        sh = 0.0
        sl = 0.0
        if math.isfinite(c):
            for i in range(mem_pattern.shape[0]):
                m = mem_pattern[i]
                diff = abs(c - m)
                den = abs((c + m) / 2)
                if den == 0.0:
                    d = 0.0 if (zero_sum_perfect_match or diff == 0.0) else math.inf
                else:
                    d = diff / den * 100
                if d <= threshold:
                    n += 1
                    sh += mem_high[i] * w_high[i]
                    sl += mem_low[i] * w_low[i]
        out_n[q] = n
        out_high[q] = sh / n if n > 0 else np.nan
        out_low[q] = sl / n if n > 0 else np.nan


@dataclass(frozen=True)
class CompatPrediction:
    active: np.ndarray  # bool
    lower: np.ndarray  # price
    upper: np.ndarray


def compat_bounds(bank: MemoryBank, pattern: np.ndarray, last_close: np.ndarray, *,
                  zero_sum_perfect_match: bool = True, padding: float = PADDING,
                  default_threshold: float = 1.0) -> CompatPrediction:
    """The original's bounds for the candle after each (pattern, close) pair."""
    q = len(pattern)
    n = np.zeros(q, dtype=np.int64)
    ph = np.full(q, np.nan)
    pl = np.full(q, np.nan)
    thr = bank.threshold if bank.threshold is not None else default_threshold
    if len(bank):
        compat_query(np.ascontiguousarray(pattern, dtype=np.float64), bank.patterns[:, 0].copy(), bank.high,
                     bank.low, bank.w_high, bank.w_low, float(thr), zero_sum_perfect_match, n, ph, pl)
    active = n > 0
    high = last_close * (1 + ph / 100)
    low = last_close * (1 + pl / 100)
    return CompatPrediction(active, np.where(active, low * (1 - padding), np.nan),
                            np.where(active, high * (1 + padding), np.nan))


def push_apart(lower: np.ndarray, active: np.ndarray, gap: float = GAP) -> np.ndarray:
    """Rows = time, columns = timeframes shortest first: the k-th column's lower bound is moved down to at
    least `gap * k` below the previous active column's (inactive columns are skipped)."""
    out = np.array(lower, dtype=np.float64, copy=True)
    rows = out.shape[0]
    prev = np.full(rows, np.nan)
    for k in range(out.shape[1]):
        col = out[:, k]
        has_prev = np.isfinite(prev) & active[:, k]
        cap = prev * (1 - gap * k)
        move = has_prev & (col > cap)
        col[move] = cap[move]
        prev = np.where(active[:, k], col, prev)
    return out


def compat_levels(price: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LONG and SHORT counts (rows = time, columns = timeframes)."""
    long = np.sum(active & (lower > price[:, None]), axis=1).astype(np.float64)
    short = np.sum(active & (upper < price[:, None]), axis=1).astype(np.float64)
    return long, short
