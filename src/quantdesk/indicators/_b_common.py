"""Shared helpers for the TA-Lib-compatible kernels (momentum, volume, volatility, statistic, math, price).

Kernels are thin Python wrappers that validate their inputs and parameters, then call an `@njit` core.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import numpy as np
from numba import njit

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators.streaming import StreamingIndicator

NAN = math.nan
MAX_PERIOD = 100_000


@njit(cache=True)
def _suffix_extremes(x, p, is_max, suf):
    """Per block of p bars, the extreme from each bar to the block's end (van Herk / Gil-Werman)."""
    n = x.shape[0]
    for b in range(0, n, p):
        e = min(b + p, n)
        m = x[e - 1]
        suf[e - 1] = m
        for i in range(e - 2, b - 1, -1):
            v = x[i]
            if is_max:
                m = v if v > m else m
            else:
                m = v if v < m else m
            suf[i] = m


@njit(cache=True)
def _rolling_extreme(x, p, is_max):
    """Window max/min by van Herk / Gil-Werman: block suffix extremes plus a running block prefix, one
    comparison per bar. Branch-free and O(n) whatever the data (TA-Lib's rescan is O(n*p) in a falling market)
    and only one temporary array (allocation dominates at 1M bars)."""
    n = x.shape[0]
    out = np.empty(n)
    if n < p:
        out[:] = np.nan
        return out
    _suffix_extremes(x, p, is_max, out)  # out holds the suffix extremes until overwritten by the result
    ring = np.empty(p)  # the suffix extremes of the last p bars, saved before out[i] is overwritten
    m = 0.0
    k = 0  # position inside the current block of p bars (= position in the ring)
    for i in range(n):
        v = x[i]
        if k == 0:
            m = v
        elif is_max:
            m = v if v > m else m
        else:
            m = v if v < m else m
        ring[k] = out[i]
        k += 1
        if k == p:
            k = 0
        if i >= p - 1:
            a = ring[k]  # suffix extreme of bar i - p + 1 (same ring slot, p bars ago)
            if is_max:
                out[i] = a if a > m else m
            else:
                out[i] = a if a < m else m
    for i in range(min(p - 1, n)):
        out[i] = np.nan
    return out


@njit(cache=True)
def rolling_max(x, p):
    """Max over each window of p values, NaN before index p-1."""
    return _rolling_extreme(x, p, True)


@njit(cache=True)
def rolling_min(x, p):
    """Min over each window of p values, NaN before index p-1."""
    return _rolling_extreme(x, p, False)


def is_zero(v: float) -> bool:
    """TA-Lib's TA_IS_ZERO: |v| < 1e-14 (TA_EPSILON)."""
    return -1e-14 < v < 1e-14


def arrays(indicator: str, **named: np.ndarray) -> list[np.ndarray]:
    """Validate inputs (1-D float64, finite everywhere, equal lengths) and return them in order.

    Unlike `validation.check_array`, leading NaN are refused too: TA-Lib-style running sums would carry them
    into every later value."""
    out = []
    length = None
    for name, values in named.items():
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            lengths = {k: len(np.asarray(v)) for k, v in named.items()}
            raise DataError(f"{indicator}: inputs have different lengths {lengths}")
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(arr.sum())
        if math.isfinite(total):  # any NaN/inf makes the sum non-finite (fast, no temporary)
            out.append(arr)
            continue
        finite = np.isfinite(arr)  # the sum may also have overflowed: check exactly
        if not finite.all():
            bad = int(np.argmin(finite))
            count = int((~finite).sum())
            raise DataError(
                f"{indicator}: input {name!r} has {count} NaN/inf value(s) inside the data, first at index {bad}"
            )
        out.append(arr)
    return out


def shaped(indicator: str, **named: np.ndarray) -> list[np.ndarray]:
    """The cheap half of `arrays`: 1-D contiguous float64 inputs of equal length, no pass over the values.

    For memory-bound kernels that check finiteness themselves while computing (they accumulate `v - v`, which
    is 0.0 for every finite v and NaN otherwise, and hand the total to `finite_or_raise`): one pass over the
    data instead of two."""
    out = []
    length = None
    for name, values in named.items():
        arr = np.ascontiguousarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise DataError(f"{indicator}: input {name!r} must be 1-D, got shape {arr.shape}")
        if length is None:
            length = len(arr)
        elif len(arr) != length:
            lengths = {k: len(np.asarray(v)) for k, v in named.items()}
            raise DataError(f"{indicator}: inputs have different lengths {lengths}")
        out.append(arr)
    return out


def finite_or_raise(acc: float, indicator: str, **named: np.ndarray) -> None:
    """After a fused kernel: `acc` (sum of v - v over the inputs) is 0.0 unless some value was NaN/inf; then
    run the full `arrays` check, which raises the same DataError as the unfused kernels."""
    if acc != 0.0 or acc != acc:
        arrays(indicator, **named)


