"""Volume indicators, TA-Lib exact: AD (Chaikin accumulation/distribution), ADOSC, OBV."""

from __future__ import annotations

import numpy as np
from numba import njit

from quantdesk.indicators._kernel_inputs import NAN, arrays, period
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import FastStreaming

__all__ = ["ad", "adosc", "obv", "AD", "ADOSC", "OBV"]


@njit(cache=True)
def _ad(high, low, close, volume):
    n = high.shape[0]
    out = np.empty(n)
    a = 0.0
    for i in range(n):
        h = high[i]
        lo = low[i]
        t = h - lo
        c = close[i]
        if t > 0.0:
            a += (((c - lo) - (h - c)) / t) * volume[i]
        out[i] = a
    return out


@njit(cache=True)
def _adosc(high, low, close, volume, fast, slow):
    n = high.shape[0]
    out = np.full(n, np.nan)
    lookback = max(fast, slow) - 1
    if n <= lookback:
        return out
    fk = 2.0 / (fast + 1)
    fk1 = 1.0 - fk
    sk = 2.0 / (slow + 1)
    sk1 = 1.0 - sk
    a = 0.0
    fema = 0.0
    sema = 0.0
    for i in range(n):
        h = high[i]
        lo = low[i]
        t = h - lo
        c = close[i]
        if t > 0.0:
            a += (((c - lo) - (h - c)) / t) * volume[i]
        if i == 0:
            fema = a
            sema = a
        else:
            fema = (fk * a) + (fk1 * fema)
            sema = (sk * a) + (sk1 * sema)
        if i >= lookback:
            out[i] = fema - sema
    return out


@njit(cache=True)
def _obv(close, volume):
    n = close.shape[0]
    out = np.empty(n)
    if n == 0:
        return out
    prev_obv = volume[0]
    prev = close[0]
    for i in range(n):
        x = close[i]
        if x > prev:
            prev_obv += volume[i]
        elif x < prev:
            prev_obv -= volume[i]
        out[i] = prev_obv
        prev = x
    return out


def ad(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Chaikin accumulation/distribution line: running sum of close-location-value x volume."""
    h, lo, c, v = arrays("ad", high=high, low=low, close=close, volume=volume)
    return _ad(h, lo, c, v)


def adosc(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, fast: int = 3, slow: int = 10
) -> np.ndarray:
    """Chaikin A/D oscillator: EMA(fast) - EMA(slow) of the A/D line, both EMAs seeded with the first A/D value."""
    f = period("adosc", "fast", fast)
    s = period("adosc", "slow", slow)
    h, lo, c, v = arrays("adosc", high=high, low=low, close=close, volume=volume)
    return _adosc(h, lo, c, v, f, s)


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume: volume added on up closes, subtracted on down closes; starts at the first volume."""
    c, v = arrays("obv", close=close, volume=volume)
    return _obv(c, v)


class AD(FastStreaming):
    """Streaming A/D line."""

    inputs = ("high", "low", "close", "volume")

    def __init__(self) -> None:
        self._ad = 0.0

    def step(self, high: float, low: float, close: float, volume: float) -> float:
        t = high - low
        if t > 0.0:
            self._ad += (((close - low) - (high - close)) / t) * volume
        return self._ad


class ADOSC(FastStreaming):
    """Streaming Chaikin A/D oscillator."""

    inputs = ("high", "low", "close", "volume")

    def __init__(self, fast: int = 3, slow: int = 10) -> None:
        f = period("adosc", "fast", fast)
        s = period("adosc", "slow", slow)
        self._lookback = max(f, s) - 1
        self._fk = 2.0 / (f + 1)
        self._fk1 = 1.0 - self._fk
        self._sk = 2.0 / (s + 1)
        self._sk1 = 1.0 - self._sk
        self._ad = 0.0
        self._i = -1
        self._fema = 0.0
        self._sema = 0.0

    def step(self, high: float, low: float, close: float, volume: float) -> float:
        t = high - low
        a = self._ad
        if t > 0.0:
            a += (((close - low) - (high - close)) / t) * volume
            self._ad = a
        self._i += 1
        if self._i == 0:
            self._fema = a
            self._sema = a
        else:
            self._fema = (self._fk * a) + (self._fk1 * self._fema)
            self._sema = (self._sk * a) + (self._sk1 * self._sema)
        if self._i < self._lookback:
            return NAN
        return self._fema - self._sema


class OBV(FastStreaming):
    """Streaming on-balance volume."""

    inputs = ("close", "volume")

    def __init__(self) -> None:
        self._prev: float | None = None
        self._obv = 0.0

    def step(self, close: float, volume: float) -> float:
        prev = self._prev
        self._prev = close
        if prev is None:
            self._obv = volume
        elif close > prev:
            self._obv += volume
        elif close < prev:
            self._obv -= volume
        return self._obv


register(
    IndicatorSpec(
        name="ad",
        group="volume",
        inputs=("high", "low", "close", "volume"),
        params=(),
        outputs=("ad",),
        kernel=ad,
        description="Chaikin accumulation/distribution line: cumulative volume weighted by where each bar "
        "closed in its range; rising = accumulation.",
        streaming=AD,
        talib="AD",
        talib_params={},
    )
)
register(
    IndicatorSpec(
        name="adosc",
        group="volume",
        inputs=("high", "low", "close", "volume"),
        params=(
            Param("fast", int, 3, 2, 100_000, description="fast EMA period"),
            Param("slow", int, 10, 2, 100_000, description="slow EMA period"),
        ),
        outputs=("adosc",),
        kernel=adosc,
        description="Chaikin oscillator: fast minus slow EMA of the A/D line; momentum of accumulation.",
        streaming=ADOSC,
        talib="ADOSC",
        talib_params={"fast": "fastperiod", "slow": "slowperiod"},
    )
)
register(
    IndicatorSpec(
        name="obv",
        group="volume",
        inputs=("close", "volume"),
        params=(),
        outputs=("obv",),
        kernel=obv,
        description="On-balance volume: cumulative volume signed by the close-to-close direction.",
        streaming=OBV,
        talib="OBV",
        talib_params={},
    )
)
