"""The rule quadrant: trend x volatility, from a long moving average's slope and the ATR's percentile rank.

    slope_t = (SMA_t - SMA_{t-k}) / (k * ATR_t)     SMA of `trend_period` closes, k = `slope_bars`, Wilder ATR
    rank_t  = share of the last `vol_window` NATR values (ATR / close) that are <= NATR_t

Trend is "bear" when slope_t < -band and "bull" when slope_t > band (band = `hysteresis` / 10 ATR per bar); in
between it keeps its previous side. Volatility is "volatile" when rank_t >= vol_quantile + hysteresis / 2, "calm"
when rank_t <= vol_quantile - hysteresis / 2, else unchanged. The hysteresis stops the label from flickering
on the boundary. Regime code = 2 x bear + volatile: 0 bull_calm, 1 bull_volatile, 2 bear_calm, 3 bear_volatile.
The first regime appears when every input is warm (trend_period + slope_bars bars and vol_window NATR values).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LABELS = ("bull_calm", "bull_volatile", "bear_calm", "bear_volatile")
# state vector layout (one float array, shared by batch and streaming)
_N, _SUM, _ATR, _PREV, _TREND, _VOL, _SINCE, _LABEL = range(8)
STATE_SIZE = 8


def new_state(trend_period: int, slope_bars: int, vol_window: int) -> tuple[np.ndarray, ...]:
    st = np.array([0.0, 0.0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan])
    closes = np.zeros(trend_period)
    smas = np.full(slope_bars + 1, math.nan)
    natrs = np.full(vol_window, math.nan)
    return st, closes, smas, natrs


@njit(cache=True)
def rules_step(high: float, low: float, close: float, st: np.ndarray, closes: np.ndarray, smas: np.ndarray,
               natrs: np.ndarray, vol_period: int, vol_quantile: float, hysteresis: float) -> tuple[float, float,
                                                                                                     float]:
    """One bar; returns (regime code, change flag, bars since change), NaN while warming up."""
    n = int(st[_N])
    p = len(closes)
    k = len(smas) - 1
    w = len(natrs)
    # SMA via a running sum over a ring buffer
    if n >= p:
        st[_SUM] -= closes[n % p]
    closes[n % p] = close
    st[_SUM] += close
    sma = st[_SUM] / p if n + 1 >= p else math.nan
    smas[n % (k + 1)] = sma
    # Wilder ATR (the first value = mean true range of the first vol_period bars)
    prev = st[_PREV]
    tr = high - low if math.isnan(prev) else max(high - low, abs(high - prev), abs(low - prev))
    if n < vol_period:
        st[_ATR] = (0.0 if n == 0 else st[_ATR]) + tr
        atr = st[_ATR] / vol_period if n == vol_period - 1 else math.nan
        if n == vol_period - 1:
            st[_ATR] = atr
    else:
        atr = (st[_ATR] * (vol_period - 1) + tr) / vol_period
        st[_ATR] = atr
    st[_PREV] = close
    natr = atr / close if (atr == atr and close > 0.0) else math.nan
    natrs[n % w] = natr
    st[_N] = n + 1
    old = smas[(n + 1) % (k + 1)]  # the SMA k bars ago
    if math.isnan(sma) or math.isnan(old) or math.isnan(natr) or not (atr > 0.0):
        return math.nan, math.nan, math.nan
    below = 0
    count = 0
    for v in natrs:
        if v == v:
            count += 1
            if v <= natr:
                below += 1
    if count < w:
        return math.nan, math.nan, math.nan
    slope = (sma - old) / (k * atr)
    band = hysteresis / 10.0
    trend = st[_TREND]
    if slope > band or (math.isnan(trend) and slope >= 0.0):
        trend = 0.0
    elif slope < -band or (math.isnan(trend) and slope < 0.0):
        trend = 1.0
    rank = below / count
    vol = st[_VOL]
    if rank >= vol_quantile + hysteresis / 2.0 or (math.isnan(vol) and rank > vol_quantile):
        vol = 1.0
    elif rank <= vol_quantile - hysteresis / 2.0 or (math.isnan(vol) and rank <= vol_quantile):
        vol = 0.0
    st[_TREND] = trend
    st[_VOL] = vol
    label = 2.0 * trend + vol
    changed = 0.0
    if math.isnan(st[_LABEL]):
        st[_SINCE] = 0.0
    elif label != st[_LABEL]:
        st[_SINCE] = 0.0
        changed = 1.0
    else:
        st[_SINCE] += 1.0
    st[_LABEL] = label
    return label, changed, st[_SINCE]


@njit(cache=True)
def rules_rows(high: np.ndarray, low: np.ndarray, close: np.ndarray, st: np.ndarray, closes: np.ndarray,
               smas: np.ndarray, natrs: np.ndarray, vol_period: int, vol_quantile: float, hysteresis: float,
               out: np.ndarray) -> None:
    for i in range(len(close)):
        a, b, c = rules_step(high[i], low[i], close[i], st, closes, smas, natrs, vol_period, vol_quantile,
                             hysteresis)
        out[i, 0] = a
        out[i, 1] = b
        out[i, 2] = c


def rules_batch(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, trend_period: int, slope_bars: int,
                vol_period: int, vol_window: int, vol_quantile: float, hysteresis: float) -> np.ndarray:
    """(n, 3) = (regime, change flag, bars since change) for bars whose inputs are all valid."""
    out = np.empty((len(close), 3))
    st, closes, smas, natrs = new_state(trend_period, slope_bars, vol_window)
    rules_rows(high, low, close, st, closes, smas, natrs, vol_period, vol_quantile, hysteresis, out)
    return out
