"""Candlestick patterns: numba ports of TA-Lib's CDL* functions, equal to TA-Lib on every bar.

Each kernel takes open/high/low/close and returns an int32 array: 0 (no pattern), +100 bullish / -100
bearish (some patterns use +-80 or +-200, exactly where TA-Lib does). Bars inside the lookback are 0, like
TA-Lib. Every registered pattern is checked against TA-Lib on the four real data files in tests/data.
The candle settings and their running averages are in `_candles.py`.
"""

# ruff: noqa: E741  (l = low, as in TA-Lib)

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from quantdesk.core.errors import DataError
from quantdesk.indicators._candles import (
    BODY_DOJI,
    BODY_LONG,
    BODY_SHORT,
    EQUAL,
    FAR,
    NEAR,
    SHADOW_LONG,
    SHADOW_SHORT,
    SHADOW_VERYLONG,
    SHADOW_VERYSHORT,
    cavg,
    color,
    lower_shadow,
    period,
    rb_gap_down,
    rb_gap_up,
    tadv,
    tinit,
    upper_shadow,
)
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.validation import check_same_length

# ---------------------------------------------------------------- single candle


@njit(cache=True)
def _doji(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
        if abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i]):
            out[i] = 100
    return out


@njit(cache=True)
def _dragonflydoji(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _gravestonedoji(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _longleggeddoji(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
        if abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i]) and (
            lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            or upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _rickshawman(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    tn = tinit(NEAR, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
            tn = tadv(NEAR, 0, i - 1, tn, o, h, l, c)
        if (
            abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and min(o[i], c[i]) <= l[i] + (h[i] - l[i]) / 2 + cavg(NEAR, tn, o[i], h[i], l[i], c[i])
            and max(o[i], c[i]) >= l[i] + (h[i] - l[i]) / 2 - cavg(NEAR, tn, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _takuri(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_VERYLONG, 0.0, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _marubozu(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_LONG, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_LONG, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) > cavg(BODY_LONG, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _closingmarubozu(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_LONG, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_LONG, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        sv = cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        col = color(o[i], c[i])
        if abs(c[i] - o[i]) > cavg(BODY_LONG, tb, o[i], h[i], l[i], c[i]) and (
            (col == 1 and upper_shadow(o[i], h[i], c[i]) < sv) or (col == -1 and lower_shadow(o[i], l[i], c[i]) < sv)
        ):
            out[i] = col * 100
    return out


@njit(cache=True)
def _belthold(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_LONG, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_LONG, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        sv = cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        col = color(o[i], c[i])
        if abs(c[i] - o[i]) > cavg(BODY_LONG, tb, o[i], h[i], l[i], c[i]) and (
            (col == 1 and lower_shadow(o[i], l[i], c[i]) < sv) or (col == -1 and upper_shadow(o[i], h[i], c[i]) < sv)
        ):
            out[i] = col * 100
    return out


@njit(cache=True)
def _longline(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_LONG, 0, start, o, h, l, c)
    ts = tinit(SHADOW_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_LONG, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_SHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) > cavg(BODY_LONG, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_SHORT, ts, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_SHORT, ts, o[i], h[i], l[i], c[i])
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _shortline(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    ts = tinit(SHADOW_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_SHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_SHORT, ts, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_SHORT, ts, o[i], h[i], l[i], c[i])
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _spinningtop(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
        rb = abs(c[i] - o[i])
        if rb < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i]) and upper_shadow(o[i], h[i], c[i]) > rb and lower_shadow(o[i], l[i], c[i]) > rb:
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _highwave(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_VERYLONG, 0.0, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_VERYLONG, 0.0, o[i], h[i], l[i], c[i])
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _hammer(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    tn = tinit(NEAR, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
            tn = tadv(NEAR, 1, i - 1, tn, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and min(o[i], c[i]) <= l[i - 1] + cavg(NEAR, tn, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _hangingman(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    tn = tinit(NEAR, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
            tn = tadv(NEAR, 1, i - 1, tn, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and min(o[i], c[i]) >= h[i - 1] - cavg(NEAR, tn, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _invertedhammer(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and rb_gap_down(o[i], c[i], o[i - 1], c[i - 1])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _shootingstar(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tb = tinit(BODY_SHORT, 0, start, o, h, l, c)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tb = tadv(BODY_SHORT, 0, i - 1, tb, o, h, l, c)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i] - o[i]) < cavg(BODY_SHORT, tb, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
            and rb_gap_up(o[i], c[i], o[i - 1], c[i - 1])
        ):
            out[i] = -100
    return out


# ---------------------------------------------------------------- two candles


@njit(cache=True)
def _dojistar(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 1, start, o, h, l, c)
    td = tinit(BODY_DOJI, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 1, i - 1, tl, o, h, l, c)
            td = tadv(BODY_DOJI, 0, i - 1, td, o, h, l, c)
        c1 = color(o[i - 1], c[i - 1])
        if (
            abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, tl, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) <= cavg(BODY_DOJI, td, o[i], h[i], l[i], c[i])
            and ((c1 == 1 and rb_gap_up(o[i], c[i], o[i - 1], c[i - 1])) or (c1 == -1 and rb_gap_down(o[i], c[i], o[i - 1], c[i - 1])))
        ):
            out[i] = -c1 * 100
    return out


@njit(cache=True)
def _engulfing(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    for i in range(start, n):
        c0 = color(o[i], c[i])
        c1 = color(o[i - 1], c[i - 1])
        if (
            c0 == 1
            and c1 == -1
            and ((c[i] >= o[i - 1] and o[i] < c[i - 1]) or (c[i] > o[i - 1] and o[i] <= c[i - 1]))
        ) or (
            c0 == -1
            and c1 == 1
            and ((o[i] >= c[i - 1] and c[i] < o[i - 1]) or (o[i] > c[i - 1] and c[i] <= o[i - 1]))
        ):
            if o[i] != c[i - 1] and c[i] != o[i - 1]:
                out[i] = c0 * 100
            else:
                out[i] = c0 * 80
    return out


@njit(cache=True)
def _harami_impl(o, h, l, c, start, second):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 1, start, o, h, l, c)
    ts = tinit(second, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 1, i - 1, tl, o, h, l, c)
            ts = tadv(second, 0, i - 1, ts, o, h, l, c)
        if abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, tl, o[i - 1], h[i - 1], l[i - 1], c[i - 1]) and abs(c[i] - o[i]) <= cavg(
            second, ts, o[i], h[i], l[i], c[i]
        ):
            if max(o[i], c[i]) < max(o[i - 1], c[i - 1]) and min(o[i], c[i]) > min(o[i - 1], c[i - 1]):
                out[i] = -color(o[i - 1], c[i - 1]) * 100
            elif max(o[i], c[i]) <= max(o[i - 1], c[i - 1]) and min(o[i], c[i]) >= min(o[i - 1], c[i - 1]):
                out[i] = -color(o[i - 1], c[i - 1]) * 80
    return out


@njit(cache=True)
def _harami(o, h, l, c, start):
    return _harami_impl(o, h, l, c, start, BODY_SHORT)


@njit(cache=True)
def _haramicross(o, h, l, c, start):
    return _harami_impl(o, h, l, c, start, BODY_DOJI)


@njit(cache=True)
def _piercing(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    t1 = tinit(BODY_LONG, 1, start, o, h, l, c)
    t0 = tinit(BODY_LONG, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            t1 = tadv(BODY_LONG, 1, i - 1, t1, o, h, l, c)
            t0 = tadv(BODY_LONG, 0, i - 1, t0, o, h, l, c)
        if (
            color(o[i - 1], c[i - 1]) == -1
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, t1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == 1
            and abs(c[i] - o[i]) > cavg(BODY_LONG, t0, o[i], h[i], l[i], c[i])
            and o[i] < l[i - 1]
            and c[i] < o[i - 1]
            and c[i] > c[i - 1] + abs(c[i - 1] - o[i - 1]) * 0.5
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _darkcloudcover(o, h, l, c, start, penetration):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    t1 = tinit(BODY_LONG, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            t1 = tadv(BODY_LONG, 1, i - 1, t1, o, h, l, c)
        if (
            color(o[i - 1], c[i - 1]) == 1
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, t1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == -1
            and o[i] > h[i - 1]
            and c[i] > o[i - 1]
            and c[i] < c[i - 1] - abs(c[i - 1] - o[i - 1]) * penetration
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _counterattack(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    te = tinit(EQUAL, 1, start, o, h, l, c)
    t1 = tinit(BODY_LONG, 1, start, o, h, l, c)
    t0 = tinit(BODY_LONG, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            te = tadv(EQUAL, 1, i - 1, te, o, h, l, c)
            t1 = tadv(BODY_LONG, 1, i - 1, t1, o, h, l, c)
            t0 = tadv(BODY_LONG, 0, i - 1, t0, o, h, l, c)
        eq = cavg(EQUAL, te, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        if (
            color(o[i - 1], c[i - 1]) == -color(o[i], c[i])
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, t1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) > cavg(BODY_LONG, t0, o[i], h[i], l[i], c[i])
            and c[i] <= c[i - 1] + eq
            and c[i] >= c[i - 1] - eq
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _homingpigeon(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 1, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 1, i - 1, tl, o, h, l, c)
            ts = tadv(BODY_SHORT, 0, i - 1, ts, o, h, l, c)
        if (
            color(o[i - 1], c[i - 1]) == -1
            and color(o[i], c[i]) == -1
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, tl, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) <= cavg(BODY_SHORT, ts, o[i], h[i], l[i], c[i])
            and o[i] < o[i - 1]
            and c[i] > c[i - 1]
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _neck_impl(o, h, l, c, start, kind):
    # kind 0: in-neck, 1: on-neck, 2: thrusting
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    te = tinit(EQUAL, 1, start, o, h, l, c)
    tl = tinit(BODY_LONG, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            te = tadv(EQUAL, 1, i - 1, te, o, h, l, c)
            tl = tadv(BODY_LONG, 1, i - 1, tl, o, h, l, c)
        if not (
            color(o[i - 1], c[i - 1]) == -1
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, tl, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == 1
            and o[i] < l[i - 1]
        ):
            continue
        eq = cavg(EQUAL, te, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        if kind == 0:
            ok = c[i] <= c[i - 1] + eq and c[i] >= c[i - 1]
        elif kind == 1:
            ok = c[i] <= l[i - 1] + eq and c[i] >= l[i - 1] - eq
        else:
            ok = c[i] > c[i - 1] + eq and c[i] <= c[i - 1] + abs(c[i - 1] - o[i - 1]) * 0.5
        if ok:
            out[i] = -100
    return out


@njit(cache=True)
def _inneck(o, h, l, c, start):
    return _neck_impl(o, h, l, c, start, 0)


@njit(cache=True)
def _onneck(o, h, l, c, start):
    return _neck_impl(o, h, l, c, start, 1)


@njit(cache=True)
def _thrusting(o, h, l, c, start):
    return _neck_impl(o, h, l, c, start, 2)


@njit(cache=True)
def _kicking_impl(o, h, l, c, start, by_length):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    ts1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    ts0 = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    tl1 = tinit(BODY_LONG, 1, start, o, h, l, c)
    tl0 = tinit(BODY_LONG, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            ts1 = tadv(SHADOW_VERYSHORT, 1, i - 1, ts1, o, h, l, c)
            ts0 = tadv(SHADOW_VERYSHORT, 0, i - 1, ts0, o, h, l, c)
            tl1 = tadv(BODY_LONG, 1, i - 1, tl1, o, h, l, c)
            tl0 = tadv(BODY_LONG, 0, i - 1, tl0, o, h, l, c)
        c1 = color(o[i - 1], c[i - 1])
        sv1 = cavg(SHADOW_VERYSHORT, ts1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        sv0 = cavg(SHADOW_VERYSHORT, ts0, o[i], h[i], l[i], c[i])
        if (
            c1 == -color(o[i], c[i])
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, tl1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and upper_shadow(o[i - 1], h[i - 1], c[i - 1]) < sv1
            and lower_shadow(o[i - 1], l[i - 1], c[i - 1]) < sv1
            and abs(c[i] - o[i]) > cavg(BODY_LONG, tl0, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < sv0
            and lower_shadow(o[i], l[i], c[i]) < sv0
            and ((c1 == -1 and (l[i] > h[i - 1])) or (c1 == 1 and (h[i] < l[i - 1])))
        ):
            if by_length:
                j = i if abs(c[i] - o[i]) > abs(c[i - 1] - o[i - 1]) else i - 1
                out[i] = color(o[j], c[j]) * 100
            else:
                out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _kicking(o, h, l, c, start):
    return _kicking_impl(o, h, l, c, start, False)


@njit(cache=True)
def _kickingbylength(o, h, l, c, start):
    return _kicking_impl(o, h, l, c, start, True)


@njit(cache=True)
def _matchinglow(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    te = tinit(EQUAL, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            te = tadv(EQUAL, 1, i - 1, te, o, h, l, c)
        eq = cavg(EQUAL, te, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        if color(o[i - 1], c[i - 1]) == -1 and color(o[i], c[i]) == -1 and c[i] <= c[i - 1] + eq and c[i] >= c[i - 1] - eq:
            out[i] = 100
    return out


@njit(cache=True)
def _separatinglines(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    ts = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    tl = tinit(BODY_LONG, 0, start, o, h, l, c)
    te = tinit(EQUAL, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            ts = tadv(SHADOW_VERYSHORT, 0, i - 1, ts, o, h, l, c)
            tl = tadv(BODY_LONG, 0, i - 1, tl, o, h, l, c)
            te = tadv(EQUAL, 1, i - 1, te, o, h, l, c)
        col = color(o[i], c[i])
        eq = cavg(EQUAL, te, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        sv = cavg(SHADOW_VERYSHORT, ts, o[i], h[i], l[i], c[i])
        if (
            color(o[i - 1], c[i - 1]) == -col
            and o[i] <= o[i - 1] + eq
            and o[i] >= o[i - 1] - eq
            and abs(c[i] - o[i]) > cavg(BODY_LONG, tl, o[i], h[i], l[i], c[i])
            and ((col == 1 and lower_shadow(o[i], l[i], c[i]) < sv) or (col == -1 and upper_shadow(o[i], h[i], c[i]) < sv))
        ):
            out[i] = col * 100
    return out


# ---------------------------------------------------------------- three or more candles


@njit(cache=True)
def _twocrows(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
        if (
            color(o[i - 2], c[i - 2]) == 1
            and abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == -1
            and rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
            and color(o[i], c[i]) == -1
            and o[i] < o[i - 1]
            and o[i] > c[i - 1]
            and c[i] > o[i - 2]
            and c[i] < c[i - 2]
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _threeblackcrows(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    t2 = tinit(SHADOW_VERYSHORT, 2, start, o, h, l, c)
    t1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    t0 = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            t2 = tadv(SHADOW_VERYSHORT, 2, i - 1, t2, o, h, l, c)
            t1 = tadv(SHADOW_VERYSHORT, 1, i - 1, t1, o, h, l, c)
            t0 = tadv(SHADOW_VERYSHORT, 0, i - 1, t0, o, h, l, c)
        if (
            color(o[i - 3], c[i - 3]) == 1
            and color(o[i - 2], c[i - 2]) == -1
            and lower_shadow(o[i - 2], l[i - 2], c[i - 2]) < cavg(SHADOW_VERYSHORT, t2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == -1
            and lower_shadow(o[i - 1], l[i - 1], c[i - 1]) < cavg(SHADOW_VERYSHORT, t1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == -1
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, t0, o[i], h[i], l[i], c[i])
            and o[i - 1] < o[i - 2]
            and o[i - 1] > c[i - 2]
            and o[i] < o[i - 1]
            and o[i] > c[i - 1]
            and h[i - 3] > c[i - 2]
            and c[i - 2] > c[i - 1]
            and c[i - 1] > c[i]
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _threeinside(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
            ts = tadv(BODY_SHORT, 1, i - 1, ts, o, h, l, c)
        c2 = color(o[i - 2], c[i - 2])
        c0 = color(o[i], c[i])
        if (
            abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) <= cavg(BODY_SHORT, ts, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and max(o[i - 1], c[i - 1]) < max(o[i - 2], c[i - 2])
            and min(o[i - 1], c[i - 1]) > min(o[i - 2], c[i - 2])
            and ((c2 == 1 and c0 == -1 and c[i] < o[i - 2]) or (c2 == -1 and c0 == 1 and c[i] > o[i - 2]))
        ):
            out[i] = -c2 * 100
    return out


@njit(cache=True)
def _threeoutside(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    for i in range(start, n):
        c1 = color(o[i - 1], c[i - 1])
        c2 = color(o[i - 2], c[i - 2])
        if (c1 == 1 and c2 == -1 and c[i - 1] > o[i - 2] and o[i - 1] < c[i - 2] and c[i] > c[i - 1]) or (
            c1 == -1 and c2 == 1 and o[i - 1] > c[i - 2] and c[i - 1] < o[i - 2] and c[i] < c[i - 1]
        ):
            out[i] = c1 * 100
    return out


@njit(cache=True)
def _threewhitesoldiers(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    s2 = tinit(SHADOW_VERYSHORT, 2, start, o, h, l, c)
    s1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    s0 = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    n2 = tinit(NEAR, 2, start, o, h, l, c)
    n1 = tinit(NEAR, 1, start, o, h, l, c)
    f2 = tinit(FAR, 2, start, o, h, l, c)
    f1 = tinit(FAR, 1, start, o, h, l, c)
    bs = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            s2 = tadv(SHADOW_VERYSHORT, 2, i - 1, s2, o, h, l, c)
            s1 = tadv(SHADOW_VERYSHORT, 1, i - 1, s1, o, h, l, c)
            s0 = tadv(SHADOW_VERYSHORT, 0, i - 1, s0, o, h, l, c)
            n2 = tadv(NEAR, 2, i - 1, n2, o, h, l, c)
            n1 = tadv(NEAR, 1, i - 1, n1, o, h, l, c)
            f2 = tadv(FAR, 2, i - 1, f2, o, h, l, c)
            f1 = tadv(FAR, 1, i - 1, f1, o, h, l, c)
            bs = tadv(BODY_SHORT, 0, i - 1, bs, o, h, l, c)
        if (
            color(o[i - 2], c[i - 2]) == 1
            and upper_shadow(o[i - 2], h[i - 2], c[i - 2]) < cavg(SHADOW_VERYSHORT, s2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == 1
            and upper_shadow(o[i - 1], h[i - 1], c[i - 1]) < cavg(SHADOW_VERYSHORT, s1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == 1
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, s0, o[i], h[i], l[i], c[i])
            and c[i] > c[i - 1]
            and c[i - 1] > c[i - 2]
            and o[i - 1] > o[i - 2]
            and o[i - 1] <= c[i - 2] + cavg(NEAR, n2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and o[i] > o[i - 1]
            and o[i] <= c[i - 1] + cavg(NEAR, n1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i - 1] - o[i - 1]) > abs(c[i - 2] - o[i - 2]) - cavg(FAR, f2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i] - o[i]) > abs(c[i - 1] - o[i - 1]) - cavg(FAR, f1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) > cavg(BODY_SHORT, bs, o[i], h[i], l[i], c[i])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _threelinestrike(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    n3 = tinit(NEAR, 3, start, o, h, l, c)
    n2 = tinit(NEAR, 2, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            n3 = tadv(NEAR, 3, i - 1, n3, o, h, l, c)
            n2 = tadv(NEAR, 2, i - 1, n2, o, h, l, c)
        c1 = color(o[i - 1], c[i - 1])
        a3 = cavg(NEAR, n3, o[i - 3], h[i - 3], l[i - 3], c[i - 3])
        a2 = cavg(NEAR, n2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
        if (
            color(o[i - 3], c[i - 3]) == color(o[i - 2], c[i - 2])
            and color(o[i - 2], c[i - 2]) == c1
            and color(o[i], c[i]) == -c1
            and o[i - 2] >= min(o[i - 3], c[i - 3]) - a3
            and o[i - 2] <= max(o[i - 3], c[i - 3]) + a3
            and o[i - 1] >= min(o[i - 2], c[i - 2]) - a2
            and o[i - 1] <= max(o[i - 2], c[i - 2]) + a2
            and (
                (c1 == 1 and c[i - 1] > c[i - 2] and c[i - 2] > c[i - 3] and o[i] > c[i - 1] and c[i] < o[i - 3])
                or (c1 == -1 and c[i - 1] < c[i - 2] and c[i - 2] < c[i - 3] and o[i] < c[i - 1] and c[i] > o[i - 3])
            )
        ):
            out[i] = c1 * 100
    return out


@njit(cache=True)
def _threestarsinsouth(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    bl = tinit(BODY_LONG, 2, start, o, h, l, c)
    s1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    s0 = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    bs = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            bl = tadv(BODY_LONG, 2, i - 1, bl, o, h, l, c)
            s1 = tadv(SHADOW_VERYSHORT, 1, i - 1, s1, o, h, l, c)
            s0 = tadv(SHADOW_VERYSHORT, 0, i - 1, s0, o, h, l, c)
            bs = tadv(BODY_SHORT, 0, i - 1, bs, o, h, l, c)
        if (
            color(o[i - 2], c[i - 2]) == -1
            and color(o[i - 1], c[i - 1]) == -1
            and color(o[i], c[i]) == -1
            and abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, bl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and lower_shadow(o[i - 2], l[i - 2], c[i - 2]) > cavg(SHADOW_LONG, 0.0, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) < abs(c[i - 2] - o[i - 2])
            and o[i - 1] > c[i - 2]
            and o[i - 1] <= h[i - 2]
            and l[i - 1] < c[i - 2]
            and l[i - 1] >= l[i - 2]
            and lower_shadow(o[i - 1], l[i - 1], c[i - 1]) > cavg(SHADOW_VERYSHORT, s1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) < cavg(BODY_SHORT, bs, o[i], h[i], l[i], c[i])
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, s0, o[i], h[i], l[i], c[i])
            and upper_shadow(o[i], h[i], c[i]) < cavg(SHADOW_VERYSHORT, s0, o[i], h[i], l[i], c[i])
            and l[i] > l[i - 1]
            and h[i] < h[i - 1]
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _abandonedbaby(o, h, l, c, start, penetration):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    td = tinit(BODY_DOJI, 1, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
            td = tadv(BODY_DOJI, 1, i - 1, td, o, h, l, c)
            ts = tadv(BODY_SHORT, 0, i - 1, ts, o, h, l, c)
        c2 = color(o[i - 2], c[i - 2])
        c0 = color(o[i], c[i])
        rb2 = abs(c[i - 2] - o[i - 2])
        if (
            rb2 > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) <= cavg(BODY_DOJI, td, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) > cavg(BODY_SHORT, ts, o[i], h[i], l[i], c[i])
            and (
                (
                    c2 == 1
                    and c0 == -1
                    and c[i] < c[i - 2] - rb2 * penetration
                    and (l[i - 1] > h[i - 2])
                    and (h[i] < l[i - 1])
                )
                or (
                    c2 == -1
                    and c0 == 1
                    and c[i] > c[i - 2] + rb2 * penetration
                    and (h[i - 1] < l[i - 2])
                    and (l[i] > h[i - 1])
                )
            )
        ):
            out[i] = c0 * 100
    return out


@njit(cache=True)
def _advanceblock(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    ss2 = tinit(SHADOW_SHORT, 2, start, o, h, l, c)
    ss1 = tinit(SHADOW_SHORT, 1, start, o, h, l, c)
    ss0 = tinit(SHADOW_SHORT, 0, start, o, h, l, c)
    n2 = tinit(NEAR, 2, start, o, h, l, c)
    n1 = tinit(NEAR, 1, start, o, h, l, c)
    f2 = tinit(FAR, 2, start, o, h, l, c)
    f1 = tinit(FAR, 1, start, o, h, l, c)
    bl = tinit(BODY_LONG, 2, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            ss2 = tadv(SHADOW_SHORT, 2, i - 1, ss2, o, h, l, c)
            ss1 = tadv(SHADOW_SHORT, 1, i - 1, ss1, o, h, l, c)
            ss0 = tadv(SHADOW_SHORT, 0, i - 1, ss0, o, h, l, c)
            n2 = tadv(NEAR, 2, i - 1, n2, o, h, l, c)
            n1 = tadv(NEAR, 1, i - 1, n1, o, h, l, c)
            f2 = tadv(FAR, 2, i - 1, f2, o, h, l, c)
            f1 = tadv(FAR, 1, i - 1, f1, o, h, l, c)
            bl = tadv(BODY_LONG, 2, i - 1, bl, o, h, l, c)
        rb2 = abs(c[i - 2] - o[i - 2])
        rb1 = abs(c[i - 1] - o[i - 1])
        rb0 = abs(c[i] - o[i])
        if (
            color(o[i - 2], c[i - 2]) == 1
            and color(o[i - 1], c[i - 1]) == 1
            and color(o[i], c[i]) == 1
            and c[i] > c[i - 1]
            and c[i - 1] > c[i - 2]
            and o[i - 1] > o[i - 2]
            and o[i - 1] <= c[i - 2] + cavg(NEAR, n2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and o[i] > o[i - 1]
            and o[i] <= c[i - 1] + cavg(NEAR, n1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and rb2 > cavg(BODY_LONG, bl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and upper_shadow(o[i - 2], h[i - 2], c[i - 2]) < cavg(SHADOW_SHORT, ss2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and (
                (rb1 < rb2 - cavg(FAR, f2, o[i - 2], h[i - 2], l[i - 2], c[i - 2]) and rb0 < rb1 + cavg(NEAR, n1, o[i - 1], h[i - 1], l[i - 1], c[i - 1]))
                or (rb0 < rb1 - cavg(FAR, f1, o[i - 1], h[i - 1], l[i - 1], c[i - 1]))
                or (
                    rb0 < rb1
                    and rb1 < rb2
                    and (
                        upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_SHORT, ss0, o[i], h[i], l[i], c[i])
                        or upper_shadow(o[i - 1], h[i - 1], c[i - 1]) > cavg(SHADOW_SHORT, ss1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
                    )
                )
                or (rb0 < rb1 and upper_shadow(o[i], h[i], c[i]) > cavg(SHADOW_LONG, 0.0, o[i], h[i], l[i], c[i]))
            )
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _star_impl(o, h, l, c, start, penetration, bullish, doji):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    mid = BODY_DOJI if doji else BODY_SHORT
    tm = tinit(mid, 1, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
            tm = tadv(mid, 1, i - 1, tm, o, h, l, c)
            ts = tadv(BODY_SHORT, 0, i - 1, ts, o, h, l, c)
        rb2 = abs(c[i - 2] - o[i - 2])
        if not (
            rb2 > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) <= cavg(mid, tm, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) > cavg(BODY_SHORT, ts, o[i], h[i], l[i], c[i])
        ):
            continue
        if bullish:
            if (
                color(o[i - 2], c[i - 2]) == -1
                and rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
                and color(o[i], c[i]) == 1
                and c[i] > c[i - 2] + rb2 * penetration
            ):
                out[i] = 100
        else:
            if (
                color(o[i - 2], c[i - 2]) == 1
                and rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
                and color(o[i], c[i]) == -1
                and c[i] < c[i - 2] - rb2 * penetration
            ):
                out[i] = -100
    return out


@njit(cache=True)
def _morningstar(o, h, l, c, start, penetration):
    return _star_impl(o, h, l, c, start, penetration, True, False)


@njit(cache=True)
def _eveningstar(o, h, l, c, start, penetration):
    return _star_impl(o, h, l, c, start, penetration, False, False)


@njit(cache=True)
def _morningdojistar(o, h, l, c, start, penetration):
    return _star_impl(o, h, l, c, start, penetration, True, True)


@njit(cache=True)
def _eveningdojistar(o, h, l, c, start, penetration):
    return _star_impl(o, h, l, c, start, penetration, False, True)


@njit(cache=True)
def _identicalthreecrows(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    s2 = tinit(SHADOW_VERYSHORT, 2, start, o, h, l, c)
    s1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    s0 = tinit(SHADOW_VERYSHORT, 0, start, o, h, l, c)
    e2 = tinit(EQUAL, 2, start, o, h, l, c)
    e1 = tinit(EQUAL, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            s2 = tadv(SHADOW_VERYSHORT, 2, i - 1, s2, o, h, l, c)
            s1 = tadv(SHADOW_VERYSHORT, 1, i - 1, s1, o, h, l, c)
            s0 = tadv(SHADOW_VERYSHORT, 0, i - 1, s0, o, h, l, c)
            e2 = tadv(EQUAL, 2, i - 1, e2, o, h, l, c)
            e1 = tadv(EQUAL, 1, i - 1, e1, o, h, l, c)
        a2 = cavg(EQUAL, e2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
        a1 = cavg(EQUAL, e1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        if (
            color(o[i - 2], c[i - 2]) == -1
            and lower_shadow(o[i - 2], l[i - 2], c[i - 2]) < cavg(SHADOW_VERYSHORT, s2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == -1
            and lower_shadow(o[i - 1], l[i - 1], c[i - 1]) < cavg(SHADOW_VERYSHORT, s1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == -1
            and lower_shadow(o[i], l[i], c[i]) < cavg(SHADOW_VERYSHORT, s0, o[i], h[i], l[i], c[i])
            and c[i - 2] > c[i - 1]
            and c[i - 1] > c[i]
            and o[i - 1] <= c[i - 2] + a2
            and o[i - 1] >= c[i - 2] - a2
            and o[i] <= c[i - 1] + a1
            and o[i] >= c[i - 1] - a1
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _gapsidesidewhite(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tn = tinit(NEAR, 1, start, o, h, l, c)
    te = tinit(EQUAL, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tn = tadv(NEAR, 1, i - 1, tn, o, h, l, c)
            te = tadv(EQUAL, 1, i - 1, te, o, h, l, c)
        up = rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
        nr = cavg(NEAR, tn, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        eq = cavg(EQUAL, te, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        if (
            ((up and rb_gap_up(o[i], c[i], o[i - 2], c[i - 2])) or (rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2]) and rb_gap_down(o[i], c[i], o[i - 2], c[i - 2])))
            and color(o[i - 1], c[i - 1]) == 1
            and color(o[i], c[i]) == 1
            and abs(c[i] - o[i]) >= abs(c[i - 1] - o[i - 1]) - nr
            and abs(c[i] - o[i]) <= abs(c[i - 1] - o[i - 1]) + nr
            and o[i] >= o[i - 1] - eq
            and o[i] <= o[i - 1] + eq
        ):
            out[i] = 100 if up else -100
    return out


@njit(cache=True)
def _sticksandwich(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    te = tinit(EQUAL, 2, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            te = tadv(EQUAL, 2, i - 1, te, o, h, l, c)
        eq = cavg(EQUAL, te, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
        if (
            color(o[i - 2], c[i - 2]) == -1
            and color(o[i - 1], c[i - 1]) == 1
            and color(o[i], c[i]) == -1
            and l[i - 1] > c[i - 2]
            and c[i] <= c[i - 2] + eq
            and c[i] >= c[i - 2] - eq
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _tasukigap(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tn = tinit(NEAR, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tn = tadv(NEAR, 1, i - 1, tn, o, h, l, c)
        nr = cavg(NEAR, tn, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        d = abs(abs(c[i - 1] - o[i - 1]) - abs(c[i] - o[i]))
        if (
            rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == 1
            and color(o[i], c[i]) == -1
            and o[i] < c[i - 1]
            and o[i] > o[i - 1]
            and c[i] < o[i - 1]
            and c[i] > max(o[i - 2], c[i - 2])
            and d < nr
        ) or (
            rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == -1
            and color(o[i], c[i]) == 1
            and o[i] < o[i - 1]
            and o[i] > c[i - 1]
            and c[i] > o[i - 1]
            and c[i] < min(o[i - 2], c[i - 2])
            and d < nr
        ):
            out[i] = color(o[i - 1], c[i - 1]) * 100
    return out


@njit(cache=True)
def _tristar(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    td = tinit(BODY_DOJI, 2, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            td = tadv(BODY_DOJI, 2, i - 1, td, o, h, l, c)
        a = cavg(BODY_DOJI, td, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
        if abs(c[i - 2] - o[i - 2]) <= a and abs(c[i - 1] - o[i - 1]) <= a and abs(c[i] - o[i]) <= a:
            r = 0
            if rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2]) and max(o[i], c[i]) < max(o[i - 1], c[i - 1]):
                r = -100
            if rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2]) and min(o[i], c[i]) > min(o[i - 1], c[i - 1]):
                r = 100
            out[i] = r
    return out


@njit(cache=True)
def _unique3river(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
            ts = tadv(BODY_SHORT, 0, i - 1, ts, o, h, l, c)
        if (
            abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 2], c[i - 2]) == -1
            and color(o[i - 1], c[i - 1]) == -1
            and c[i - 1] > c[i - 2]
            and o[i - 1] <= o[i - 2]
            and l[i - 1] < l[i - 2]
            and abs(c[i] - o[i]) < cavg(BODY_SHORT, ts, o[i], h[i], l[i], c[i])
            and color(o[i], c[i]) == 1
            and o[i] > l[i - 1]
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _upsidegap2crows(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 2, start, o, h, l, c)
    ts = tinit(BODY_SHORT, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 2, i - 1, tl, o, h, l, c)
            ts = tadv(BODY_SHORT, 1, i - 1, ts, o, h, l, c)
        if (
            color(o[i - 2], c[i - 2]) == 1
            and abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, tl, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and color(o[i - 1], c[i - 1]) == -1
            and abs(c[i - 1] - o[i - 1]) <= cavg(BODY_SHORT, ts, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
            and color(o[i], c[i]) == -1
            and o[i] > o[i - 1]
            and c[i] < c[i - 1]
            and c[i] > c[i - 2]
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _xsidegap3methods(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    for i in range(start, n):
        c2 = color(o[i - 2], c[i - 2])
        if (
            c2 == color(o[i - 1], c[i - 1])
            and color(o[i - 1], c[i - 1]) == -color(o[i], c[i])
            and o[i] < max(o[i - 1], c[i - 1])
            and o[i] > min(o[i - 1], c[i - 1])
            and c[i] < max(o[i - 2], c[i - 2])
            and c[i] > min(o[i - 2], c[i - 2])
            and ((c2 == 1 and rb_gap_up(o[i - 1], c[i - 1], o[i - 2], c[i - 2])) or (c2 == -1 and rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2])))
        ):
            out[i] = c2 * 100
    return out


@njit(cache=True)
def _stalledpattern(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    bl2 = tinit(BODY_LONG, 2, start, o, h, l, c)
    bl1 = tinit(BODY_LONG, 1, start, o, h, l, c)
    bs = tinit(BODY_SHORT, 0, start, o, h, l, c)
    sv = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    n2 = tinit(NEAR, 2, start, o, h, l, c)
    n1 = tinit(NEAR, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            bl2 = tadv(BODY_LONG, 2, i - 1, bl2, o, h, l, c)
            bl1 = tadv(BODY_LONG, 1, i - 1, bl1, o, h, l, c)
            bs = tadv(BODY_SHORT, 0, i - 1, bs, o, h, l, c)
            sv = tadv(SHADOW_VERYSHORT, 1, i - 1, sv, o, h, l, c)
            n2 = tadv(NEAR, 2, i - 1, n2, o, h, l, c)
            n1 = tadv(NEAR, 1, i - 1, n1, o, h, l, c)
        if (
            color(o[i - 2], c[i - 2]) == 1
            and color(o[i - 1], c[i - 1]) == 1
            and color(o[i], c[i]) == 1
            and c[i] > c[i - 1]
            and c[i - 1] > c[i - 2]
            and abs(c[i - 2] - o[i - 2]) > cavg(BODY_LONG, bl2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) > cavg(BODY_LONG, bl1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and upper_shadow(o[i - 1], h[i - 1], c[i - 1]) < cavg(SHADOW_VERYSHORT, sv, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and o[i - 1] > o[i - 2]
            and o[i - 1] <= c[i - 2] + cavg(NEAR, n2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i] - o[i]) < cavg(BODY_SHORT, bs, o[i], h[i], l[i], c[i])
            and o[i] >= c[i - 1] - abs(c[i] - o[i]) - cavg(NEAR, n1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
        ):
            out[i] = -100
    return out


@njit(cache=True)
def _breakaway(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    tl = tinit(BODY_LONG, 4, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            tl = tadv(BODY_LONG, 4, i - 1, tl, o, h, l, c)
        c4 = color(o[i - 4], c[i - 4])
        if (
            abs(c[i - 4] - o[i - 4]) > cavg(BODY_LONG, tl, o[i - 4], h[i - 4], l[i - 4], c[i - 4])
            and c4 == color(o[i - 3], c[i - 3])
            and color(o[i - 3], c[i - 3]) == color(o[i - 1], c[i - 1])
            and color(o[i - 1], c[i - 1]) == -color(o[i], c[i])
            and (
                (
                    c4 == -1
                    and rb_gap_down(o[i - 3], c[i - 3], o[i - 4], c[i - 4])
                    and h[i - 2] < h[i - 3]
                    and l[i - 2] < l[i - 3]
                    and h[i - 1] < h[i - 2]
                    and l[i - 1] < l[i - 2]
                    and c[i] > o[i - 3]
                    and c[i] < c[i - 4]
                )
                or (
                    c4 == 1
                    and rb_gap_up(o[i - 3], c[i - 3], o[i - 4], c[i - 4])
                    and h[i - 2] > h[i - 3]
                    and l[i - 2] > l[i - 3]
                    and h[i - 1] > h[i - 2]
                    and l[i - 1] > l[i - 2]
                    and c[i] < o[i - 3]
                    and c[i] > c[i - 4]
                )
            )
        ):
            out[i] = color(o[i], c[i]) * 100
    return out


@njit(cache=True)
def _concealbabyswall(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    s3 = tinit(SHADOW_VERYSHORT, 3, start, o, h, l, c)
    s2 = tinit(SHADOW_VERYSHORT, 2, start, o, h, l, c)
    s1 = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            s3 = tadv(SHADOW_VERYSHORT, 3, i - 1, s3, o, h, l, c)
            s2 = tadv(SHADOW_VERYSHORT, 2, i - 1, s2, o, h, l, c)
            s1 = tadv(SHADOW_VERYSHORT, 1, i - 1, s1, o, h, l, c)
        a3 = cavg(SHADOW_VERYSHORT, s3, o[i - 3], h[i - 3], l[i - 3], c[i - 3])
        a2 = cavg(SHADOW_VERYSHORT, s2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
        if (
            color(o[i - 3], c[i - 3]) == -1
            and color(o[i - 2], c[i - 2]) == -1
            and color(o[i - 1], c[i - 1]) == -1
            and color(o[i], c[i]) == -1
            and lower_shadow(o[i - 3], l[i - 3], c[i - 3]) < a3
            and upper_shadow(o[i - 3], h[i - 3], c[i - 3]) < a3
            and lower_shadow(o[i - 2], l[i - 2], c[i - 2]) < a2
            and upper_shadow(o[i - 2], h[i - 2], c[i - 2]) < a2
            and rb_gap_down(o[i - 1], c[i - 1], o[i - 2], c[i - 2])
            and upper_shadow(o[i - 1], h[i - 1], c[i - 1]) > cavg(SHADOW_VERYSHORT, s1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and h[i - 1] > c[i - 2]
            and h[i] > h[i - 1]
            and l[i] < l[i - 1]
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _ladderbottom(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    ts = tinit(SHADOW_VERYSHORT, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            ts = tadv(SHADOW_VERYSHORT, 1, i - 1, ts, o, h, l, c)
        if (
            color(o[i - 4], c[i - 4]) == -1
            and color(o[i - 3], c[i - 3]) == -1
            and color(o[i - 2], c[i - 2]) == -1
            and o[i - 4] > o[i - 3]
            and o[i - 3] > o[i - 2]
            and c[i - 4] > c[i - 3]
            and c[i - 3] > c[i - 2]
            and color(o[i - 1], c[i - 1]) == -1
            and upper_shadow(o[i - 1], h[i - 1], c[i - 1]) > cavg(SHADOW_VERYSHORT, ts, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i], c[i]) == 1
            and o[i] > o[i - 1]
            and c[i] > h[i - 1]
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _mathold(o, h, l, c, start, penetration):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    bl = tinit(BODY_LONG, 4, start, o, h, l, c)
    b3 = tinit(BODY_SHORT, 3, start, o, h, l, c)
    b2 = tinit(BODY_SHORT, 2, start, o, h, l, c)
    b1 = tinit(BODY_SHORT, 1, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            bl = tadv(BODY_LONG, 4, i - 1, bl, o, h, l, c)
            b3 = tadv(BODY_SHORT, 3, i - 1, b3, o, h, l, c)
            b2 = tadv(BODY_SHORT, 2, i - 1, b2, o, h, l, c)
            b1 = tadv(BODY_SHORT, 1, i - 1, b1, o, h, l, c)
        rb4 = abs(c[i - 4] - o[i - 4])
        if (
            rb4 > cavg(BODY_LONG, bl, o[i - 4], h[i - 4], l[i - 4], c[i - 4])
            and abs(c[i - 3] - o[i - 3]) <= cavg(BODY_SHORT, b3, o[i - 3], h[i - 3], l[i - 3], c[i - 3])
            and abs(c[i - 2] - o[i - 2]) <= cavg(BODY_SHORT, b2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) <= cavg(BODY_SHORT, b1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and color(o[i - 4], c[i - 4]) == 1
            and color(o[i - 3], c[i - 3]) == -1
            and color(o[i], c[i]) == 1
            and rb_gap_up(o[i - 3], c[i - 3], o[i - 4], c[i - 4])
            and min(o[i - 2], c[i - 2]) < c[i - 4]
            and min(o[i - 1], c[i - 1]) < c[i - 4]
            and min(o[i - 2], c[i - 2]) > c[i - 4] - rb4 * penetration
            and min(o[i - 1], c[i - 1]) > c[i - 4] - rb4 * penetration
            and max(o[i - 2], c[i - 2]) < o[i - 3]
            and max(o[i - 1], c[i - 1]) < max(o[i - 2], c[i - 2])
            and o[i] > c[i - 1]
            and c[i] > max(max(h[i - 3], h[i - 2]), h[i - 1])
        ):
            out[i] = 100
    return out


@njit(cache=True)
def _risefall3methods(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    l4 = tinit(BODY_LONG, 4, start, o, h, l, c)
    s3 = tinit(BODY_SHORT, 3, start, o, h, l, c)
    s2 = tinit(BODY_SHORT, 2, start, o, h, l, c)
    s1 = tinit(BODY_SHORT, 1, start, o, h, l, c)
    l0 = tinit(BODY_LONG, 0, start, o, h, l, c)
    for i in range(start, n):
        if i > start:  # advance the running totals past bar i - 1 (TA-Lib order)
            l4 = tadv(BODY_LONG, 4, i - 1, l4, o, h, l, c)
            s3 = tadv(BODY_SHORT, 3, i - 1, s3, o, h, l, c)
            s2 = tadv(BODY_SHORT, 2, i - 1, s2, o, h, l, c)
            s1 = tadv(BODY_SHORT, 1, i - 1, s1, o, h, l, c)
            l0 = tadv(BODY_LONG, 0, i - 1, l0, o, h, l, c)
        c4 = color(o[i - 4], c[i - 4])
        if (
            abs(c[i - 4] - o[i - 4]) > cavg(BODY_LONG, l4, o[i - 4], h[i - 4], l[i - 4], c[i - 4])
            and abs(c[i - 3] - o[i - 3]) < cavg(BODY_SHORT, s3, o[i - 3], h[i - 3], l[i - 3], c[i - 3])
            and abs(c[i - 2] - o[i - 2]) < cavg(BODY_SHORT, s2, o[i - 2], h[i - 2], l[i - 2], c[i - 2])
            and abs(c[i - 1] - o[i - 1]) < cavg(BODY_SHORT, s1, o[i - 1], h[i - 1], l[i - 1], c[i - 1])
            and abs(c[i] - o[i]) > cavg(BODY_LONG, l0, o[i], h[i], l[i], c[i])
            and c4 == -color(o[i - 3], c[i - 3])
            and color(o[i - 3], c[i - 3]) == color(o[i - 2], c[i - 2])
            and color(o[i - 2], c[i - 2]) == color(o[i - 1], c[i - 1])
            and color(o[i - 1], c[i - 1]) == -color(o[i], c[i])
            and min(o[i - 3], c[i - 3]) < h[i - 4]
            and max(o[i - 3], c[i - 3]) > l[i - 4]
            and min(o[i - 2], c[i - 2]) < h[i - 4]
            and max(o[i - 2], c[i - 2]) > l[i - 4]
            and min(o[i - 1], c[i - 1]) < h[i - 4]
            and max(o[i - 1], c[i - 1]) > l[i - 4]
            and c[i - 2] * c4 < c[i - 3] * c4
            and c[i - 1] * c4 < c[i - 2] * c4
            and o[i] * c4 > c[i - 1] * c4
            and c[i] * c4 > c[i - 4] * c4
        ):
            out[i] = 100 * c4
    return out


@njit(cache=True)
def _hikkake(o, h, l, c, start):
    n = c.shape[0]
    out = np.zeros(n, np.int32)
    pidx = 0
    pres = 0
    for i in range(start - 3, n):
        if (
            h[i - 1] < h[i - 2]
            and l[i - 1] > l[i - 2]
            and ((h[i] < h[i - 1] and l[i] < l[i - 1]) or (h[i] > h[i - 1] and l[i] > l[i - 1]))
        ):
            pres = 100 if h[i] < h[i - 1] else -100
            pidx = i
            if i >= start:
                out[i] = pres
        elif i <= pidx + 3 and ((pres > 0 and c[i] > h[pidx - 1]) or (pres < 0 and c[i] < l[pidx - 1])):
            if i >= start:
                out[i] = pres + (100 if pres > 0 else -100)
            pidx = 0
    return out


# ---------------------------------------------------------------- wrappers and registration

_P = period
_LOOKBACK = {
    "doji": _P(BODY_DOJI),
    "dragonflydoji": max(_P(BODY_DOJI), _P(SHADOW_VERYSHORT)),
    "gravestonedoji": max(_P(BODY_DOJI), _P(SHADOW_VERYSHORT)),
    "longleggeddoji": max(_P(BODY_DOJI), _P(SHADOW_LONG)),
    "rickshawman": max(_P(BODY_DOJI), _P(SHADOW_LONG), _P(NEAR)),
    "takuri": max(_P(BODY_DOJI), _P(SHADOW_VERYSHORT), _P(SHADOW_VERYLONG)),
    "marubozu": max(_P(BODY_LONG), _P(SHADOW_VERYSHORT)),
    "closingmarubozu": max(_P(BODY_LONG), _P(SHADOW_VERYSHORT)),
    "belthold": max(_P(BODY_LONG), _P(SHADOW_VERYSHORT)),
    "longline": max(_P(BODY_LONG), _P(SHADOW_SHORT)),
    "shortline": max(_P(BODY_SHORT), _P(SHADOW_SHORT)),
    "spinningtop": _P(BODY_SHORT),
    "highwave": max(_P(BODY_SHORT), _P(SHADOW_VERYLONG)),
    "hammer": max(_P(BODY_SHORT), _P(SHADOW_LONG), _P(SHADOW_VERYSHORT), _P(NEAR)) + 1,
    "hangingman": max(_P(BODY_SHORT), _P(SHADOW_LONG), _P(SHADOW_VERYSHORT), _P(NEAR)) + 1,
    "invertedhammer": max(_P(BODY_SHORT), _P(SHADOW_LONG), _P(SHADOW_VERYSHORT)) + 1,
    "shootingstar": max(_P(BODY_SHORT), _P(SHADOW_LONG), _P(SHADOW_VERYSHORT)) + 1,
    "dojistar": max(_P(BODY_DOJI), _P(BODY_LONG)) + 1,
    "engulfing": 2,
    "harami": max(_P(BODY_SHORT), _P(BODY_LONG)) + 1,
    "haramicross": max(_P(BODY_DOJI), _P(BODY_LONG)) + 1,
    "piercing": _P(BODY_LONG) + 1,
    "darkcloudcover": _P(BODY_LONG) + 1,
    "counterattack": max(_P(EQUAL), _P(BODY_LONG)) + 1,
    "homingpigeon": max(_P(BODY_SHORT), _P(BODY_LONG)) + 1,
    "inneck": max(_P(EQUAL), _P(BODY_LONG)) + 1,
    "onneck": max(_P(EQUAL), _P(BODY_LONG)) + 1,
    "thrusting": max(_P(EQUAL), _P(BODY_LONG)) + 1,
    "kicking": max(_P(SHADOW_VERYSHORT), _P(BODY_LONG)) + 1,
    "kickingbylength": max(_P(SHADOW_VERYSHORT), _P(BODY_LONG)) + 1,
    "matchinglow": _P(EQUAL) + 1,
    "separatinglines": max(_P(SHADOW_VERYSHORT), _P(BODY_LONG), _P(EQUAL)) + 1,
    "2crows": _P(BODY_LONG) + 2,
    "3blackcrows": _P(SHADOW_VERYSHORT) + 3,
    "3inside": max(_P(BODY_SHORT), _P(BODY_LONG)) + 2,
    "3outside": 3,
    "3whitesoldiers": max(_P(SHADOW_VERYSHORT), _P(BODY_SHORT), _P(FAR), _P(NEAR)) + 2,
    "3linestrike": _P(NEAR) + 3,
    "3starsinsouth": max(_P(SHADOW_VERYSHORT), _P(SHADOW_LONG), _P(BODY_LONG), _P(BODY_SHORT)) + 2,
    "abandonedbaby": max(_P(BODY_DOJI), _P(BODY_LONG), _P(BODY_SHORT)) + 2,
    "advanceblock": max(_P(SHADOW_LONG), _P(SHADOW_SHORT), _P(FAR), _P(NEAR), _P(BODY_LONG)) + 2,
    "morningstar": max(_P(BODY_SHORT), _P(BODY_LONG)) + 2,
    "eveningstar": max(_P(BODY_SHORT), _P(BODY_LONG)) + 2,
    "morningdojistar": max(_P(BODY_DOJI), _P(BODY_LONG), _P(BODY_SHORT)) + 2,
    "eveningdojistar": max(_P(BODY_DOJI), _P(BODY_LONG), _P(BODY_SHORT)) + 2,
    "identical3crows": max(_P(SHADOW_VERYSHORT), _P(EQUAL)) + 2,
    "gapsidesidewhite": max(_P(NEAR), _P(EQUAL)) + 2,
    "sticksandwich": _P(EQUAL) + 2,
    "tasukigap": _P(NEAR) + 2,
    "tristar": _P(BODY_DOJI) + 2,
    "unique3river": max(_P(BODY_SHORT), _P(BODY_LONG)) + 2,
    "upsidegap2crows": max(_P(BODY_SHORT), _P(BODY_LONG)) + 2,
    "xsidegap3methods": 2,
    "stalledpattern": max(_P(BODY_LONG), _P(BODY_SHORT), _P(SHADOW_VERYSHORT), _P(NEAR)) + 2,
    "breakaway": _P(BODY_LONG) + 4,
    "concealbabyswall": _P(SHADOW_VERYSHORT) + 3,
    "ladderbottom": _P(SHADOW_VERYSHORT) + 4,
    "mathold": max(_P(BODY_SHORT), _P(BODY_LONG)) + 4,
    "risefall3methods": max(_P(BODY_SHORT), _P(BODY_LONG)) + 4,
    "hikkake": 5,
}

# name -> (kernel, talib function, description, penetration default or None)
_PATTERNS: dict[str, tuple] = {
    "doji": (_doji, "CDLDOJI", "Doji: open and close (almost) equal.", None),
    "dragonflydoji": (_dragonflydoji, "CDLDRAGONFLYDOJI", "Dragonfly doji: doji with a long lower shadow, no upper.", None),
    "gravestonedoji": (_gravestonedoji, "CDLGRAVESTONEDOJI", "Gravestone doji: doji with a long upper shadow, no lower.", None),
    "longleggeddoji": (_longleggeddoji, "CDLLONGLEGGEDDOJI", "Long-legged doji: doji with a long shadow.", None),
    "rickshawman": (_rickshawman, "CDLRICKSHAWMAN", "Rickshaw man: long-legged doji with the body near the middle.", None),
    "takuri": (_takuri, "CDLTAKURI", "Takuri: dragonfly doji with a very long lower shadow.", None),
    "marubozu": (_marubozu, "CDLMARUBOZU", "Marubozu: long body with (almost) no shadows.", None),
    "closingmarubozu": (_closingmarubozu, "CDLCLOSINGMARUBOZU", "Closing marubozu: long body, no shadow on the closing side.", None),
    "belthold": (_belthold, "CDLBELTHOLD", "Belt hold: long body, no shadow on the opening side.", None),
    "longline": (_longline, "CDLLONGLINE", "Long line candle: long body, short shadows.", None),
    "shortline": (_shortline, "CDLSHORTLINE", "Short line candle: short body, short shadows.", None),
    "spinningtop": (_spinningtop, "CDLSPINNINGTOP", "Spinning top: small body, shadows longer than the body.", None),
    "highwave": (_highwave, "CDLHIGHWAVE", "High wave: small body, very long shadows on both sides.", None),
    "hammer": (_hammer, "CDLHAMMER", "Hammer: small body near the prior low, long lower shadow (bullish).", None),
    "hangingman": (_hangingman, "CDLHANGINGMAN", "Hanging man: small body near the prior high, long lower shadow (bearish).", None),
    "invertedhammer": (_invertedhammer, "CDLINVERTEDHAMMER", "Inverted hammer: small body gapping down, long upper shadow.", None),
    "shootingstar": (_shootingstar, "CDLSHOOTINGSTAR", "Shooting star: small body gapping up, long upper shadow.", None),
    "dojistar": (_dojistar, "CDLDOJISTAR", "Doji star: long candle followed by a gapping doji.", None),
    "engulfing": (_engulfing, "CDLENGULFING", "Engulfing: the body engulfs the prior opposite-colour body (+-80 when one end matches).", None),
    "harami": (_harami, "CDLHARAMI", "Harami: small body inside the prior long body (+-80 when one end matches).", None),
    "haramicross": (_haramicross, "CDLHARAMICROSS", "Harami cross: doji inside the prior long body.", None),
    "piercing": (_piercing, "CDLPIERCING", "Piercing: white candle opens below the prior low, closes above the black body's middle.", None),
    "darkcloudcover": (_darkcloudcover, "CDLDARKCLOUDCOVER", "Dark cloud cover: black candle opens above the prior high, closes deep into the white body.", 0.5),
    "counterattack": (_counterattack, "CDLCOUNTERATTACK", "Counterattack: two long opposite candles closing at the same level.", None),
    "homingpigeon": (_homingpigeon, "CDLHOMINGPIGEON", "Homing pigeon: small black body inside a long black body.", None),
    "inneck": (_inneck, "CDLINNECK", "In-neck: white candle closes just into the prior black body.", None),
    "onneck": (_onneck, "CDLONNECK", "On-neck: white candle closes at the prior black candle's low.", None),
    "thrusting": (_thrusting, "CDLTHRUSTING", "Thrusting: white candle closes into, but below the middle of, the prior black body.", None),
    "kicking": (_kicking, "CDLKICKING", "Kicking: two opposite marubozu with a gap.", None),
    "kickingbylength": (_kickingbylength, "CDLKICKINGBYLENGTH", "Kicking, direction from the longer marubozu.", None),
    "matchinglow": (_matchinglow, "CDLMATCHINGLOW", "Matching low: two black candles with equal closes.", None),
    "separatinglines": (_separatinglines, "CDLSEPARATINGLINES", "Separating lines: opposite candles with the same open.", None),
    "2crows": (_twocrows, "CDL2CROWS", "Two crows: long white, gapping black, black closing into the white body.", None),
    "3blackcrows": (_threeblackcrows, "CDL3BLACKCROWS", "Three black crows: three declining black candles after a white one.", None),
    "3inside": (_threeinside, "CDL3INSIDE", "Three inside up/down: harami confirmed by the third candle.", None),
    "3outside": (_threeoutside, "CDL3OUTSIDE", "Three outside up/down: engulfing confirmed by the third candle.", None),
    "3whitesoldiers": (_threewhitesoldiers, "CDL3WHITESOLDIERS", "Three advancing white soldiers.", None),
    "3linestrike": (_threelinestrike, "CDL3LINESTRIKE", "Three-line strike: three same-colour candles wiped out by the fourth.", None),
    "3starsinsouth": (_threestarsinsouth, "CDL3STARSINSOUTH", "Three stars in the south.", None),
    "abandonedbaby": (_abandonedbaby, "CDLABANDONEDBABY", "Abandoned baby: doji gapping away from both neighbours.", 0.3),
    "advanceblock": (_advanceblock, "CDLADVANCEBLOCK", "Advance block: three white candles losing strength.", None),
    "morningstar": (_morningstar, "CDLMORNINGSTAR", "Morning star: long black, small gapping star, white closing into the first body.", 0.3),
    "eveningstar": (_eveningstar, "CDLEVENINGSTAR", "Evening star: long white, small gapping star, black closing into the first body.", 0.3),
    "morningdojistar": (_morningdojistar, "CDLMORNINGDOJISTAR", "Morning doji star.", 0.3),
    "eveningdojistar": (_eveningdojistar, "CDLEVENINGDOJISTAR", "Evening doji star.", 0.3),
    "identical3crows": (_identicalthreecrows, "CDLIDENTICAL3CROWS", "Identical three crows: each opens at the prior close.", None),
    "gapsidesidewhite": (_gapsidesidewhite, "CDLGAPSIDESIDEWHITE", "Up/down-gap side-by-side white lines.", None),
    "sticksandwich": (_sticksandwich, "CDLSTICKSANDWICH", "Stick sandwich: two black candles with equal closes around a white one.", None),
    "tasukigap": (_tasukigap, "CDLTASUKIGAP", "Tasuki gap.", None),
    "tristar": (_tristar, "CDLTRISTAR", "Tristar: three dojis with a gapping middle one.", None),
    "unique3river": (_unique3river, "CDLUNIQUE3RIVER", "Unique three river bottom.", None),
    "upsidegap2crows": (_upsidegap2crows, "CDLUPSIDEGAP2CROWS", "Upside gap two crows.", None),
    "xsidegap3methods": (_xsidegap3methods, "CDLXSIDEGAP3METHODS", "Upside/downside gap three methods.", None),
    "stalledpattern": (_stalledpattern, "CDLSTALLEDPATTERN", "Stalled pattern: third white candle small and riding on the second.", None),
    "breakaway": (_breakaway, "CDLBREAKAWAY", "Breakaway: five-candle reversal after a gap.", None),
    "concealbabyswall": (_concealbabyswall, "CDLCONCEALBABYSWALL", "Concealing baby swallow.", None),
    "ladderbottom": (_ladderbottom, "CDLLADDERBOTTOM", "Ladder bottom.", None),
    "mathold": (_mathold, "CDLMATHOLD", "Mat hold: bullish continuation after a small pull-back.", 0.5),
    "risefall3methods": (_risefall3methods, "CDLRISEFALL3METHODS", "Rising/falling three methods.", None),
    "hikkake": (_hikkake, "CDLHIKKAKE", "Hikkake: inside-bar false break-out (+-100), confirmed within 3 bars (+-200).", None),
}


def lookback(name: str) -> int:
    """Bars before the first possible signal (TA-Lib's lookback)."""
    return _LOOKBACK[name]


@njit(cache=True)
def _first_valid(o, h, l, c):
    """Index of the first bar where all four inputs are finite (TA-Lib's Python wrapper skips leading NaN)."""
    n = c.shape[0]
    for i in range(n):
        if np.isfinite(o[i]) and np.isfinite(h[i]) and np.isfinite(l[i]) and np.isfinite(c[i]):
            return i
    return n


def _make(key: str, kernel, penetration_default):
    lb = _LOOKBACK[key]
    name = f"cdl_{key}"

    def run(open, high, low, close, *extra):  # noqa: A002 - mirrors the input names
        n = check_same_length(name, open=open, high=high, low=low, close=close)
        arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close)]
        first = _first_valid(*arrays)
        if n - first <= lb:
            return np.zeros(n, dtype=np.int32)
        if not first:  # the kernel's own output (zeros inside the lookback): no second array, no copy
            return kernel(*arrays, lb, *extra)
        out = np.zeros(n, dtype=np.int32)
        out[first:] = kernel(*[a[first:] for a in arrays], lb, *extra)
        return out

    fn: Callable[..., np.ndarray]  # with a `penetration` parameter for the patterns that take one
    if penetration_default is None:

        def fn_plain(open, high, low, close):  # noqa: A002
            return run(open, high, low, close)

        fn = fn_plain
    else:

        def fn_penetration(open, high, low, close, penetration=penetration_default):  # noqa: A002
            if not np.isfinite(penetration) or penetration < 0:
                raise DataError(f"{name}: parameter 'penetration' must be >= 0, got {penetration!r}")
            return run(open, high, low, close, float(penetration))

        fn = fn_penetration
    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = _PATTERNS[key][2]
    return fn


KERNELS: dict[str, object] = {}

# Patterns verified equal to TA-Lib on all four real files (tests/unit/indicators/test_patterns.py); only
# these are registered in the catalog. The others stay available as kernels in KERNELS.
EXACT: frozenset[str] = frozenset(_PATTERNS)

for _key, (_kernel, _talib, _desc, _pen) in _PATTERNS.items():
    _fn = _make(_key, _kernel, _pen)
    KERNELS[f"cdl_{_key}"] = _fn
    globals()[f"cdl_{_key}"] = _fn
    if _key not in EXACT:
        continue
    _params = (
        (
            Param(
                "penetration",
                float,
                _pen,
                minimum=0.0,
                maximum=1.0,
                description="how far the last candle must close into the first candle's body (fraction)",
            ),
        )
        if _pen is not None
        else ()
    )
    register(
        IndicatorSpec(
            name=f"cdl_{_key}",
            group="pattern",
            inputs=("open", "high", "low", "close"),
            params=_params,
            outputs=("signal",),
            kernel=_fn,
            description=_desc + " Output: 0 none, +100 bullish, -100 bearish (TA-Lib semantics).",
            talib=_talib,
            talib_params={"penetration": "penetration"} if _pen is not None else {},
        )
    )
