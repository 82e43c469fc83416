"""Momentum indicators built on moving averages: MACD family, APO/PPO, TRIX, stochastics, StochRSI.

TA-Lib-exact numba kernels (same warm-up, same seeding of each average) and O(1) streaming twins.
The Wilder RSI used by STOCHRSI is a private core here; the public 'rsi' indicator lives in momentum.py.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar

import numpy as np
from numba import njit

from quantdesk.indicators import _ma_core as C
from quantdesk.indicators._ma_core import (
    _ema_stack_core,
    _ma_core,
    _nan_prefix,
    check_int,
    check_matype,
    ma_lookback,
    make_ma_state,
    prep,
    prep_many,
)
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import StreamingIndicator

NAN = math.nan
_INF = math.inf
MAX_PERIOD = 100_000
MATYPE_DESC = "moving-average type: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 7 MAMA, 8 T3"


# =========================================================================================== cores
@njit(cache=True)
def _macd_core(x, s, fast, slow, signal, k_fast, k_slow, o_macd, o_signal, o_hist):
    """One pass: slow EMA from the first bar, fast EMA seeded so that it starts with the slow one
    (TA-Lib's alignment), signal EMA of the macd line; outputs from the signal's first value."""
    n = x.shape[0]
    first = s + slow - 1 + signal - 1
    _nan_prefix(o_macd, first)
    _nan_prefix(o_signal, first)
    _nan_prefix(o_hist, first)
    k_sig = 2.0 / (signal + 1)
    off = slow - fast
    es = 0.0
    ef = 0.0
    eg = 0.0
    ts = 0.0
    tf = 0.0
    tg = 0.0
    for i in range(s, n):
        r = i - s
        v = x[i]
        rf = r - off
        if rf >= 0:
            if rf < fast - 1:
                tf += v
            elif rf == fast - 1:
                tf += v
                ef = tf / fast
            else:
                ef = ((v - ef) * k_fast) + ef
        if r < slow - 1:
            ts += v
            continue
        if r == slow - 1:
            ts += v
            es = ts / slow
        else:
            es = ((v - es) * k_slow) + es
        line = ef - es
        rs = r - (slow - 1)
        if rs < signal - 1:
            tg += line
            continue
        if rs == signal - 1:
            tg += line
            eg = tg / signal
        else:
            eg = ((line - eg) * k_sig) + eg
        o_macd[i] = line
        o_signal[i] = eg
        o_hist[i] = line - eg


@njit(cache=True)
def _ma_from(x, begin, p, matype, lb, out):
    """MA whose first output is at `begin` (TA_MA called with that start index: seeding at begin - lb)."""
    n = x.shape[0]
    st = begin - lb
    if st >= n:
        _nan_prefix(out, n)
        return
    _nan_prefix(out, st)
    _ma_core(x[st:], 0, p, matype, out[st:])


@njit(cache=True)
def _macdext_core(
    x, s, fast, fast_t, lb_fast, slow, slow_t, lb_slow, signal, sig_t, lb_sig, o_macd, o_signal, o_hist
):
    n = x.shape[0]
    largest = max(lb_fast, lb_slow)
    start = s + largest
    first = start + lb_sig
    slow_m = np.empty(n)
    fast_m = np.empty(n)
    _ma_from(x, start, slow, slow_t, lb_slow, slow_m)
    _ma_from(x, start, fast, fast_t, lb_fast, fast_m)
    line = np.empty(n)
    _nan_prefix(line, start)
    for i in range(start, n):
        line[i] = fast_m[i] - slow_m[i]
    if start < n:
        _ma_core(line, start, signal, sig_t, o_signal)
    else:
        _nan_prefix(o_signal, n)
    _nan_prefix(o_macd, first)
    _nan_prefix(o_hist, first)
    _nan_prefix(o_signal, first)
    for i in range(first, n):
        o_macd[i] = line[i]
        o_hist[i] = line[i] - o_signal[i]


@njit(cache=True)
def _po_ema_core(x, s, fast, slow, pct, out):
    """APO/PPO with EMAs (the default) in one pass, both EMAs seeded from the first bar."""
    n = x.shape[0]
    first = s + slow - 1
    _nan_prefix(out, first)
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    ef = 0.0
    es = 0.0
    tf = 0.0
    ts = 0.0
    for i in range(s, n):
        r = i - s
        v = x[i]
        if r < fast - 1:
            tf += v
        elif r == fast - 1:
            tf += v
            ef = tf / fast
        else:
            ef = ((v - ef) * kf) + ef
        if r < slow - 1:
            ts += v
            continue
        if r == slow - 1:
            ts += v
            es = ts / slow
        else:
            es = ((v - es) * ks) + es
        if pct:
            out[i] = ((ef - es) / es) * 100.0 if not (-1e-14 < es < 1e-14) else 0.0
        else:
            out[i] = ef - es


@njit(cache=True)
def _po_core(x, s, fast, slow, matype, lb_fast, lb_slow, pct, out):
    n = x.shape[0]
    first = s + lb_slow
    if matype == 1 and fast > 1 and slow > 1:
        _po_ema_core(x, s, fast, slow, pct, out)
        return
    slow_m = np.empty(n)
    fast_m = np.empty(n)
    # TA-Lib's APO/PPO run both averages from the first bar (no seeding alignment, unlike MACD)
    _ma_core(x, s, slow, matype, slow_m)
    _ma_core(x, s, fast, matype, fast_m)
    _nan_prefix(out, first)
    for i in range(first, n):
        t = slow_m[i]
        if pct:
            if not (-1e-14 < t < 1e-14):
                out[i] = ((fast_m[i] - t) / t) * 100.0
            else:
                out[i] = 0.0
        else:
            out[i] = fast_m[i] - t


@njit(cache=True)
def _trix_core(x, s, p, out):
    _ema_stack_core(x, s, p, 3, 2, out)


@njit(cache=True)
def _fastk_core(hi, lo, cl, s, p, out):
    """TA-Lib's raw %K: ((close - lowest) / (highest - lowest)) * 100; 0 when the range is zero relative to
    the prices (TA_IS_ZERO_SCALED, |h-l| <= 1e-14 (|h|+|l|))."""
    n = hi.shape[0]
    first = s + p - 1
    _nan_prefix(out, first)
    lowest_idx = -1
    highest_idx = -1
    highest = 0.0
    lowest = 0.0
    trailing = s
    for today in range(first, n):
        t = lo[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = lo[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
                t = lo[i]
                if t < lowest:
                    lowest_idx = i
                    lowest = t
        elif t <= lowest:
            lowest_idx = today
            lowest = t
        t = hi[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = hi[highest_idx]
            for i in range(highest_idx + 1, today + 1):
                t = hi[i]
                if t > highest:
                    highest_idx = i
                    highest = t
        elif t >= highest:
            highest_idx = today
            highest = t
        if not (abs(highest - lowest) <= 1e-14 * (abs(highest) + abs(lowest))):  # TA_IS_ZERO_SCALED
            out[today] = ((cl[today] - lowest) / (highest - lowest)) * 100.0
        else:
            out[today] = 0.0
        trailing += 1


@njit(cache=True)
def _stoch_core(hi, lo, cl, s, fk, sk, sk_t, lb_sk, sd, sd_t, lb_sd, o_k, o_d):
    n = hi.shape[0]
    fast = np.empty(n)
    _fastk_core(hi, lo, cl, s, fk, fast)
    start = s + fk - 1
    first = start + lb_sk + lb_sd
    if start >= n:
        _nan_prefix(o_k, n)
        _nan_prefix(o_d, n)
        return
    _ma_core(fast, start, sk, sk_t, o_k)
    if start + lb_sk < n:
        _ma_core(o_k, start + lb_sk, sd, sd_t, o_d)
    _nan_prefix(o_k, first)
    _nan_prefix(o_d, first)


@njit(cache=True)
def _stochf_core(hi, lo, cl, s, fk, fd, fd_t, lb_fd, o_k, o_d):
    n = hi.shape[0]
    _fastk_core(hi, lo, cl, s, fk, o_k)
    start = s + fk - 1
    if start >= n:
        _nan_prefix(o_d, n)
        return
    _ma_core(o_k, start, fd, fd_t, o_d)
    _nan_prefix(o_k, start + lb_fd)


@njit(cache=True)
def _rsi_core(x, s, p, out):
    """Wilder RSI exactly as TA_RSI (unstable period 0, no Metastock compatibility)."""
    n = x.shape[0]
    first = s + p
    _nan_prefix(out, first)
    if first >= n:
        return
    today = s
    prev_value = x[today]
    prev_gain = 0.0
    prev_loss = 0.0
    today += 1
    for _ in range(p):
        v = x[today]
        today += 1
        d = v - prev_value
        prev_value = v
        if d < 0:
            prev_loss -= d
        else:
            prev_gain += d
    # TA-Lib's shipped build divides by the period as a multiply by its reciprocal (bit-exact match)
    r = 1.0 / p
    prev_loss *= r
    prev_gain *= r
    t = prev_gain + prev_loss
    out[first] = 100.0 * (prev_gain / t) if not (-1e-14 < t < 1e-14) else 0.0
    while today < n:
        v = x[today]
        d = v - prev_value
        prev_value = v
        prev_loss *= p - 1
        prev_gain *= p - 1
        if d < 0:
            prev_loss -= d
        else:
            prev_gain += d
        prev_loss *= r
        prev_gain *= r
        t = prev_gain + prev_loss
        out[today] = 100.0 * (prev_gain / t) if not (-1e-14 < t < 1e-14) else 0.0
        today += 1


@njit(cache=True)
def _stochrsi_core(x, s, p, fk, fd, fd_t, lb_fd, o_k, o_d):
    n = x.shape[0]
    r = np.empty(n)
    _rsi_core(x, s, p, r)
    if s + p >= n:
        _nan_prefix(o_k, n)
        _nan_prefix(o_d, n)
        return
    _stochf_core(r, r, r, s + p, fk, fd, fd_t, lb_fd, o_k, o_d)


# =========================================================================================== kernels
def macd(
    close: np.ndarray, fast_period: int = 12, slow_period: int = 26, signal_period: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD (macd, signal, hist) (TA_MACD): EMA(fast) - EMA(slow), its EMA(signal), and their difference."""
    fast_period = check_int("macd", "fast_period", fast_period, 2)
    slow_period = check_int("macd", "slow_period", slow_period, 2)
    signal_period = check_int("macd", "signal_period", signal_period, 1)
    if slow_period < fast_period:
        fast_period, slow_period = slow_period, fast_period
    x, s = prep(close, "close", "macd")
    n = len(x)
    m, sg, h = np.empty(n), np.empty(n), np.empty(n)
    _macd_core(
        x,
        s,
        fast_period,
        slow_period,
        signal_period,
        2.0 / (fast_period + 1),
        2.0 / (slow_period + 1),
        m,
        sg,
        h,
    )
    return m, sg, h


def macdfix(close: np.ndarray, signal_period: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD 12/26 with TA-Lib's fixed smoothing factors 0.15 and 0.075 (TA_MACDFIX)."""
    signal_period = check_int("macdfix", "signal_period", signal_period, 1)
    x, s = prep(close, "close", "macdfix")
    n = len(x)
    m, sg, h = np.empty(n), np.empty(n), np.empty(n)
    _macd_core(x, s, 12, 26, signal_period, 0.15, 0.075, m, sg, h)
    return m, sg, h


def macdext(
    close: np.ndarray,
    fast_period: int = 12,
    fast_matype: int = 0,
    slow_period: int = 26,
    slow_matype: int = 0,
    signal_period: int = 9,
    signal_matype: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD with a chosen moving-average type for each line (TA_MACDEXT)."""
    f = "macdext"
    fast_period = check_int(f, "fast_period", fast_period, 2)
    slow_period = check_int(f, "slow_period", slow_period, 2)
    signal_period = check_int(f, "signal_period", signal_period, 1)
    fast_matype = check_matype(f, "fast_matype", fast_matype)
    slow_matype = check_matype(f, "slow_matype", slow_matype)
    signal_matype = check_matype(f, "signal_matype", signal_matype)
    if slow_period < fast_period:
        fast_period, slow_period = slow_period, fast_period
        fast_matype, slow_matype = slow_matype, fast_matype
    x, s = prep(close, "close", f)
    n = len(x)
    m, sg, h = np.empty(n), np.empty(n), np.empty(n)
    _macdext_core(
        x, s,
        fast_period, fast_matype, ma_lookback(fast_period, fast_matype),
        slow_period, slow_matype, ma_lookback(slow_period, slow_matype),
        signal_period, signal_matype, ma_lookback(signal_period, signal_matype),
        m, sg, h,
    )  # fmt: skip
    return m, sg, h


def _po(name, close, fast_period, slow_period, matype, pct):
    fast_period = check_int(name, "fast_period", fast_period, 2)
    slow_period = check_int(name, "slow_period", slow_period, 2)
    matype = check_matype(name, "matype", matype)
    if slow_period < fast_period:
        fast_period, slow_period = slow_period, fast_period
    x, s = prep(close, "close", name)
    out = np.empty(len(x))
    _po_core(
        x, s, fast_period, slow_period, matype,
        ma_lookback(fast_period, matype), ma_lookback(slow_period, matype), pct, out,
    )  # fmt: skip
    return out


def apo(close: np.ndarray, fast_period: int = 12, slow_period: int = 26, matype: int = 1) -> np.ndarray:
    """Absolute price oscillator MA(fast) - MA(slow) (TA_APO)."""
    return _po("apo", close, fast_period, slow_period, matype, False)


def ppo(close: np.ndarray, fast_period: int = 12, slow_period: int = 26, matype: int = 1) -> np.ndarray:
    """Percentage price oscillator 100 * (MA(fast) - MA(slow)) / MA(slow) (TA_PPO)."""
    return _po("ppo", close, fast_period, slow_period, matype, True)


def trix(close: np.ndarray, period: int = 30) -> np.ndarray:
    """TRIX: 1-bar percent rate of change of a triple EMA (TA_TRIX)."""
    period = check_int("trix", "period", period, 1)
    x, s = prep(close, "close", "trix")
    out = np.empty(len(x))
    _trix_core(x, s, period, out)
    return out


def stoch(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Slow stochastic (slowk, slowd) (TA_STOCH)."""
    f = "stoch"
    fastk_period = check_int(f, "fastk_period", fastk_period, 1)
    slowk_period = check_int(f, "slowk_period", slowk_period, 1)
    slowd_period = check_int(f, "slowd_period", slowd_period, 1)
    slowk_matype = check_matype(f, "slowk_matype", slowk_matype)
    slowd_matype = check_matype(f, "slowd_matype", slowd_matype)
    (h, lo, c), s = prep_many(f, high=high, low=low, close=close)
    n = len(h)
    k, d = np.empty(n), np.empty(n)
    _stoch_core(
        h, lo, c, s, fastk_period,
        slowk_period, slowk_matype, ma_lookback(slowk_period, slowk_matype),
        slowd_period, slowd_matype, ma_lookback(slowd_period, slowd_matype),
        k, d,
    )  # fmt: skip
    return k, d


def stochf(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fast stochastic (fastk, fastd) (TA_STOCHF)."""
    f = "stochf"
    fastk_period = check_int(f, "fastk_period", fastk_period, 1)
    fastd_period = check_int(f, "fastd_period", fastd_period, 1)
    fastd_matype = check_matype(f, "fastd_matype", fastd_matype)
    (h, lo, c), s = prep_many(f, high=high, low=low, close=close)
    n = len(h)
    k, d = np.empty(n), np.empty(n)
    _stochf_core(
        h, lo, c, s, fastk_period, fastd_period, fastd_matype, ma_lookback(fastd_period, fastd_matype), k, d
    )
    return k, d


def stochrsi(
    close: np.ndarray, period: int = 14, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic RSI (fastk, fastd) (TA_STOCHRSI): the fast stochastic applied to Wilder's RSI."""
    f = "stochrsi"
    period = check_int(f, "period", period, 2)
    fastk_period = check_int(f, "fastk_period", fastk_period, 1)
    fastd_period = check_int(f, "fastd_period", fastd_period, 1)
    fastd_matype = check_matype(f, "fastd_matype", fastd_matype)
    x, s = prep(close, "close", f)
    n = len(x)
    k, d = np.empty(n), np.empty(n)
    _stochrsi_core(
        x, s, period, fastk_period, fastd_period, fastd_matype, ma_lookback(fastd_period, fastd_matype), k, d
    )
    return k, d


def _rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    """Private Wilder RSI (TA_RSI) used by STOCHRSI; the public 'rsi' lives in momentum.py."""
    period = check_int("rsi", "period", period, 1)
    x, s = prep(close, "close", "rsi")
    out = np.empty(len(x))
    _rsi_core(x, s, period, out)
    return out


# =========================================================================================== streaming
class _Delayed:
    """Feeds an inner MA state only from the `start`-th valid value on (TA-Lib's aligned seeding)."""

    __slots__ = ("inner", "start", "n")

    def __init__(self, inner, start: int) -> None:
        self.inner = inner
        self.start = start
        self.n = 0

    def step(self, x: float) -> float:
        n = self.n
        self.n = n + 1
        if n < self.start:
            return NAN
        return self.inner.step(x)


class _Base(StreamingIndicator):
    inputs: ClassVar[tuple[str, ...]] = ("close",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.update = C.fast_update(cls.inputs)  # type: ignore[method-assign]  # per-class update, built once

    @staticmethod
    def _finite(name: str, count: int, *xs: float) -> bool:
        for x in xs:
            if not -_INF < x < _INF:
                if count:
                    raise C.DataError(f"{name}: NaN/inf input after {count} valid values")
                return False
        return True


class _MACDLike(_Base):
    def _setup(self, name, fast, fast_t, slow, slow_t, signal, sig_t, k_fast=None, k_slow=None, ema=False):
        self._name = name
        lb_f = ma_lookback(fast, fast_t)
        lb_s = ma_lookback(slow, slow_t)
        largest = max(lb_f, lb_s)
        self._slow: Any  # an EMAState (its `k`, `prev` are read below) or a _Delayed MA state
        self._fast: Any
        if ema:
            self._slow = C.EMAState(slow, k_slow)
            self._fast = C.EMAState(fast, k_fast)
            self._fast_start = slow - fast
        else:
            self._slow = _Delayed(make_ma_state(slow, slow_t), largest - lb_s)
            self._fast = _Delayed(make_ma_state(fast, fast_t), largest - lb_f)
            self._fast_start = 0
        # TA_MACD/MACDFIX smooth the signal with TA_INT_EMA even for period 1 (k = 1), not TA_MA's copy
        self._sig = C.EMAState(signal) if ema else make_ma_state(signal, sig_t)
        self._hot = ema  # EMA-only MACD: inline steady-state path
        if ema:
            self._ks = self._slow.k
            self._kf = self._fast.k
            self._kg = self._sig.k
            self._es = self._ef = self._eg = 0.0
        self._start = largest
        self._first = largest + ma_lookback(signal, sig_t)
        self._n = 0

    def step(self, x: float) -> tuple[float, float, float]:
        if not -_INF < x < _INF:
            self._finite(self._name, self._n, x)
            return (NAN, NAN, NAN)
        n = self._n
        self._n = n + 1
        if self._hot and n > self._first:  # all three EMAs seeded: the same arithmetic, inlined
            es = self._es = ((x - self._es) * self._ks) + self._es
            ef = self._ef = ((x - self._ef) * self._kf) + self._ef
            line = ef - es
            eg = self._eg = ((line - self._eg) * self._kg) + self._eg
            return (line, eg, line - eg)
        out = self._warm(x, n)
        if self._hot and n == self._first:
            self._es = self._slow.prev
            self._ef = self._fast.prev
            self._eg = self._sig.prev
        return out

    def _warm(self, x: float, n: int) -> tuple[float, float, float]:
        s = self._slow.step(x)
        f = self._fast.step(x) if n >= self._fast_start else NAN
        if n < self._start:
            return (NAN, NAN, NAN)
        line = f - s
        sig = self._sig.step(line)
        if n < self._first:
            return (NAN, NAN, NAN)
        return (line, sig, line - sig)


class MACD(_MACDLike):
    def __init__(self, fast_period: int = 12, slow_period: int = 26, signal_period: int = 9) -> None:
        fast = check_int("macd", "fast_period", fast_period, 2)
        slow = check_int("macd", "slow_period", slow_period, 2)
        sig = check_int("macd", "signal_period", signal_period, 1)
        if slow < fast:
            fast, slow = slow, fast
        self._setup("macd", fast, 1, slow, 1, sig, 1, 2.0 / (fast + 1), 2.0 / (slow + 1), ema=True)


class MACDFIX(_MACDLike):
    def __init__(self, signal_period: int = 9) -> None:
        sig = check_int("macdfix", "signal_period", signal_period, 1)
        self._setup("macdfix", 12, 1, 26, 1, sig, 1, 0.15, 0.075, ema=True)


class MACDEXT(_MACDLike):
    def __init__(
        self,
        fast_period: int = 12,
        fast_matype: int = 0,
        slow_period: int = 26,
        slow_matype: int = 0,
        signal_period: int = 9,
        signal_matype: int = 0,
    ) -> None:
        f = "macdext"
        fast = check_int(f, "fast_period", fast_period, 2)
        slow = check_int(f, "slow_period", slow_period, 2)
        sig = check_int(f, "signal_period", signal_period, 1)
        ft = check_matype(f, "fast_matype", fast_matype)
        st = check_matype(f, "slow_matype", slow_matype)
        gt = check_matype(f, "signal_matype", signal_matype)
        if slow < fast:
            fast, slow, ft, st = slow, fast, st, ft
        self._setup(f, fast, ft, slow, st, sig, gt)


class _PO(_Base):
    pct = False
    name = "apo"

    def __init__(self, fast_period: int = 12, slow_period: int = 26, matype: int = 1) -> None:
        fast = check_int(self.name, "fast_period", fast_period, 2)
        slow = check_int(self.name, "slow_period", slow_period, 2)
        mt = check_matype(self.name, "matype", matype)
        if slow < fast:
            fast, slow = slow, fast
        lb_s = ma_lookback(slow, mt)
        self._slow = make_ma_state(slow, mt)
        self._fast = make_ma_state(fast, mt)
        self._first = lb_s
        self._n = 0

    def step(self, x: float) -> float:
        if not self._finite(self.name, self._n, x):
            return NAN
        n = self._n
        self._n = n + 1
        s = self._slow.step(x)
        f = self._fast.step(x)
        if n < self._first:
            return NAN
        if self.pct:
            return ((f - s) / s) * 100.0 if not (-1e-14 < s < 1e-14) else 0.0
        return f - s


class APO(_PO):
    pass


class PPO(_PO):
    pct = True
    name = "ppo"


class TRIX(_Base):
    def __init__(self, period: int = 30) -> None:
        p = check_int("trix", "period", period, 1)
        self._e = C.TEMAState(p)  # reuse its three chained EMAs
        self._prev = NAN

    def step(self, x: float) -> float:
        e = self._e
        a = e.e1.step(x)
        if a != a:
            return NAN
        b = e.e2.step(a)
        if b != b:
            return NAN
        c = e.e3.step(b)
        if c != c:
            return NAN
        prev = self._prev
        self._prev = c
        if prev != prev:
            return NAN
        return ((c / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


class _FastK:
    """Streaming raw %K: monotonic deques for the highest high / lowest low (O(1) amortised)."""

    __slots__ = ("p", "n", "hq", "lq")

    def __init__(self, p: int) -> None:
        self.p = p
        self.n = 0
        self.hq: deque[tuple[int, float]] = deque()
        self.lq: deque[tuple[int, float]] = deque()

    def step(self, hi: float, lo: float, cl: float) -> float:
        n = self.n
        self.n = n + 1
        old = n - self.p
        hq = self.hq
        while hq and hq[-1][1] <= hi:
            hq.pop()
        hq.append((n, hi))
        if hq[0][0] <= old:
            hq.popleft()
        lq = self.lq
        while lq and lq[-1][1] >= lo:
            lq.pop()
        lq.append((n, lo))
        if lq[0][0] <= old:
            lq.popleft()
        if old < -1:
            return NAN
        highest = hq[0][1]
        lowest = lq[0][1]
        if abs(highest - lowest) <= 1e-14 * (abs(highest) + abs(lowest)):  # TA_IS_ZERO_SCALED
            return 0.0
        return ((cl - lowest) / (highest - lowest)) * 100.0


class STOCHF(_Base):
    inputs = ("high", "low", "close")
    _name = "stochf"

    def __init__(self, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0) -> None:
        f = self._name
        fk = check_int(f, "fastk_period", fastk_period, 1)
        fd = check_int(f, "fastd_period", fastd_period, 1)
        ft = check_matype(f, "fastd_matype", fastd_matype)
        self._k = _FastK(fk)
        self._d = make_ma_state(fd, ft)
        self._first = fk - 1 + ma_lookback(fd, ft)
        self._n = 0

    def step(self, hi: float, lo: float, cl: float) -> tuple[float, float]:
        if not (-_INF < hi < _INF and -_INF < lo < _INF and -_INF < cl < _INF):
            self._finite(self._name, self._n, hi, lo, cl)
            return (NAN, NAN)
        n = self._n
        self._n = n + 1
        k = self._k.step(hi, lo, cl)
        if k != k:
            return (NAN, NAN)
        d = self._d.step(k)
        if n < self._first:
            return (NAN, NAN)
        return (k, d)


class STOCH(_Base):
    inputs = ("high", "low", "close")

    def __init__(
        self,
        fastk_period: int = 5,
        slowk_period: int = 3,
        slowk_matype: int = 0,
        slowd_period: int = 3,
        slowd_matype: int = 0,
    ) -> None:
        f = "stoch"
        fk = check_int(f, "fastk_period", fastk_period, 1)
        sk = check_int(f, "slowk_period", slowk_period, 1)
        sd = check_int(f, "slowd_period", slowd_period, 1)
        kt = check_matype(f, "slowk_matype", slowk_matype)
        dt = check_matype(f, "slowd_matype", slowd_matype)
        self._k = _FastK(fk)
        self._sk = make_ma_state(sk, kt)
        self._sd = make_ma_state(sd, dt)
        self._first = fk - 1 + ma_lookback(sk, kt) + ma_lookback(sd, dt)
        self._n = 0
        if type(self._sk) is C.SMAState and type(self._sd) is C.SMAState:
            self.step = self._step_sma  # type: ignore[method-assign]  # default STOCH (SMA/SMA): both smoothings inlined
            self._kstep = self._k.step
            self._pk = sk
            self._pd = sd
            self._kbuf: deque[float] = deque()
            self._dbuf: deque[float] = deque()
            self._ktot = 0.0
            self._dtot = 0.0

    def _step_sma(self, hi: float, lo: float, cl: float) -> tuple[float, float]:
        """`step` with SMAState's arithmetic inlined (same operations, same order: bit-identical)."""
        if not (-_INF < hi < _INF and -_INF < lo < _INF and -_INF < cl < _INF):
            self._finite("stoch", self._n, hi, lo, cl)
            return (NAN, NAN)
        n = self._n
        self._n = n + 1
        k = self._kstep(hi, lo, cl)
        if k != k:
            return (NAN, NAN)
        buf = self._kbuf
        self._ktot += k
        buf.append(k)
        if len(buf) < self._pk:
            return (NAN, NAN)
        sk = self._ktot
        self._ktot = sk - buf.popleft()
        sk = sk / self._pk
        buf = self._dbuf
        self._dtot += sk
        buf.append(sk)
        if len(buf) < self._pd:
            return (NAN, NAN)
        sd = self._dtot
        self._dtot = sd - buf.popleft()
        sd = sd / self._pd
        if n < self._first:
            return (NAN, NAN)
        return (sk, sd)

    def step(self, hi: float, lo: float, cl: float) -> tuple[float, float]:
        if not (-_INF < hi < _INF and -_INF < lo < _INF and -_INF < cl < _INF):
            self._finite("stoch", self._n, hi, lo, cl)
            return (NAN, NAN)
        n = self._n
        self._n = n + 1
        k = self._k.step(hi, lo, cl)
        if k != k:
            return (NAN, NAN)
        sk = self._sk.step(k)
        if sk != sk:
            return (NAN, NAN)
        sd = self._sd.step(sk)
        if n < self._first:
            return (NAN, NAN)
        return (sk, sd)


class _RSIState:
    __slots__ = ("p", "n", "prev_value", "gain", "loss")

    def __init__(self, p: int) -> None:
        self.p = p
        self.n = 0
        self.prev_value = 0.0
        self.gain = 0.0
        self.loss = 0.0

    def step(self, v: float) -> float:
        n = self.n
        self.n = n + 1
        p = self.p
        if n == 0:
            self.prev_value = v
            return NAN
        d = v - self.prev_value
        self.prev_value = v
        if n <= p:
            if d < 0:
                self.loss -= d
            else:
                self.gain += d
            if n < p:
                return NAN
        else:
            self.loss *= p - 1
            self.gain *= p - 1
            if d < 0:
                self.loss -= d
            else:
                self.gain += d
        r = 1.0 / p
        self.loss *= r
        self.gain *= r
        t = self.gain + self.loss
        return 100.0 * (self.gain / t) if not (-1e-14 < t < 1e-14) else 0.0


class STOCHRSI(_Base):
    def __init__(
        self, period: int = 14, fastk_period: int = 5, fastd_period: int = 3, fastd_matype: int = 0
    ) -> None:
        f = "stochrsi"
        self._rsi = _RSIState(check_int(f, "period", period, 2))
        self._f = STOCHF(fastk_period, fastd_period, fastd_matype)
        self._f._name = f
        self._n = 0

    def step(self, x: float) -> tuple[float, float]:
        if not self._finite("stochrsi", self._n, x):
            return (NAN, NAN)
        self._n += 1
        r = self._rsi.step(x)
        if r != r:
            return (NAN, NAN)
        return self._f.step(r, r, r)


# =========================================================================================== registry
def _p(name: str, default: int, minimum: int, desc: str) -> Param:
    return Param(name, int, default, minimum, MAX_PERIOD, description=desc)


def _mt(name: str, default: int = 0) -> Param:
    return Param(name, int, default, 0, 8, choices=tuple(range(9)), description=MATYPE_DESC)


_MACD_OUT = ("macd", "signal", "hist")
register(
    IndicatorSpec(
        name="macd",
        group="momentum",
        inputs=("close",),
        params=(
            _p("fast_period", 12, 2, "fast EMA period"),
            _p("slow_period", 26, 2, "slow EMA period"),
            _p("signal_period", 9, 1, "signal EMA period"),
        ),
        outputs=_MACD_OUT,
        kernel=macd,
        description="MACD: fast EMA minus slow EMA, with a signal EMA of it; the histogram is their difference.",
        streaming=MACD,
        talib="MACD",
        talib_params={
            "fast_period": "fastperiod",
            "slow_period": "slowperiod",
            "signal_period": "signalperiod",
        },
    )
)
register(
    IndicatorSpec(
        name="macdext",
        group="momentum",
        inputs=("close",),
        params=(
            _p("fast_period", 12, 2, "fast MA period"),
            _mt("fast_matype"),
            _p("slow_period", 26, 2, "slow MA period"),
            _mt("slow_matype"),
            _p("signal_period", 9, 1, "signal MA period"),
            _mt("signal_matype"),
        ),
        outputs=_MACD_OUT,
        kernel=macdext,
        description="MACD with a selectable moving-average type for the fast, slow and signal lines.",
        streaming=MACDEXT,
        talib="MACDEXT",
        talib_params={
            "fast_period": "fastperiod",
            "fast_matype": "fastmatype",
            "slow_period": "slowperiod",
            "slow_matype": "slowmatype",
            "signal_period": "signalperiod",
            "signal_matype": "signalmatype",
        },
    )
)
register(
    IndicatorSpec(
        name="macdfix",
        group="momentum",
        inputs=("close",),
        params=(_p("signal_period", 9, 1, "signal EMA period"),),
        outputs=_MACD_OUT,
        kernel=macdfix,
        description="MACD 12/26 using the fixed smoothing factors 0.15 and 0.075, with a signal EMA.",
        streaming=MACDFIX,
        talib="MACDFIX",
        talib_params={"signal_period": "signalperiod"},
    )
)
for _name, _kern, _cls, _desc in (
    (
        "apo",
        apo,
        APO,
        "Absolute price oscillator: fast moving average minus slow moving average, in price units.",
    ),
    ("ppo", ppo, PPO, "Percentage price oscillator: (fast MA - slow MA) as a percent of the slow MA."),
):
    register(
        IndicatorSpec(
            name=_name,
            group="momentum",
            inputs=("close",),
            params=(
                _p("fast_period", 12, 2, "fast MA period"),
                _p("slow_period", 26, 2, "slow MA period"),
                _mt("matype", 1),
            ),
            outputs=(_name,),
            kernel=_kern,
            description=_desc,
            streaming=_cls,
            talib=_name.upper(),
            talib_params={"fast_period": "fastperiod", "slow_period": "slowperiod", "matype": "matype"},
        )
    )
register(
    IndicatorSpec(
        name="trix",
        group="momentum",
        inputs=("close",),
        params=(_p("period", 30, 1, "EMA period"),),
        outputs=("trix",),
        kernel=trix,
        description="TRIX: one-bar percent change of a triple-smoothed EMA; filters out short cycles.",
        streaming=TRIX,
        talib="TRIX",
        talib_params={"period": "timeperiod"},
    )
)
register(
    IndicatorSpec(
        name="stoch",
        group="momentum",
        inputs=("high", "low", "close"),
        params=(
            _p("fastk_period", 5, 1, "bars for the raw %K high/low range"),
            _p("slowk_period", 3, 1, "smoothing of %K"),
            _mt("slowk_matype"),
            _p("slowd_period", 3, 1, "smoothing of slow %K into %D"),
            _mt("slowd_matype"),
        ),
        outputs=("slowk", "slowd"),
        kernel=stoch,
        description="Slow stochastic: where the close sits in the recent high-low range (0-100), smoothed twice.",
        streaming=STOCH,
        talib="STOCH",
        talib_params={
            "fastk_period": "fastk_period",
            "slowk_period": "slowk_period",
            "slowk_matype": "slowk_matype",
            "slowd_period": "slowd_period",
            "slowd_matype": "slowd_matype",
        },
    )
)
register(
    IndicatorSpec(
        name="stochf",
        group="momentum",
        inputs=("high", "low", "close"),
        params=(
            _p("fastk_period", 5, 1, "bars for the %K high/low range"),
            _p("fastd_period", 3, 1, "smoothing of %K into %D"),
            _mt("fastd_matype"),
        ),
        outputs=("fastk", "fastd"),
        kernel=stochf,
        description="Fast stochastic: raw %K (close within the recent high-low range, 0-100) and its average %D.",
        streaming=STOCHF,
        talib="STOCHF",
        talib_params={
            "fastk_period": "fastk_period",
            "fastd_period": "fastd_period",
            "fastd_matype": "fastd_matype",
        },
    )
)
register(
    IndicatorSpec(
        name="stochrsi",
        group="momentum",
        inputs=("close",),
        params=(
            _p("period", 14, 2, "RSI period"),
            _p("fastk_period", 5, 1, "bars for the %K range of the RSI"),
            _p("fastd_period", 3, 1, "smoothing of %K into %D"),
            _mt("fastd_matype"),
        ),
        outputs=("fastk", "fastd"),
        kernel=stochrsi,
        description="Stochastic RSI: the fast stochastic applied to RSI values, showing where RSI sits in its range.",
        streaming=STOCHRSI,
        talib="STOCHRSI",
        talib_params={
            "period": "timeperiod",
            "fastk_period": "fastk_period",
            "fastd_period": "fastd_period",
            "fastd_matype": "fastd_matype",
        },
    )
)
