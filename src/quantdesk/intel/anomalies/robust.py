"""Rolling robust scores, judged against the previous `window` values only (the current value is not in its own
reference), with a jitted core shared by the batch loop and the streaming object (bit-identical numbers).

    zscore: z = (x - median) / (1.4826 x MAD)           (MAD = median absolute deviation; 1.4826 makes it a
                                                         standard deviation for Gaussian data)
    iqr:    s = (x - Q3) / IQR above Q3, (x - Q1) / IQR below Q1 (negative), else 0   (Tukey: |s| > 3 = "far out")

Scale floors: a MAD or IQR of 0 (a constant window) is replaced by 1e-12 so a change from a constant is a huge
score, not a division by zero.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAD_TO_SD = 1.4826
SCALE_FLOOR = 1e-12


@njit(cache=True)
def _quantile_sorted(s: np.ndarray, q: float) -> float:
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@njit(cache=True)
def robust_score(ref: np.ndarray, x: float, iqr: bool) -> float:
    """Score of `x` against the reference values `ref` (any order)."""
    s = np.sort(ref)
    if iqr:
        q1 = _quantile_sorted(s, 0.25)
        q3 = _quantile_sorted(s, 0.75)
        width = max(q3 - q1, SCALE_FLOOR)
        if x > q3:
            return (x - q3) / width
        if x < q1:
            return (x - q1) / width
        return 0.0
    med = _quantile_sorted(s, 0.5)
    dev = np.abs(s - med)
    mad = _quantile_sorted(np.sort(dev), 0.5)
    return (x - med) / max(MAD_TO_SD * mad, SCALE_FLOOR)


@njit(cache=True)
def rolling_scores(x: np.ndarray, window: int, iqr: bool, ring: np.ndarray, state: np.ndarray,
                   out: np.ndarray) -> None:
    """Scores of every value of `x` (NaN values are skipped: NaN score, not added to the reference).
    `ring` (window,) and `state` = (values seen,) carry over between calls (streaming uses one value per call)."""
    for i in range(len(x)):
        v = x[i]
        n = int(state[0])
        if not math.isfinite(v):
            out[i] = math.nan
            continue
        out[i] = robust_score(ring, v, iqr) if n >= window else math.nan
        ring[n % window] = v
        state[0] = n + 1


class RollingScore:
    """Streaming twin of `rolling_scores` for one feature."""

    def __init__(self, window: int, iqr: bool) -> None:
        self.window, self.iqr = window, iqr
        self.ring = np.zeros(window)
        self.state = np.zeros(1)
        self._x = np.empty(1)
        self._out = np.empty(1)

    def update(self, value: float) -> float:
        self._x[0] = value
        rolling_scores(self._x, self.window, self.iqr, self.ring, self.state, self._out)
        return float(self._out[0])


def rolling_batch(x: np.ndarray, window: int, iqr: bool) -> np.ndarray:
    out = np.empty(len(x))
    rolling_scores(np.ascontiguousarray(x, dtype=np.float64), window, iqr, np.zeros(window), np.zeros(1), out)
    return out
