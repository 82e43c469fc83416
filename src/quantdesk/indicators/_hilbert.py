"""Numba cores for John Ehlers' Hilbert-transform indicators, following TA-Lib's C code step for step.

The Hilbert transform of TA-Lib keeps separate circular buffers for even and odd bars (by position
counted from the first valid value), see `_ht`. The streaming twins here (`MAMAState`, `HTState`) repeat the
same operations in Python.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

HT_A = 0.0962
HT_B = 0.5769
RAD2DEG = 180.0 / (4.0 * math.atan(1))
DEG2RAD = 1.0 / RAD2DEG
CONST_DEG2RAD_BY_360 = (4.0 * math.atan(1)) * 2.0  # 2*pi  (TA-Lib: constDeg2RadBy360)


@njit(cache=True, inline="always")
def _ht(buf, prev, prev_in, v, par, idx, inp, adj):
    h = HT_A * inp
    out = 0 - buf[v, par, idx]
    buf[v, par, idx] = h
    out += h
    out -= prev[v, par]
    prev[v, par] = HT_B * prev_in[v, par]
    out += prev[v, par]
    prev_in[v, par] = inp
    out *= adj
    return out


@njit(cache=True)
def _mama_core(x, s, fast, slow, out_m, out_f):
    n = x.shape[0]
    first = s + 32
    for i in range(min(first, n)):
        out_m[i] = np.nan
        out_f[i] = np.nan
    if first >= n:
        return
    trailing = s
    today = s
    t = x[today]
    today += 1
    sub = t
    sm = t
    t = x[today]
    today += 1
    sub += t
    sm += t * 2.0
    t = x[today]
    today += 1
    sub += t
    sm += t * 3.0
    tv = 0.0
    for _ in range(9):
        t = x[today]
        today += 1
        sub += t
        sub -= tv
        sm += t * 4.0
        tv = x[trailing]
        trailing += 1
        sm -= sub
    buf = np.zeros((4, 2, 3))
    prev = np.zeros((4, 2))
    prev_in = np.zeros((4, 2))
    hidx = 0
    period = 0.0
    prev_q2 = 0.0
    prev_i2 = 0.0
    re = 0.0
    im = 0.0
    mama = 0.0
    fama = 0.0
    i1_odd3 = 0.0
    i1_even3 = 0.0
    i1_odd2 = 0.0
    i1_even2 = 0.0
    prev_phase = 0.0
    while today < n:
        adj = 0.075 * period + 0.54
        value = x[today]
        sub += value
        sub -= tv
        sm += value * 4.0
        tv = x[trailing]
        trailing += 1
        smoothed = sm * 0.1
        sm -= sub
        if (today - s) % 2 == 0:
            detr = _ht(buf, prev, prev_in, 0, 0, hidx, smoothed, adj)
            q1 = _ht(buf, prev, prev_in, 1, 0, hidx, detr, adj)
            ji = _ht(buf, prev, prev_in, 2, 0, hidx, i1_even3, adj)
            jq = _ht(buf, prev, prev_in, 3, 0, hidx, q1, adj)
            hidx += 1
            if hidx == 3:
                hidx = 0
            q2 = 0.2 * (q1 + ji) + 0.8 * prev_q2
            i2 = 0.2 * (i1_even3 - jq) + 0.8 * prev_i2
            i1_odd3 = i1_odd2
            i1_odd2 = detr
            if i1_even3 != 0.0:
                t2 = math.atan(q1 / i1_even3) * RAD2DEG
            else:
                t2 = 0.0
        else:
            detr = _ht(buf, prev, prev_in, 0, 1, hidx, smoothed, adj)
            q1 = _ht(buf, prev, prev_in, 1, 1, hidx, detr, adj)
            ji = _ht(buf, prev, prev_in, 2, 1, hidx, i1_odd3, adj)
            jq = _ht(buf, prev, prev_in, 3, 1, hidx, q1, adj)
            q2 = 0.2 * (q1 + ji) + 0.8 * prev_q2
            i2 = 0.2 * (i1_odd3 - jq) + 0.8 * prev_i2
            i1_even3 = i1_even2
            i1_even2 = detr
            if i1_odd3 != 0.0:
                t2 = math.atan(q1 / i1_odd3) * RAD2DEG
            else:
                t2 = 0.0
        t = prev_phase - t2
        prev_phase = t2
        if t < 1.0:
            t = 1.0
        if t > 1.0:
            t = fast / t
            if t < slow:
                t = slow
        else:
            t = fast
        mama = t * value + (1 - t) * mama
        t *= 0.5
        fama = t * mama + (1 - t) * fama
        if today >= first:
            out_m[today] = mama
            out_f[today] = fama
        re = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * re
        im = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * im
        prev_q2 = q2
        prev_i2 = i2
        t = period
        if im != 0.0 and re != 0.0:
            period = 360.0 / (math.atan(im / re) * RAD2DEG)
        t2 = 1.5 * t
        if period > t2:
            period = t2
        t2 = 0.67 * t
        if period < t2:
            period = t2
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        period = 0.2 * period + 0.8 * t
        today += 1


# ============================================================================ streaming twins (pure Python)
_INF = math.inf


class HTFilter:
    """The even/odd Hilbert-transform filter bank of TA-Lib (`nvars` filtered series)."""

    __slots__ = ("buf", "prev", "prev_in")

    def __init__(self, nvars: int) -> None:
        self.buf = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]] for _ in range(nvars)]
        self.prev = [[0.0, 0.0] for _ in range(nvars)]
        self.prev_in = [[0.0, 0.0] for _ in range(nvars)]

    def __call__(self, v: int, par: int, idx: int, inp: float, adj: float) -> float:
        h = HT_A * inp
        b = self.buf[v][par]
        out = 0 - b[idx]
        b[idx] = h
        out += h
        p = self.prev[v]
        out -= p[par]
        pi = self.prev_in[v]
        p[par] = HT_B * pi[par]
        out += p[par]
        pi[par] = inp
        out *= adj
        return out


class PriceWMA4:
    """TA-Lib's 4-bar weighted price smoother with its exact running-sum arithmetic."""

    __slots__ = ("n", "sub", "sm", "tv", "window")

    def __init__(self) -> None:
        self.n = 0
        self.sub = 0.0
        self.sm = 0.0
        self.tv = 0.0
        self.window: list[float] = []  # the last 4 values

    def step(self, x: float) -> float:
        """Returns the smoothed value (meaningful from the 4th value on)."""
        n = self.n
        self.n = n + 1
        w = self.window
        w.append(x)
        if n < 3:
            if n == 0:
                self.sub = x
                self.sm = x
            else:
                self.sub += x
                self.sm += x * (n + 1.0)
            return _INF
        self.sub += x
        self.sub -= self.tv
        self.sm += x * 4.0
        self.tv = w.pop(0)
        smoothed = self.sm * 0.1
        self.sm -= self.sub
        return smoothed