def period(indicator: str, name: str, value: object, minimum: int = 2, maximum: int = MAX_PERIOD) -> int:
    """Range-check an integer parameter, naming it in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ParameterError(f"{indicator}: parameter {name!r} must be an integer, got {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return value


def real(
    indicator: str, name: str, value: object, minimum: float = -3.0e37, maximum: float = 3.0e37
) -> float:
    """Range-check a float parameter, naming it in the error."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"{indicator}: parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not minimum <= v <= maximum:
        raise ParameterError(
            f"{indicator}: parameter {name!r} must be in [{minimum}, {maximum}], got {value!r}"
        )
    return v


class MaxWindow:
    """Max over the last `n` values (O(1) amortised), ties resolved to the latest index like TA-Lib."""

    __slots__ = ("n", "dq", "i")

    def __init__(self, n: int) -> None:
        self.n = n
        self.dq: deque = deque()
        self.i = -1

    def push(self, x: float) -> None:
        self.i += 1
        dq = self.dq
        while dq and dq[-1][1] <= x:
            dq.pop()
        dq.append((self.i, x))
        if dq[0][0] <= self.i - self.n:
            dq.popleft()


class MinWindow:
    """Min over the last `n` values (O(1) amortised), ties resolved to the latest index like TA-Lib."""

    __slots__ = ("n", "dq", "i")

    def __init__(self, n: int) -> None:
        self.n = n
        self.dq: deque = deque()
        self.i = -1

    def push(self, x: float) -> None:
        self.i += 1
        dq = self.dq
        while dq and dq[-1][1] >= x:
            dq.pop()
        dq.append((self.i, x))
        if dq[0][0] <= self.i - self.n:
            dq.popleft()


class TaScan:
    """TA-Lib's extreme scan over a window of `w` values, kept incrementally (rescan only on expiry)."""

    __slots__ = ("w", "buf", "i", "idx", "val", "is_max", "strict_rescan")

    def __init__(self, w: int, is_max: bool, strict_rescan: bool) -> None:
        self.w = w
        self.buf: deque = deque(maxlen=w)
        self.i = -1
        self.idx = -1
        self.val = 0.0
        self.is_max = is_max
        self.strict_rescan = strict_rescan

    def push(self, x: float) -> None:
        self.i += 1
        buf = self.buf
        buf.append(x)
        trailing = self.i - self.w + 1
        if self.i < self.w - 1:
            return
        if self.idx < trailing:
            best = buf[0]
            bi = 0
            if self.is_max:
                if self.strict_rescan:
                    for k in range(1, len(buf)):
                        if buf[k] > best:
                            best = buf[k]
                            bi = k
                else:
                    for k in range(1, len(buf)):
                        if buf[k] >= best:
                            best = buf[k]
                            bi = k
            elif self.strict_rescan:
                for k in range(1, len(buf)):
                    if buf[k] < best:
                        best = buf[k]
                        bi = k
            else:
                for k in range(1, len(buf)):
                    if buf[k] <= best:
                        best = buf[k]
                        bi = k
            self.idx = trailing + bi
            self.val = best
        elif (x >= self.val) if self.is_max else (x <= self.val):
            self.idx = self.i
            self.val = x


def _dict_update(inputs: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    """`update(bar)` specialised for the number of inputs: a plain dict is read key by key (no itemgetter tuple,
    no map/star-call); anything else goes through the generic base-class path (same semantics)."""
    base = StreamingIndicator.update
    if len(inputs) == 1:
        (k0,) = inputs

        def update(self, bar):
            t = type(bar)
            if t is dict:
                return self.step(float(bar[k0]))
            if t is float:
                return self.step(bar)
            return base(self, bar)

    elif len(inputs) == 2:
        k0, k1 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]))
            return base(self, bar)

    elif len(inputs) == 3:
        k0, k1, k2 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]), float(bar[k2]))
            return base(self, bar)

    elif len(inputs) == 4:
        k0, k1, k2, k3 = inputs

        def update(self, bar):
            if type(bar) is dict:
                return self.step(float(bar[k0]), float(bar[k1]), float(bar[k2]), float(bar[k3]))
            return base(self, bar)

    else:
        get = itemgetter(*inputs)

        def update(self, bar):
            if type(bar) is dict:
                return self.step(*map(float, get(bar)))
            return base(self, bar)

    update._generated = True  # type: ignore[attr-defined]
    return update


class FastStreaming(StreamingIndicator):
    """StreamingIndicator with a fast path for plain dict bars (same semantics as the base `update`).

    Streaming bundles must cost a few microseconds per bar in total, so the per-call dispatch matters:
    `isinstance(bar, Mapping)` and a generator of float() calls cost more than most `step` bodies. Each
    subclass gets an `update` specialised for its number of inputs (unless it defines its own).
    """

    _get: Callable[[Any], Any] = staticmethod(itemgetter("close"))
    _single = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._get = staticmethod(itemgetter(*cls.inputs))
        cls._single = len(cls.inputs) == 1
        own = next(k.__dict__["update"] for k in cls.__mro__ if "update" in k.__dict__)
        if own is FastStreaming.__dict__["update"] or getattr(own, "_generated", False):
            cls.update = _dict_update(cls.inputs)  # not overridden by hand anywhere below FastStreaming

    def update(self, bar: Any) -> Any:
        if type(bar) is dict:
            if self._single:
                return self.step(float(self._get(bar)))
            return self.step(*map(float, self._get(bar)))
        return StreamingIndicator.update(self, bar)
