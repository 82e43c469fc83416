"""Per-bar features shared by the regime detectors (and their streaming twins, through the same jitted code).

r_t   = log(close_t / close_{t-1})                      (NaN on the first bar)
lr_t  = log(max((high_t - low_t) / close_t, RANGE_FLOOR))  the log of the bar's relative range

The range is a far more efficient volatility estimate than the return (Parkinson), so the HMM and BOCPD read
both. Ranges below RANGE_FLOOR (1 basis point: zero-range or frozen bars) are floored so a flat bar is a large
but finite value, not -inf.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RANGE_FLOOR = 1e-4


@njit(cache=True)
def bar_features(high: float, low: float, close: float, prev_close: float) -> tuple[float, float]:
    """(log return, log relative range) of one bar; NaN return when there is no valid previous close."""
    if not (prev_close > 0.0) or not (close > 0.0):
        r = math.nan
    else:
        r = math.log(close / prev_close)
    rel = (high - low) / close if close > 0.0 else math.nan
    if rel < RANGE_FLOOR:
        rel = RANGE_FLOOR
    return r, math.log(rel)


@njit(cache=True)
def features_batch(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """(n, 2) array of bar_features; row 0 (and rows with a NaN input) has a NaN return."""
    n = len(close)
    out = np.empty((n, 2))
    prev = math.nan
    for i in range(n):
        r, lr = bar_features(high[i], low[i], close[i], prev)
        out[i, 0] = r
        out[i, 1] = lr
        prev = close[i]
    return out


def first_valid(*arrays: np.ndarray) -> int:
    """Index of the first bar where every input is finite (leading NaN are allowed by the catalog)."""
    ok = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    return int(np.argmax(ok)) if ok.any() else len(ok)
