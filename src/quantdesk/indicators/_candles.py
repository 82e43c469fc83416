"""Candle primitives shared by the candlestick pattern kernels (a numba port of TA-Lib's ta_utility.h).

TA-Lib classifies candles against "candle settings": a range type (real body, high-low, shadows), an
averaging period (the N candles *before* the one being judged) and a factor. A body is "long" when it is
longer than `factor * average(range over the previous N candles)`. With period 0 the candle is compared with
its own range. The averages are running sums updated once per bar exactly as TA-Lib does it
(`total += range(new) - range(trailing)`), so the float rounding, and therefore every pattern, matches.
"""

# ruff: noqa: E741  (l = low, as in TA-Lib)

from __future__ import annotations

import numpy as np
from numba import njit

# range types
RT_REALBODY = 0
RT_HIGHLOW = 1
RT_SHADOWS = 2

# candle settings (TA-Lib's TA_CandleSettingType order)
BODY_LONG = 0
BODY_VERYLONG = 1
BODY_SHORT = 2
BODY_DOJI = 3
SHADOW_LONG = 4
SHADOW_VERYLONG = 5
SHADOW_SHORT = 6
SHADOW_VERYSHORT = 7
NEAR = 8
FAR = 9
EQUAL = 10

# TA-Lib's defaults (ta_global.c)
SETTING_RANGE = np.array([0, 0, 0, 1, 0, 0, 2, 1, 1, 1, 1], dtype=np.int64)
SETTING_PERIOD = np.array([10, 10, 10, 10, 0, 0, 10, 10, 5, 5, 5], dtype=np.int64)
SETTING_FACTOR = np.array([1.0, 3.0, 1.0, 0.1, 1.0, 2.0, 1.0, 0.1, 0.2, 0.6, 0.05], dtype=np.float64)


def period(setting: int) -> int:
    """Averaging period of a candle setting (for lookbacks)."""
    return int(SETTING_PERIOD[setting])


# Scalar helpers (one candle's values in, no arrays: no reference counting in the hot loops).


@njit(cache=True)
def color(o, c):
    """TA_CANDLECOLOR: 1 white (close >= open), -1 black."""
    return 1 if c >= o else -1


@njit(cache=True)
def upper_shadow(o, h, c):
    return h - (c if c >= o else o)


@njit(cache=True)
def lower_shadow(o, l, c):
    return (o if c >= o else c) - l


@njit(cache=True)
def rb_gap_up(o2, c2, o1, c1):
    """TA_REALBODYGAPUP(i2, i1): the body of candle 2 lies above the body of candle 1."""
    return min(o2, c2) > max(o1, c1)


@njit(cache=True)
def rb_gap_down(o2, c2, o1, c1):
    return max(o2, c2) < min(o1, c1)


@njit(cache=True)
def crange(s, o, h, l, c):
    """TA_CANDLERANGE of setting `s` for one candle."""
    rt = SETTING_RANGE[s]
    if rt == 0:
        return abs(c - o)
    if rt == 1:
        return h - l
    return (h - (c if c >= o else o)) + ((o if c >= o else c) - l)


@njit(cache=True)
def cavg(s, total, o, h, l, c):
    """TA_CANDLEAVERAGE: factor * (total / period, or the candle's own range when period is 0) [/ 2 for shadows]."""
    p = SETTING_PERIOD[s]
    base = total / p if p != 0 else crange(s, o, h, l, c)
    v = SETTING_FACTOR[s] * base
    if SETTING_RANGE[s] == 2:
        v = v / 2.0
    return v


@njit(cache=True)
def totals(s, k, start, o, h, l, c):
    """Running total of setting `s` for the candle k bars back, as seen at each loop index i >= start.

    Mirrors TA-Lib: the total starts as the sum over [start-k-period, start-k) and after each bar gains
    range(i-k) - range(trailing). (With period 0 the total is never used and stays 0, as in TA-Lib.)
    """
    n = c.shape[0]
    out = np.zeros(n)
    p = SETTING_PERIOD[s]
    if p == 0:
        return out
    rt = SETTING_RANGE[s]
    trail = start - k - p
    tot = 0.0
    if rt == 0:
        for j in range(trail, start - k):
            tot += abs(c[j] - o[j])
        for i in range(start, n):
            out[i] = tot
            tot += abs(c[i - k] - o[i - k]) - abs(c[trail] - o[trail])
            trail += 1
    elif rt == 1:
        for j in range(trail, start - k):
            tot += h[j] - l[j]
        for i in range(start, n):
            out[i] = tot
            tot += (h[i - k] - l[i - k]) - (h[trail] - l[trail])
            trail += 1
    else:
        for j in range(trail, start - k):
            tot += crange(s, o[j], h[j], l[j], c[j])
        for i in range(start, n):
            out[i] = tot
            tot += crange(s, o[i - k], h[i - k], l[i - k], c[i - k]) - crange(s, o[trail], h[trail], l[trail], c[trail])
            trail += 1
    return out


# Single-pass form of `totals` (what the pattern kernels use): the running total is a scalar, as in TA-Lib's C,
# instead of one array per setting. `tinit` is the total seen at the first loop index `start`; `tadv` moves a
# total seen at index j to the one seen at j + 1 (`total += range(j - k) - range(j - k - period)`, the same
# operations in the same order as `totals`, so every value is bit-identical).


@njit(cache=True)
def tinit(s, k, start, o, h, l, c):
    p = SETTING_PERIOD[s]
    tot = 0.0
    if p == 0:
        return tot
    for j in range(start - k - p, start - k):
        tot += crange(s, o[j], h[j], l[j], c[j])
    return tot


@njit(cache=True)
def tadv(s, k, j, tot, o, h, l, c):
    p = SETTING_PERIOD[s]
    if p == 0:
        return tot
    a = j - k
    b = a - p
    return tot + (crange(s, o[a], h[a], l[a], c[a]) - crange(s, o[b], h[b], l[b], c[b]))
