"""Statistic functions, TA-Lib exact: VAR, STDDEV, AVGDEV, BETA, CORREL, LINEARREG(_SLOPE/_INTERCEPT/_ANGLE), TSF.

Two-series functions (BETA, CORREL) read inputs ('high', 'low') by default, which is TA-Lib's abstract-API
mapping of real0/real1; call the kernels directly with any two aligned series (e.g. an asset and an index).
VAR and STDDEV are population statistics; VAR, STDDEV, CORREL and BETA use accurate centered moments (see
`_rolling_moments`) like TA-Lib 0.8. BETA is the beta of the bar-to-bar returns of real0 against real1, as in
TA-Lib.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import NAN, arrays, period, real
from quantdesk.indicators._rolling_moments import (
    Moments,
    beta_value,
    correl_value,
    rolling_cov,
    rolling_cov_into,
    rolling_var_div,
)
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = [
    "avgdev", "beta", "correl", "linearreg", "linearreg_angle", "linearreg_intercept", "linearreg_slope",
    "stddev", "tsf", "var",
]  # fmt: skip

_EPS = 1e-14  # TA-Lib's TA_EPSILON

# ----------------------------------------------------------------------------------------------------------
# VAR / STDDEV
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _var(x, p):
    return rolling_var_div(x, p, p)  # = rolling_var(x, p) / p, divided as it is written


@njit(cache=True)
def _stddev(x, p, nbdev):
    out = _var(x, p)
    for i in range(p - 1, out.shape[0]):
        v = out[i]
        if v < 1e-14:
            out[i] = 0.0
        elif nbdev != 1.0:
            out[i] = math.sqrt(v) * nbdev
        else:
            out[i] = math.sqrt(v)
    return out


def var(close: np.ndarray, period: int = 5) -> np.ndarray:
    """Population variance over `period` bars (TA-Lib VAR; TA-Lib's nbdev argument is ignored there, so we
    do not expose it)."""
    p = _p("var", "period", period, 1)
    (x,) = arrays("var", close=close)
    return _var(x, p)


def stddev(close: np.ndarray, period: int = 5, nbdev: float = 1.0) -> np.ndarray:
    """Population standard deviation over `period` bars, times `nbdev` (TA-Lib STDDEV)."""
    p = _p("stddev", "period", period)
    k = real("stddev", "nbdev", nbdev)
    (x,) = arrays("stddev", close=close)
    return _stddev(x, p, k)


class VAR(FastStreaming):
    """Streaming variance (same centered moments as the kernel, O(1) amortised)."""

    inputs = ("close",)

    def __init__(self, period: int = 5) -> None:
        self.period = _p("var", "period", period, 1)
        self._m = Moments(self.period, False)

    def step(self, close: float) -> float:
        m = self._m
        if not m.push(close):
            return NAN
        return m.cxx / self.period


class STDDEV(FastStreaming):
    """Streaming standard deviation."""

    inputs = ("close",)

    def __init__(self, period: int = 5, nbdev: float = 1.0) -> None:
        self.period = _p("stddev", "period", period)
        self.nbdev = real("stddev", "nbdev", nbdev)
        self._m = Moments(self.period, False)

    def step(self, close: float) -> float:
        m = self._m
        if not m.push(close):
            return NAN
        v = m.cxx / self.period
        if v < 1e-14:
            return 0.0
        if self.nbdev != 1.0:
            return math.sqrt(v) * self.nbdev
        return math.sqrt(v)


# ----------------------------------------------------------------------------------------------------------
# AVGDEV
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _avgdev(x, p):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for today in range(p - 1, n):
        s = 0.0
        for i in range(p):
            s += x[today - i]
        dev = 0.0
        for i in range(p):
            dev += abs(x[today - i] - s / p)
        out[today] = dev / p
    return out


def avgdev(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average (mean absolute) deviation from the `period`-bar mean (TA-Lib AVGDEV)."""
    p = _p("avgdev", "period", period)
    (x,) = arrays("avgdev", close=close)
    return _avgdev(x, p)


