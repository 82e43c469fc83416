"""Well-known indicators that TA-Lib lacks: VWAP, SuperTrend, Ichimoku, Keltner, Donchian, Hull MA, ZLEMA,
Heikin-Ashi, Vortex, Chandelier exit, Elder ray, Chaikin volatility, Awesome oscillator, Coppock, Choppiness.

Every kernel has a streaming twin that repeats the same float operations in the same order, so the two agree
value for value (tests/unit/indicators/test_extras.py also checks each against an independent pandas
reference). Moving averages and ATR come from `overlap` and `volatility` (TA-Lib semantics: EMA seeded with
the SMA of the first `period` values, Wilder ATR). Warm-up values are NaN; leading NaN in the inputs shift the
warm-up (the streaming objects ignore bars until every input is a number).

Timestamps (VWAP): the input named `timestamp` is the bar's open time in UTC epoch nanoseconds (int64, or a
float64 holding the same integer; whole-second bars are exact in float64). `registry.compute` reads it from a
`timestamp` column, or (once the registry supports it) from the DatetimeIndex.
"""

# ruff: noqa: E741  (l = low, as in TA-Lib)

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators.overlap import EMA, SMA, WMA, ema, sma, wma
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import StreamingIndicator
from quantdesk.indicators.validation import check_period
from quantdesk.indicators.volatility import ATR, atr

NAN = math.nan
NS_PER_DAY = 86_400_000_000_000
SESSIONS = ("1d", "1w", "none")


# ============================================================================================ helpers
def _arrays(indicator: str, **arrays) -> tuple[list[np.ndarray], int]:
    """Float64 arrays of one length, and the first index where all are finite (NaN inside -> DataError)."""
    out = []
    n = None
    first = 0
    for name, values in arrays.items():
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise DataError(f"{indicator}: inputs have different lengths")
        finite = np.isfinite(arr)
        if not finite.all():
            good = np.flatnonzero(finite)
            b = int(good[0]) if good.size else n
            inner = np.flatnonzero(~finite[b:])
            if inner.size:
                raise DataError(
                    f"{indicator}: input {name!r} has a NaN/inf value inside the data at index {b + int(inner[0])}"
                )
            first = max(first, b)
        out.append(arr)
    return out, first


