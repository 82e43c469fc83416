"""Volatility indicators, TA-Lib exact: TRANGE, ATR, NATR (Wilder smoothing seeded with an SMA of TRANGE)."""

from __future__ import annotations

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import NAN, finite_or_raise, period, shaped
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = ["trange", "atr", "natr", "TRANGE", "ATR", "NATR"]


# The kernels return (out, acc): acc sums t - t with t = high + low + close of every bar (0.0 unless a value is
# NaN/inf), so the inputs are read once; `finite_or_raise` turns a non-zero total into the usual DataError.
# They loop over offset views instead of indexing close[i - 1]: no per-load negative-index fix-up.


@njit(cache=True)
def _trange(high, low, close):
    n = high.shape[0]
    out = np.empty(n)
    if n == 0:
        return out, 0.0
    out[0] = np.nan
    t = high[0] + low[0] + close[0]
    acc = t - t
    hi_ = high[1:]
    lo_ = low[1:]
    cy_ = close[: n - 1]
    cc_ = close[1:]
    dst = out[1:]
    for k in range(n - 1):
        lo = lo_[k]
        hi = hi_[k]
        cy = cy_[k]
        t = hi + lo + cc_[k]
        acc += t - t
        greatest = hi - lo
        v2 = abs(cy - hi)
        if v2 > greatest:
            greatest = v2
        v3 = abs(cy - lo)
        if v3 > greatest:
            greatest = v3
        dst[k] = greatest
    return out, acc


@njit(cache=True)
def _atr(high, low, close, period, normalize):
    """TRANGE, seeded SMA of the first `period` values, then Wilder smoothing, fused in one pass."""
    n = high.shape[0]
    if period == 1:
        return _trange(high, low, close)
    out = np.empty(n)
    for i in range(min(n, period)):
        out[i] = np.nan
    acc = 0.0
    if n <= period:
        for i in range(n):
            t = high[i] + low[i] + close[i]
            acc += t - t
        return out, acc
    t = high[0] + low[0] + close[0]
    acc = t - t
    inv = 1.0 / period
    total = 0.0
    for i in range(1, period + 1):  # seed: the first `period` true ranges
        hi = high[i]
        lo = low[i]
        cy = close[i - 1]
        t = hi + lo + close[i]
        acc += t - t
        tr = hi - lo
        t = abs(cy - hi)
        if t > tr:
            tr = t
        t = abs(cy - lo)
        if t > tr:
            tr = t
        total += tr
    prev = total / period
    if normalize:
        c = close[period]
        out[period] = (prev / c) * 100.0 if not (-1e-14 < c < 1e-14) else 0.0
    else:
        out[period] = prev
    m = n - period - 1  # the rest, bar period + 1 + k
    hi_ = high[period + 1 :]
    lo_ = low[period + 1 :]
    cy_ = close[period : n - 1]
    cc_ = close[period + 1 :]
    dst = out[period + 1 :]
    for k in range(m):
        hi = hi_[k]
        lo = lo_[k]
        cy = cy_[k]
        c = cc_[k]
        t = hi + lo + c
        acc += t - t
        tr = hi - lo
        t = abs(cy - hi)
        if t > tr:
            tr = t
        t = abs(cy - lo)
        if t > tr:
            tr = t
        prev = prev + (tr - prev) * inv
        if normalize:
            dst[k] = (prev / c) * 100.0 if not (-1e-14 < c < 1e-14) else 0.0
        else:
            dst[k] = prev
    return out, acc


def trange(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range: max(high, prev close) - min(low, prev close). NaN at index 0 (TA-Lib TRANGE)."""
    out, acc = _trange(*shaped("trange", high=high, low=low, close=close))
    finite_or_raise(acc, "trange", high=high, low=low, close=close)
    return out


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average true range (TA-Lib ATR): SMA of the first `period` TRANGE values, then Wilder smoothing."""
    p = _period("atr", period)
    h, lo, c = shaped("atr", high=high, low=low, close=close)
    out, acc = _atr(h, lo, c, p, False)
    finite_or_raise(acc, "atr", high=high, low=low, close=close)
    return out


def natr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Normalized ATR (TA-Lib NATR): 100 * ATR / close."""
    p = _period("natr", period)
    h, lo, c = shaped("natr", high=high, low=low, close=close)
    out, acc = _atr(h, lo, c, p, True)
    finite_or_raise(acc, "natr", high=high, low=low, close=close)
    return out


def _period(name: str, value: object) -> int:
    return period(name, "period", value, minimum=1)


class TRANGE(FastStreaming):
    """Streaming true range."""

    inputs = ("high", "low", "close")

    def __init__(self) -> None:
        self._prev_close: float | None = None

    def step(self, high: float, low: float, close: float) -> float:
        cy = self._prev_close
        self._prev_close = close
        if cy is None:
            return NAN
        greatest = high - low
        v2 = abs(cy - high)
        if v2 > greatest:
            greatest = v2
        v3 = abs(cy - low)
        if v3 > greatest:
            greatest = v3
        return greatest


class ATR(FastStreaming):
    """Streaming ATR, value for value equal to `atr`."""

    inputs = ("high", "low", "close")
    _normalize = False

    def __init__(self, period: int = 14) -> None:
        self.period = _period(type(self).__name__.lower(), period)
        self._inv = 1.0 / self.period
        self._prev_close: float | None = None
        self._count = 0  # true ranges seen
        self._total = 0.0
        self._prev = NAN

    def step(self, high: float, low: float, close: float) -> float:
        cy = self._prev_close
        self._prev_close = close
        if cy is None:
            return NAN
        tr = high - low
        v = abs(cy - high)
        if v > tr:
            tr = v
        v = abs(cy - low)
        if v > tr:
            tr = v
        p = self.period
        if p == 1:
            return tr
        self._count += 1
        if self._count < p:
            self._total += tr
            return NAN
        if self._count == p:
            self._total += tr
            prev = self._total / p
        else:
            prev = self._prev
            prev = prev + (tr - prev) * self._inv
        self._prev = prev
        if self._normalize:
            return (prev / close) * 100.0 if not (-1e-14 < close < 1e-14) else 0.0
        return prev


class NATR(ATR):
    """Streaming NATR, value for value equal to `natr`."""

    _normalize = True


_PERIOD = Param("period", int, 14, 1, 100_000, description="number of bars smoothed (Wilder)")

register(
    IndicatorSpec(
        name="trange",
        group="volatility",
        inputs=("high", "low", "close"),
        params=(),
        outputs=("trange",),
        kernel=trange,
        description="True range: the bar's full range including any gap from the previous close.",
        streaming=TRANGE,
        talib="TRANGE",
        talib_params={},
    )
)
register(
    IndicatorSpec(
        name="atr",
        group="volatility",
        inputs=("high", "low", "close"),
        params=(_PERIOD,),
        outputs=("atr",),
        kernel=atr,
        description="Average true range: Wilder-smoothed true range, the typical bar size in price units.",
        streaming=ATR,
        talib="ATR",
        talib_params={"period": "timeperiod"},
    )
)
register(
    IndicatorSpec(
        name="natr",
        group="volatility",
        inputs=("high", "low", "close"),
        params=(_PERIOD,),
        outputs=("natr",),
        kernel=natr,
        description="Normalized ATR: ATR as a percentage of the close, comparable across price levels.",
        streaming=NATR,
        talib="NATR",
        talib_params={"period": "timeperiod"},
    )
)