class MAMAState:
    __slots__ = (
        "fast", "slow", "wma", "n", "ht", "hidx", "period", "prev_q2", "prev_i2", "re", "im", "mama", "fama",
        "i1_odd3", "i1_even3", "i1_odd2", "i1_even2", "prev_phase",
    )  # fmt: skip

    def __init__(self, fast: float = 0.5, slow: float = 0.05) -> None:
        self.fast = fast
        self.slow = slow
        self.wma = PriceWMA4()
        self.n = 0
        self.ht = HTFilter(4)
        self.hidx = 0
        self.period = self.prev_q2 = self.prev_i2 = self.re = self.im = 0.0
        self.mama = self.fama = 0.0
        self.i1_odd3 = self.i1_even3 = self.i1_odd2 = self.i1_even2 = 0.0
        self.prev_phase = 0.0

    def step(self, value: float) -> tuple[float, float]:
        if not -_INF < value < _INF:
            if self.n == 0:
                return (math.nan, math.nan)
            from quantdesk.core.errors import DataError

            raise DataError(f"mama: NaN/inf input after {self.n} valid values")
        n = self.n
        self.n = n + 1
        if n < 12:
            self.wma.step(value)
            return (math.nan, math.nan)
        adj = 0.075 * self.period + 0.54
        smoothed = self.wma.step(value)
        ht = self.ht
        hidx = self.hidx
        if n % 2 == 0:
            detr = ht(0, 0, hidx, smoothed, adj)
            q1 = ht(1, 0, hidx, detr, adj)
            ji = ht(2, 0, hidx, self.i1_even3, adj)
            jq = ht(3, 0, hidx, q1, adj)
            hidx += 1
            self.hidx = 0 if hidx == 3 else hidx
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2
            i2 = 0.2 * (self.i1_even3 - jq) + 0.8 * self.prev_i2
            self.i1_odd3 = self.i1_odd2
            self.i1_odd2 = detr
            t2 = math.atan(q1 / self.i1_even3) * RAD2DEG if self.i1_even3 != 0.0 else 0.0
        else:
            detr = ht(0, 1, hidx, smoothed, adj)
            q1 = ht(1, 1, hidx, detr, adj)
            ji = ht(2, 1, hidx, self.i1_odd3, adj)
            jq = ht(3, 1, hidx, q1, adj)
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2
            i2 = 0.2 * (self.i1_odd3 - jq) + 0.8 * self.prev_i2
            self.i1_even3 = self.i1_even2
            self.i1_even2 = detr
            t2 = math.atan(q1 / self.i1_odd3) * RAD2DEG if self.i1_odd3 != 0.0 else 0.0
        t = self.prev_phase - t2
        self.prev_phase = t2
        if t < 1.0:
            t = 1.0
        if t > 1.0:
            t = self.fast / t
            if t < self.slow:
                t = self.slow
        else:
            t = self.fast
        mama = t * value + (1 - t) * self.mama
        t *= 0.5
        fama = t * mama + (1 - t) * self.fama
        self.mama = mama
        self.fama = fama
        prev_i2 = self.prev_i2
        prev_q2 = self.prev_q2
        self.re = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * self.re
        self.im = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * self.im
        self.prev_q2 = q2
        self.prev_i2 = i2
        t = self.period
        period = t
        if self.im != 0.0 and self.re != 0.0:
            period = 360.0 / (math.atan(self.im / self.re) * RAD2DEG)
        t2 = 1.5 * t
        if period > t2:
            period = t2
        t2 = 0.67 * t
        if period < t2:
            period = t2
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        self.period = 0.2 * period + 0.8 * t
        if n >= 32:
            return (mama, fama)
        return (math.nan, math.nan)


