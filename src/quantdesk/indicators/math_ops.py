"""Math operators over a rolling window, TA-Lib exact: MAX, MIN, MINMAX, MAXINDEX, MININDEX, MINMAXINDEX, SUM.

Index outputs are float arrays holding the absolute bar index (0-based, into the input) of the extreme, NaN
during warm-up, like TA-Lib; when the extreme value occurs more than once in the window the index follows
TA-Lib's scan (a full rescan picks the earliest, a new bar equal to the current extreme takes over).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import NAN, arrays, period
from quantdesk.indicators._rolling_extremes import MaxWindow, MinWindow, TaScan, rolling_max, rolling_min
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = ["max_", "min_", "minmax", "maxindex", "minindex", "minmaxindex", "sum_"]


@njit(cache=True)
def _scan_max(x, p):
    """TA-Lib's MAXINDEX scan: absolute index (as float) of the window maximum, NaN before p-1."""
    n = x.shape[0]
    idxs = np.full(n, np.nan)
    idx = -1
    best = 0.0
    for today in range(p - 1, n):
        trailing = today - p + 1
        tmp = x[today]
        if idx < trailing:
            idx = trailing
            best = x[idx]
            for i in range(idx + 1, today + 1):
                tmp = x[i]
                if tmp > best:
                    idx = i
                    best = tmp
        elif tmp >= best:
            idx = today
            best = tmp
        idxs[today] = idx
    return idxs


@njit(cache=True)
def _scan_min(x, p):
    """TA-Lib's MININDEX scan: absolute index (as float) of the window minimum, NaN before p-1."""
    n = x.shape[0]
    idxs = np.full(n, np.nan)
    idx = -1
    best = 0.0
    for today in range(p - 1, n):
        trailing = today - p + 1
        tmp = x[today]
        if idx < trailing:
            idx = trailing
            best = x[idx]
            for i in range(idx + 1, today + 1):
                tmp = x[i]
                if tmp < best:
                    idx = i
                    best = tmp
        elif tmp <= best:
            idx = today
            best = tmp
        idxs[today] = idx
    return idxs


@njit(cache=True)
def _sum(x, p):
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < p:
        return out
    total = 0.0
    for i in range(p - 1):
        total += x[i]
    for i in range(p - 1, n):
        total += x[i]
        out[i] = total
        total -= x[i - p + 1]
    return out


def _prep(name: str, close: np.ndarray, value: object) -> tuple[np.ndarray, int]:
    p = period(name, "period", value, minimum=2)
    (x,) = arrays(name, close=close)
    return x, p