class AVGDEV(FastStreaming):
    """Streaming AVGDEV (a mean absolute deviation needs the window: O(period) per bar)."""

    inputs = ("close",)

    def __init__(self, period: int = 14) -> None:
        self.period = _p("avgdev", "period", period)
        self._buf: deque = deque(maxlen=self.period)

    def step(self, close: float) -> float:
        buf = self._buf
        buf.append(close)
        p = self.period
        if len(buf) < p:
            return NAN
        s = 0.0
        for v in reversed(buf):
            s += v
        dev = 0.0
        for v in reversed(buf):
            dev += abs(v - s / p)
        return dev / p


# ----------------------------------------------------------------------------------------------------------
# BETA / CORREL
# ----------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _returns(x):
    n = x.shape[0]
    out = np.empty(max(n - 1, 0))
    for i in range(1, n):
        last = x[i - 1]
        if -1e-14 < last < 1e-14:
            out[i - 1] = 0.0
        else:
            out[i - 1] = (x[i] - last) / last
    return out


@njit(cache=True)
def _beta(x0, x1, p):
    n = x0.shape[0]
    if n <= p:
        return np.full(n, np.nan)
    out = np.empty(n)
    out[0] = np.nan
    rolling_cov_into(_returns(x0), _returns(x1), p, 1, out[1:])  # straight into the result, no copy
    return out


def beta(real0: np.ndarray, real1: np.ndarray, period: int = 5) -> np.ndarray:
    """Beta of real0's bar-to-bar returns regressed on real1's over `period` returns (TA-Lib BETA)."""
    p = _p("beta", "period", period, 1)
    a, b = arrays("beta", real0=real0, real1=real1)
    return _beta(a, b, p)


class BETA(FastStreaming):
    """Streaming BETA; reads ('high', 'low') from a bar, or call `step(real0, real1)` directly."""

    inputs = ("high", "low")

    def __init__(self, period: int = 5) -> None:
        self.period = _p("beta", "period", period, 1)
        self._m = Moments(self.period, True)
        self._last: tuple[float, float] | None = None

    def step(self, real0: float, real1: float) -> float:
        last = self._last
        self._last = (real0, real1)
        if last is None:
            return NAN
        lx, ly = last
        x = 0.0 if -1e-14 < lx < 1e-14 else (real0 - lx) / lx
        y = 0.0 if -1e-14 < ly < 1e-14 else (real1 - ly) / ly
        m = self._m
        if not m.push(x, y):
            return NAN
        return beta_value(m.cxx, m.cxy, m.mx, self.period)


@njit(cache=True)
def _correl(x0, x1, p):
    return rolling_cov(x0, x1, p, 0)


def correl(real0: np.ndarray, real1: np.ndarray, period: int = 30) -> np.ndarray:
    """Pearson correlation of real0 and real1 over `period` bars (TA-Lib CORREL; 0 for a flat window)."""
    p = _p("correl", "period", period, 1)
    a, b = arrays("correl", real0=real0, real1=real1)
    return _correl(a, b, p)


class CORREL(FastStreaming):
    """Streaming CORREL; reads ('high', 'low') from a bar, or call `step(real0, real1)` directly."""

    inputs = ("high", "low")

    def __init__(self, period: int = 30) -> None:
        self.period = _p("correl", "period", period, 1)
        self._m = Moments(self.period, True)

    def step(self, real0: float, real1: float) -> float:
        m = self._m
        if not m.push(real0, real1):
            return NAN
        return correl_value(m.cxx, m.cyy, m.cxy)


# ----------------------------------------------------------------------------------------------------------
# LINEARREG family and TSF
# ----------------------------------------------------------------------------------------------------------

_LR, _LR_SLOPE, _LR_INTERCEPT, _LR_ANGLE, _TSF = 0, 1, 2, 3, 4


