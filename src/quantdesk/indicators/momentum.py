"""Momentum indicators, TA-Lib exact (same warm-up NaN, same seeding, same zero guards).

RSI, CMO, MOM, ROC/ROCP/ROCR/ROCR100, WILLR, CCI, MFI, BOP, IMI, ULTOSC, AROON/AROONOSC and the Wilder
directional-movement family PLUS_DM/MINUS_DM/PLUS_DI/MINUS_DI/DX/ADX/ADXR. Each kernel is a thin validating
wrapper over an `@njit` core; each has a streaming twin giving the same values bar by bar.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import NAN, arrays, finite_or_raise, period, shaped
from quantdesk.indicators._rolling_extremes import MaxWindow, MinWindow, TaScan, rolling_max, rolling_min
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = [
    "adx", "adxr", "aroon", "aroonosc", "bop", "cci", "cmo", "dx", "imi", "mfi", "minus_di", "minus_dm",
    "mom", "plus_di", "plus_dm", "roc", "rocp", "rocr", "rocr100", "rsi", "ultosc", "willr",
]  # fmt: skip

# ----------------------------------------------------------------------------------------------------------
# RSI / CMO
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _rsi_cmo(x, p, cmo):
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n <= p:
        return out
    prev = x[0]
    gain = 0.0
    loss = 0.0
    for i in range(1, p + 1):
        v = x[i]
        d = v - prev
        prev = v
        if d < 0:
            loss -= d
        else:
            gain += d
    loss /= p
    gain /= p
    inv = 1.0 / p
    t = gain + loss
    if -1e-14 < t < 1e-14:
        out[p] = 0.0
    elif cmo:
        out[p] = 100.0 * ((gain - loss) / t)
    else:
        out[p] = 100.0 * (gain / t)
    for i in range(p + 1, n):
        v = x[i]
        d = v - prev
        prev = v
        if d < 0:
            loss = loss + (-d - loss) * inv
            gain = gain + (0.0 - gain) * inv
        else:
            loss = loss + (0.0 - loss) * inv
            gain = gain + (d - gain) * inv
        t = gain + loss
        if -1e-14 < t < 1e-14:
            out[i] = 0.0
        elif cmo:
            out[i] = 100.0 * ((gain - loss) / t)
        else:
            out[i] = 100.0 * (gain / t)
    return out


def rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Relative strength index (TA-Lib RSI: Wilder smoothing seeded with simple averages)."""
    p = _p("rsi", "period", period)
    (x,) = arrays("rsi", close=close)
    return _rsi_cmo(x, p, False)


