"""Rolling centered moments (variance / covariance) for VAR, STDDEV, CORREL and BETA.

TA-Lib 0.8 computes these accurately (no E[x^2] - E[x]^2 cancellation): a naive running sum of squares loses
up to ~1e-3 relative precision on a small variance of large prices, and flat windows do not come out as 0.
We keep centered moments with an O(1) replacement update (Welford style) and recompute them exactly
(two-pass) whenever rounding could matter: every `period` bars (bounding drift to
one window) and whenever a moment falls below 1/1000 of the magnitudes that went into its updates since the
last exact pass (cancellation). Once `period` identical values are in the window the moments are exactly 0.
The streaming twin (`Moments`) performs the very same floating-point operations in the same order, so batch
and streaming values are identical.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numba import njit

_REL = 1e-3  # recompute exactly when a moment drops below this fraction of its update magnitudes


@njit(cache=True)
def rolling_var(x, p):
    """Centered sum of squares over each window of p values (NaN before index p-1)."""
    return rolling_var_div(x, p, 1)


@njit(cache=True)
def rolling_var_div(x, p, div):
    """`rolling_var` with each value divided by `div` as it is written (VAR: div = p; div 1 leaves it as is),
    saving VAR a second pass over the result."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(min(p - 1, n)):
        out[i] = np.nan
    if n < p:
        return out
    inv = 1.0 / p
    mx = 0.0
    cxx = 0.0
    hx = 0.0
    run = 0
    left = 0
    prev = np.nan
    for i in range(n):
        v = x[i]
        run = run + 1 if v == prev else 1
        prev = v
        if i < p - 1:
            continue
        exact = left == 0
        if not exact:
            o = x[i - p]
            m_new = mx + (v - o) * inv
            a = (v - mx) * (v - m_new)
            b = (o - mx) * (o - m_new)
            t = abs(cxx) + abs(a) + abs(b)
            if t > hx:
                hx = t
            cxx = cxx + a - b
            mx = m_new
            exact = cxx < _REL * hx
        if exact:
            s = 0.0
            for j in range(i - p + 1, i + 1):
                s += x[j]
            mx = s / p
            cxx = 0.0
            for j in range(i - p + 1, i + 1):
                d = x[j] - mx
                cxx += d * d
            hx = cxx
            left = p
        left -= 1
        if run >= p:
            mx = v
            cxx = 0.0
        out[i] = cxx / div if div != 1 else cxx
    return out


@njit(cache=True)
def correl_value(cxx, cyy, cxy):
    t = cxx * cyy
    if t < 1e-14:
        return 0.0
    return cxy / math.sqrt(t)


@njit(cache=True)
def beta_value(cxx, cxy, mx, p):
    if cxx <= 1e-14 * (cxx + p * mx * mx):
        return 0.0
    return cxy / cxx


@njit(cache=True)
def rolling_cov(x, y, p, mode):
    """Rolling correlation (mode 0) or beta (mode 1) from centered co-moments over each window of p pairs
    (NaN before index p-1)."""
    out = np.empty(x.shape[0])
    rolling_cov_into(x, y, p, mode, out)
    return out


@njit(cache=True)
def rolling_cov_into(x, y, p, mode, out):
    """`rolling_cov` writing into `out` (len(x) values; e.g. a view of a longer result: no extra copy)."""
    n = x.shape[0]
    for i in range(min(p - 1, n)):
        out[i] = np.nan
    if n < p:
        return
    inv = 1.0 / p
    mx = my = cxx = cyy = cxy = 0.0
    hx = hy = 0.0
    run_x = 0
    run_y = 0
    left = 0
    prev_x = np.nan
    prev_y = np.nan
    for i in range(n):
        vx = x[i]
        vy = y[i]
        run_x = run_x + 1 if vx == prev_x else 1
        run_y = run_y + 1 if vy == prev_y else 1
        prev_x = vx
        prev_y = vy
        if i < p - 1:
            continue
        exact = left == 0
        if not exact:
            ox = x[i - p]
            oy = y[i - p]
            mx_new = mx + (vx - ox) * inv
            my_new = my + (vy - oy) * inv
            a = (vx - mx) * (vx - mx_new)
            b = (ox - mx) * (ox - mx_new)
            t = abs(cxx) + abs(a) + abs(b)
            if t > hx:
                hx = t
            cxx = cxx + a - b
            a = (vy - my) * (vy - my_new)
            b = (oy - my) * (oy - my_new)
            t = abs(cyy) + abs(a) + abs(b)
            if t > hy:
                hy = t
            cyy = cyy + a - b
            cxy = cxy + (vx - mx) * (vy - my_new) - (ox - mx) * (oy - my_new)
            mx = mx_new
            my = my_new
            exact = cxx < _REL * hx or cyy < _REL * hy
        if exact:
            sx = 0.0
            sy = 0.0
            for j in range(i - p + 1, i + 1):
                sx += x[j]
                sy += y[j]
            mx = sx / p
            my = sy / p
            cxx = 0.0
            cyy = 0.0
            cxy = 0.0
            for j in range(i - p + 1, i + 1):
                dx = x[j] - mx
                dy = y[j] - my
                cxx += dx * dx
                cyy += dy * dy
                cxy += dx * dy
            hx = cxx
            hy = cyy
            left = p
        left -= 1
        if run_x >= p:
            mx = vx
            cxx = 0.0
            cxy = 0.0
        if run_y >= p:
            my = vy
            cyy = 0.0
            cxy = 0.0
        if mode == 0:
            out[i] = correl_value(cxx, cyy, cxy)
        else:
            out[i] = beta_value(cxx, cxy, mx, p)


