"""Synthetic OHLCV: seeded, realistic enough to exercise everything, and valid by construction.

Model (per bar): returns r_t = sqrt(h_t) * z_t + jump_t with GARCH(1,1) variance
h_t = omega + alpha * r_{t-1}^2 + beta * h_{t-1} (volatility clustering), z_t Student-t(5) scaled to unit
variance (fat tails), and rare jumps (Bernoulli arrivals, normal sizes). close = previous close * exp(r);
open = previous close; high/low extend beyond max/min(open, close) by a half-normal wick scaled by the
current volatility; volume is lognormal noise times (0.2 + |r| / sigma), so it rises with |return|.
Prices are rounded to cents and clipped at 0.01 AFTER which high >= max(open, close) and
low <= min(open, close) are re-imposed, so every bar passes our own validation.

Same seed and parameters => identical arrays => identical CSV/Parquet bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.core.timeutil import parse_utc
from quantdesk.data.validate import frame_from_arrays
from quantdesk.model.timeframe import Timeframe

MAX_BARS = 50_000_000


def _garch_path(z: np.ndarray, jumps: np.ndarray, omega: float, alpha: float, beta: float, h0: float):
    n = z.shape[0]
    r = np.empty(n)
    h = np.empty(n)
    prev_h = h0
    prev_r2 = h0
    for i in range(n):
        hi = omega + alpha * prev_r2 + beta * prev_h
        ri = np.sqrt(hi) * z[i] + jumps[i]
        h[i] = hi
        r[i] = ri
        prev_h = hi
        prev_r2 = ri * ri
    return r, h


_COMPILED: list = []


def _garch(*args):
    """numba-compiled recursion (compiled on first use, cached on disk); pure Python if numba is missing."""
    if not _COMPILED:
        try:
            import numba

            _COMPILED.append(numba.njit(cache=True, nogil=True)(_garch_path))
        except Exception:  # pragma: no cover - numba is a dependency
            _COMPILED.append(_garch_path)
    return _COMPILED[0](*args)


def synth_ohlcv(
    bars: int,
    timeframe: str | Timeframe = "1m",
    *,
    seed: int = 7,
    start: str = "2020-01-01T00:00:00Z",
    start_price: float = 1000.0,
    annual_vol: float = 0.6,
    jump_prob: float = 0.0005,
) -> pd.DataFrame:
    """`bars` synthetic candles on `timeframe` starting at `start` (UTC). Deterministic for a given seed."""
    if not isinstance(bars, (int, np.integer)) or bars <= 0:
        raise ParameterError(f"bars must be a positive integer, got {bars!r}")
    if bars > MAX_BARS:
        raise ParameterError(f"bars={bars} is more than the limit of {MAX_BARS}")
    if not start_price > 0:
        raise ParameterError(f"start_price must be > 0, got {start_price}")
    if not 0 < annual_vol < 10:
        raise ParameterError(f"annual_vol must be in (0, 10), got {annual_vol}")
    if not 0 <= jump_prob < 1:
        raise ParameterError(f"jump_prob must be in [0, 1), got {jump_prob}")
    tf = Timeframe.parse(timeframe)
    t0 = parse_utc(start, name="start").value
    t0 = t0 - t0 % tf.nanos  # on the grid
    n = int(bars)
    rng = np.random.default_rng(seed)
    sigma = annual_vol * np.sqrt(tf.seconds / (365.0 * 86_400.0))
    alpha, beta = 0.08, 0.90
    omega = sigma * sigma * (1.0 - alpha - beta)
    dof = 5.0
    z = rng.standard_t(dof, size=n) / np.sqrt(dof / (dof - 2.0))
    jump_on = rng.random(n) < jump_prob
    jumps = np.where(jump_on, rng.normal(0.0, 10.0 * sigma, size=n), 0.0)
    r, h = _garch(z, jumps, omega, alpha, beta, sigma * sigma)
    r = np.clip(r, -0.5, 0.5)
    log_close = np.log(start_price) + np.cumsum(r)
    close = np.exp(log_close)
    open_ = np.empty(n)
    open_[0] = start_price
    open_[1:] = close[:-1]
    vol_now = np.sqrt(h)
    wick_hi = np.abs(rng.normal(0.0, 0.6, size=n)) * vol_now
    wick_lo = np.abs(rng.normal(0.0, 0.6, size=n)) * vol_now
    high = np.maximum(open_, close) * np.exp(wick_hi)
    low = np.minimum(open_, close) * np.exp(-wick_lo)
    volume = 10.0 * rng.lognormal(0.0, 0.5, size=n) * (0.2 + np.abs(r) / sigma)

    def cents(x: np.ndarray) -> np.ndarray:
        return np.maximum(np.round(x, 2), 0.01)

    open_, high, low, close = cents(open_), cents(high), cents(low), cents(close)
    open_[1:] = close[:-1]
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    volume = np.round(volume, 4)
    ts = t0 + np.arange(n, dtype=np.int64) * tf.nanos
    return frame_from_arrays(ts, {"open": open_, "high": high, "low": low, "close": close, "volume": volume})
