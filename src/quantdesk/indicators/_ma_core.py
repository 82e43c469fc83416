"""Numba cores for the moving averages (TA-Lib-exact), and their streaming state machines.

Conventions of every core: `_xxx_core(x, s, ..., out)` reads `x[s:]` (`s` = index of the first valid value;
everything before it is leading NaN) and fills the whole of `out`: NaN up to `s + lookback - 1`, values after.
The arithmetic follows TA-Lib's C code operation for operation, so results agree to the last bit or nearly.
Streaming twins (`*State`) repeat the same operations in the same order, one value at a time.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numba import njit

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators._hilbert import MAMAState, _mama_core

NAN = math.nan

# TA-Lib MAType numbering.
MA_NAMES = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")


# ----------------------------------------------------------------------------------------- input checks
@njit(cache=True)
def _scan(x):
    """(first finite index, index of the first non-finite value after it or -1)."""
    n = x.shape[0]
    b = 0
    while b < n and not math.isfinite(x[b]):
        b += 1
    # fast path: v - v is 0.0 for finite v and NaN otherwise; four independent sums hide the add latency
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = b
    while i + 4 <= n:
        v0 = x[i]
        v1 = x[i + 1]
        v2 = x[i + 2]
        v3 = x[i + 3]
        a0 += v0 - v0
        a1 += v1 - v1
        a2 += v2 - v2
        a3 += v3 - v3
        i += 4
    while i < n:
        v0 = x[i]
        a0 += v0 - v0
        i += 1
    if a0 + a1 + a2 + a3 == 0.0:
        return b, -1
    for j in range(b, n):
        if not math.isfinite(x[j]):
            return b, j
    return b, -1


def prep(values, name: str, indicator: str) -> tuple[np.ndarray, int]:
    """Contiguous float64 1-D array and its first valid index; DataError on NaN/inf inside the data."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
    b, bad = _scan(arr)
    if bad >= 0:
        raise DataError(f"{indicator}: input {name!r} has a NaN/inf value inside the data at index {bad}")
    return arr, int(b)


def prep_many(indicator: str, **arrays) -> tuple[list[np.ndarray], int]:
    """Several same-length inputs; returns them and the first index where all are valid."""
    out = []
    begin = 0
    n = None
    for name, values in arrays.items():
        arr, b = prep(values, name, indicator)
        if n is None:
            n = len(arr)
        elif len(arr) != n:
            lengths = {k: len(np.asarray(v)) for k, v in arrays.items()}
            raise DataError(f"{indicator}: inputs have different lengths {lengths}")
        out.append(arr)
        begin = max(begin, b)
    return out, begin