class Moments:
    """Streaming twin of `rolling_var` (bivariate=False) / `rolling_cov` (bivariate=True)."""

    __slots__ = ("p", "inv", "biv", "xs", "ys", "i", "mx", "my", "cxx", "cyy", "cxy", "hx", "hy", "run_x",
                 "run_y", "px", "py", "left")  # fmt: skip

    def __init__(self, p: int, bivariate: bool) -> None:
        self.p = p
        self.inv = 1.0 / p
        self.biv = bivariate
        self.xs: deque = deque()
        self.ys: deque = deque()
        self.i = -1
        self.mx = self.my = self.cxx = self.cyy = self.cxy = 0.0
        self.hx = self.hy = 0.0
        self.run_x = self.run_y = 0
        self.left = 0
        self.px = self.py = float("nan")

    def _exact(self) -> None:
        p = self.p
        sx = 0.0
        for v in self.xs:
            sx += v
        mx = sx / p
        cxx = 0.0
        if self.biv:
            sy = 0.0
            for v in self.ys:
                sy += v
            my = sy / p
            cyy = 0.0
            cxy = 0.0
            for a, b in zip(self.xs, self.ys, strict=True):
                dx = a - mx
                dy = b - my
                cxx += dx * dx
                cyy += dy * dy
                cxy += dx * dy
            self.my = my
            self.cyy = cyy
            self.cxy = cxy
            self.hy = cyy
        else:
            for a in self.xs:
                d = a - mx
                cxx += d * d
        self.mx = mx
        self.cxx = cxx
        self.hx = cxx

    def push(self, vx: float, vy: float = 0.0) -> bool:
        """Add one value (pair); True once a full window is available (then read cxx/cyy/cxy)."""
        self.i += 1
        i = self.i
        p = self.p
        biv = self.biv
        self.run_x = self.run_x + 1 if vx == self.px else 1
        self.px = vx
        xs = self.xs
        xs.append(vx)
        if biv:
            self.run_y = self.run_y + 1 if vy == self.py else 1
            self.py = vy
            self.ys.append(vy)
        if i < p - 1:
            return False
        if len(xs) > p:
            ox = xs.popleft()
            oy = self.ys.popleft() if biv else 0.0
        exact = self.left == 0
        if not exact:
            mx = self.mx
            mx_new = mx + (vx - ox) * self.inv
            a = (vx - mx) * (vx - mx_new)
            b = (ox - mx) * (ox - mx_new)
            cxx = self.cxx
            t = abs(cxx) + abs(a) + abs(b)
            if t > self.hx:
                self.hx = t
            cxx = cxx + a - b
            self.cxx = cxx
            low = cxx < _REL * self.hx
            if biv:
                my = self.my
                my_new = my + (vy - oy) * self.inv
                a = (vy - my) * (vy - my_new)
                b = (oy - my) * (oy - my_new)
                cyy = self.cyy
                t = abs(cyy) + abs(a) + abs(b)
                if t > self.hy:
                    self.hy = t
                cyy = cyy + a - b
                self.cyy = cyy
                self.cxy = self.cxy + (vx - mx) * (vy - my_new) - (ox - mx) * (oy - my_new)
                self.my = my_new
                low = low or cyy < _REL * self.hy
            self.mx = mx_new
            exact = low
        if exact:
            self._exact()
            self.left = p
        self.left -= 1
        if self.run_x >= p:
            self.mx = vx
            self.cxx = 0.0
            self.cxy = 0.0
        if biv and self.run_y >= p:
            self.my = vy
            self.cyy = 0.0
            self.cxy = 0.0
        return True