@njit(cache=True)
def _lr_output(sy, sxy, fp, sum_x, divisor, kind):
    m = (fp * sxy - sum_x * sy) / divisor
    if kind == 1:
        return m
    if kind == 3:
        return math.atan(m) * (180.0 / 3.14159265358979323846)
    b = (sy - m * sum_x) / fp
    if kind == 0:
        return b + m * (fp - 1)
    if kind == 2:
        return b
    return b + m * fp


@njit(cache=True)
def _linreg(x, p, kind):
    """TA-Lib's least-squares fit over the last p bars (x = bars ago), with O(1) running sums that are
    recomputed exactly every p bars so that rounding cannot drift."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    fp = float(p)
    sum_x = fp * (fp - 1) * 0.5
    sum_x_sqr = fp * (fp - 1) * (fp * 2 - 1) / 6
    divisor = sum_x * sum_x - fp * sum_x_sqr
    sy = 0.0
    sxy = 0.0
    left = 0
    for today in range(p - 1, n):
        if left == 0:
            sy = 0.0
            sxy = 0.0
            for i in range(p - 1, -1, -1):
                v = x[today - i]
                sy += v
                sxy += float(i) * v
            left = p
        else:
            old = x[today - p]
            sxy = sxy - (fp - 1) * old + (sy - old)
            sy = sy - old + x[today]
        left -= 1
        out[today] = _lr_output(sy, sxy, fp, sum_x, divisor, kind)
    return out


def _linreg_value(sy: float, sxy: float, p: int, kind: int) -> float:
    fp = float(p)
    sum_x = fp * (fp - 1) * 0.5
    sum_x_sqr = fp * (fp - 1) * (fp * 2 - 1) / 6
    divisor = sum_x * sum_x - fp * sum_x_sqr
    m = (fp * sxy - sum_x * sy) / divisor
    if kind == _LR_SLOPE:
        return m
    if kind == _LR_ANGLE:
        return math.atan(m) * (180.0 / 3.14159265358979323846)
    b = (sy - m * sum_x) / fp
    if kind == _LR:
        return b + m * (fp - 1)
    if kind == _LR_INTERCEPT:
        return b
    return b + m * fp


def linearreg(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Linear regression: the end point of the least-squares line fitted to the last `period` bars."""
    return _linreg(*_lr_args("linearreg", close, period), _LR)