def max_(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Highest value over the last `period` bars (TA-Lib MAX)."""
    x, p = _prep("max", close, period)
    return rolling_max(x, p)


def min_(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Lowest value over the last `period` bars (TA-Lib MIN)."""
    x, p = _prep("min", close, period)
    return rolling_min(x, p)


def minmax(close: np.ndarray, period: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) over the last `period` bars (TA-Lib MINMAX)."""
    x, p = _prep("minmax", close, period)
    return rolling_min(x, p), rolling_max(x, p)


def maxindex(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Bar index (absolute, as float) of the highest value over the last `period` bars (TA-Lib MAXINDEX)."""
    x, p = _prep("maxindex", close, period)
    return _scan_max(x, p)


def minindex(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Bar index (absolute, as float) of the lowest value over the last `period` bars (TA-Lib MININDEX)."""
    x, p = _prep("minindex", close, period)
    return _scan_min(x, p)


def minmaxindex(close: np.ndarray, period: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(index of lowest, index of highest) over the last `period` bars (TA-Lib MINMAXINDEX)."""
    x, p = _prep("minmaxindex", close, period)
    return _scan_min(x, p), _scan_max(x, p)


def sum_(close: np.ndarray, period: int = 30) -> np.ndarray:
    """Rolling sum over the last `period` bars (TA-Lib SUM)."""
    x, p = _prep("sum", close, period)
    return _sum(x, p)


_ALIASES = {"max": max_, "min": min_, "sum": sum_}


def __getattr__(name: str):  # noqa: ANN202 - PEP 562
    """`from quantdesk.indicators.math_ops import max, min, sum` work (without shadowing the builtins here)."""
    if name in _ALIASES:
        return _ALIASES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sp(name: str, value: object) -> int:
    return period(name, "period", value, minimum=2)


class MAX(FastStreaming):
    """Streaming MAX (monotonic deque)."""

    inputs = ("close",)

    def __init__(self, period: int = 30) -> None:
        self.period = _sp("max", period)
        self._w = MaxWindow(self.period)

    def step(self, close: float) -> float:
        w = self._w
        w.push(close)
        return w.dq[0][1] if w.i >= self.period - 1 else NAN


class MIN(FastStreaming):
    """Streaming MIN (monotonic deque)."""

    inputs = ("close",)

    def __init__(self, period: int = 30) -> None:
        self.period = _sp("min", period)
        self._w = MinWindow(self.period)

    def step(self, close: float) -> float:
        w = self._w
        w.push(close)
        return w.dq[0][1] if w.i >= self.period - 1 else NAN


class MINMAX(FastStreaming):
    """Streaming MINMAX: (min, max)."""

    inputs = ("close",)

    def __init__(self, period: int = 30) -> None:
        self.period = _sp("minmax", period)
        self._lo = MinWindow(self.period)
        self._hi = MaxWindow(self.period)

    def step(self, close: float) -> tuple[float, float]:
        self._lo.push(close)
        self._hi.push(close)
        if self._lo.i < self.period - 1:
            return NAN, NAN
        return self._lo.dq[0][1], self._hi.dq[0][1]


class MAXINDEX(FastStreaming):
    """Streaming MAXINDEX (TA-Lib's scan; the index counts bars since this object was created)."""

    inputs = ("close",)
    _is_max = True

    def __init__(self, period: int = 30) -> None:
        self.period = _sp(type(self).__name__.lower(), period)
        self._s = TaScan(self.period, self._is_max, True)

    def step(self, close: float) -> float:
        s = self._s
        s.push(close)
        return float(s.idx) if s.i >= self.period - 1 else NAN


class MININDEX(MAXINDEX):
    """Streaming MININDEX."""

    _is_max = False


class MINMAXINDEX(FastStreaming):
    """Streaming MINMAXINDEX: (minidx, maxidx)."""

    inputs = ("close",)

    def __init__(self, period: int = 30) -> None:
        self.period = _sp("minmaxindex", period)
        self._lo = TaScan(self.period, False, True)
        self._hi = TaScan(self.period, True, True)

    def step(self, close: float) -> tuple[float, float]:
        self._lo.push(close)
        self._hi.push(close)
        if self._lo.i < self.period - 1:
            return NAN, NAN
        return float(self._lo.idx), float(self._hi.idx)


class SUM(FastStreaming):
    """Streaming SUM (same running total as the kernel)."""

    inputs = ("close",)

    def __init__(self, period: int = 30) -> None:
        self.period = _sp("sum", period)
        self._buf: deque = deque()
        self._total = 0.0

    def step(self, close: float) -> float:
        buf = self._buf
        buf.append(close)
        total = self._total + close
        if len(buf) < self.period:
            self._total = total
            return NAN
        self._total = total - buf.popleft()
        return total


_PERIOD = (Param("period", int, 30, 2, 100_000, description="number of bars in the window"),)

for _name, _outputs, _kernel, _cls, _overlay, _desc in (
    ("max", ("max",), max_, MAX, True, "Highest value over the window (e.g. a Donchian upper band on close)."),
    ("min", ("min",), min_, MIN, True, "Lowest value over the window (e.g. a Donchian lower band on close)."),
    ("minmax", ("min", "max"), minmax, MINMAX, True, "Lowest and highest value over the window."),
    ("maxindex", ("maxindex",), maxindex, MAXINDEX, False,
     "Bar index (from the start of the data) where the window's highest value occurred."),
    ("minindex", ("minindex",), minindex, MININDEX, False,
     "Bar index (from the start of the data) where the window's lowest value occurred."),
    ("minmaxindex", ("minidx", "maxidx"), minmaxindex, MINMAXINDEX, False,
     "Bar indexes (from the start of the data) of the window's lowest and highest values."),
    ("sum", ("sum",), sum_, SUM, False, "Rolling sum of the last `period` values (e.g. volume over a window)."),
):  # fmt: skip
    register(
        IndicatorSpec(
            name=_name,
            group="math",
            inputs=("close",),
            params=_PERIOD,
            outputs=_outputs,
            kernel=_kernel,
            description=_desc,
            streaming=_cls,
            talib=_name.upper(),
            talib_params={"period": "timeperiod"},
            overlay=_overlay,
        )
    )