def cmo(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Chande momentum oscillator (TA-Lib CMO: Wilder-smoothed gains and losses like RSI)."""
    p = _p("cmo", "period", period)
    (x,) = arrays("cmo", close=close)
    return _rsi_cmo(x, p, True)


class RSI(FastStreaming):
    """Streaming RSI, value for value equal to `rsi`."""

    inputs = ("close",)
    _cmo = False

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period)
        self._inv = 1.0 / self.period
        self._prev: float | None = None
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0

    def step(self, close: float) -> float:
        prev = self._prev
        self._prev = close
        if prev is None:
            return NAN
        p = self.period
        d = close - prev
        self._count += 1
        gain = self._gain
        loss = self._loss
        if self._count < p:
            if d < 0:
                self._loss = loss - d
            else:
                self._gain = gain + d
            return NAN
        if self._count == p:
            if d < 0:
                loss -= d
            else:
                gain += d
            loss /= p
            gain /= p
        elif d < 0:
            inv = self._inv
            loss = loss + (-d - loss) * inv
            gain = gain + (0.0 - gain) * inv
        else:
            inv = self._inv
            loss = loss + (0.0 - loss) * inv
            gain = gain + (d - gain) * inv
        self._gain = gain
        self._loss = loss
        t = gain + loss
        if -1e-14 < t < 1e-14:
            return 0.0
        if self._cmo:
            return 100.0 * ((gain - loss) / t)
        return 100.0 * (gain / t)


class CMO(RSI):
    """Streaming CMO, value for value equal to `cmo`."""

    _cmo = True


# ----------------------------------------------------------------------------------------------------------
# MOM / ROC family
# ----------------------------------------------------------------------------------------------------------

_MOM, _ROC, _ROCP, _ROCR, _ROCR100 = 0, 1, 2, 3, 4


@njit(cache=True)
def _change(x, p, kind):
    """(out, acc): acc sums v - v over every input value (0.0 unless one is NaN/inf; see `finite_or_raise`).

    One loop per kind (the branch hoisted out) over offset views: `x[i - p]` with a signed index makes numba
    emit a negative-index fix-up on every load; `cur[k]`/`old[k]` do not."""
    n = x.shape[0]
    out = np.empty(n)
    acc = 0.0
    m = min(p, n)
    for i in range(m):
        out[i] = np.nan
        v = x[i]
        acc += v - v
    if n <= p:
        return out, acc
    cur = x[p:]
    old = x[: n - p]
    dst = out[p:]
    if kind == 0:
        for k in range(n - p):
            v = cur[k]
            acc += v - v
            dst[k] = v - old[k]
    elif kind == 1:
        for k in range(n - p):
            v = cur[k]
            acc += v - v
            prev = old[k]
            dst[k] = ((v / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0
    elif kind == 2:
        for k in range(n - p):
            v = cur[k]
            acc += v - v
            prev = old[k]
            dst[k] = (v - prev) / prev if prev != 0.0 else 0.0
    elif kind == 3:
        for k in range(n - p):
            v = cur[k]
            acc += v - v
            prev = old[k]
            dst[k] = v / prev if prev != 0.0 else 0.0
    else:
        for k in range(n - p):
            v = cur[k]
            acc += v - v
            prev = old[k]
            dst[k] = (v / prev) * 100.0 if prev != 0.0 else 0.0
    return out, acc


def _run_change(name: str, close: np.ndarray, p: int, kind: int) -> np.ndarray:
    (x,) = shaped(name, close=close)
    out, acc = _change(x, p, kind)
    finite_or_raise(acc, name, close=close)
    return out


def _change_value(v: float, prev: float, kind: int) -> float:
    if kind == 0:
        return v - prev
    if prev != 0.0:
        if kind == 1:
            return ((v / prev) - 1.0) * 100.0
        if kind == 2:
            return (v - prev) / prev
        if kind == 3:
            return v / prev
        return (v / prev) * 100.0
    return 0.0


def mom(close: np.ndarray, period: int = 10) -> np.ndarray:
    """Momentum: close - close `period` bars ago (TA-Lib MOM)."""
    p = _p("mom", "period", period, 1)
    return _run_change("mom", close, p, _MOM)


def roc(close: np.ndarray, period: int = 10) -> np.ndarray:
    """Rate of change in percent: (close/prev - 1) * 100 (TA-Lib ROC; 0 when prev is 0)."""
    p = _p("roc", "period", period, 1)
    return _run_change("roc", close, p, _ROC)


def rocp(close: np.ndarray, period: int = 10) -> np.ndarray:
    """Rate of change as a fraction: (close - prev) / prev (TA-Lib ROCP)."""
    p = _p("rocp", "period", period, 1)
    return _run_change("rocp", close, p, _ROCP)


def rocr(close: np.ndarray, period: int = 10) -> np.ndarray:
    """Rate of change ratio: close / prev (TA-Lib ROCR)."""
    p = _p("rocr", "period", period, 1)
    return _run_change("rocr", close, p, _ROCR)


def rocr100(close: np.ndarray, period: int = 10) -> np.ndarray:
    """Rate of change ratio times 100: close / prev * 100 (TA-Lib ROCR100)."""
    p = _p("rocr100", "period", period, 1)
    return _run_change("rocr100", close, p, _ROCR100)


class MOM(FastStreaming):
    """Streaming MOM, value for value equal to `mom`."""

    inputs = ("close",)
    _kind = _MOM

    def __init__(self, period: int = 10) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period, 1)
        self._buf: deque = deque(maxlen=self.period + 1)

    def step(self, close: float) -> float:
        buf = self._buf
        buf.append(close)
        if len(buf) <= self.period:
            return NAN
        return _change_value(close, buf[0], self._kind)


class ROC(MOM):
    """Streaming ROC."""

    _kind = _ROC


class ROCP(MOM):
    """Streaming ROCP."""

    _kind = _ROCP


class ROCR(MOM):
    """Streaming ROCR."""

    _kind = _ROCR


class ROCR100(MOM):
    """Streaming ROCR100."""

    _kind = _ROCR100


# ----------------------------------------------------------------------------------------------------------
# WILLR
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _willr(high, low, close, p):
    n = high.shape[0]
    out = rolling_max(high, p)
    lowest = rolling_min(low, p)
    for today in range(p - 1, n):
        highest = out[today]
        diff = (highest - lowest[today]) / (-100.0)
        if diff != 0.0:
            out[today] = (highest - close[today]) / diff
        else:
            out[today] = 0.0
    return out


def willr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Williams %R: where the close sits in the `period`-bar high-low range, from -100 (low) to 0 (high)."""
    p = _p("willr", "period", period)
    h, lo, c = arrays("willr", high=high, low=low, close=close)
    return _willr(h, lo, c, p)


class WILLR(FastStreaming):
    """Streaming Williams %R (monotonic deques for the window high and low)."""

    inputs = ("high", "low", "close")

    def __init__(self, period: int = 14) -> None:
        self.period = _p("willr", "period", period)
        self._hi = MaxWindow(self.period)
        self._lo = MinWindow(self.period)

    def step(self, high: float, low: float, close: float) -> float:
        hi = self._hi
        lo = self._lo
        hi.push(high)
        lo.push(low)
        if hi.i < self.period - 1:
            return NAN
        highest = hi.dq[0][1]
        diff = (highest - lo.dq[0][1]) / (-100.0)
        if diff != 0.0:
            return (highest - close) / diff
        return 0.0


# ----------------------------------------------------------------------------------------------------------
# CCI
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _cci(high, low, close, p):
    n = high.shape[0]
    out = np.full(n, np.nan)
    if n < p:
        return out
    tp = np.empty(n)
    for i in range(n):
        tp[i] = (high[i] + low[i] + close[i]) / 3
    for i in range(p - 1, n):
        avg = 0.0
        for j in range(i - p + 1, i + 1):
            avg += tp[j]
        avg /= p
        dev = 0.0
        for j in range(i - p + 1, i + 1):
            dev += abs(tp[j] - avg)
        t = tp[i] - avg
        if t != 0.0 and dev != 0.0:
            out[i] = t / (0.015 * (dev / p))
        else:
            out[i] = 0.0
    return out


def cci(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Commodity channel index: typical price minus its SMA, over 0.015 x its mean absolute deviation."""
    p = _p("cci", "period", period)
    h, lo, c = arrays("cci", high=high, low=low, close=close)
    return _cci(h, lo, c, p)


class CCI(FastStreaming):
    """Streaming CCI (the mean deviation needs the window: O(period) per bar, like TA-Lib)."""

    inputs = ("high", "low", "close")

    def __init__(self, period: int = 14) -> None:
        self.period = _p("cci", "period", period)
        self._buf: deque = deque(maxlen=self.period)

    def step(self, high: float, low: float, close: float) -> float:
        buf = self._buf
        tp = (high + low + close) / 3
        buf.append(tp)
        p = self.period
        if len(buf) < p:
            return NAN
        avg = 0.0
        for v in buf:
            avg += v
        avg /= p
        dev = 0.0
        for v in buf:
            dev += abs(v - avg)
        t = tp - avg
        if t != 0.0 and dev != 0.0:
            return t / (0.015 * (dev / p))
        return 0.0


# ----------------------------------------------------------------------------------------------------------
# MFI
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _mfi(high, low, close, volume, p):
    n = high.shape[0]
    out = np.full(n, np.nan)
    if n <= p:
        return out
    pos = np.zeros(p)  # ring buffers of the last p flows (slot i % p)
    neg = np.zeros(p)
    k = 0
    prev = (high[0] + low[0] + close[0]) / 3.0
    psum = 0.0
    nsum = 0.0
    null_run = 0
    for i in range(1, n):
        k += 1
        if k == p:
            k = 0
        if i > p:
            psum -= pos[k]
            nsum -= neg[k]
        tp = (high[i] + low[i] + close[i]) / 3.0
        d = tp - prev
        scale = abs(tp) + abs(prev)
        prev = tp
        tp *= volume[i]
        mf = 0.0 if abs(d) <= 1e-14 * scale else tp
        if d < 0.0:
            neg[k] = mf
            pos[k] = 0.0
            nsum += mf
        else:
            pos[k] = mf
            neg[k] = 0.0
            psum += mf
        null_run = null_run + 1 if mf == 0.0 else 0
        if null_run >= p:
            null_run = p
            psum = 0.0
            nsum = 0.0
        if i >= p:
            t = psum + nsum
            pc = 0.0 if psum < 0.0 else (t if psum > t else psum)
            out[i] = 0.0 if t <= 0.0 else 100.0 * (pc / t)
    return out


def mfi(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int = 14
) -> np.ndarray:
    """Money flow index: a volume-weighted RSI of the typical price (equal typical prices count as no flow)."""
    p = _p("mfi", "period", period)
    h, lo, c, v = arrays("mfi", high=high, low=low, close=close, volume=volume)
    return _mfi(h, lo, c, v, p)


class MFI(FastStreaming):
    """Streaming MFI, value for value equal to `mfi`."""

    inputs = ("high", "low", "close", "volume")

    def __init__(self, period: int = 14) -> None:
        self.period = _p("mfi", "period", period)
        self._prev: float | None = None
        self._flows: deque = deque()
        self._psum = 0.0
        self._nsum = 0.0
        self._null_run = 0

    def step(self, high: float, low: float, close: float, volume: float) -> float:
        tp = (high + low + close) / 3.0
        prev = self._prev
        self._prev = tp
        if prev is None:
            return NAN
        flows = self._flows
        psum = self._psum
        nsum = self._nsum
        p = self.period
        if len(flows) == p:
            op, on = flows.popleft()
            psum -= op
            nsum -= on
        d = tp - prev
        scale = abs(tp) + abs(prev)
        tp *= volume
        mf = 0.0 if abs(d) <= 1e-14 * scale else tp
        if d < 0.0:
            flows.append((0.0, mf))
            nsum += mf
        else:
            flows.append((mf, 0.0))
            psum += mf
        self._null_run = self._null_run + 1 if mf == 0.0 else 0
        if self._null_run >= p:
            self._null_run = p
            psum = 0.0
            nsum = 0.0
        self._psum = psum
        self._nsum = nsum
        if len(flows) < p:
            return NAN
        t = psum + nsum
        pc = 0.0 if psum < 0.0 else (t if psum > t else psum)
        return 0.0 if t <= 0.0 else 100.0 * (pc / t)


# ----------------------------------------------------------------------------------------------------------
# BOP / IMI
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _bop(open_, high, low, close):
    """(out, acc): acc sums s - s, s = open + high + low + close (0.0 unless a value is NaN/inf)."""
    n = open_.shape[0]
    out = np.empty(n)
    acc = 0.0
    for i in range(n):
        o = open_[i]
        h = high[i]
        lo = low[i]
        c = close[i]
        s = o + h + lo + c
        acc += s - s
        t = h - lo
        if t < 1e-14:
            out[i] = 0.0
        else:
            out[i] = (c - o) / t
    return out, acc


def bop(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:  # noqa: A002
    """Balance of power: (close - open) / (high - low), 0 for a zero-range bar."""
    out, acc = _bop(*shaped("bop", open=open, high=high, low=low, close=close))
    finite_or_raise(acc, "bop", open=open, high=high, low=low, close=close)  # checked in the same pass
    return out


class BOP(FastStreaming):
    """Streaming BOP."""

    inputs = ("open", "high", "low", "close")

    def step(self, open_: float, high: float, low: float, close: float) -> float:
        t = high - low
        if t < 1e-14:
            return 0.0
        return (close - open_) / t


@njit(cache=True)
def _imi(open_, close, p):
    n = open_.shape[0]
    out = np.full(n, np.nan)
    for i in range(p - 1, n):
        up = 0.0
        down = 0.0
        for j in range(i - p + 1, i + 1):
            c = close[j]
            o = open_[j]
            if c > o:
                up += c - o
            else:
                down += o - c
        t = up + down
        out[i] = 100.0 * (up / t) if t != 0.0 else 50.0
    return out


def imi(open: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:  # noqa: A002
    """Intraday momentum index: an RSI of the candle bodies (close - open) over `period` bars.

    Like TA-Lib 0.8, the value is 50 (neutral) when every bar in the window has close == open."""
    p = _p("imi", "period", period)
    o, c = arrays("imi", open=open, close=close)
    return _imi(o, c, p)


class IMI(FastStreaming):
    """Streaming IMI (sums over the window, in the same order as the kernel)."""

    inputs = ("open", "close")

    def __init__(self, period: int = 14) -> None:
        self.period = _p("imi", "period", period)
        self._buf: deque = deque(maxlen=self.period)

    def step(self, open_: float, close: float) -> float:
        buf = self._buf
        buf.append((open_, close))
        if len(buf) < self.period:
            return NAN
        up = 0.0
        down = 0.0
        for o, c in buf:
            if c > o:
                up += c - o
            else:
                down += o - c
        t = up + down
        return 100.0 * (up / t) if t != 0.0 else 50.0


# ----------------------------------------------------------------------------------------------------------
# ULTOSC
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _ult_terms(high, low, close, d):
    """(close - true low, true range) of bar d (TA-Lib's CALC_TERMS)."""
    lt = low[d]
    ht = high[d]
    cy = close[d - 1]
    true_low = lt if lt < cy else cy
    tr = ht - lt
    t = abs(cy - ht)
    if t > tr:
        tr = t
    t = abs(cy - lt)
    if t > tr:
        tr = t
    return close[d] - true_low, tr


@njit(cache=True)
def _ultosc(high, low, close, p1, p2, p3):
    n = high.shape[0]
    out = np.full(n, np.nan)
    start = max(max(p1, p2), p3)
    if n <= start:
        return out
    a1 = b1 = a2 = b2 = a3 = b3 = 0.0
    for i in range(start - p1 + 1, start):
        c, tr = _ult_terms(high, low, close, i)
        a1 += c
        b1 += tr
    for i in range(start - p2 + 1, start):
        c, tr = _ult_terms(high, low, close, i)
        a2 += c
        b2 += tr
    for i in range(start - p3 + 1, start):
        c, tr = _ult_terms(high, low, close, i)
        a3 += c
        b3 += tr
    for today in range(start, n):
        c, tr = _ult_terms(high, low, close, today)
        a1 += c
        a2 += c
        a3 += c
        b1 += tr
        b2 += tr
        b3 += tr
        o = 0.0
        if not (-1e-14 < b1 < 1e-14):
            o += 4.0 * (a1 / b1)
        if not (-1e-14 < b2 < 1e-14):
            o += 2.0 * (a2 / b2)
        if not (-1e-14 < b3 < 1e-14):
            o += a3 / b3
        c, tr = _ult_terms(high, low, close, today - p1 + 1)
        a1 -= c
        b1 -= tr
        c, tr = _ult_terms(high, low, close, today - p2 + 1)
        a2 -= c
        b2 -= tr
        c, tr = _ult_terms(high, low, close, today - p3 + 1)
        a3 -= c
        b3 -= tr
        out[today] = 100.0 * (o / 7.0)
    return out


def _sorted_periods(p1: int, p2: int, p3: int) -> tuple[int, int, int]:
    s = sorted((p1, p2, p3))
    return s[0], s[1], s[2]


def ultosc(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period1: int = 7,
    period2: int = 14,
    period3: int = 28,
) -> np.ndarray:
    """Ultimate oscillator: weighted (4:2:1) buying pressure over three windows.

    Like TA-Lib, the three periods are sorted first: the shortest always gets weight 4."""
    q1 = _p("ultosc", "period1", period1, 1)
    q2 = _p("ultosc", "period2", period2, 1)
    q3 = _p("ultosc", "period3", period3, 1)
    h, lo, c = arrays("ultosc", high=high, low=low, close=close)
    return _ultosc(h, lo, c, *_sorted_periods(q1, q2, q3))


class ULTOSC(FastStreaming):
    """Streaming ULTOSC, value for value equal to `ultosc`."""

    inputs = ("high", "low", "close")

    def __init__(self, period1: int = 7, period2: int = 14, period3: int = 28) -> None:
        q1 = _p("ultosc", "period1", period1, 1)
        q2 = _p("ultosc", "period2", period2, 1)
        q3 = _p("ultosc", "period3", period3, 1)
        self._p = _sorted_periods(q1, q2, q3)
        self._start = self._p[2]
        self._terms: deque = deque(maxlen=self._start)
        self._prev_close: float | None = None
        self._i = -1
        self._sums = [0.0] * 6

    def step(self, high: float, low: float, close: float) -> float:
        self._i += 1
        cy = self._prev_close
        self._prev_close = close
        if cy is None:
            return NAN
        true_low = low if low < cy else cy
        c = close - true_low
        tr = high - low
        t = abs(cy - high)
        if t > tr:
            tr = t
        t = abs(cy - low)
        if t > tr:
            tr = t
        terms = self._terms
        terms.append((c, tr))
        i = self._i
        p1, p2, p3 = self._p
        s = self._sums
        if i < self._start:
            # priming: the kernel's initial sums cover indices [start-p+1, start)
            if i >= self._start - p1 + 1:
                s[0] += c
                s[1] += tr
            if i >= self._start - p2 + 1:
                s[2] += c
                s[3] += tr
            if i >= self._start - p3 + 1:
                s[4] += c
                s[5] += tr
            return NAN
        a1 = s[0] + c
        a2 = s[2] + c
        a3 = s[4] + c
        b1 = s[1] + tr
        b2 = s[3] + tr
        b3 = s[5] + tr
        o = 0.0
        if not (-1e-14 < b1 < 1e-14):
            o += 4.0 * (a1 / b1)
        if not (-1e-14 < b2 < 1e-14):
            o += 2.0 * (a2 / b2)
        if not (-1e-14 < b3 < 1e-14):
            o += a3 / b3
        m = len(terms)
        oc, otr = terms[m - p1]
        s[0] = a1 - oc
        s[1] = b1 - otr
        oc, otr = terms[m - p2]
        s[2] = a2 - oc
        s[3] = b2 - otr
        oc, otr = terms[m - p3]
        s[4] = a3 - oc
        s[5] = b3 - otr
        return 100.0 * (o / 7.0)


# ----------------------------------------------------------------------------------------------------------
# AROON / AROONOSC
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _aroon(high, low, p, osc):
    """TA-Lib's scan for the index of the highest high / lowest low over the last p+1 bars (ties: latest).

    Returns (aroondown, aroonup), or (aroonosc, aroonosc) when `osc`."""
    n = high.shape[0]
    down = np.full(n, np.nan)
    up = down if osc else np.full(n, np.nan)
    factor = 100.0 / p
    hidx = -1
    lidx = -1
    highest = 0.0
    lowest = 0.0
    for today in range(p, n):
        trailing = today - p
        tmp = low[today]
        if lidx < trailing:
            lidx = trailing
            lowest = low[lidx]
            for i in range(lidx + 1, today + 1):
                tmp = low[i]
                if tmp <= lowest:
                    lidx = i
                    lowest = tmp
        elif tmp <= lowest:
            lidx = today
            lowest = tmp
        tmp = high[today]
        if hidx < trailing:
            hidx = trailing
            highest = high[hidx]
            for i in range(hidx + 1, today + 1):
                tmp = high[i]
                if tmp >= highest:
                    hidx = i
                    highest = tmp
        elif tmp >= highest:
            hidx = today
            highest = tmp
        if osc:
            down[today] = factor * (hidx - lidx)
        else:
            up[today] = factor * (p - (today - hidx))
            down[today] = factor * (p - (today - lidx))
    return down, up


def aroon(high: np.ndarray, low: np.ndarray, period: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """Aroon down and up: how recently (0-100) the lowest low / highest high of the last `period`+1 bars
    occurred. Returns (aroondown, aroonup) like TA-Lib."""
    p = _p("aroon", "period", period)
    h, lo = arrays("aroon", high=high, low=low)
    return _aroon(h, lo, p, False)


def aroonosc(high: np.ndarray, low: np.ndarray, period: int = 14) -> np.ndarray:
    """Aroon oscillator: aroon up minus aroon down (-100..100)."""
    p = _p("aroonosc", "period", period)
    h, lo = arrays("aroonosc", high=high, low=low)
    return _aroon(h, lo, p, True)[0]


class AROON(FastStreaming):
    """Streaming Aroon: (aroondown, aroonup)."""

    inputs = ("high", "low")

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period)
        self._hi = TaScan(self.period + 1, True, False)
        self._lo = TaScan(self.period + 1, False, False)

    def _scan(self, high: float, low: float) -> bool:
        self._lo.push(low)
        self._hi.push(high)
        return self._hi.i >= self.period

    def step(self, high: float, low: float) -> tuple[float, float]:
        if not self._scan(high, low):
            return NAN, NAN
        p = self.period
        factor = 100.0 / p
        today = self._hi.i
        return factor * (p - (today - self._lo.idx)), factor * (p - (today - self._hi.idx))


class AROONOSC(AROON):
    """Streaming Aroon oscillator."""

    def step(self, high: float, low: float) -> float:  # type: ignore[override]
        if not self._scan(high, low):
            return NAN
        return (100.0 / self.period) * (self._hi.idx - self._lo.idx)


# ----------------------------------------------------------------------------------------------------------
# Directional movement: PLUS_DM, MINUS_DM, PLUS_DI, MINUS_DI, DX, ADX, ADXR
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _dm(high, low, p, plus):
    n = high.shape[0]
    out = np.full(n, np.nan)
    inv = 1.0 / p
    if p == 1:
        for today in range(1, n):
            dp = high[today] - high[today - 1]
            dm = low[today - 1] - low[today]
            if plus:
                out[today] = dp if (dp > 0 and dp > dm) else 0.0
            else:
                out[today] = dm if (dm > 0 and dp < dm) else 0.0
        return out
    if n < p:
        return out
    prev = 0.0
    for today in range(1, p):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        if plus:
            if dp > 0 and dp > dm:
                prev += dp
        elif dm > 0 and dp < dm:
            prev += dm
    out[p - 1] = prev
    for today in range(p, n):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        if plus:
            if dp > 0 and dp > dm:
                prev = prev - prev * inv + dp
            else:
                prev = prev - prev * inv
        elif dm > 0 and dp < dm:
            prev = prev - prev * inv + dm
        else:
            prev = prev - prev * inv
        out[today] = prev
    return out


@njit(cache=True)
def _true_range(h, lo, yc):
    out = h - lo
    t = abs(h - yc)
    if t > out:
        out = t
    t = abs(lo - yc)
    if t > out:
        out = t
    return out


@njit(cache=True)
def _di(high, low, close, p, plus):
    n = high.shape[0]
    out = np.full(n, np.nan)
    inv = 1.0 / p
    if p == 1:
        for today in range(1, n):
            dp = high[today] - high[today - 1]
            dm = low[today - 1] - low[today]
            tr = _true_range(high[today], low[today], close[today - 1])
            if plus:
                ok = dp > 0 and dp > dm
                val = dp
            else:
                ok = dm > 0 and dp < dm
                val = dm
            if ok:
                out[today] = 0.0 if (-1e-14 < tr < 1e-14) else val / tr
            else:
                out[today] = 0.0
        return out
    if n <= p:
        return out
    dmv = 0.0
    trv = 0.0
    for today in range(1, p):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        if plus:
            if dp > 0 and dp > dm:
                dmv += dp
        elif dm > 0 and dp < dm:
            dmv += dm
        trv += _true_range(high[today], low[today], close[today - 1])
    for today in range(p, n):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        if plus:
            if dp > 0 and dp > dm:
                dmv = dmv - dmv * inv + dp
            else:
                dmv = dmv - dmv * inv
        elif dm > 0 and dp < dm:
            dmv = dmv - dmv * inv + dm
        else:
            dmv = dmv - dmv * inv
        trv = trv - trv * inv + _true_range(high[today], low[today], close[today - 1])
        if -1e-14 < trv < 1e-14:
            out[today] = 0.0
        else:
            out[today] = 100.0 * (dmv / trv)
    return out


@njit(cache=True)
def _dx_adx(high, low, close, p, want_adx):
    """DX (want_adx False, first value at p) or ADX (True, first value at 2p-1), TA-Lib's exact loops."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    inv = 1.0 / p
    first = 2 * p - 1 if want_adx else p
    if n <= first:
        return out
    pm = 0.0
    pp = 0.0
    trv = 0.0
    for today in range(1, p):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        if dm > 0 and dp < dm:
            pm += dm
        elif dp > 0 and dp > dm:
            pp += dp
        trv += _true_range(high[today], low[today], close[today - 1])
    sum_dx = 0.0
    adx = 0.0
    dxv = 0.0
    for today in range(p, n):
        dp = high[today] - high[today - 1]
        dm = low[today - 1] - low[today]
        pm -= pm * inv
        pp -= pp * inv
        if dm > 0 and dp < dm:
            pm += dm
        elif dp > 0 and dp > dm:
            pp += dp
        trv = trv - trv * inv + _true_range(high[today], low[today], close[today - 1])
        if want_adx:
            if not (-1e-14 < trv < 1e-14):
                mdi = 100.0 * (pm / trv)
                pdi = 100.0 * (pp / trv)
                t = mdi + pdi
                if not (-1e-14 < t < 1e-14):
                    d = 100.0 * (abs(mdi - pdi) / t)
                    if today <= first:
                        sum_dx += d
                    else:
                        adx = adx + (d - adx) * inv
            if today == first:
                adx = sum_dx / p
            if today >= first:
                out[today] = adx
        else:
            if not (-1e-14 < trv < 1e-14):
                mdi = 100.0 * (pm / trv)
                pdi = 100.0 * (pp / trv)
                t = mdi + pdi
                if not (-1e-14 < t < 1e-14):
                    dxv = 100.0 * (abs(mdi - pdi) / t)
                elif today == first:
                    dxv = 0.0
            elif today == first:
                dxv = 0.0
            out[today] = dxv
    return out


@njit(cache=True)
def _adxr(high, low, close, p):
    out = _dx_adx(high, low, close, p, True)
    n = high.shape[0]
    for i in range(n - 1, 3 * p - 3, -1):  # in place, from the end: a[i - (p - 1)] is still the ADX
        out[i] = (out[i] + out[i - (p - 1)]) / 2.0
    for i in range(min(3 * p - 2, n)):
        out[i] = np.nan
    return out


def plus_dm(high: np.ndarray, low: np.ndarray, period: int = 14) -> np.ndarray:
    """Plus directional movement, Wilder-smoothed (a running sum; raw +DM1 when period is 1)."""
    p = _p("plus_dm", "period", period, 1)
    h, lo = arrays("plus_dm", high=high, low=low)
    return _dm(h, lo, p, True)


def minus_dm(high: np.ndarray, low: np.ndarray, period: int = 14) -> np.ndarray:
    """Minus directional movement, Wilder-smoothed (a running sum; raw -DM1 when period is 1)."""
    p = _p("minus_dm", "period", period, 1)
    h, lo = arrays("minus_dm", high=high, low=low)
    return _dm(h, lo, p, False)


def plus_di(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Plus directional indicator: 100 x smoothed +DM / smoothed true range."""
    p = _p("plus_di", "period", period, 1)
    h, lo, c = arrays("plus_di", high=high, low=low, close=close)
    return _di(h, lo, c, p, True)


def minus_di(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Minus directional indicator: 100 x smoothed -DM / smoothed true range."""
    p = _p("minus_di", "period", period, 1)
    h, lo, c = arrays("minus_di", high=high, low=low, close=close)
    return _di(h, lo, c, p, False)


def dx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Directional movement index: 100 x |+DI - -DI| / (+DI + -DI)."""
    p = _p("dx", "period", period)
    h, lo, c = arrays("dx", high=high, low=low, close=close)
    return _dx_adx(h, lo, c, p, False)


def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average directional index: Wilder-smoothed DX, seeded with the mean of the first `period` DX values."""
    p = _p("adx", "period", period)
    h, lo, c = arrays("adx", high=high, low=low, close=close)
    return _dx_adx(h, lo, c, p, True)


def adxr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """ADX rating: average of today's ADX and the ADX `period`-1 bars ago."""
    p = _p("adxr", "period", period)
    h, lo, c = arrays("adxr", high=high, low=low, close=close)
    return _adxr(h, lo, c, p)


class PLUS_DM(FastStreaming):  # noqa: N801
    """Streaming +DM (or -DM for MINUS_DM)."""

    inputs = ("high", "low")
    _plus = True

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period, 1)
        self._inv = 1.0 / self.period
        self._ph: float | None = None
        self._pl = 0.0
        self._n = 0
        self._prev = 0.0

    def step(self, high: float, low: float) -> float:
        ph = self._ph
        pl = self._pl
        self._ph = high
        self._pl = low
        if ph is None:
            return NAN
        dp = high - ph
        dm = pl - low
        if self._plus:
            ok = dp > 0 and dp > dm
            v = dp
        else:
            ok = dm > 0 and dp < dm
            v = dm
        p = self.period
        if p == 1:
            return v if ok else 0.0
        self._n += 1
        prev = self._prev
        if self._n < p:
            if ok:
                prev += v
            self._prev = prev
            return prev if self._n == p - 1 else NAN
        prev = prev - prev * self._inv + v if ok else prev - prev * self._inv
        self._prev = prev
        return prev


class MINUS_DM(PLUS_DM):  # noqa: N801
    """Streaming -DM."""

    _plus = False


class PLUS_DI(FastStreaming):  # noqa: N801
    """Streaming +DI (or -DI for MINUS_DI)."""

    inputs = ("high", "low", "close")
    _plus = True

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period, 1)
        self._inv = 1.0 / self.period
        self._ph: float | None = None
        self._pl = 0.0
        self._pc = 0.0
        self._n = 0
        self._dm = 0.0
        self._tr = 0.0

    def step(self, high: float, low: float, close: float) -> float:
        ph = self._ph
        pl = self._pl
        yc = self._pc
        self._ph = high
        self._pl = low
        self._pc = close
        if ph is None:
            return NAN
        dp = high - ph
        dm = pl - low
        if self._plus:
            ok = dp > 0 and dp > dm
            v = dp
        else:
            ok = dm > 0 and dp < dm
            v = dm
        tr = high - low
        t = abs(high - yc)
        if t > tr:
            tr = t
        t = abs(low - yc)
        if t > tr:
            tr = t
        p = self.period
        if p == 1:
            if ok:
                return 0.0 if -1e-14 < tr < 1e-14 else v / tr
            return 0.0
        self._n += 1
        dmv = self._dm
        if self._n < p:
            if ok:
                self._dm = dmv + v
            self._tr += tr
            return NAN
        dmv = dmv - dmv * self._inv + v if ok else dmv - dmv * self._inv
        trv = self._tr
        trv = trv - trv * self._inv + tr
        self._dm = dmv
        self._tr = trv
        if -1e-14 < trv < 1e-14:
            return 0.0
        return 100.0 * (dmv / trv)


class MINUS_DI(PLUS_DI):  # noqa: N801
    """Streaming -DI."""

    _plus = False


class ADX(FastStreaming):
    """Streaming ADX (DX and ADXR reuse the same state machine)."""

    inputs = ("high", "low", "close")
    _mode = "adx"

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period)
        self._inv = 1.0 / self.period
        self._ph: float | None = None
        self._pl = 0.0
        self._pc = 0.0
        self._n = 0  # bars after the first
        self._pm = 0.0
        self._pp = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self._adx = 0.0
        self._dx = 0.0
        self._hist: deque = deque(maxlen=self.period)  # ADXR: last `period` ADX values

    def _update(self, high: float, low: float, close: float) -> float:
        ph = self._ph
        pl = self._pl
        yc = self._pc
        self._ph = high
        self._pl = low
        self._pc = close
        if ph is None:
            return NAN
        dp = high - ph
        dm = pl - low
        tr = high - low
        t = abs(high - yc)
        if t > tr:
            tr = t
        t = abs(low - yc)
        if t > tr:
            tr = t
        p = self.period
        self._n += 1
        today = self._n
        if today < p:
            if dm > 0 and dp < dm:
                self._pm += dm
            elif dp > 0 and dp > dm:
                self._pp += dp
            self._tr += tr
            return NAN
        pm = self._pm
        pp = self._pp
        pm -= pm * self._inv
        pp -= pp * self._inv
        if dm > 0 and dp < dm:
            pm += dm
        elif dp > 0 and dp > dm:
            pp += dp
        trv = self._tr
        trv = trv - trv * self._inv + tr
        self._pm = pm
        self._pp = pp
        self._tr = trv
        if self._mode == "dx":
            if not (-1e-14 < trv < 1e-14):
                mdi = 100.0 * (pm / trv)
                pdi = 100.0 * (pp / trv)
                t = mdi + pdi
                if not (-1e-14 < t < 1e-14):
                    self._dx = 100.0 * (abs(mdi - pdi) / t)
                elif today == p:
                    self._dx = 0.0
            elif today == p:
                self._dx = 0.0
            return self._dx
        first = 2 * p - 1
        if not (-1e-14 < trv < 1e-14):
            mdi = 100.0 * (pm / trv)
            pdi = 100.0 * (pp / trv)
            t = mdi + pdi
            if not (-1e-14 < t < 1e-14):
                d = 100.0 * (abs(mdi - pdi) / t)
                if today <= first:
                    self._sum_dx += d
                else:
                    self._adx = self._adx + (d - self._adx) * self._inv
        if today == first:
            self._adx = self._sum_dx / p
        if today < first:
            return NAN
        return self._adx

    step = _update  # no extra call level per bar (ADXR overrides `step`)


class DX(ADX):
    """Streaming DX."""

    _mode = "dx"


class ADXR(ADX):
    """Streaming ADXR."""

    def step(self, high: float, low: float, close: float) -> float:
        a = self._update(high, low, close)
        if a != a:  # NaN during warm-up
            return NAN
        hist = self._hist
        hist.append(a)
        if len(hist) < self.period:
            return NAN
        return (a + hist[0]) / 2.0


# ----------------------------------------------------------------------------------------------------------
# helpers and registration
# ----------------------------------------------------------------------------------------------------------


def _p(indicator: str, name: str, value: object, minimum: int = 2) -> int:
    return period(indicator, name, value, minimum=minimum)


def _period_param(default: int, minimum: int, what: str) -> Param:
    return Param("period", int, default, minimum, 100_000, description=what)


def _reg(name, inputs, params, outputs, kernel, streaming, talib, description, talib_params=None):
    register(
        IndicatorSpec(
            name=name,
            group="momentum",
            inputs=inputs,
            params=params,
            outputs=outputs,
            kernel=kernel,
            description=description,
            streaming=streaming,
            talib=talib,
            talib_params=talib_params if talib_params is not None else {p.name: "timeperiod" for p in params},
        )
    )


_HLC = ("high", "low", "close")
_P14 = (_period_param(14, 2, "number of bars"),)
_P14_1 = (_period_param(14, 1, "number of bars (1 = no smoothing)"),)
_P10_1 = (_period_param(10, 1, "bars back to compare with"),)

_reg(
    "rsi",
    ("close",),
    _P14,
    ("rsi",),
    rsi,
    RSI,
    "RSI",
    "Relative strength index (0-100): Wilder-smoothed gains vs losses; >70 overbought, <30 oversold.",
)
_reg(
    "cmo",
    ("close",),
    _P14,
    ("cmo",),
    cmo,
    CMO,
    "CMO",
    "Chande momentum oscillator (-100..100): (gains - losses) / (gains + losses), Wilder-smoothed.",
)
_reg(
    "mom",
    ("close",),
    _P10_1,
    ("mom",),
    mom,
    MOM,
    "MOM",
    "Momentum: price change over `period` bars, in price units.",
)
_reg(
    "roc",
    ("close",),
    _P10_1,
    ("roc",),
    roc,
    ROC,
    "ROC",
    "Rate of change: percent price change over `period` bars.",
)
_reg(
    "rocp",
    ("close",),
    _P10_1,
    ("rocp",),
    rocp,
    ROCP,
    "ROCP",
    "Rate of change as a fraction: (price - old price) / old price.",
)
_reg(
    "rocr",
    ("close",),
    _P10_1,
    ("rocr",),
    rocr,
    ROCR,
    "ROCR",
    "Rate of change ratio: price / price `period` bars ago (1 = unchanged).",
)
_reg(
    "rocr100",
    ("close",),
    _P10_1,
    ("rocr100",),
    rocr100,
    ROCR100,
    "ROCR100",
    "Rate of change ratio x 100: price / price `period` bars ago x 100 (100 = unchanged).",
)
_reg(
    "willr",
    _HLC,
    _P14,
    ("willr",),
    willr,
    WILLR,
    "WILLR",
    "Williams %R (-100..0): where the close sits in the recent high-low range; near 0 = at the highs.",
)
_reg(
    "cci",
    _HLC,
    _P14,
    ("cci",),
    cci,
    CCI,
    "CCI",
    "Commodity channel index: distance of the typical price from its average in units of mean deviation; "
    "beyond +/-100 is unusually strong/weak.",
)
_reg(
    "mfi",
    ("high", "low", "close", "volume"),
    _P14,
    ("mfi",),
    mfi,
    MFI,
    "MFI",
    "Money flow index (0-100): a volume-weighted RSI of the typical price; >80 overbought, <20 oversold.",
)
_reg(
    "bop",
    ("open", "high", "low", "close"),
    (),
    ("bop",),
    bop,
    BOP,
    "BOP",
    "Balance of power (-1..1): how far the bar closed from its open relative to its range.",
)
_reg(
    "imi",
    ("open", "close"),
    _P14,
    ("imi",),
    imi,
    IMI,
    "IMI",
    "Intraday momentum index (0-100): an RSI built from candle bodies (close - open).",
)
_reg(
    "ultosc",
    _HLC,
    (
        Param("period1", int, 7, 1, 100_000, description="shortest window (weight 4)"),
        Param("period2", int, 14, 1, 100_000, description="middle window (weight 2)"),
        Param("period3", int, 28, 1, 100_000, description="longest window (weight 1)"),
    ),
    ("ultosc",),
    ultosc,
    ULTOSC,
    "ULTOSC",
    "Ultimate oscillator (0-100): buying pressure averaged over three windows, weighted 4:2:1.",
    {"period1": "timeperiod1", "period2": "timeperiod2", "period3": "timeperiod3"},
)
_reg(
    "aroon",
    ("high", "low"),
    _P14,
    ("aroondown", "aroonup"),
    aroon,
    AROON,
    "AROON",
    "Aroon down/up (0-100): how recently the lowest low / highest high occurred; 100 = this bar.",
)
_reg(
    "aroonosc",
    ("high", "low"),
    _P14,
    ("aroonosc",),
    aroonosc,
    AROONOSC,
    "AROONOSC",
    "Aroon oscillator (-100..100): aroon up minus aroon down; positive = recent highs dominate.",
)
_reg(
    "plus_dm",
    ("high", "low"),
    _P14_1,
    ("plus_dm",),
    plus_dm,
    PLUS_DM,
    "PLUS_DM",
    "Plus directional movement: Wilder-smoothed upward range expansion.",
)
_reg(
    "minus_dm",
    ("high", "low"),
    _P14_1,
    ("minus_dm",),
    minus_dm,
    MINUS_DM,
    "MINUS_DM",
    "Minus directional movement: Wilder-smoothed downward range expansion.",
)
_reg(
    "plus_di",
    _HLC,
    _P14_1,
    ("plus_di",),
    plus_di,
    PLUS_DI,
    "PLUS_DI",
    "Plus directional indicator (0-100): upward movement as a share of the true range.",
)
_reg(
    "minus_di",
    _HLC,
    _P14_1,
    ("minus_di",),
    minus_di,
    MINUS_DI,
    "MINUS_DI",
    "Minus directional indicator (0-100): downward movement as a share of the true range.",
)
_reg(
    "dx",
    _HLC,
    _P14,
    ("dx",),
    dx,
    DX,
    "DX",
    "Directional movement index (0-100): spread between +DI and -DI; unsmoothed trend strength.",
)
_reg(
    "adx",
    _HLC,
    _P14,
    ("adx",),
    adx,
    ADX,
    "ADX",
    "Average directional index (0-100): Wilder-smoothed DX; trend strength regardless of direction "
    "(>25 trending).",
)
_reg(
    "adxr",
    _HLC,
    _P14,
    ("adxr",),
    adxr,
    ADXR,
    "ADXR",
    "ADX rating: average of the current ADX and the ADX period-1 bars ago; a smoother trend strength.",
)
