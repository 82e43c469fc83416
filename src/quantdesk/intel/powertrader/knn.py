"""Compiled kernels of the improved trainer: a causal walk over the candles that queries the k nearest memories
(Gaussian distance kernel x memory weight), scores the prediction against what happened (PIT values of the
next candle's low and high under the neighbours' smoothed distribution), updates the neighbours' weights and
adds the candle as a memory, evicting the least useful one (oldest last use, lowest weight) when full.

Everything here is sequential by nature (each step sees the memory the previous steps left) and runs in numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_SQRT2 = math.sqrt(2.0)


@njit(cache=True, nogil=True)
def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / _SQRT2))


@njit(cache=True, nogil=True)
def k_nearest(x: np.ndarray, mem_x: np.ndarray, n_mem: int, created: np.ndarray, until: float, k: int,
              out_idx: np.ndarray, out_d: np.ndarray) -> int:
    """Indices and distances of the (up to) k nearest memories created at or before `until`, nearest first.
    Returns how many were found."""
    found = 0
    dim = x.shape[0]
    for i in range(n_mem):
        if created[i] > until:
            continue
        d = 0.0
        for j in range(dim):
            diff = x[j] - mem_x[i, j]
            d += diff * diff
        if found < k:
            pos = found
            found += 1
        elif d < out_d[found - 1]:
            pos = found - 1
        else:
            continue
        while pos > 0 and out_d[pos - 1] > d:  # insertion into the sorted top-k
            out_d[pos] = out_d[pos - 1]
            out_idx[pos] = out_idx[pos - 1]
            pos -= 1
        out_d[pos] = d
        out_idx[pos] = i
    for j in range(found):
        out_d[j] = math.sqrt(out_d[j])
    return found


@njit(cache=True, nogil=True)
def kernel_weights(d: np.ndarray, found: int, mem_w: np.ndarray, idx: np.ndarray, out_w: np.ndarray) -> float:
    """Gaussian kernel on distance / (distance of the farthest neighbour), times each memory's weight."""
    h = d[found - 1] if found > 0 else 1.0
    if h <= 1e-12:
        h = 1e-12
    total = 0.0
    for j in range(found):
        u = d[j] / h
        out_w[j] = math.exp(-0.5 * u * u) * mem_w[idx[j]]
        total += out_w[j]
    return total


@njit(cache=True, nogil=True)
def mixture_cdf(z: float, values: np.ndarray, w: np.ndarray, found: int, total: float, bw: float) -> float:
    """P(outcome <= z) under the neighbours' kernel-smoothed distribution."""
    if found == 0 or total <= 0.0:
        return np.nan
    s = 0.0
    for j in range(found):
        s += w[j] * _phi((z - values[j]) / bw)
    return s / total


@njit(cache=True, nogil=True)
def mixture_quantile(u: float, values: np.ndarray, w: np.ndarray, found: int, total: float, bw: float) -> float:
    """The z with mixture_cdf(z) = u: bisection to a narrow bracket, then safeguarded Newton steps."""
    if found == 0 or total <= 0.0:
        return np.nan
    lo = values[0]
    hi = values[0]
    for j in range(found):
        lo = min(lo, values[j])
        hi = max(hi, values[j])
    lo -= 8.0 * bw
    hi += 8.0 * bw
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        if mixture_cdf(mid, values, w, found, total, bw) < u:
            lo = mid
        else:
            hi = mid
    z = 0.5 * (lo + hi)
    inv = 1.0 / (bw * math.sqrt(2.0 * math.pi))
    for _ in range(8):
        f = 0.0
        pdf = 0.0
        for j in range(found):
            e = (z - values[j]) / bw
            f += w[j] * _phi(e)
            pdf += w[j] * math.exp(-0.5 * e * e) * inv
        f = f / total - u
        pdf /= total
        if f < 0:
            lo = z
        else:
            hi = z
        step = f / pdf if pdf > 1e-300 else 0.0
        nz = z - step
        if not (lo < nz < hi):  # Newton left the bracket: bisect instead
            nz = 0.5 * (lo + hi)
        if abs(nz - z) <= 1e-12 * (1.0 + abs(z)):
            z = nz
            break
        z = nz
    return z


