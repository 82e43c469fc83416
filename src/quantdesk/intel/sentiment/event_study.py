"""Does sentiment lead returns? A causal regression of the next bars' return on the sentiment series known at
each bar, with its p-value and 95% confidence interval, plus a synthetic world to test the whole pipeline.

    study = sentiment_return_study(mean, close, horizon=1)   # {"slope", "t", "p_value", "ci95", "n", ...}

`synthetic_world(seed, beta)`: a latent sentiment state (AR(1)); headlines written from it (positive or
negative templates, chosen with probability (1 + s)/2, published at random times); and prices whose next-hour
return is `beta x s` plus noise (beta = 0: independent). The PIPELINE (score the headlines, join them to the
bars causally, regress) must recover beta > 0 when it is there and report no relation (p > alpha, CI around 0)
when it is not; tests and benchmarks/bench_sentiment.py check both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from quantdesk.core.errors import DataError

HOUR_NS = 3_600_000_000_000
T0 = 1_640_995_200 * 10**9  # 2022-01-01T00:00:00Z

POSITIVE = ["{a} rallies as inflows grow", "{a} surges to a new high", "Analysts turn bullish on {a}",
            "{a} gains after strong demand", "Whales accumulate {a}", "{a} breaks out above resistance"]
NEGATIVE = ["{a} slides as outflows mount", "{a} plunges after sell-off", "Analysts turn bearish on {a}",
            "{a} drops on weak demand", "Whales dump {a}", "{a} breaks below support"]


def sentiment_return_study(signal: np.ndarray, close: np.ndarray, horizon: int = 1) -> dict[str, Any]:
    """OLS of the log return from bar i to bar i+horizon on signal[i] (known at bar i): slope, t, two-sided
    p-value, 95% CI, correlation, n. Bars where either is not finite are dropped."""
    x = np.asarray(signal, dtype=float)
    c = np.asarray(close, dtype=float)
    if x.shape != c.shape or x.ndim != 1:
        raise DataError("event study: signal and close must be 1-D arrays of the same length")
    if horizon < 1 or horizon >= len(c):
        raise DataError(f"event study: horizon must be 1..{len(c) - 1}")
    fwd = np.log(c[horizon:] / c[:-horizon])
    x = x[:-horizon]
    ok = np.isfinite(x) & np.isfinite(fwd)
    x, y = x[ok], fwd[ok]
    if len(x) < 10 or np.ptp(x) == 0:
        raise DataError(f"event study: {len(x)} usable bars with a varying signal; need at least 10")
    res = stats.linregress(x, y)
    tcrit = stats.t.ppf(0.975, len(x) - 2)
    return {"n": int(len(x)), "horizon": horizon, "slope": float(res.slope), "intercept": float(res.intercept),
            "t": float(res.slope / res.stderr), "p_value": float(res.pvalue), "r": float(res.rvalue),
            "ci95": (float(res.slope - tcrit * res.stderr), float(res.slope + tcrit * res.stderr))}


@dataclass(frozen=True)
class SyntheticWorld:
    bar_ts: np.ndarray  # int64 ns, hourly
    close: np.ndarray
    latent: np.ndarray  # the state s_t of hour (t-1, t]
    news: list[tuple[int, str]]  # (published ns, headline)


def synthetic_world(seed: int, beta: float, n_bars: int = 2000, news_per_hour: float = 0.6,
                    noise: float = 0.01, asset: str = "Bitcoin") -> SyntheticWorld:
    rng = np.random.default_rng(seed)
    latent = np.zeros(n_bars)
    for i in range(1, n_bars):
        latent[i] = 0.95 * latent[i - 1] + rng.normal(0, 0.3)
    latent = np.tanh(latent)
    bar_ts = T0 + np.arange(n_bars, dtype=np.int64) * HOUR_NS
    news: list[tuple[int, str]] = []
    for i in range(1, n_bars):
        for _ in range(rng.poisson(news_per_hour)):
            pool = POSITIVE if rng.random() < (1 + latent[i]) / 2 else NEGATIVE
            text = pool[rng.integers(len(pool))].format(a=asset)
            news.append((int(bar_ts[i - 1] + rng.integers(1, HOUR_NS + 1)), text))  # within (t-1, t]
    ret = np.zeros(n_bars)
    ret[1:] = beta * latent[:-1] + rng.normal(0, noise, n_bars - 1)  # return of (t, t+1] follows s_t
    close = 100.0 * np.exp(np.cumsum(ret))
    news.sort()
    return SyntheticWorld(bar_ts, close, latent, news)


def pipeline_study(world: SyntheticWorld, half_life_h: float = 3.0, horizon: int = 1) -> dict[str, Any]:
    """Score the world's headlines, build the series on its bars, regress returns on it."""
    from quantdesk.intel.sentiment.analyzer import analyze
    from quantdesk.intel.sentiment.series import MemoryProvider, compute_series

    scored = analyze([t for _, t in world.news])
    provider = MemoryProvider.from_scored([(ts, s) for (ts, _), s in zip(world.news, scored, strict=True)])
    base = scored[0].entities[0].split("/")[0] if scored and scored[0].entities else "BTC"
    mean = compute_series(world.bar_ts, provider.mentions(base), half_life_h, 24.0)[0]
    return sentiment_return_study(mean, world.close, horizon)