# ============================================================================ HT_* family (batch)
HT_DCPERIOD, HT_PHASOR, HT_DCPHASE, HT_SINE, HT_TRENDLINE, HT_TRENDMODE = 0, 1, 2, 3, 4, 5
# (lookback, price-smoother warm-up iterations) of each kind
HT_LOOKBACK = (32, 32, 63, 63, 63, 63)
HT_INIT = (9, 9, 34, 34, 34, 34)
_R2D = 45.0 / math.atan(1)
_D2R = 1.0 / _R2D
_C360 = math.atan(1) * 8.0


@njit(cache=True)
def _ht_core(x, s, kind, out1, out2):
    n = x.shape[0]
    lookback = 32 if kind <= 1 else 63
    init_iters = 9 if kind <= 1 else 34
    want_phase = kind == 2 or kind == 3 or kind == 5
    want_trend = kind == 4 or kind == 5
    first = s + lookback
    for i in range(min(first, n)):
        out1[i] = np.nan
        if kind == 1 or kind == 3:
            out2[i] = np.nan
    if first >= n:
        return
    trailing = s
    today = s
    t = x[today]
    today += 1
    sub = t
    sm = t
    t = x[today]
    today += 1
    sub += t
    sm += t * 2.0
    t = x[today]
    today += 1
    sub += t
    sm += t * 3.0
    tv = 0.0
    for _ in range(init_iters):
        t = x[today]
        today += 1
        sub += t
        sub -= tv
        sm += t * 4.0
        tv = x[trailing]
        trailing += 1
        sm -= sub
    buf = np.zeros((4, 2, 3))
    prev = np.zeros((4, 2))
    prev_in = np.zeros((4, 2))
    smooth_price = np.zeros(50)
    sp_idx = 0
    hidx = 0
    period = 0.0
    smooth_period = 0.0
    prev_q2 = 0.0
    prev_i2 = 0.0
    re = 0.0
    im = 0.0
    i1_odd3 = 0.0
    i1_even3 = 0.0
    i1_odd2 = 0.0
    i1_even2 = 0.0
    dc_phase = 0.0
    sine = 0.0
    lead_sine = 0.0
    it1 = 0.0
    it2 = 0.0
    it3 = 0.0
    days_in_trend = 0
    while today < n:
        adj = 0.075 * period + 0.54
        value = x[today]
        sub += value
        sub -= tv
        sm += value * 4.0
        tv = x[trailing]
        trailing += 1
        smoothed = sm * 0.1
        sm -= sub
        smooth_price[sp_idx] = smoothed
        if (today - s) % 2 == 0:
            detr = _ht(buf, prev, prev_in, 0, 0, hidx, smoothed, adj)
            q1 = _ht(buf, prev, prev_in, 1, 0, hidx, detr, adj)
            ji = _ht(buf, prev, prev_in, 2, 0, hidx, i1_even3, adj)
            jq = _ht(buf, prev, prev_in, 3, 0, hidx, q1, adj)
            hidx += 1
            if hidx == 3:
                hidx = 0
            q2 = 0.2 * (q1 + ji) + 0.8 * prev_q2
            i2 = 0.2 * (i1_even3 - jq) + 0.8 * prev_i2
            if kind == 1 and today >= first:
                out1[today] = i1_even3
                out2[today] = q1
            i1_odd3 = i1_odd2
            i1_odd2 = detr
        else:
            detr = _ht(buf, prev, prev_in, 0, 1, hidx, smoothed, adj)
            q1 = _ht(buf, prev, prev_in, 1, 1, hidx, detr, adj)
            ji = _ht(buf, prev, prev_in, 2, 1, hidx, i1_odd3, adj)
            jq = _ht(buf, prev, prev_in, 3, 1, hidx, q1, adj)
            q2 = 0.2 * (q1 + ji) + 0.8 * prev_q2
            i2 = 0.2 * (i1_odd3 - jq) + 0.8 * prev_i2
            if kind == 1 and today >= first:
                out1[today] = i1_odd3
                out2[today] = q1
            i1_even3 = i1_even2
            i1_even2 = detr
        re = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * re
        im = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * im
        prev_q2 = q2
        prev_i2 = i2
        t = period
        if im != 0.0 and re != 0.0:
            period = 360.0 / (math.atan(im / re) * RAD2DEG)
        t2 = 1.5 * t
        if period > t2:
            period = t2
        t2 = 0.67 * t
        if period < t2:
            period = t2
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        period = 0.2 * period + 0.8 * t
        smooth_period = 0.33 * period + 0.67 * smooth_period
        if kind == 0 and today >= first:
            out1[today] = smooth_period
        if want_phase:
            prev_dc_phase = dc_phase
            dc_period_int = int(smooth_period + 0.5)
            real_part = 0.0
            imag_part = 0.0
            idx = sp_idx
            for i in range(dc_period_int):
                t = float(i) * _C360 / float(dc_period_int)
                t2 = smooth_price[idx]
                real_part += math.sin(t) * t2
                imag_part += math.cos(t) * t2
                if idx == 0:
                    idx = 49
                else:
                    idx -= 1
            t = abs(imag_part)
            if t > 0.0:
                dc_phase = math.atan(real_part / imag_part) * _R2D
            elif t <= 0.01:
                if real_part < 0.0:
                    dc_phase -= 90.0
                elif real_part > 0.0:
                    dc_phase += 90.0
            dc_phase += 90.0
            dc_phase += 360.0 / smooth_period
            if imag_part < 0.0:
                dc_phase += 180.0
            if dc_phase > 315.0:
                dc_phase -= 360.0
            prev_sine = sine
            prev_lead_sine = lead_sine
            sine = math.sin(dc_phase * _D2R)
            lead_sine = math.sin((dc_phase + 45) * _D2R)
            if today >= first:
                if kind == 2:
                    out1[today] = dc_phase
                elif kind == 3:
                    out1[today] = sine
                    out2[today] = lead_sine
        if want_trend:
            dc_period_int = int(smooth_period + 0.5)
            idx = today
            t = 0.0
            for _ in range(dc_period_int):
                t += x[idx]
                idx -= 1
            if dc_period_int > 0:
                t = t / float(dc_period_int)
            trendline = (4.0 * t + 3.0 * it1 + 2.0 * it2 + it3) / 10.0
            it3 = it2
            it2 = it1
            it1 = t
            if kind == 4:
                if today >= first:
                    out1[today] = trendline
            else:
                trend = 1
                if (sine > lead_sine and prev_sine <= prev_lead_sine) or (
                    sine < lead_sine and prev_sine >= prev_lead_sine
                ):
                    days_in_trend = 0
                    trend = 0
                days_in_trend += 1
                if days_in_trend < 0.5 * smooth_period:
                    trend = 0
                t = dc_phase - prev_dc_phase
                if smooth_period != 0.0 and (
                    t > 0.67 * 360.0 / smooth_period and t < 1.5 * 360.0 / smooth_period
                ):
                    trend = 0
                t = smooth_price[sp_idx]
                if trendline != 0.0 and abs((t - trendline) / trendline) >= 0.015:
                    trend = 1
                if today >= first:
                    out1[today] = float(trend)
        sp_idx += 1
        if sp_idx > 49:
            sp_idx = 0
        today += 1