@njit(cache=True, nogil=True)
def walk(X: np.ndarray, Y: np.ndarray, valid: np.ndarray, created_ts: np.ndarray, t0: int, t1: int,
         mem_x: np.ndarray, mem_y: np.ndarray, mem_w: np.ndarray, mem_last: np.ndarray, mem_created: np.ndarray,
         n_mem: int, k: int, min_neighbours: int, bw: float, eta: float, w_min: float, w_max: float,
         horizon: float, clock0: int, pit: np.ndarray, nb_lo: np.ndarray, nb_hi: np.ndarray, nb_w: np.ndarray,
         nb_n: np.ndarray) -> int:
    """Steps t in [t0, t1): query with X[t] (memories only), score against Y[t] (the next candle), update the
    neighbours' weights, then store (X[t], Y[t]) as a memory created at `created_ts[t]`. Returns the new count.

    Per step the neighbours' low/high outcomes and kernel weights go to nb_* (for bounds and evaluation) and the
    PIT values of the realised low and high to pit[t]. The memories' use clock is clock0 + t."""
    cap = mem_x.shape[0]
    idx = np.empty(k, dtype=np.int64)
    d = np.empty(k)
    w = np.empty(k)
    lo_v = np.empty(k)
    hi_v = np.empty(k)
    err = np.empty(k)
    for t in range(t0, t1):
        if not valid[t]:
            continue
        found = 0
        if n_mem >= min_neighbours:
            found = k_nearest(X[t], mem_x, n_mem, mem_created, np.inf, k, idx, d)
        if found >= min_neighbours:
            total = kernel_weights(d, found, mem_w, idx, w)
            for j in range(found):
                lo_v[j] = mem_y[idx[j], 0]
                hi_v[j] = mem_y[idx[j], 1]
                nb_lo[t, j] = lo_v[j]
                nb_hi[t, j] = hi_v[j]
                nb_w[t, j] = w[j]
            nb_n[t] = found
            pit[t, 0] = mixture_cdf(Y[t, 0], lo_v, w, found, total, bw)
            pit[t, 1] = mixture_cdf(Y[t, 1], hi_v, w, found, total, bw)
            # weights: neighbours whose outcome was nearer than the median error gain, the others lose
            for j in range(found):
                err[j] = abs(lo_v[j] - Y[t, 0]) + abs(hi_v[j] - Y[t, 1])
            med = np.median(err[:found])
            for j in range(found):
                i = idx[j]
                mem_last[i] = clock0 + t
                if err[j] < med:
                    mem_w[i] = min(w_max, mem_w[i] + eta)
                elif err[j] > med:
                    mem_w[i] = max(w_min, mem_w[i] - eta)
        if n_mem < cap:
            slot = n_mem
            n_mem += 1
        else:  # evict: the least recently used, discounted by weight (a useful memory survives longer)
            slot = 0
            best = np.inf
            for i in range(cap):
                score = mem_last[i] + horizon * (mem_w[i] - 1.0)
                if score < best:
                    best = score
                    slot = i
        for j in range(X.shape[1]):
            mem_x[slot, j] = X[t, j]
        for j in range(Y.shape[1]):
            mem_y[slot, j] = Y[t, j]
        mem_w[slot] = 1.0
        mem_last[slot] = clock0 + t
        mem_created[slot] = created_ts[t]
    return n_mem


@njit(cache=True, nogil=True)
def query_many(Q: np.ndarray, until: np.ndarray, mem_x: np.ndarray, mem_y: np.ndarray, mem_w: np.ndarray,
               mem_created: np.ndarray, n_mem: int, k: int, nb_lo: np.ndarray, nb_hi: np.ndarray,
               nb_w: np.ndarray, nb_n: np.ndarray) -> None:
    """Neighbours of each query row among the memories created at or before until[q] (no look-ahead when a
    memory trained on the whole history is used on past candles). Rows with NaN features get no neighbours."""
    idx = np.empty(k, dtype=np.int64)
    d = np.empty(k)
    w = np.empty(k)
    for q in range(Q.shape[0]):
        ok = True
        for j in range(Q.shape[1]):
            if not np.isfinite(Q[q, j]):
                ok = False
        if not ok:
            nb_n[q] = 0
            continue
        found = k_nearest(Q[q], mem_x, n_mem, mem_created, until[q], k, idx, d)
        nb_n[q] = found
        if found == 0:
            continue
        kernel_weights(d, found, mem_w, idx, w)
        for j in range(found):
            nb_lo[q, j] = mem_y[idx[j], 0]
            nb_hi[q, j] = mem_y[idx[j], 1]
            nb_w[q, j] = w[j]


@njit(cache=True, nogil=True)
def cdf_many(z: np.ndarray, nb_vals: np.ndarray, nb_w: np.ndarray, nb_n: np.ndarray, bw: float) -> np.ndarray:
    """mixture_cdf for each row (NaN where the row has no neighbours or z is NaN)."""
    out = np.full(z.shape[0], np.nan)
    for q in range(z.shape[0]):
        n = nb_n[q]
        if n == 0 or not np.isfinite(z[q]):
            continue
        total = 0.0
        for j in range(n):
            total += nb_w[q, j]
        out[q] = mixture_cdf(z[q], nb_vals[q], nb_w[q], n, total, bw)
    return out