def linearreg_slope(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Slope (price per bar) of the least-squares line over the last `period` bars."""
    return _linreg(*_lr_args("linearreg_slope", close, period), _LR_SLOPE)


def linearreg_intercept(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Intercept of the least-squares line: its value at the oldest bar of the window."""
    return _linreg(*_lr_args("linearreg_intercept", close, period), _LR_INTERCEPT)


def linearreg_angle(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Angle in degrees of the least-squares line: atan(slope) (slope in price units per bar)."""
    return _linreg(*_lr_args("linearreg_angle", close, period), _LR_ANGLE)


def tsf(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Time series forecast: the least-squares line extended one bar ahead."""
    return _linreg(*_lr_args("tsf", close, period), _TSF)


def _lr_args(name: str, close: np.ndarray, value: object) -> tuple[np.ndarray, int]:
    p = _p(name, "period", value)
    (x,) = arrays(name, close=close)
    return x, p


class LINEARREG(FastStreaming):
    """Streaming linear regression (same running sums and exact refresh every `period` bars as the kernel)."""

    inputs = ("close",)
    _kind = _LR

    def __init__(self, period: int = 14) -> None:
        self.period = _p(type(self).__name__.lower(), "period", period)
        self._buf: deque = deque()
        self._sy = 0.0
        self._sxy = 0.0
        self._left = 0

    def step(self, close: float) -> float:
        buf = self._buf
        buf.append(close)
        p = self.period
        if len(buf) < p:
            return NAN
        if len(buf) > p:
            old = buf.popleft()
        if self._left == 0:
            sy = 0.0
            sxy = 0.0
            i = p
            for v in buf:
                i -= 1
                sy += v
                sxy += float(i) * v
            self._left = p
        else:
            sy = self._sy
            sxy = self._sxy - (float(p) - 1) * old + (sy - old)
            sy = sy - old + close
        self._left -= 1
        self._sy = sy
        self._sxy = sxy
        return _linreg_value(sy, sxy, p, self._kind)


class LINEARREG_SLOPE(LINEARREG):  # noqa: N801
    _kind = _LR_SLOPE


class LINEARREG_INTERCEPT(LINEARREG):  # noqa: N801
    _kind = _LR_INTERCEPT


class LINEARREG_ANGLE(LINEARREG):  # noqa: N801
    _kind = _LR_ANGLE


class TSF(LINEARREG):
    _kind = _TSF


# ----------------------------------------------------------------------------------------------------------
# registration
# ----------------------------------------------------------------------------------------------------------


def _p(indicator: str, name: str, value: object, minimum: int = 2) -> int:
    return period(indicator, name, value, minimum=minimum)


def _reg(name, inputs, params, kernel, streaming, description, overlay=False, talib_params=None):
    register(
        IndicatorSpec(
            name=name,
            group="statistic",
            inputs=inputs,
            params=params,
            outputs=(name,),
            kernel=kernel,
            description=description,
            streaming=streaming,
            talib=name.upper(),
            talib_params=talib_params if talib_params is not None else {"period": "timeperiod"},
            overlay=overlay,
        )
    )


def _period(default: int, minimum: int = 2, what: str = "number of bars") -> tuple[Param, ...]:
    return (Param("period", int, default, minimum, 100_000, description=what),)


_reg(
    "var",
    ("close",),
    _period(5, 1),
    var,
    VAR,
    "Variance of the close over the window (population, in price units squared).",
)
_reg(
    "stddev",
    ("close",),
    _period(5) + (Param("nbdev", float, 1.0, -1e6, 1e6, description="multiplier applied to the deviation"),),
    stddev,
    STDDEV,
    "Standard deviation of the close over the window (population), times nbdev.",
    talib_params={"period": "timeperiod", "nbdev": "nbdev"},
)
_reg(
    "avgdev",
    ("close",),
    _period(14),
    avgdev,
    AVGDEV,
    "Average deviation: mean absolute distance of the close from its window average.",
)
_reg(
    "beta",
    ("high", "low"),
    _period(5, 1, "number of returns"),
    beta,
    BETA,
    "Beta of series 0 vs series 1 (default high vs low; pass an asset and a benchmark to the kernel): "
    "slope of their bar-to-bar returns; 1 = moves one for one.",
)
_reg(
    "correl",
    ("high", "low"),
    _period(30, 1),
    correl,
    CORREL,
    "Pearson correlation (-1..1) of two series over the window (default high vs low; pass any two "
    "aligned series to the kernel).",
)
_reg(
    "linearreg",
    ("close",),
    _period(14),
    linearreg,
    LINEARREG,
    "Linear regression value: where the best-fit straight line through the window ends (a lag-free "
    "moving average).",
    overlay=True,
)
_reg(
    "linearreg_slope",
    ("close",),
    _period(14),
    linearreg_slope,
    LINEARREG_SLOPE,
    "Slope of the best-fit line through the window, in price units per bar; positive = uptrend.",
)
_reg(
    "linearreg_intercept",
    ("close",),
    _period(14),
    linearreg_intercept,
    LINEARREG_INTERCEPT,
    "Intercept of the best-fit line: its value at the oldest bar of the window.",
    overlay=True,
)
_reg(
    "linearreg_angle",
    ("close",),
    _period(14),
    linearreg_angle,
    LINEARREG_ANGLE,
    "Angle of the best-fit line in degrees, atan(slope per bar); depends on the price scale.",
)
_reg(
    "tsf",
    ("close",),
    _period(14),
    tsf,
    TSF,
    "Time series forecast: the best-fit line through the window projected one bar ahead.",
    overlay=True,
)