def check_int(indicator: str, name: str, value, minimum: int, maximum: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or int(value) != value:
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return value


def check_float(indicator: str, name: str, value, minimum: float, maximum: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{indicator}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return value


def check_matype(indicator: str, name: str, value) -> int:
    return check_int(indicator, name, value, 0, 8)


# ----------------------------------------------------------------------------------------- lookbacks
def ma_lookback(period: int, matype: int) -> int:
    if period <= 1:
        return 0
    if matype == 0 or matype == 2 or matype == 5:
        return period - 1
    if matype == 1:
        return period - 1
    if matype == 3:
        return 2 * (period - 1)
    if matype == 4:
        return 3 * (period - 1)
    if matype == 6:
        return period
    if matype == 7:
        return 32
    return 6 * (period - 1)


@njit(cache=True)
def _nan_prefix(out, end):
    m = min(end, out.shape[0])
    for i in range(m):
        out[i] = np.nan


# ----------------------------------------------------------------------------------------- cores
@njit(cache=True)
def _copy_core(x, s, out):
    _nan_prefix(out, s)
    for i in range(s, x.shape[0]):
        out[i] = x[i]


@njit(cache=True)
def _sma_core(x, s, p, out):
    n = x.shape[0]
    first = s + p - 1
    _nan_prefix(out, first)
    if first >= n:
        return
    total = 0.0
    for i in range(s, first):
        total += x[i]
    trailing = s
    for i in range(first, n):
        total += x[i]
        tmp = total
        total -= x[trailing]
        trailing += 1
        out[i] = tmp / p


@njit(cache=True)
def _ema_core(x, s, p, k, out):
    n = x.shape[0]
    first = s + p - 1
    _nan_prefix(out, first)
    if first >= n:
        return
    total = 0.0
    for i in range(s, first + 1):
        total += x[i]
    prev = total / p
    out[first] = prev
    for i in range(first + 1, n):
        prev = ((x[i] - prev) * k) + prev
        out[i] = prev


@njit(cache=True)
def _wma_core(x, s, p, out):
    n = x.shape[0]
    first = s + p - 1
    _nan_prefix(out, first)
    if first >= n:
        return
    if p == 1:
        for i in range(s, n):
            out[i] = x[i]
        return
    divider = float((p * (p + 1)) >> 1)
    psub = 0.0
    psum = 0.0
    w = 1
    for i in range(s, first):
        v = x[i]
        psub += v
        psum += v * w
        w += 1
    trailing_value = 0.0
    trailing = s
    for i in range(first, n):
        v = x[i]
        psub += v
        psub -= trailing_value
        psum += v * p
        trailing_value = x[trailing]
        trailing += 1
        out[i] = psum / divider
        psum -= psub


@njit(cache=True)
def _ema_stack_core(x, s, p, depth, kind, out):
    """`depth` chained EMAs (each seeded with the SMA of its first `p` inputs, like TA_EMA) in one pass.

    kind 0: DEMA = 2*e1 - e2; kind 1: TEMA = e3 + (3*e1 - 3*e2); kind 2: TRIX = 100 * (e3/e3[-1] - 1).
    """
    n = x.shape[0]
    k = 2.0 / (p + 1)
    lb = depth * (p - 1)
    first = s + lb + (1 if kind == 2 else 0)
    _nan_prefix(out, first)
    e0 = 0.0
    e1 = 0.0
    e2 = 0.0
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    prev3 = 0.0
    pm1 = p - 1
    for i in range(s, n):
        r = i - s
        v = x[i]
        # level 0
        if r < pm1:
            t0 += v
            continue
        if r == pm1:
            t0 += v
            e0 = t0 / p
        else:
            e0 = ((v - e0) * k) + e0
        # level 1 (first input at r = p-1)
        r1 = r - pm1
        if r1 < pm1:
            t1 += e0
            continue
        if r1 == pm1:
            t1 += e0
            e1 = t1 / p
        else:
            e1 = ((e0 - e1) * k) + e1
        if depth == 2:
            out[i] = (2.0 * e0) - e1
            continue
        r2 = r1 - pm1
        if r2 < pm1:
            t2 += e1
            continue
        if r2 == pm1:
            t2 += e1
            e2 = t2 / p
        else:
            e2 = ((e1 - e2) * k) + e2
        if kind == 1:
            out[i] = e2 + ((3.0 * e0) - (3.0 * e1))
        else:
            if r2 > pm1:
                out[i] = ((e2 / prev3) - 1.0) * 100.0 if prev3 != 0.0 else 0.0
            prev3 = e2


@njit(cache=True)
def _dema_core(x, s, p, out):
    _ema_stack_core(x, s, p, 2, 0, out)


@njit(cache=True)
def _tema_core(x, s, p, out):
    _ema_stack_core(x, s, p, 3, 1, out)


@njit(cache=True)
def _trima_core(x, s, p, out):
    # Triangular MA = SMA(SMA(x, a), b): odd p -> a = b = (p+1)/2; even p -> a = p/2, b = p/2 + 1.
    # Two running sums; the second runs over the first-stage sums (kept in a ring buffer).
    n = x.shape[0]
    if p % 2 == 1:
        a = (p + 1) // 2
        b = a
    else:
        a = p // 2
        b = a + 1
    first = s + p - 1
    _nan_prefix(out, first)
    if first >= n:
        return
    buf = np.empty(b)
    t1 = 0.0
    for i in range(s, s + a - 1):
        t1 += x[i]
    t2 = 0.0
    j = 0  # number of first-stage sums so far
    w = 0  # ring write position (= j % b)
    div = float(a * b)
    for i in range(s + a - 1, n):
        t1 += x[i]
        v = t1
        t1 -= x[i - a + 1]
        t2 += v
        buf[w] = v
        w += 1
        if w == b:
            w = 0
        if j >= b - 1:
            out[i] = t2 / div
            t2 -= buf[w]  # the oldest sum (slot to be written next)
        j += 1


@njit(cache=True)
def _kama_core(x, s, p, out):
    n = x.shape[0]
    first = s + p
    _nan_prefix(out, first)
    if first >= n:
        return
    const_max = 2.0 / (30.0 + 1.0)
    const_diff = 2.0 / (2.0 + 1.0) - const_max
    sum_roc1 = 0.0
    today = s
    trailing = s
    for _ in range(p):
        t = x[today]
        today += 1
        t -= x[today]
        sum_roc1 += abs(t)
    prev = x[today - 1]
    t = x[today]
    t2 = x[trailing]
    trailing += 1
    period_roc = t - t2
    trailing_value = t2
    if sum_roc1 <= period_roc or (-1e-8 < sum_roc1 < 1e-8):
        t = 1.0
    else:
        t = abs(period_roc / sum_roc1)
    t = t * const_diff + const_max
    t *= t
    prev = (x[today] - prev) * t + prev
    out[today] = prev
    today += 1
    while today < n:
        t = x[today]
        t2 = x[trailing]
        trailing += 1
        period_roc = t - t2
        sum_roc1 -= abs(trailing_value - t2)
        sum_roc1 += abs(t - x[today - 1])
        trailing_value = t2
        if sum_roc1 <= period_roc or (-1e-8 < sum_roc1 < 1e-8):
            t = 1.0
        else:
            t = abs(period_roc / sum_roc1)
        t = t * const_diff + const_max
        t *= t
        prev = (x[today] - prev) * t + prev
        out[today] = prev
        today += 1


@njit(cache=True)
def _t3_core(x, s, p, v, out):
    n = x.shape[0]
    lb = 6 * (p - 1)
    first = s + lb
    _nan_prefix(out, first)
    if first >= n:
        return
    if p == 1:
        for i in range(s, n):
            out[i] = x[i]
        return
    k = 2.0 / (p + 1.0)
    omk = 1.0 - k
    today = s
    t = x[today]
    today += 1
    for _ in range(p - 1):
        t += x[today]
        today += 1
    e1 = t / p
    t = e1
    for _ in range(p - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        t += e1
    e2 = t / p
    t = e2
    for _ in range(p - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        t += e2
    e3 = t / p
    t = e3
    for _ in range(p - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        t += e3
    e4 = t / p
    t = e4
    for _ in range(p - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        t += e4
    e5 = t / p
    t = e5
    for _ in range(p - 1):
        e1 = k * x[today] + omk * e1
        today += 1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        e5 = k * e4 + omk * e5
        t += e5
    e6 = t / p
    t = v * v
    c1 = 0 - t * v
    c2 = 3.0 * (t - c1)
    c3 = (0 - 6.0) * t - 3.0 * (v - c1)
    c4 = 1.0 + 3.0 * v - c1 + 3.0 * t
    out[first] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
    for i in range(first + 1, n):
        e1 = k * x[i] + omk * e1
        e2 = k * e1 + omk * e2
        e3 = k * e2 + omk * e3
        e4 = k * e3 + omk * e4
        e5 = k * e4 + omk * e5
        e6 = k * e5 + omk * e6
        out[i] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3


@njit(cache=True)
def _ma_core(x, s, p, matype, out):
    """TA-Lib's TA_MA: period 1 copies the input whatever the type; MAMA ignores the period."""
    if p == 1:
        _copy_core(x, s, out)
    elif matype == 0:
        _sma_core(x, s, p, out)
    elif matype == 1:
        _ema_core(x, s, p, 2.0 / (p + 1), out)
    elif matype == 2:
        _wma_core(x, s, p, out)
    elif matype == 3:
        _dema_core(x, s, p, out)
    elif matype == 4:
        _tema_core(x, s, p, out)
    elif matype == 5:
        _trima_core(x, s, p, out)
    elif matype == 6:
        _kama_core(x, s, p, out)
    elif matype == 7:
        fama = np.empty(x.shape[0])
        _mama_core(x, s, 0.5, 0.05, out, fama)
    else:
        _t3_core(x, s, p, 0.7, out)


# ============================================================================ streaming states (pure Python)
_INF = math.inf


def _bad_input(name: str, count: int) -> DataError:
    return DataError(f"{name}: NaN/inf input after {count} valid values")


class CopyState:
    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.started:
                raise _bad_input("ma", 1)
            return NAN
        self.started = True
        return x


class SMAState:
    __slots__ = ("p", "buf", "total")

    def __init__(self, p: int) -> None:
        self.p = p
        self.buf: deque[float] = deque()
        self.total = 0.0

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.buf:
                raise _bad_input("sma", len(self.buf))
            return NAN
        self.total += x
        buf = self.buf
        buf.append(x)
        if len(buf) < self.p:
            return NAN
        tmp = self.total
        self.total -= buf.popleft()
        return tmp / self.p


class EMAState:
    __slots__ = ("p", "k", "n", "total", "prev")

    def __init__(self, p: int, k: float | None = None) -> None:
        self.p = p
        self.k = 2.0 / (p + 1) if k is None else k
        self.n = 0
        self.total = 0.0
        self.prev = NAN

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.n:
                raise _bad_input("ema", self.n)
            return NAN
        if self.n >= self.p:
            prev = self.prev
            prev = ((x - prev) * self.k) + prev
            self.prev = prev
            return prev
        self.n += 1
        self.total += x
        if self.n == self.p:
            self.prev = self.total / self.p
            return self.prev
        return NAN


class WMAState:
    __slots__ = ("p", "divider", "buf", "psub", "psum", "tv", "n")

    def __init__(self, p: int) -> None:
        self.p = p
        self.divider = float((p * (p + 1)) >> 1)
        self.buf: deque[float] = deque()
        self.psub = 0.0
        self.psum = 0.0
        self.tv = 0.0
        self.n = 0

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.n:
                raise _bad_input("wma", self.n)
            return NAN
        p = self.p
        if p == 1:
            self.n = 1
            return x
        buf = self.buf
        buf.append(x)
        if self.n < p - 1:
            self.n += 1
            self.psub += x
            self.psum += x * self.n
            return NAN
        self.n = p
        if len(buf) > p:
            buf.popleft()
        self.psub += x
        self.psub -= self.tv
        self.psum += x * p
        self.tv = buf[0]
        out = self.psum / self.divider
        self.psum -= self.psub
        return out


class DEMAState:
    __slots__ = ("e1", "e2")

    def __init__(self, p: int) -> None:
        self.e1 = EMAState(p)
        self.e2 = EMAState(p)

    def step(self, x: float) -> float:
        a = self.e1.step(x)
        if a != a:
            return NAN
        b = self.e2.step(a)
        if b != b:
            return NAN
        return (2.0 * a) - b


class TEMAState:
    __slots__ = ("e1", "e2", "e3")

    def __init__(self, p: int) -> None:
        self.e1 = EMAState(p)
        self.e2 = EMAState(p)
        self.e3 = EMAState(p)

    def step(self, x: float) -> float:
        a = self.e1.step(x)
        if a != a:
            return NAN
        b = self.e2.step(a)
        if b != b:
            return NAN
        c = self.e3.step(b)
        if c != c:
            return NAN
        return c + ((3.0 * a) - (3.0 * b))


class TRIMAState:
    __slots__ = ("a", "b", "div", "xs", "vs", "t1", "t2", "n")

    def __init__(self, p: int) -> None:
        if p % 2 == 1:
            self.a = self.b = (p + 1) // 2
        else:
            self.a = p // 2
            self.b = self.a + 1
        self.div = float(self.a * self.b)
        self.xs: deque[float] = deque()
        self.vs: deque[float] = deque()
        self.t1 = 0.0
        self.t2 = 0.0
        self.n = 0

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.n:
                raise _bad_input("trima", self.n)
            return NAN
        self.n += 1
        self.t1 += x
        xs = self.xs
        xs.append(x)
        if len(xs) < self.a:
            return NAN
        v = self.t1
        self.t1 -= xs.popleft()
        self.t2 += v
        vs = self.vs
        vs.append(v)
        if len(vs) < self.b:
            return NAN
        out = self.t2 / self.div
        self.t2 -= vs.popleft()
        return out


class KAMAState:
    __slots__ = ("p", "buf", "n", "sum_roc1", "prev", "tv")
    CONST_MAX = 2.0 / (30.0 + 1.0)
    CONST_DIFF = 2.0 / (2.0 + 1.0) - 2.0 / (30.0 + 1.0)

    def __init__(self, p: int) -> None:
        self.p = p
        self.buf: deque[float] = deque()
        self.n = 0
        self.sum_roc1 = 0.0
        self.prev = 0.0
        self.tv = 0.0

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.n:
                raise _bad_input("kama", self.n)
            return NAN
        p = self.p
        if p == 1:
            self.n = 1
            return x
        n = self.n
        self.n = n + 1
        buf = self.buf
        last = buf[-1] if buf else 0.0
        buf.append(x)
        if n < p:
            if n:
                self.sum_roc1 += abs(last - x)
            return NAN
        if len(buf) > p + 1:
            buf.popleft()
        t2 = buf[0]
        period_roc = x - t2
        if n == p:
            self.sum_roc1 += abs(last - x)
            prev = last
        else:
            self.sum_roc1 -= abs(self.tv - t2)
            self.sum_roc1 += abs(x - last)
            prev = self.prev
        self.tv = t2
        s = self.sum_roc1
        if s <= period_roc or (-1e-8 < s < 1e-8):
            t = 1.0
        else:
            t = abs(period_roc / s)
        t = t * self.CONST_DIFF + self.CONST_MAX
        t *= t
        prev = (x - prev) * t + prev
        self.prev = prev
        return prev


class T3State:
    __slots__ = ("p", "k", "omk", "n", "e", "tmp", "c1", "c2", "c3", "c4")

    def __init__(self, p: int, v: float = 0.7) -> None:
        self.p = p
        self.k = 2.0 / (p + 1.0)
        self.omk = 1.0 - self.k
        self.n = 0
        self.e = [0.0] * 6
        self.tmp = 0.0
        t = v * v
        self.c1 = 0 - t * v
        self.c2 = 3.0 * (t - self.c1)
        self.c3 = (0 - 6.0) * t - 3.0 * (v - self.c1)
        self.c4 = 1.0 + 3.0 * v - self.c1 + 3.0 * t

    def step(self, x: float) -> float:
        if not -_INF < x < _INF:
            if self.n:
                raise _bad_input("t3", self.n)
            return NAN
        p = self.p
        if p == 1:
            self.n = 1
            return x
        n = self.n
        self.n = n + 1
        e = self.e
        k = self.k
        omk = self.omk
        if n < p:  # initial sum for e1
            self.tmp += x
            if n == p - 1:
                e[0] = self.tmp / p
                self.tmp = e[0]
            return NAN
        lookback = 6 * (p - 1)
        if n <= lookback:
            stage = (n - p) // (p - 1) + 1  # which e is being initialised (1..5 -> e2..e6)
            e[0] = k * x + omk * e[0]
            for j in range(1, stage):
                e[j] = k * e[j - 1] + omk * e[j]
            self.tmp += e[stage - 1]
            if (n - p) % (p - 1) == p - 2:
                e[stage] = self.tmp / p
                self.tmp = e[stage]
            if n < lookback:
                return NAN
        else:
            e0 = k * x + omk * e[0]
            e1 = k * e0 + omk * e[1]
            e2 = k * e1 + omk * e[2]
            e3 = k * e2 + omk * e[3]
            e4 = k * e3 + omk * e[4]
            e5 = k * e4 + omk * e[5]
            e[0] = e0
            e[1] = e1
            e[2] = e2
            e[3] = e3
            e[4] = e4
            e[5] = e5
        return self.c1 * e[5] + self.c2 * e[4] + self.c3 * e[3] + self.c4 * e[2]


class MAMAOnly:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = MAMAState(0.5, 0.05)

    def step(self, x: float) -> float:
        return self.state.step(x)[0]


def make_ma_state(period: int, matype: int):
    """A fresh streaming state for TA_MA(period, matype): `.step(x) -> float` (NaN while warming up)."""
    if period == 1:
        return CopyState()
    if matype == 0:
        return SMAState(period)
    if matype == 1:
        return EMAState(period)
    if matype == 2:
        return WMAState(period)
    if matype == 3:
        return DEMAState(period)
    if matype == 4:
        return TEMAState(period)
    if matype == 5:
        return TRIMAState(period)
    if matype == 6:
        return KAMAState(period)
    if matype == 7:
        return MAMAOnly()
    return T3State(period, 0.7)


# ============================================================================ bands / extremes / SAR cores
@njit(cache=True)
def _stddev_core(x, begin, p, out):
    """Population stddev of the last `p` values for i >= begin (NaN before).

    Running sums of deviations from an anchor K (re-anchored to the newest value every `p` bars, when the
    sums are recomputed from the window): O(1) per bar, no drift, and no catastrophic cancellation of
    E[x^2] - E[x]^2 at large prices, so a flat window gives exactly 0 like TA-Lib.
    """
    n = x.shape[0]
    _nan_prefix(out, begin)
    inv_p = 1.0 / p
    k = 0.0
    s1 = 0.0
    s2 = 0.0
    c = 0
    for i in range(begin, n):
        if c == 0:
            k = x[i]
            s1 = 0.0
            s2 = 0.0
            for j in range(i - p + 1, i + 1):
                d = x[j] - k
                s1 += d
                s2 += d * d
        else:
            d = x[i] - k
            s1 += d
            s2 += d * d
            d = x[i - p] - k
            s1 -= d
            s2 -= d * d
        c += 1
        if c == p:
            c = 0
        m1 = s1 * inv_p
        v = s2 * inv_p - m1 * m1
        out[i] = math.sqrt(v) if v > 0.0 else 0.0


@njit(cache=True)
def _bbands_core(x, s, p, up, dn, matype, lb, upper, middle, lower):
    n = x.shape[0]
    _ma_core(x, s, p, matype, middle)
    first = s + lb
    begin = max(first, s + p - 1)
    _stddev_core(x, begin, p, upper)  # upper holds the stddev for now
    for i in range(first, min(begin, n)):
        middle[i] = np.nan
    for i in range(begin, n):
        sd = upper[i]
        m = middle[i]
        upper[i] = m + sd * up
        lower[i] = m - sd * dn
    _nan_prefix(lower, begin)


@njit(cache=True)
def _midpoint_core(hi, lo, s, p, out):
    """(highest(hi) + lowest(lo)) / 2 over `p` bars.

    Van Herk / Gil-Werman: blocks of `p` bars; a window is the suffix of the previous block plus the
    prefix of the current one, so each bar costs a few branch-free compares whatever `p` is.
    """
    n = hi.shape[0]
    first = s + p - 1
    _nan_prefix(out, first)
    if first >= n:
        return
    suf_h = np.empty(p)
    suf_l = np.empty(p)
    base = s
    while base < n:
        end = min(base + p, n)
        have_prev = base - p >= s
        if have_prev:
            mh = hi[base - 1]
            ml = lo[base - 1]
            suf_h[p - 1] = mh
            suf_l[p - 1] = ml
            for o in range(p - 2, -1, -1):
                v = hi[base - p + o]
                mh = v if v > mh else mh
                suf_h[o] = mh
                v = lo[base - p + o]
                ml = v if v < ml else ml
                suf_l[o] = ml
        ph = hi[base]
        pl = lo[base]
        for i in range(base, end):
            v = hi[i]
            ph = v if v > ph else ph
            v = lo[i]
            pl = v if v < pl else pl
            o = i - base + 1
            if o == p:
                out[i] = (ph + pl) / 2.0
            elif have_prev:
                a = suf_h[o]
                b = suf_l[o]
                out[i] = ((a if a > ph else ph) + (b if b < pl else pl)) / 2.0
        base += p


@njit(cache=True, inline="always")
def _acc_band(h, lo):
    t = h + lo
    if not (-1e-14 < t < 1e-14):
        t = 4 * (h - lo) / t
        return h * (1 + t), lo * (1 - t)
    return h, lo


@njit(cache=True)
def _accbands_core(hi, lo, cl, s, p, upper, middle, lower):
    """Three SMAs (TA_SMA's running-sum arithmetic) of the widened high, the close and the widened low,
    in one pass (the widened values of the window are kept in small rings)."""
    n = hi.shape[0]
    first = s + p - 1
    _nan_prefix(upper, first)
    _nan_prefix(middle, first)
    _nan_prefix(lower, first)
    if first >= n:
        return
    ring_u = np.empty(p)
    ring_w = np.empty(p)
    tu = 0.0
    tm = 0.0
    tl = 0.0
    pos = 0
    for i in range(s, first):
        u, w = _acc_band(hi[i], lo[i])
        ring_u[pos] = u
        ring_w[pos] = w
        pos += 1
        tu += u
        tm += cl[i]
        tl += w
    trailing = s
    for i in range(first, n):
        u, w = _acc_band(hi[i], lo[i])
        ring_u[pos] = u
        ring_w[pos] = w
        pos += 1
        if pos == p:
            pos = 0
        tu += u
        tm += cl[i]
        tl += w
        a = tu
        b = tm
        c = tl
        tu -= ring_u[pos]  # the oldest (trailing) values sit where the next write goes
        tm -= cl[trailing]
        tl -= ring_w[pos]
        trailing += 1
        upper[i] = a / p
        middle[i] = b / p
        lower[i] = c / p


@njit(cache=True)
def _sarext_core(
    hi, lo, s, start_value, offset, ai_long, a_long, amax_long, ai_short, a_short, amax_short, ext, out
):
    """Parabolic SAR (TA_SAR when ext=False, TA_SAREXT with signed output when ext=True)."""
    n = hi.shape[0]
    _nan_prefix(out, s + 1)
    if s + 1 >= n:
        return
    if ai_long > amax_long:
        ai_long = amax_long
    if a_long > amax_long:
        a_long = amax_long
    if ai_short > amax_short:
        ai_short = amax_short
    if a_short > amax_short:
        a_short = amax_short
    today = s + 1
    if start_value == 0.0:
        diff_p = hi[today] - hi[today - 1]
        diff_m = lo[today - 1] - lo[today]
        minus_dm = diff_m if (diff_m > 0 and diff_p < diff_m) else 0.0
        is_long = not (minus_dm > 0)
    else:
        is_long = start_value > 0
    new_high = hi[today - 1]
    new_low = lo[today - 1]
    if start_value == 0.0:
        if is_long:
            ep = hi[today]
            sar = new_low
        else:
            ep = lo[today]
            sar = new_high
    elif start_value > 0:
        ep = hi[today]
        sar = start_value
    else:
        ep = lo[today]
        sar = abs(start_value)
    af_long = ai_long
    af_short = ai_short
    new_low = lo[today]
    new_high = hi[today]
    while today < n:
        prev_low = new_low
        prev_high = new_high
        new_low = lo[today]
        new_high = hi[today]
        if is_long:
            if new_low <= sar:
                is_long = False
                sar = ep
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                if offset != 0.0:
                    sar += sar * offset
                out[today] = -sar if ext else sar
                af_short = ai_short
                ep = new_low
                sar = sar + af_short * (ep - sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
            else:
                out[today] = sar
                if new_high > ep:
                    ep = new_high
                    af_long += a_long
                    if af_long > amax_long:
                        af_long = amax_long
                sar = sar + af_long * (ep - sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
        else:
            if new_high >= sar:
                is_long = True
                sar = ep
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
                if offset != 0.0:
                    sar -= sar * offset
                out[today] = sar
                af_long = ai_long
                ep = new_high
                sar = sar + af_long * (ep - sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
            else:
                out[today] = -sar if ext else sar
                if new_low < ep:
                    ep = new_low
                    af_short += a_short
                    if af_short > amax_short:
                        af_short = amax_short
                sar = sar + af_short * (ep - sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
        today += 1


@njit(cache=True)
def _mavp_core(x, periods, s, pmin, pmax, matype, lb_max, out):
    n = x.shape[0]
    first = s + lb_max
    _nan_prefix(out, first)
    if first >= n:
        return
    # clamp the periods (C cast truncates toward zero), then bucket the bars by period (counting sort) so that
    # each period's MA is scattered to its own bars only, instead of a compare over all n bars per period
    m = n - first
    per = np.empty(m, np.int32)
    cnt = np.zeros(pmax + 2, np.int64)
    for j in range(m):
        q = int(periods[first + j])
        if q < pmin:
            q = pmin
        elif q > pmax:
            q = pmax
        per[j] = q
        cnt[q + 1] += 1
    for q in range(1, pmax + 2):
        cnt[q] += cnt[q - 1]  # cnt[q] = start of period q's bucket
    pos = cnt.copy()
    order = np.empty(m, np.int64)
    for j in range(m):
        q = per[j]
        order[pos[q]] = first + j
        pos[q] += 1
    tmp = np.empty(n)
    for q in range(pmin, pmax + 1):
        a = cnt[q]
        b = cnt[q + 1]
        if a == b:
            continue
        lbq = 0 if q == 1 else (32 if matype == 7 else _ma_lookback_nb(q, matype))
        start = first - lbq
        _ma_core(x[start:], 0, q, matype, tmp[start:])
        for j in range(a, b):
            i = order[j]
            out[i] = tmp[i]


@njit(cache=True)
def _ma_lookback_nb(p, matype):
    if p <= 1:
        return 0
    if matype == 3:
        return 2 * (p - 1)
    if matype == 4:
        return 3 * (p - 1)
    if matype == 6:
        return p
    if matype == 7:
        return 32
    if matype == 8:
        return 6 * (p - 1)
    return p - 1


# ============================================================================ streaming: bands / extremes / SAR
class StdDevState:
    """Streaming twin of `_stddev_core` (same anchor schedule, same operation order)."""

    __slots__ = ("p", "inv_p", "begin", "win", "n", "c", "k", "s1", "s2")

    def __init__(self, p: int, begin: int) -> None:
        self.p = p
        self.inv_p = 1.0 / p
        self.begin = begin  # relative index of the first output (>= p - 1)
        self.win: deque[float] = deque()
        self.n = 0
        self.c = 0
        self.k = self.s1 = self.s2 = 0.0

    def step(self, x: float) -> float:
        win = self.win
        win.append(x)
        old = win.popleft() if len(win) > self.p else 0.0
        if self.n < self.begin:
            self.n += 1
            return NAN
        c = self.c
        if c == 0:
            k = self.k = x
            s1 = s2 = 0.0
            for v in win:
                d = v - k
                s1 += d
                s2 += d * d
        else:
            k = self.k
            d = x - k
            s1 = self.s1 + d
            s2 = self.s2 + d * d
            d = old - k
            s1 -= d
            s2 -= d * d
        c += 1
        self.c = 0 if c == self.p else c
        self.s1 = s1
        self.s2 = s2
        inv_p = self.inv_p
        m1 = s1 * inv_p
        v = s2 * inv_p - m1 * m1
        return math.sqrt(v) if v > 0.0 else 0.0


class BBandsState:
    __slots__ = ("up", "dn", "ma", "sd", "n")

    def __init__(self, p: int, up: float, dn: float, matype: int) -> None:
        self.up = up
        self.dn = dn
        self.ma = make_ma_state(p, matype)
        self.sd = StdDevState(p, max(ma_lookback(p, matype), p - 1))
        self.n = 0

    def step(self, x: float) -> tuple[float, float, float]:
        mid = self.ma.step(x)
        if x != x:
            return (NAN, NAN, NAN)
        self.n += 1
        sd = self.sd.step(x)
        if sd != sd:
            return (NAN, NAN, NAN)
        return (mid + sd * self.up, mid, mid - sd * self.dn)


class MinMaxWindow:
    """Highest of `hi` and lowest of `lo` over the last `p` values (monotonic deques, O(1) amortised)."""

    __slots__ = ("p", "n", "hq", "lq")

    def __init__(self, p: int) -> None:
        self.p = p
        self.n = 0
        self.hq: deque[tuple[int, float]] = deque()
        self.lq: deque[tuple[int, float]] = deque()

    def push(self, hi: float, lo: float) -> bool:
        """Add one bar; True once `p` bars were seen."""
        n = self.n
        self.n = n + 1
        hq = self.hq
        while hq and hq[-1][1] <= hi:
            hq.pop()
        hq.append((n, hi))
        if hq[0][0] <= n - self.p:
            hq.popleft()
        lq = self.lq
        while lq and lq[-1][1] >= lo:
            lq.pop()
        lq.append((n, lo))
        if lq[0][0] <= n - self.p:
            lq.popleft()
        return n + 1 >= self.p

    @property
    def highest(self) -> float:
        return self.hq[0][1]

    @property
    def lowest(self) -> float:
        return self.lq[0][1]


class MidState:
    __slots__ = ("w",)

    def __init__(self, p: int) -> None:
        self.w = MinMaxWindow(p)

    def step(self, hi: float, lo: float | None = None) -> float:
        if lo is None:
            lo = hi
        if not (-_INF < hi < _INF and -_INF < lo < _INF):
            if self.w.n:
                raise _bad_input("midpoint/midprice", self.w.n)
            return NAN
        if not self.w.push(hi, lo):
            return NAN
        return (self.w.hq[0][1] + self.w.lq[0][1]) / 2.0


class ACCBandsState:
    __slots__ = ("u", "m", "l")

    def __init__(self, p: int) -> None:
        self.u = SMAState(p)
        self.m = SMAState(p)
        self.l = SMAState(p)

    def step(self, hi: float, lo: float, cl: float) -> tuple[float, float, float]:
        if not (-_INF < hi < _INF and -_INF < lo < _INF and -_INF < cl < _INF):
            if self.m.buf:
                raise _bad_input("accbands", len(self.m.buf))
            return (NAN, NAN, NAN)
        t = hi + lo
        if not (-1e-14 < t < 1e-14):
            t = 4 * (hi - lo) / t
            ub = hi * (1 + t)
            lb = lo * (1 - t)
        else:
            ub = hi
            lb = lo
        return (self.u.step(ub), self.m.step(cl), self.l.step(lb))


class SARState:
    __slots__ = (
        "start_value", "offset", "ai_long", "a_long", "amax_long", "ai_short", "a_short", "amax_short", "ext",
        "n", "is_long", "sar", "ep", "af_long", "af_short", "new_high", "new_low",
    )  # fmt: skip

    def __init__(self, start_value, offset, ai_long, a_long, amax_long, ai_short, a_short, amax_short, ext):
        self.start_value = start_value
        self.offset = offset
        self.ai_long = min(ai_long, amax_long)
        self.a_long = min(a_long, amax_long)
        self.amax_long = amax_long
        self.ai_short = min(ai_short, amax_short)
        self.a_short = min(a_short, amax_short)
        self.amax_short = amax_short
        self.ext = ext
        self.n = 0
        self.is_long = True
        self.sar = self.ep = self.af_long = self.af_short = 0.0
        self.new_high = self.new_low = 0.0

    def step(self, hi: float, lo: float) -> float:
        if not (-_INF < hi < _INF and -_INF < lo < _INF):
            if self.n:
                raise _bad_input("sar", self.n)
            return NAN
        n = self.n
        self.n = n + 1
        if n == 0:
            self.new_high = hi
            self.new_low = lo
            return NAN
        if n == 1:
            sv = self.start_value
            if sv == 0.0:
                diff_p = hi - self.new_high
                diff_m = self.new_low - lo
                minus_dm = diff_m if (diff_m > 0 and diff_p < diff_m) else 0.0
                self.is_long = not (minus_dm > 0)
                if self.is_long:
                    self.ep = hi
                    self.sar = self.new_low
                else:
                    self.ep = lo
                    self.sar = self.new_high
            elif sv > 0:
                self.is_long = True
                self.ep = hi
                self.sar = sv
            else:
                self.is_long = False
                self.ep = lo
                self.sar = abs(sv)
            self.af_long = self.ai_long
            self.af_short = self.ai_short
            self.new_low = lo
            self.new_high = hi
        prev_low = self.new_low
        prev_high = self.new_high
        self.new_low = new_low = lo
        self.new_high = new_high = hi
        sar = self.sar
        ep = self.ep
        if self.is_long:
            if new_low <= sar:
                self.is_long = False
                sar = ep
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                if self.offset != 0.0:
                    sar += sar * self.offset
                out = -sar if self.ext else sar
                self.af_short = af = self.ai_short
                ep = new_low
                sar = sar + af * (ep - sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
            else:
                out = sar
                if new_high > ep:
                    ep = new_high
                    af = self.af_long + self.a_long
                    if af > self.amax_long:
                        af = self.amax_long
                    self.af_long = af
                sar = sar + self.af_long * (ep - sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
        else:
            if new_high >= sar:
                self.is_long = True
                sar = ep
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
                if self.offset != 0.0:
                    sar -= sar * self.offset
                out = sar
                self.af_long = af = self.ai_long
                ep = new_high
                sar = sar + af * (ep - sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
            else:
                out = -sar if self.ext else sar
                if new_low < ep:
                    ep = new_low
                    af = self.af_short + self.a_short
                    if af > self.amax_short:
                        af = self.amax_short
                    self.af_short = af
                sar = sar + self.af_short * (ep - sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
        self.sar = sar
        self.ep = ep
        return out


class MAVPState:
    __slots__ = ("pmin", "pmax", "lb_max", "starts", "states", "last", "n")

    def __init__(self, pmin: int, pmax: int, matype: int) -> None:
        self.pmin = pmin
        self.pmax = pmax
        self.lb_max = ma_lookback(pmax, matype)
        self.starts = {q: self.lb_max - ma_lookback(q, matype) for q in range(pmin, pmax + 1)}
        self.states = {q: make_ma_state(q, matype) for q in range(pmin, pmax + 1)}
        self.last: dict[int, float] = {}
        self.n = 0

    def step(self, x: float, period: float) -> float:
        if not (-_INF < x < _INF and -_INF < period < _INF):
            if self.n:
                raise _bad_input("mavp", self.n)
            return NAN
        n = self.n
        self.n = n + 1
        values = {}
        for q, st in self.states.items():
            if n >= self.starts[q]:
                values[q] = st.step(x)
        if n < self.lb_max:
            return NAN
        q = int(period)
        if q < self.pmin:
            q = self.pmin
        elif q > self.pmax:
            q = self.pmax
        return values[q]


# ============================================================================ fast update() for streaming classes
def fast_update(inputs: tuple[str, ...]):
    """An `update(bar)` specialised for `inputs`: plain dicts, numbers and Bar-like objects without the
    generic base-class overhead (same semantics as StreamingIndicator.update)."""
    from quantdesk.indicators.streaming import StreamingIndicator

    base = StreamingIndicator.update
    if len(inputs) == 1:
        (k0,) = inputs

        def update(self, bar):
            t = type(bar)
            if t is dict:
                return self.step(float(bar[k0]))
            if t is float or t is int:
                return self.step(float(bar))
            return base(self, bar)

    elif len(inputs) == 2:
        k0, k1 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]))
            return base(self, bar)

    else:
        k0, k1, k2 = inputs[:3]

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]), float(bar[k2]))
            return base(self, bar)

    return update