@njit(cache=True, nogil=True)
def quantile_many(u: np.ndarray, nb_vals: np.ndarray, nb_w: np.ndarray, nb_n: np.ndarray, bw: float) -> np.ndarray:
    out = np.full(u.shape[0], np.nan)
    for q in range(u.shape[0]):
        n = nb_n[q]
        if n == 0 or not np.isfinite(u[q]):
            continue
        total = 0.0
        for j in range(n):
            total += nb_w[q, j]
        out[q] = mixture_quantile(u[q], nb_vals[q], nb_w[q], n, total, bw)
    return out


@njit(cache=True, nogil=True)
def features_kernel(o: np.ndarray, h: np.ndarray, lo: np.ndarray, cl: np.ndarray, pattern_len: int,
                    vol_window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of features X (n, 3 * pattern_len + 1), outcomes Y (n, 3) and sigma (n,); row t reads candles
    t - vol_window .. t + 1 only, with plain sequential sums, so a row is bit-identical whether computed on the
    whole series or on a short window ending at it."""
    n = cl.shape[0]
    dim = 3 * pattern_len + 1
    X = np.full((n, dim), np.nan)
    Y = np.full((n, 3), np.nan)
    sigma = np.full(n, np.nan)
    warm = max(vol_window, pattern_len - 1)
    for t in range(n):
        if t >= vol_window - 1:
            s = 0.0
            for j in range(t - vol_window + 1, t + 1):
                s += math.log(h[j] / lo[j])
            # a (nearly) motionless window cannot scale anything: no features, no outcome (not a memory)
            sigma[t] = s / vol_window if s / vol_window > SIGMA_FLOOR else np.nan
        sg = sigma[t]
        if not math.isfinite(sg):
            continue
        if t >= warm:
            for j in range(pattern_len):
                i = t - j
                X[t, 3 * j] = _clip(math.log(cl[i] / o[i]) / sg)
                X[t, 3 * j + 1] = _clip(math.log(h[i] / max(o[i], cl[i])) / sg)
                X[t, 3 * j + 2] = _clip(math.log(min(o[i], cl[i]) / lo[i]) / sg)
            X[t, dim - 1] = _clip(math.log(cl[t] / cl[t - vol_window]) / (sg * math.sqrt(vol_window)))
        if t + 1 < n:
            Y[t, 0] = _clip(math.log(lo[t + 1] / cl[t]) / sg)
            Y[t, 1] = _clip(math.log(h[t + 1] / cl[t]) / sg)
            Y[t, 2] = _clip(math.log(cl[t + 1] / cl[t]) / sg)
    return X, Y, sigma


SIGMA_FLOOR = 1e-5  # mean log range of the window (0.001 %): below it the market did not move
CLIP = 50.0  # features and outcomes in sigma units are clipped to +-CLIP (one bad print cannot dominate)


@njit(cache=True, nogil=True)
def _clip(x: float) -> float:
    return min(CLIP, max(-CLIP, x))


@njit(cache=True, nogil=True)
def interp_rows(u: np.ndarray, rows: np.ndarray, grids: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Calibrated probabilities: u[i] through the calibration curve of row rows[i] (grids[r] = raw PIT
    quantiles at `levels`; the curve runs from (0, 0) through them to (1, 1)). NaN grid = identity."""
    out = np.empty(u.shape[0])
    g = levels.shape[0]
    for i in range(u.shape[0]):
        x = u[i]
        if not math.isfinite(x):
            out[i] = np.nan
            continue
        grid = grids[rows[i]]
        if not math.isfinite(grid[0]):
            out[i] = x
            continue
        px, py = 0.0, 0.0
        done = False
        for j in range(g + 1):
            nx = grid[j] if j < g else 1.0
            ny = levels[j] if j < g else 1.0
            if x <= nx:
                out[i] = py if nx <= px else py + (ny - py) * (x - px) / (nx - px)
                done = True
                break
            px, py = nx, ny
        if not done:
            out[i] = 1.0
    return out


@njit(cache=True, nogil=True)
def inverse_rows(p: float, grids: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """For each row: the raw probability whose calibrated value is p (inverse of interp_rows)."""
    out = np.empty(grids.shape[0])
    g = levels.shape[0]
    for r in range(grids.shape[0]):
        grid = grids[r]
        if not math.isfinite(grid[0]):
            out[r] = p
            continue
        px, py = 0.0, 0.0
        out[r] = 1.0
        for j in range(g + 1):
            ny = levels[j] if j < g else 1.0
            nx = grid[j] if j < g else 1.0
            if p <= ny:
                out[r] = px if ny <= py else px + (nx - px) * (p - py) / (ny - py)
                break
            px, py = nx, ny
    return out


@njit(cache=True, nogil=True)
def grid_from_sorted(values: np.ndarray, n: int, levels: np.ndarray) -> np.ndarray:
    """Quantiles (linear interpolation between order statistics, numpy's default) of values[:n], sorted."""
    out = np.empty(levels.shape[0])
    if n == 0:
        out[:] = np.nan
        return out
    for g in range(levels.shape[0]):
        pos = levels[g] * (n - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        out[g] = values[lo] + (values[hi] - values[lo]) * frac
    return out


@njit(cache=True, nogil=True)
def sorted_insert(values: np.ndarray, n: int, x: float) -> int:
    """Insert x into the sorted values[:n] (capacity permitting); returns the new n."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    for i in range(n, lo, -1):
        values[i] = values[i - 1]
    values[lo] = x
    return n + 1


@njit(cache=True, nogil=True)
def sorted_remove(values: np.ndarray, n: int, x: float) -> int:
    """Remove one copy of x from the sorted values[:n]; returns the new n."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo >= n or values[lo] != x:
        return n
    for i in range(lo, n - 1):
        values[i] = values[i + 1]
    return n - 1


@njit(cache=True, nogil=True)
def query_one(x: np.ndarray, mem_x: np.ndarray, mem_y: np.ndarray, mem_w: np.ndarray, mem_created: np.ndarray,
              n_mem: int, k: int, idx: np.ndarray, d: np.ndarray, w: np.ndarray, lo_v: np.ndarray,
              hi_v: np.ndarray) -> int:
    """The neighbours of one row (all memories); fills idx/w/lo_v/hi_v, returns how many (0 for NaN rows)."""
    for j in range(x.shape[0]):
        if not math.isfinite(x[j]):
            return 0
    found = k_nearest(x, mem_x, n_mem, mem_created, np.inf, k, idx, d)
    if found == 0:
        return 0
    kernel_weights(d, found, mem_w, idx, w)
    for j in range(found):
        lo_v[j] = mem_y[idx[j], 0]
        hi_v[j] = mem_y[idx[j], 1]
    return found


@njit(cache=True, nogil=True)
def learn_one(x: np.ndarray, y: np.ndarray, created: float, clock: int, idx: np.ndarray, found: int,
              w: np.ndarray, lo_v: np.ndarray, hi_v: np.ndarray, mem_x: np.ndarray, mem_y: np.ndarray,
              mem_w: np.ndarray, mem_last: np.ndarray, mem_created: np.ndarray, n_mem: int, min_neighbours: int,
              bw: float, eta: float, w_min: float, w_max: float, horizon: float, pit: np.ndarray) -> int:
    """One step of `walk` for a row whose neighbours were found (by query_one) before its outcome was known:
    the same PIT, weight update and memory insertion as `walk` (which recomputes the neighbours itself)."""
    pit[0] = np.nan
    pit[1] = np.nan
    if found >= min_neighbours:
        total = 0.0
        for j in range(found):
            total += w[j]
        pit[0] = mixture_cdf(y[0], lo_v, w, found, total, bw)
        pit[1] = mixture_cdf(y[1], hi_v, w, found, total, bw)
        err = np.empty(found)
        for j in range(found):
            err[j] = abs(lo_v[j] - y[0]) + abs(hi_v[j] - y[1])
        med = np.median(err)
        for j in range(found):
            i = idx[j]
            mem_last[i] = clock
            if err[j] < med:
                mem_w[i] = min(w_max, mem_w[i] + eta)
            elif err[j] > med:
                mem_w[i] = max(w_min, mem_w[i] - eta)
    cap = mem_x.shape[0]
    if n_mem < cap:
        slot = n_mem
        n_mem += 1
    else:
        slot = 0
        best = np.inf
        for i in range(cap):
            score = mem_last[i] + horizon * (mem_w[i] - 1.0)
            if score < best:
                best = score
                slot = i
    for j in range(x.shape[0]):
        mem_x[slot, j] = x[j]
    for j in range(y.shape[0]):
        mem_y[slot, j] = y[j]
    mem_w[slot] = 1.0
    mem_last[slot] = clock
    mem_created[slot] = created
    return n_mem
