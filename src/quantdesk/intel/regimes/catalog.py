"""Catalog entry `regime`: strategies read it with `Ind("regime", method="hmm")`, ML features and the dashboard
with `compute("regime", df, ...)`, paper/live with `stream("regime", ...)`. See quantdesk.intel.regimes.detect."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.intel.regimes import METHODS
from quantdesk.intel.regimes.detect import DEFAULTS, OUTPUTS, RegimeStream, regime_array

PARAMS = (
    Param("method", str, "rules", choices=METHODS, description="rules | hmm | markov | bocpd"),
    Param("n_states", int, 2, 2, 3, description="hmm/markov: number of states (ordered by volatility)"),
    Param("train", int, 250, 50, 100_000, description="hmm/markov/bocpd: bars before the first fit / warm-up"),
    Param("refit", int, 250, 0, 100_000, description="hmm/markov: refit every N bars (0 = fit once)"),
    Param("window", int, 2000, 50, 1_000_000, description="hmm/markov: bars used by each fit (the latest)"),
    Param("switch_prob", float, 0.9, 0.5, 1.0, description="hmm/markov: probability that switches the label"),
    Param("confirm", int, 3, 1, 100, description="hmm/markov: bars the new state must hold switch_prob"),
    Param("seed", int, 0, 0, 2**31 - 1, description="hmm: EM initialisation seed"),
    Param("trend_period", int, 100, 2, 10_000, description="rules: SMA period of the trend"),
    Param("slope_bars", int, 20, 1, 10_000, description="rules: bars over which the SMA slope is measured"),
    Param("vol_period", int, 14, 1, 10_000, description="rules: ATR period"),
    Param("vol_window", int, 250, 10, 100_000, description="rules: bars of the NATR percentile rank"),
    Param("vol_quantile", float, 0.5, 0.05, 0.95, description="rules: rank above which it is volatile"),
    Param("hysteresis", float, 0.1, 0.0, 0.9, description="rules: dead band of the trend and vol thresholds"),
    Param("expected_run", int, 500, 2, 1_000_000, description="bocpd: expected bars between changes"),
    Param("max_run", int, 300, 10, 100_000, description="bocpd: longest run length tracked"),
    Param("cp_window", int, 10, 1, 1000, description="bocpd: p_changepoint = P(run < cp_window bars)"),
    Param("threshold", float, 0.95, 0.05, 1.0, description="bocpd: p_changepoint that declares a change"),
)
assert {p.name for p in PARAMS} == set(DEFAULTS), "catalog and detector defaults must list the same parameters"
assert all(DEFAULTS[p.name] == p.default for p in PARAMS)


def regime_kernel(high: np.ndarray, low: np.ndarray, close: np.ndarray, **params: Any) -> tuple[np.ndarray, ...]:
    out = regime_array(high, low, close, **params)
    return tuple(np.ascontiguousarray(out[:, j]) for j in range(out.shape[1]))


register(IndicatorSpec(
    name="regime",
    group="other",
    inputs=("high", "low", "close"),
    params=PARAMS,
    outputs=OUTPUTS,
    kernel=regime_kernel,
    description="Market regime (causal): rule quadrant, Gaussian HMM or Markov switching (forward-filtered "
                "probabilities), or Bayesian online change points. regime = code (calmest first), p_regime_k, "
                "p_changepoint, bars_since_change.",
    streaming=RegimeStream,
))