def _pad(n: int, first: int, results: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    if first == 0:
        return results
    padded = []
    for r in results:
        full = np.full(n, np.nan)
        full[first:] = r
        padded.append(full)
    return tuple(padded)


def _run(indicator: str, kernel, arrays: dict, *args):
    arrs, first = _arrays(indicator, **arrays)
    n = arrs[0].shape[0]
    if first >= n:
        res = kernel(*[a[:0] for a in arrs], *args)
        res = res if isinstance(res, tuple) else (res,)
        out = tuple(np.full(n, np.nan) for _ in res)
    else:
        res = kernel(*[a[first:] for a in arrs], *args)
        res = res if isinstance(res, tuple) else (res,)
        out = _pad(n, first, res)
    return out if len(out) > 1 else out[0]


def _float(indicator: str, name: str, value, minimum: float, maximum: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{indicator}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ParameterError(f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}")
    return value


@njit(cache=True)
def _rolling_max(x, p):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(p - 1, n):
        m = x[i - p + 1]
        for j in range(i - p + 2, i + 1):
            if x[j] > m:
                m = x[j]
        out[i] = m
    return out


@njit(cache=True)
def _rolling_min(x, p):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(p - 1, n):
        m = x[i - p + 1]
        for j in range(i - p + 2, i + 1):
            if x[j] < m:
                m = x[j]
        out[i] = m
    return out


@njit(cache=True)
def _true_range(h, l, c):
    """True range from bar 1 on (bar 0 has no previous close: NaN), as TA-Lib's TRANGE."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        tr = h[i] - l[i]
        v = abs(c[i - 1] - h[i])
        if v > tr:
            tr = v
        v = abs(c[i - 1] - l[i])
        if v > tr:
            tr = v
        out[i] = tr
    return out


def _tr_value(h: float, l: float, prev_close: float) -> float:
    tr = h - l
    v = abs(prev_close - h)
    if v > tr:
        tr = v
    v = abs(prev_close - l)
    if v > tr:
        tr = v
    return tr


class _Streaming(StreamingIndicator):
    """Ignores bars until every input is a number (mirrors the batch kernels' leading-NaN handling)."""

    n_outputs = 1

    def step(self, *values: float):
        if not getattr(self, "_started", False):
            if any(v != v for v in values):
                return NAN if self.n_outputs == 1 else (NAN,) * self.n_outputs
            self._started = True
        return self._step(*values)

    # each subclass defines `_step(self, <one float per input>)` (the arity differs, as for `step`)
    _step: Callable[..., Any]


def _window_max(d: Iterable[float]) -> float:
    it = iter(d)
    m = next(it)
    for v in it:
        if v > m:
            m = v
    return m


def _window_min(d: Iterable[float]) -> float:
    it = iter(d)
    m = next(it)
    for v in it:
        if v < m:
            m = v
    return m


def _window_sum(d: deque) -> float:
    s = 0.0
    for v in d:
        s += v
    return s


# ============================================================================================ VWAP
def session_ids(timestamp: np.ndarray, session: str = "1d") -> np.ndarray:
    """Session number of each bar: UTC day, ISO week (Monday 00:00 UTC) or 0 for 'none'."""
    if isinstance(timestamp, (pd.DatetimeIndex, pd.Series)) or np.asarray(timestamp).dtype == object:
        timestamp = pd.DatetimeIndex(timestamp).tz_convert("UTC").as_unit("ns").asi8
    ts = np.asarray(timestamp)
    if np.issubdtype(ts.dtype, np.datetime64):
        ts = ts.astype("datetime64[ns]").astype(np.int64)
    elif np.issubdtype(ts.dtype, np.floating):
        if not np.isfinite(ts).all():
            raise DataError("vwap: input 'timestamp' has NaN values")
        ts = ts.astype(np.int64)
    else:
        ts = ts.astype(np.int64)
    if session == "1d":
        return ts // NS_PER_DAY
    if session == "1w":
        return (ts // NS_PER_DAY + 3) // 7  # 1970-01-01 was a Thursday
    if session == "none":
        return np.zeros(ts.shape[0], dtype=np.int64)
    raise ParameterError(f"vwap: parameter 'session' must be one of {list(SESSIONS)}, got {session!r}")


def _session_id(ts: float, session: str) -> int:
    t = int(ts)
    if session == "1d":
        return t // NS_PER_DAY
    if session == "1w":
        return (t // NS_PER_DAY + 3) // 7
    return 0


@njit(cache=True)
def _vwap(h, l, c, v, sid):
    n = c.shape[0]
    out = np.full(n, np.nan)
    pv = 0.0
    vol = 0.0
    for i in range(n):
        if i == 0 or sid[i] != sid[i - 1]:
            pv = 0.0
            vol = 0.0
        tp = (h[i] + l[i] + c[i]) / 3.0
        pv += tp * v[i]
        vol += v[i]
        if vol > 0.0:
            out[i] = pv / vol
    return out


def vwap(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    timestamp: np.ndarray,
    session: str = "1d",
) -> np.ndarray:
    """Volume-weighted average of the typical price (h+l+c)/3, restarting at each UTC session.

    `session`: '1d' (UTC day), '1w' (week starting Monday 00:00 UTC) or 'none' (cumulative from the first bar).
    NaN until the session has traded volume.
    """
    if session not in SESSIONS:
        raise ParameterError(f"vwap: parameter 'session' must be one of {list(SESSIONS)}, got {session!r}")
    sid = session_ids(timestamp, session)
    if sid.shape[0] != np.asarray(close).shape[0]:
        raise DataError("vwap: 'timestamp' and prices have different lengths")
    arrs, first = _arrays("vwap", high=high, low=low, close=close, volume=volume)
    n = arrs[0].shape[0]
    out = np.full(n, np.nan)
    if first < n:
        h, lo, c, v = (a[first:] for a in arrs)
        out[first:] = _vwap(h, lo, c, v, np.ascontiguousarray(sid[first:]))
    return out


class VWAP(_Streaming):
    inputs = ("high", "low", "close", "volume", "timestamp")

    def __init__(self, session: str = "1d") -> None:
        if session not in SESSIONS:
            raise ParameterError(f"vwap: parameter 'session' must be one of {list(SESSIONS)}, got {session!r}")
        self.session = session
        self._sid: int | None = None
        self._pv = 0.0
        self._vol = 0.0

    def _step(self, high, low, close, volume, timestamp):
        sid = _session_id(timestamp, self.session)
        if sid != self._sid:
            self._sid = sid
            self._pv = 0.0
            self._vol = 0.0
        tp = (high + low + close) / 3.0
        self._pv += tp * volume
        self._vol += volume
        return self._pv / self._vol if self._vol > 0.0 else NAN


# ============================================================================================ SuperTrend
@njit(cache=True)
def _supertrend(h, l, c, a, m):
    n = c.shape[0]
    trend = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    started = False
    fub = 0.0
    flb = 0.0
    d = 1
    for i in range(n):
        if math.isnan(a[i]):
            continue
        hl2 = (h[i] + l[i]) / 2.0
        bub = hl2 + m * a[i]
        blb = hl2 - m * a[i]
        if not started:
            fub = bub
            flb = blb
            d = 1
            started = True
        else:
            pub = fub
            plb = flb
            fub = bub if (bub < pub or c[i - 1] > pub) else pub
            flb = blb if (blb > plb or c[i - 1] < plb) else plb
            if c[i] > pub:
                d = 1
            elif c[i] < plb:
                d = -1
        trend[i] = flb if d == 1 else fub
        direction[i] = d
    return trend, direction


def supertrend(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 10, multiplier: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend: ATR bands around (h+l)/2 that only tighten; `trend` is the active band, `direction` +1/-1."""
    period = check_period("supertrend", "period", period, 1)
    multiplier = _float("supertrend", "multiplier", multiplier, 0.0, 100.0)

    def kern(h, l, c):
        return _supertrend(h, l, c, atr(h, l, c, period), multiplier)

    return _run("supertrend", kern, {"high": high, "low": low, "close": close})


class SuperTrend(_Streaming):
    inputs = ("high", "low", "close")
    n_outputs = 2

    def __init__(self, period: int = 10, multiplier: float = 3.0) -> None:
        self._atr = ATR(check_period("supertrend", "period", period, 1))
        self.multiplier = _float("supertrend", "multiplier", multiplier, 0.0, 100.0)
        self._started_bands = False
        self._fub = self._flb = 0.0
        self._d = 1
        self._prev_close = NAN

    def _step(self, high, low, close):
        a = self._atr.step(high, low, close)
        prev_close = self._prev_close
        self._prev_close = close
        if a != a:
            return NAN, NAN
        m = self.multiplier
        hl2 = (high + low) / 2.0
        bub = hl2 + m * a
        blb = hl2 - m * a
        if not self._started_bands:
            self._fub, self._flb, self._d = bub, blb, 1
            self._started_bands = True
        else:
            pub, plb = self._fub, self._flb
            self._fub = bub if (bub < pub or prev_close > pub) else pub
            self._flb = blb if (blb > plb or prev_close < plb) else plb
            if close > pub:
                self._d = 1
            elif close < plb:
                self._d = -1
        return (self._flb if self._d == 1 else self._fub), float(self._d)


# ============================================================================================ Ichimoku
@njit(cache=True)
def _ichimoku(h, l, tp, kp, sp, disp):
    n = h.shape[0]
    tenkan = (_rolling_max(h, tp) + _rolling_min(l, tp)) / 2.0
    kijun = (_rolling_max(h, kp) + _rolling_min(l, kp)) / 2.0
    a_raw = (tenkan + kijun) / 2.0
    b_raw = (_rolling_max(h, sp) + _rolling_min(l, sp)) / 2.0
    senkou_a = np.full(n, np.nan)
    senkou_b = np.full(n, np.nan)
    for i in range(disp, n):
        senkou_a[i] = a_raw[i - disp]
        senkou_b[i] = b_raw[i - disp]
    return tenkan, kijun, senkou_a, senkou_b


def ichimoku(
    high: np.ndarray,
    low: np.ndarray,
    tenkan: int = 9,
    kijun: int = 26,
    senkou: int = 52,
    displacement: int = 26,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ichimoku cloud without look-ahead.

    `senkou_a`/`senkou_b` at bar i are the spans computed `displacement` bars earlier (the cloud drawn ahead
    of price, read at the bar it is drawn over): only past data. The chikou span (today's close drawn
    `displacement` bars in the past) is deliberately omitted: placed at past indices it leaks the future
    into any signal; compare `close` with `close` shifted by `displacement` instead.
    """
    tp = check_period("ichimoku", "tenkan", tenkan, 1)
    kp = check_period("ichimoku", "kijun", kijun, 1)
    sp = check_period("ichimoku", "senkou", senkou, 1)
    disp = check_period("ichimoku", "displacement", displacement, 0)
    return _run("ichimoku", lambda h, l: _ichimoku(h, l, tp, kp, sp, disp), {"high": high, "low": low})


class Ichimoku(_Streaming):
    inputs = ("high", "low")
    n_outputs = 4

    def __init__(self, tenkan: int = 9, kijun: int = 26, senkou: int = 52, displacement: int = 26) -> None:
        self.tp = check_period("ichimoku", "tenkan", tenkan, 1)
        self.kp = check_period("ichimoku", "kijun", kijun, 1)
        self.sp = check_period("ichimoku", "senkou", senkou, 1)
        self.disp = check_period("ichimoku", "displacement", displacement, 0)
        size = max(self.tp, self.kp, self.sp)
        self._h: deque = deque(maxlen=size)
        self._l: deque = deque(maxlen=size)
        self._spans: deque = deque(maxlen=self.disp + 1)

    def _mid(self, p: int) -> float:
        if len(self._h) < p:
            return NAN
        hs = list(self._h)[-p:]
        ls = list(self._l)[-p:]
        return (_window_max(hs) + _window_min(ls)) / 2.0

    def _step(self, high, low):
        self._h.append(high)
        self._l.append(low)
        t = self._mid(self.tp)
        k = self._mid(self.kp)
        self._spans.append(((t + k) / 2.0, self._mid(self.sp)))
        if len(self._spans) > self.disp:
            a, b = self._spans[0]
        else:
            a = b = NAN
        return t, k, a, b


# ============================================================================================ Keltner
def keltner(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int = 20,
    atr_period: int = 10,
    multiplier: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keltner channels: EMA(close, period) +- multiplier * ATR(atr_period)."""
    period = check_period("keltner", "period", period, 1)
    atr_period = check_period("keltner", "atr_period", atr_period, 1)
    multiplier = _float("keltner", "multiplier", multiplier, 0.0, 100.0)

    def kern(h, l, c):
        mid = ema(c, period)
        width = multiplier * atr(h, l, c, atr_period)
        return mid + width, mid, mid - width

    return _run("keltner", kern, {"high": high, "low": low, "close": close})


class Keltner(_Streaming):
    inputs = ("high", "low", "close")
    n_outputs = 3

    def __init__(self, period: int = 20, atr_period: int = 10, multiplier: float = 2.0) -> None:
        self._ema = EMA(check_period("keltner", "period", period, 1))
        self._atr = ATR(check_period("keltner", "atr_period", atr_period, 1))
        self.multiplier = _float("keltner", "multiplier", multiplier, 0.0, 100.0)

    def _step(self, high, low, close):
        mid = self._ema.step(close)
        width = self.multiplier * self._atr.step(high, low, close)
        return mid + width, mid, mid - width


# ============================================================================================ Donchian
def donchian(high: np.ndarray, low: np.ndarray, period: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Donchian channels: highest high and lowest low of the last `period` bars (current included), and their middle."""
    period = check_period("donchian", "period", period, 1)

    def kern(h, l):
        upper = _rolling_max(h, period)
        lower = _rolling_min(l, period)
        return upper, (upper + lower) / 2.0, lower

    return _run("donchian", kern, {"high": high, "low": low})


class Donchian(_Streaming):
    inputs = ("high", "low")
    n_outputs = 3

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("donchian", "period", period, 1)
        self._h: deque = deque(maxlen=self.period)
        self._l: deque = deque(maxlen=self.period)

    def _step(self, high, low):
        self._h.append(high)
        self._l.append(low)
        if len(self._h) < self.period:
            return NAN, NAN, NAN
        upper = _window_max(self._h)
        lower = _window_min(self._l)
        return upper, (upper + lower) / 2.0, lower


# ============================================================================================ Hull MA
def _hma_periods(indicator: str, period: int) -> tuple[int, int, int]:
    period = check_period(indicator, "period", period, 2)
    return period, period // 2, int(math.sqrt(period))


def hma(close: np.ndarray, period: int = 16) -> np.ndarray:
    """Hull moving average: WMA(2*WMA(n/2) - WMA(n), sqrt(n))."""
    p, half, sq = _hma_periods("hma", period)
    return _run("hma", lambda c: wma(2.0 * wma(c, half) - wma(c, p), sq), {"close": close})


class HMA(_Streaming):
    inputs = ("close",)

    def __init__(self, period: int = 16) -> None:
        p, half, sq = _hma_periods("hma", period)
        self._half = WMA(half)
        self._full = WMA(p)
        self._final = WMA(sq)

    def _step(self, close):
        a = self._half.step(close)
        b = self._full.step(close)
        if a != a or b != b:
            return NAN
        return self._final.step(2.0 * a - b)


# ============================================================================================ ZLEMA
def zlema(close: np.ndarray, period: int = 20) -> np.ndarray:
    """Zero-lag EMA: EMA of close + (close - close[lag]) with lag = (period-1)//2."""
    period = check_period("zlema", "period", period, 1)
    lag = (period - 1) // 2

    def kern(c):
        d = np.full(c.shape[0], np.nan)
        if c.shape[0] > lag:
            d[lag:] = c[lag:] + (c[lag:] - c[: c.shape[0] - lag])
        return ema(d, period)

    return _run("zlema", kern, {"close": close})


class ZLEMA(_Streaming):
    inputs = ("close",)

    def __init__(self, period: int = 20) -> None:
        self.period = check_period("zlema", "period", period, 1)
        self.lag = (self.period - 1) // 2
        self._hist: deque = deque(maxlen=self.lag + 1)
        self._ema = EMA(self.period)

    def _step(self, close):
        self._hist.append(close)
        if len(self._hist) <= self.lag:
            return NAN
        return self._ema.step(close + (close - self._hist[0]))


# ============================================================================================ Heikin-Ashi
@njit(cache=True)
def _heikin_ashi(o, h, l, c):
    n = c.shape[0]
    ho = np.empty(n)
    hh = np.empty(n)
    hl = np.empty(n)
    hc = np.empty(n)
    for i in range(n):
        hc[i] = (o[i] + h[i] + l[i] + c[i]) / 4.0
        if i == 0:
            ho[i] = (o[i] + c[i]) / 2.0
        else:
            ho[i] = (ho[i - 1] + hc[i - 1]) / 2.0
        hh[i] = max(h[i], max(ho[i], hc[i]))
        hl[i] = min(l[i], min(ho[i], hc[i]))
    return ho, hh, hl, hc


def heikin_ashi(
    open: np.ndarray,  # noqa: A002
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heikin-Ashi candles: ha_close = (o+h+l+c)/4, ha_open = (prev ha_open + prev ha_close)/2 (first: (o+c)/2)."""
    return _run("heikin_ashi", _heikin_ashi, {"open": open, "high": high, "low": low, "close": close})


class HeikinAshi(_Streaming):
    inputs = ("open", "high", "low", "close")
    n_outputs = 4

    def __init__(self) -> None:
        self._prev: tuple[float, float] | None = None

    def _step(self, open, high, low, close):  # noqa: A002
        hc = (open + high + low + close) / 4.0
        ho = (open + close) / 2.0 if self._prev is None else (self._prev[0] + self._prev[1]) / 2.0
        self._prev = (ho, hc)
        return ho, max(high, max(ho, hc)), min(low, min(ho, hc)), hc


# ============================================================================================ Vortex
@njit(cache=True)
def _vortex(h, l, c, p):
    n = c.shape[0]
    tr = _true_range(h, l, c)
    vmp = np.full(n, np.nan)
    vmm = np.full(n, np.nan)
    for i in range(1, n):
        vmp[i] = abs(h[i] - l[i - 1])
        vmm[i] = abs(l[i] - h[i - 1])
    plus = np.full(n, np.nan)
    minus = np.full(n, np.nan)
    for i in range(p, n):
        sp = 0.0
        sm = 0.0
        st = 0.0
        for j in range(i - p + 1, i + 1):
            sp += vmp[j]
            sm += vmm[j]
            st += tr[j]
        if st > 0.0:
            plus[i] = sp / st
            minus[i] = sm / st
    return plus, minus


def vortex(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """Vortex indicator: VI+ = sum|h - prev l| / sum TR, VI- = sum|l - prev h| / sum TR over `period` bars."""
    period = check_period("vortex", "period", period, 1)
    return _run("vortex", lambda h, l, c: _vortex(h, l, c, period), {"high": high, "low": low, "close": close})


class Vortex(_Streaming):
    inputs = ("high", "low", "close")
    n_outputs = 2

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("vortex", "period", period, 1)
        self._prev: tuple[float, float, float] | None = None
        self._vp: deque = deque(maxlen=self.period)
        self._vm: deque = deque(maxlen=self.period)
        self._tr: deque = deque(maxlen=self.period)

    def _step(self, high, low, close):
        prev = self._prev
        self._prev = (high, low, close)
        if prev is None:
            return NAN, NAN
        self._vp.append(abs(high - prev[1]))
        self._vm.append(abs(low - prev[0]))
        self._tr.append(_tr_value(high, low, prev[2]))
        if len(self._tr) < self.period:
            return NAN, NAN
        st = _window_sum(self._tr)
        if not st > 0.0:
            return NAN, NAN
        return _window_sum(self._vp) / st, _window_sum(self._vm) / st


# ============================================================================================ Chandelier exit
def chandelier(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 22, multiplier: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Chandelier exit: long = highest high(period) - m*ATR(period), short = lowest low(period) + m*ATR(period)."""
    period = check_period("chandelier", "period", period, 1)
    multiplier = _float("chandelier", "multiplier", multiplier, 0.0, 100.0)

    def kern(h, l, c):
        width = multiplier * atr(h, l, c, period)
        return _rolling_max(h, period) - width, _rolling_min(l, period) + width

    return _run("chandelier", kern, {"high": high, "low": low, "close": close})


class Chandelier(_Streaming):
    inputs = ("high", "low", "close")
    n_outputs = 2

    def __init__(self, period: int = 22, multiplier: float = 3.0) -> None:
        self.period = check_period("chandelier", "period", period, 1)
        self.multiplier = _float("chandelier", "multiplier", multiplier, 0.0, 100.0)
        self._atr = ATR(self.period)
        self._h: deque = deque(maxlen=self.period)
        self._l: deque = deque(maxlen=self.period)

    def _step(self, high, low, close):
        width = self.multiplier * self._atr.step(high, low, close)
        self._h.append(high)
        self._l.append(low)
        if len(self._h) < self.period:
            return NAN, NAN
        return _window_max(self._h) - width, _window_min(self._l) + width


# ============================================================================================ Elder ray
def elder_ray(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 13
) -> tuple[np.ndarray, np.ndarray]:
    """Elder ray: bull power = high - EMA(close), bear power = low - EMA(close)."""
    period = check_period("elder_ray", "period", period, 1)

    def kern(h, l, c):
        e = ema(c, period)
        return h - e, l - e

    return _run("elder_ray", kern, {"high": high, "low": low, "close": close})


class ElderRay(_Streaming):
    inputs = ("high", "low", "close")
    n_outputs = 2

    def __init__(self, period: int = 13) -> None:
        self._ema = EMA(check_period("elder_ray", "period", period, 1))

    def _step(self, high, low, close):
        e = self._ema.step(close)
        return high - e, low - e


# ============================================================================================ Chaikin volatility
def chaikin_volatility(high: np.ndarray, low: np.ndarray, ema_period: int = 10, roc_period: int = 10) -> np.ndarray:
    """Chaikin volatility: percent change over `roc_period` bars of EMA(high - low, ema_period)."""
    ep = check_period("chaikin_volatility", "ema_period", ema_period, 1)
    rp = check_period("chaikin_volatility", "roc_period", roc_period, 1)

    def kern(h, l):
        e = ema(h - l, ep)
        out = np.full(e.shape[0], np.nan)
        if e.shape[0] > rp:
            prev = e[: e.shape[0] - rp]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[rp:] = np.where(prev != 0.0, (e[rp:] - prev) / prev * 100.0, np.nan)
        return out

    return _run("chaikin_volatility", kern, {"high": high, "low": low})


class ChaikinVolatility(_Streaming):
    inputs = ("high", "low")

    def __init__(self, ema_period: int = 10, roc_period: int = 10) -> None:
        self._ema = EMA(check_period("chaikin_volatility", "ema_period", ema_period, 1))
        rp = check_period("chaikin_volatility", "roc_period", roc_period, 1)
        self._hist: deque = deque(maxlen=rp + 1)

    def _step(self, high, low):
        e = self._ema.step(high - low)
        self._hist.append(e)
        if len(self._hist) < (self._hist.maxlen or 0):  # maxlen is always set here
            return NAN
        prev = self._hist[0]
        if prev != prev or e != e or prev == 0.0:
            return NAN
        return (e - prev) / prev * 100.0


# ============================================================================================ Awesome oscillator
def awesome_oscillator(high: np.ndarray, low: np.ndarray, fast: int = 5, slow: int = 34) -> np.ndarray:
    """Awesome oscillator (Bill Williams): SMA(median price, fast) - SMA(median price, slow)."""
    fast = check_period("awesome_oscillator", "fast", fast, 1)
    slow = check_period("awesome_oscillator", "slow", slow, 1)

    def kern(h, l):
        med = (h + l) / 2.0
        return sma(med, fast) - sma(med, slow)

    return _run("awesome_oscillator", kern, {"high": high, "low": low})


class AwesomeOscillator(_Streaming):
    inputs = ("high", "low")

    def __init__(self, fast: int = 5, slow: int = 34) -> None:
        self._fast = SMA(check_period("awesome_oscillator", "fast", fast, 1))
        self._slow = SMA(check_period("awesome_oscillator", "slow", slow, 1))

    def _step(self, high, low):
        med = (high + low) / 2.0
        return self._fast.step(med) - self._slow.step(med)


# ============================================================================================ Coppock
def coppock(close: np.ndarray, wma_period: int = 10, roc_long: int = 14, roc_short: int = 11) -> np.ndarray:
    """Coppock curve: WMA(ROC(long) + ROC(short), wma_period), ROC in percent."""
    wp = check_period("coppock", "wma_period", wma_period, 1)
    rl = check_period("coppock", "roc_long", roc_long, 1)
    rs = check_period("coppock", "roc_short", roc_short, 1)

    def roc(c, p):
        out = np.full(c.shape[0], np.nan)
        if c.shape[0] > p:
            prev = c[: c.shape[0] - p]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[p:] = (c[p:] - prev) / prev * 100.0
        return out

    def kern(c):
        s = roc(c, rl) + roc(c, rs)
        if not np.isfinite(s[max(rl, rs) :]).all():
            raise DataError("coppock: close has zero values (rate of change undefined)")
        return wma(s, wp)

    return _run("coppock", kern, {"close": close})


class Coppock(_Streaming):
    inputs = ("close",)

    def __init__(self, wma_period: int = 10, roc_long: int = 14, roc_short: int = 11) -> None:
        self._wma = WMA(check_period("coppock", "wma_period", wma_period, 1))
        self.rl = check_period("coppock", "roc_long", roc_long, 1)
        self.rs = check_period("coppock", "roc_short", roc_short, 1)
        self._hist: deque = deque(maxlen=max(self.rl, self.rs) + 1)

    def _step(self, close):
        self._hist.append(close)
        if len(self._hist) < (self._hist.maxlen or 0):  # maxlen is always set here
            return NAN
        pl = self._hist[-1 - self.rl]
        ps = self._hist[-1 - self.rs]
        return self._wma.step((close - pl) / pl * 100.0 + (close - ps) / ps * 100.0)


# ============================================================================================ Choppiness
@njit(cache=True)
def _choppiness(h, l, c, p):
    n = c.shape[0]
    tr = _true_range(h, l, c)
    out = np.full(n, np.nan)
    lp = math.log10(p)
    for i in range(p, n):
        s = 0.0
        hh = h[i - p + 1]
        ll = l[i - p + 1]
        for j in range(i - p + 1, i + 1):
            s += tr[j]
            if h[j] > hh:
                hh = h[j]
            if l[j] < ll:
                ll = l[j]
        rng = hh - ll
        if rng > 0.0:
            out[i] = 100.0 * math.log10(s / rng) / lp
    return out


def choppiness(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Choppiness index: 100 * log10(sum TR / (highest high - lowest low)) / log10(period); ~100 choppy, ~0 trending."""
    period = check_period("choppiness", "period", period, 2)
    return _run("choppiness", lambda h, l, c: _choppiness(h, l, c, period), {"high": high, "low": low, "close": close})


class Choppiness(_Streaming):
    inputs = ("high", "low", "close")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period("choppiness", "period", period, 2)
        self._lp = math.log10(self.period)
        self._prev_close: float | None = None
        self._tr: deque = deque(maxlen=self.period)
        self._h: deque = deque(maxlen=self.period)
        self._l: deque = deque(maxlen=self.period)

    def _step(self, high, low, close):
        pc = self._prev_close
        self._prev_close = close
        if pc is None:
            return NAN
        self._tr.append(_tr_value(high, low, pc))
        self._h.append(high)
        self._l.append(low)
        if len(self._tr) < self.period:
            return NAN
        rng = _window_max(self._h) - _window_min(self._l)
        if not rng > 0.0:
            return NAN
        return 100.0 * math.log10(_window_sum(self._tr) / rng) / self._lp


# ============================================================================================ registry
def _p(name: str, default: int, lo: int = 1, hi: int = 100_000, desc: str = "number of bars") -> Param:
    return Param(name, int, default, lo, hi, description=desc)


def _m(default: float, desc: str = "ATR multiplier") -> Param:
    return Param("multiplier", float, default, 0.0, 100.0, description=desc)


_SPECS = [
    IndicatorSpec(
        "vwap", "volume", ("high", "low", "close", "volume", "timestamp"),
        (Param("session", str, "1d", choices=SESSIONS, description="reset: '1d' UTC day, '1w' UTC week, 'none'"),),
        ("vwap",), vwap,
        "Volume-weighted average price of (h+l+c)/3, reset each UTC session (needs the bar timestamps).",
        streaming=VWAP, overlay=True,
    ),
    IndicatorSpec(
        "supertrend", "trend", ("high", "low", "close"), (_p("period", 10, desc="ATR period"), _m(3.0)),
        ("trend", "direction"), supertrend,
        "SuperTrend: trailing ATR band; direction +1 (up, trend = lower band) or -1 (down, upper band).",
        streaming=SuperTrend, overlay=True,
    ),
    IndicatorSpec(
        "ichimoku", "trend", ("high", "low"),
        (_p("tenkan", 9), _p("kijun", 26), _p("senkou", 52),
         _p("displacement", 26, lo=0, desc="bars the cloud is drawn ahead")),
        ("tenkan", "kijun", "senkou_a", "senkou_b"), ichimoku,
        "Ichimoku cloud (no look-ahead: spans shifted forward; the chikou span is omitted on purpose).",
        streaming=Ichimoku, overlay=True,
    ),
    IndicatorSpec(
        "keltner", "volatility", ("high", "low", "close"),
        (_p("period", 20, desc="EMA period"), _p("atr_period", 10, desc="ATR period"), _m(2.0)),
        ("upper", "middle", "lower"), keltner, "Keltner channels: EMA(close) +- multiplier * ATR.",
        streaming=Keltner, overlay=True,
    ),
    IndicatorSpec(
        "donchian", "volatility", ("high", "low"), (_p("period", 20),), ("upper", "middle", "lower"), donchian,
        "Donchian channels: highest high, lowest low of the last N bars and their midpoint.",
        streaming=Donchian, overlay=True,
    ),
    IndicatorSpec(
        "hma", "overlap", ("close",), (_p("period", 16, lo=2),), ("hma",), hma,
        "Hull moving average: WMA(2*WMA(n/2) - WMA(n), sqrt(n)).", streaming=HMA, overlay=True,
    ),
    IndicatorSpec(
        "zlema", "overlap", ("close",), (_p("period", 20),), ("zlema",), zlema,
        "Zero-lag EMA: EMA of close + (close - close[(n-1)/2 bars ago]).", streaming=ZLEMA, overlay=True,
    ),
    IndicatorSpec(
        "heikin_ashi", "overlap", ("open", "high", "low", "close"), (),
        ("ha_open", "ha_high", "ha_low", "ha_close"), heikin_ashi,
        "Heikin-Ashi candles (smoothed open/high/low/close).", streaming=HeikinAshi, overlay=True,
    ),
    IndicatorSpec(
        "vortex", "trend", ("high", "low", "close"), (_p("period", 14),), ("vi_plus", "vi_minus"), vortex,
        "Vortex indicator VI+ / VI-: upward vs downward movement relative to true range.", streaming=Vortex,
    ),
    IndicatorSpec(
        "chandelier", "volatility", ("high", "low", "close"), (_p("period", 22), _m(3.0)), ("long", "short"),
        chandelier, "Chandelier exit: ATR trailing stops below the highest high / above the lowest low.",
        streaming=Chandelier, overlay=True,
    ),
    IndicatorSpec(
        "elder_ray", "trend", ("high", "low", "close"), (_p("period", 13, desc="EMA period"),),
        ("bull_power", "bear_power"), elder_ray, "Elder ray: high - EMA(close) and low - EMA(close).",
        streaming=ElderRay,
    ),
    IndicatorSpec(
        "chaikin_volatility", "volatility", ("high", "low"),
        (_p("ema_period", 10), _p("roc_period", 10)), ("chaikin_volatility",), chaikin_volatility,
        "Chaikin volatility: % change of the EMA of the high-low range.", streaming=ChaikinVolatility,
    ),
    IndicatorSpec(
        "awesome_oscillator", "other", ("high", "low"), (_p("fast", 5), _p("slow", 34)), ("ao",),
        awesome_oscillator, "Awesome oscillator: SMA5 - SMA34 of the median price.", streaming=AwesomeOscillator,
    ),
    IndicatorSpec(
        "coppock", "other", ("close",), (_p("wma_period", 10), _p("roc_long", 14), _p("roc_short", 11)),
        ("coppock",), coppock, "Coppock curve: WMA of the sum of two rates of change.", streaming=Coppock,
    ),
    IndicatorSpec(
        "choppiness", "trend", ("high", "low", "close"), (_p("period", 14, lo=2),), ("chop",), choppiness,
        "Choppiness index: 100 choppy .. 0 trending.", streaming=Choppiness,
    ),
]

for _spec in _SPECS:
    register(_spec)
