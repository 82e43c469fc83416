"""Seeded synthetic series with a KNOWN amount of predictability, for proofs, tests, benchmarks and docs.

- `random_walk(n)`: i.i.d. Gaussian log returns: nothing is predictable (out-of-sample AUC must be ~0.5).
- `regime_switch(n1, n2, phi1, phi2)`: the AR(1) coefficient flips after n1 bars (stale models, retraining).
- `planted_ar1(n, phi)`: r_t = phi x r_{t-1} + sigma x e_t. The oracle knows the rule: P(r_{t+1} > 0 | r_t) =
  Phi(phi x r_t / sigma), so `oracle_proba` gives the best achievable probability of "the next bar closes up"
  from data up to t; a model's AUC is compared with the oracle's AUC on the same samples.

Bars: open = previous close, high/low a small seeded wick beyond open/close, volume lognormal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm


def _bars(logret: np.ndarray, seed: int, start: str, freq: str, price: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 7919)
    close = price * np.exp(np.cumsum(logret))
    open_ = np.concatenate(([price], close[:-1]))
    wick = np.abs(rng.normal(0, 0.002, (2, len(close))))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(3.0, 0.5, len(close))
    index = pd.date_range(start, periods=len(close), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def random_walk(n: int, *, sigma: float = 0.01, seed: int = 0, start: str = "2020-01-01", freq: str = "1h",
                price: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _bars(rng.normal(0.0, sigma, n), seed, start, freq, price)


def planted_ar1(n: int, *, phi: float = 0.15, sigma: float = 0.01, seed: int = 0, start: str = "2020-01-01",
                freq: str = "1h", price: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, sigma, n)
    r = np.empty(n)
    prev = 0.0
    for i in range(n):
        prev = phi * prev + e[i]
        r[i] = prev
    return _bars(r, seed, start, freq, price)


def regime_switch(n1: int, n2: int, *, phi1: float = 0.3, phi2: float = -0.3, sigma: float = 0.01, seed: int = 0,
                  start: str = "2020-01-01", freq: str = "1h", price: float = 100.0) -> pd.DataFrame:
    """AR(1) returns whose coefficient flips from phi1 (first n1 bars) to phi2 (next n2): a model trained on the
    first regime goes stale, one retrained on the second wins (champion/challenger tests)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, sigma, n1 + n2)
    phi = np.concatenate((np.full(n1, phi1), np.full(n2, phi2)))
    r = np.empty(n1 + n2)
    prev = 0.0
    for i in range(n1 + n2):
        prev = phi[i] * prev + e[i]
        r[i] = prev
    return _bars(r, seed, start, freq, price)


def oracle_proba(frame: pd.DataFrame, *, phi: float, sigma: float = 0.01) -> np.ndarray:
    """P(close[t+1] > close[t] | data up to t) under the planted AR(1) rule."""
    logc = np.log(frame["close"].to_numpy(dtype=np.float64))
    r = np.concatenate(([0.0], np.diff(logc)))
    return norm.cdf(phi * r / sigma)


WIDE_INDICATORS = ("rsi", "cci", "willr", "mfi", "roc", "cmo", "adx", "atr", "natr", "stddev", "sma", "ema", "wma",
                   "linearreg_slope", "trix", "mom", "aroonosc", "plus_di", "minus_di", "dx", "bbands", "stoch")


def wide_feature_spec(n_features: int = 200) -> Any:
    """A feature spec of exactly `n_features` columns (catalog indicators at several periods, then returns and
    volatility): the benchmark's "200 features"."""
    from quantdesk.ml.features import FeatureSpec, feature_names

    items: list[str] = []
    periods = (5, 10, 20, 40, 80, 160, 320)
    for p in periods:
        for name in WIDE_INDICATORS:
            items.append(f"{name}:period={p}" if name != "stoch" else f"stoch:fastk_period={p}")
    returns = tuple(range(1, 33))
    vols = (4, 8, 16, 32, 64, 128)
    spec = FeatureSpec.parse(items, returns=returns, volatility=vols)
    names = feature_names(spec)
    while len(names) > n_features and items:
        items.pop()
        spec = FeatureSpec.parse(items, returns=returns, volatility=vols)
        names = feature_names(spec)
    if len(names) != n_features:
        extra = n_features - len(names)
        if extra < 0 or extra > 64:
            raise ValueError(f"cannot build exactly {n_features} features")
        spec = FeatureSpec.parse(items, returns=returns + tuple(range(33, 33 + extra)), volatility=vols)
    return spec
