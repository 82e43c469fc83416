"""Rolling window extremes, TA-Lib exact: batch max/min over a window (numba, O(n) whatever the data) and the
streaming windows (monotonic deques, and TA-Lib's own rescanning scan where its tie rules must be reproduced).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numba import njit


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