# ============================================================================ HT_* family (streaming)
class HTState:
    """Streaming twin of `_ht_core` for one kind; `step(x)` returns a float or a pair."""

    __slots__ = (
        "kind", "lookback", "init_end", "want_phase", "want_trend", "two", "hist", "wma", "n", "ht", "hidx",
        "period", "smooth_period", "prev_q2", "prev_i2", "re", "im", "i1_odd3", "i1_even3", "i1_odd2",
        "i1_even2", "smooth_price", "sp_idx", "dc_phase", "sine", "lead_sine", "it1", "it2", "it3", "days",
    )  # fmt: skip

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.lookback = HT_LOOKBACK[kind]
        self.init_end = 3 + HT_INIT[kind]
        self.want_phase = kind in (2, 3, 5)
        self.want_trend = kind in (4, 5)
        self.two = kind in (1, 3)
        self.hist: list[float] = []  # raw prices for the trendline average (last 50)
        self.wma = PriceWMA4()
        self.n = 0
        self.ht = HTFilter(4)
        self.hidx = 0
        self.period = self.smooth_period = 0.0
        self.prev_q2 = self.prev_i2 = self.re = self.im = 0.0
        self.i1_odd3 = self.i1_even3 = self.i1_odd2 = self.i1_even2 = 0.0
        self.smooth_price = [0.0] * 50
        self.sp_idx = 0
        self.dc_phase = self.sine = self.lead_sine = 0.0
        self.it1 = self.it2 = self.it3 = 0.0
        self.days = 0

    def _nan(self):
        return (math.nan, math.nan) if self.two else math.nan

    def step(self, value: float):
        if not -_INF < value < _INF:
            if self.n == 0:
                return self._nan()
            from quantdesk.core.errors import DataError

            raise DataError(f"ht: NaN/inf input after {self.n} valid values")
        n = self.n
        self.n = n + 1
        if self.want_trend:
            h = self.hist
            h.append(value)
            if len(h) > 64:
                del h[:-51]
        if n < self.init_end:
            self.wma.step(value)
            return self._nan()
        kind = self.kind
        ready = n >= self.lookback
        adj = 0.075 * self.period + 0.54
        smoothed = self.wma.step(value)
        sp_idx = self.sp_idx
        self.smooth_price[sp_idx] = smoothed
        ht = self.ht
        hidx = self.hidx
        out1 = out2 = math.nan
        if n % 2 == 0:
            detr = ht(0, 0, hidx, smoothed, adj)
            q1 = ht(1, 0, hidx, detr, adj)
            ji = ht(2, 0, hidx, self.i1_even3, adj)
            jq = ht(3, 0, hidx, q1, adj)
            hidx += 1
            self.hidx = 0 if hidx == 3 else hidx
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2
            i2 = 0.2 * (self.i1_even3 - jq) + 0.8 * self.prev_i2
            if kind == 1:
                out1 = self.i1_even3
                out2 = q1
            self.i1_odd3 = self.i1_odd2
            self.i1_odd2 = detr
        else:
            detr = ht(0, 1, hidx, smoothed, adj)
            q1 = ht(1, 1, hidx, detr, adj)
            ji = ht(2, 1, hidx, self.i1_odd3, adj)
            jq = ht(3, 1, hidx, q1, adj)
            q2 = 0.2 * (q1 + ji) + 0.8 * self.prev_q2
            i2 = 0.2 * (self.i1_odd3 - jq) + 0.8 * self.prev_i2
            if kind == 1:
                out1 = self.i1_odd3
                out2 = q1
            self.i1_even3 = self.i1_even2
            self.i1_even2 = detr
        prev_i2 = self.prev_i2
        prev_q2 = self.prev_q2
        self.re = re = 0.2 * (i2 * prev_i2 + q2 * prev_q2) + 0.8 * self.re
        self.im = im = 0.2 * (i2 * prev_q2 - q2 * prev_i2) + 0.8 * self.im
        self.prev_q2 = q2
        self.prev_i2 = i2
        t = self.period
        period = t
        if im != 0.0 and re != 0.0:
            period = 360.0 / (math.atan(im / re) * RAD2DEG)
        t2 = 1.5 * t
        if period > t2:
            period = t2
        t2 = 0.67 * t
        if period < t2:
            period = t2
        if period < 6:
            period = 6.0
        elif period > 50:
            period = 50.0
        self.period = period = 0.2 * period + 0.8 * t
        self.smooth_period = sper = 0.33 * period + 0.67 * self.smooth_period
        if kind == 0:
            out1 = sper
        if self.want_phase:
            prev_dc_phase = dc_phase = self.dc_phase
            dcp = int(sper + 0.5)
            real_part = 0.0
            imag_part = 0.0
            idx = sp_idx
            sp = self.smooth_price
            for i in range(dcp):
                t = float(i) * _C360 / float(dcp)
                t2 = sp[idx]
                real_part += math.sin(t) * t2
                imag_part += math.cos(t) * t2
                idx = 49 if idx == 0 else idx - 1
            t = abs(imag_part)
            if t > 0.0:
                dc_phase = math.atan(real_part / imag_part) * _R2D
            elif t <= 0.01:
                if real_part < 0.0:
                    dc_phase -= 90.0
                elif real_part > 0.0:
                    dc_phase += 90.0
            dc_phase += 90.0
            dc_phase += 360.0 / sper
            if imag_part < 0.0:
                dc_phase += 180.0
            if dc_phase > 315.0:
                dc_phase -= 360.0
            self.dc_phase = dc_phase
            prev_sine = self.sine
            prev_lead_sine = self.lead_sine
            self.sine = sine = math.sin(dc_phase * _D2R)
            self.lead_sine = lead_sine = math.sin((dc_phase + 45) * _D2R)
            if kind == 2:
                out1 = dc_phase
            elif kind == 3:
                out1 = sine
                out2 = lead_sine
        if self.want_trend:
            dcp = int(sper + 0.5)
            h = self.hist
            t = 0.0
            for i in range(dcp):
                t += h[-1 - i]
            if dcp > 0:
                t = t / float(dcp)
            trendline = (4.0 * t + 3.0 * self.it1 + 2.0 * self.it2 + self.it3) / 10.0
            self.it3 = self.it2
            self.it2 = self.it1
            self.it1 = t
            if kind == 4:
                out1 = trendline
            else:
                trend = 1
                if (sine > lead_sine and prev_sine <= prev_lead_sine) or (
                    sine < lead_sine and prev_sine >= prev_lead_sine
                ):
                    self.days = 0
                    trend = 0
                self.days += 1
                if self.days < 0.5 * sper:
                    trend = 0
                t = dc_phase - prev_dc_phase
                if sper != 0.0 and (t > 0.67 * 360.0 / sper and t < 1.5 * 360.0 / sper):
                    trend = 0
                t = self.smooth_price[sp_idx]
                if trendline != 0.0 and abs((t - trendline) / trendline) >= 0.015:
                    trend = 1
                out1 = float(trend)
        sp_idx += 1
        self.sp_idx = 0 if sp_idx > 49 else sp_idx
        if not ready:
            return self._nan()
        return (out1, out2) if self.two else out1
