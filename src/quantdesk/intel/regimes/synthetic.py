"""A seeded Markov-switching price generator with known switch times: the ground truth of the regime proofs.

    sim = markov_switching_bars(n=6000, seed=7)
    sim.bars        # OHLCV frame, hourly UTC index
    sim.states      # true state of every bar (0 = calm, 1 = volatile, 2 = crash when n_states=3)
    sim.switches    # bar indices where the state changes (the first bar of the new regime)

The state sequence is a semi-Markov chain: each regime lasts `min_duration` bars plus a geometric number of bars
with mean `mean_duration - min_duration`, then jumps to another state drawn uniformly. The minimum duration keeps
every regime long enough to be a regime (a 3-bar "regime" has no detectable switch time). Within a bar the price
follows `substeps` Gaussian log-steps, so high/low are the path's extremes (a realistic range), open is the
previous close and volume is log-normal with a higher level in volatile states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# (drift per bar, volatility per bar, log-volume mean) of each state, ordered by volatility
STATE_PARAMS: dict[int, tuple[tuple[float, float, float], ...]] = {
    1: ((0.0002, 0.006, 3.0),),  # one state: a plain random walk (clean bars for the anomaly proofs)
    2: ((0.0004, 0.006, 3.0), (-0.0006, 0.018, 3.6)),
    3: ((0.0004, 0.005, 3.0), (0.0, 0.012, 3.3), (-0.002, 0.030, 3.9)),
}


@dataclass(frozen=True)
class SwitchingSeries:
    bars: pd.DataFrame
    states: np.ndarray
    switches: np.ndarray
    params: tuple[tuple[float, float, float], ...]


def state_path(n: int, rng: np.random.Generator, n_states: int, mean_duration: float, min_duration: int
               ) -> np.ndarray:
    states = np.empty(n, dtype=np.int64)
    t, s = 0, int(rng.integers(n_states))
    extra = max(mean_duration - min_duration, 1.0)
    while t < n:
        d = min_duration + int(rng.geometric(1.0 / extra)) - 1
        states[t : t + d] = s
        t += d
        s = int((s + 1 + rng.integers(n_states - 1)) % n_states) if n_states > 1 else s
    return states


def markov_switching_bars(n: int = 6000, seed: int = 0, *, n_states: int = 2, mean_duration: float = 300.0,
                          min_duration: int = 60, substeps: int = 16, start_price: float = 100.0,
                          freq: str = "1h") -> SwitchingSeries:
    """The seeded series (see the module docstring)."""
    if n_states not in STATE_PARAMS:
        raise ValueError(f"n_states must be one of {sorted(STATE_PARAMS)}")
    rng = np.random.default_rng(seed)
    params = STATE_PARAMS[n_states]
    states = state_path(n, rng, n_states, mean_duration, min_duration)
    mu = np.array([p[0] for p in params])[states]
    sigma = np.array([p[1] for p in params])[states]
    steps = rng.normal(0.0, 1.0, (n, substeps)) * (sigma / np.sqrt(substeps))[:, None] + (mu / substeps)[:, None]
    path = np.cumsum(steps, axis=1)
    log_close = np.log(start_price) + np.cumsum(path[:, -1])
    log_open = np.r_[np.log(start_price), log_close[:-1]]
    hi = log_open + np.maximum(path.max(axis=1), 0.0)
    lo = log_open + np.minimum(path.min(axis=1), 0.0)
    vol_mu = np.array([p[2] for p in params])[states]
    volume = np.exp(vol_mu + rng.normal(0.0, 0.4, n))
    index = pd.date_range("2021-01-01", periods=n, freq=freq, tz="UTC", name="timestamp")
    bars = pd.DataFrame({"open": np.exp(log_open), "high": np.exp(hi), "low": np.exp(lo),
                         "close": np.exp(log_close), "volume": volume}, index=index)
    switches = np.flatnonzero(np.diff(states) != 0) + 1
    return SwitchingSeries(bars, states, switches, params)
