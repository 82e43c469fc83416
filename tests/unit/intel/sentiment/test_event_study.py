"""The event study on synthetic prices: the pipeline (score headlines -> causal series -> regression) recovers
the relation when returns follow the sentiment, and reports none when they are independent."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from quantdesk.core.errors import DataError
from quantdesk.intel.sentiment.event_study import pipeline_study, sentiment_return_study, synthetic_world


def test_recovers_the_relation_when_returns_follow_sentiment() -> None:
    for seed in (1, 2):
        r = pipeline_study(synthetic_world(seed, beta=0.003))
        assert r["slope"] > 0 and r["p_value"] < 1e-5, r
        assert r["ci95"][0] > 0


def test_reports_none_when_independent() -> None:
    pvals = [pipeline_study(synthetic_world(seed, beta=0.0, n_bars=1200))["p_value"] for seed in range(10, 22)]
    assert sum(p < 0.05 for p in pvals) <= 3  # ~5% false positives expected (12 worlds: P(>3) < 0.3%)
    assert stats.kstest(pvals, "uniform").pvalue > 0.01  # p-values look uniform under independence


def test_regression_matches_a_hand_computation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    close = 100 * np.exp(np.cumsum(np.r_[0.0, 0.5 * x[:-1] + rng.normal(0, 0.1, 299)]))
    r = sentiment_return_study(x, close)
    y = np.log(close[1:] / close[:-1])
    slope = np.cov(x[:-1], y, ddof=1)[0, 1] / np.var(x[:-1], ddof=1)
    assert r["slope"] == pytest.approx(slope, rel=1e-10) and r["n"] == 299
    assert r["ci95"][0] < 0.5 < r["ci95"][1]


def test_bad_input() -> None:
    with pytest.raises(DataError, match="same length"):
        sentiment_return_study(np.zeros(5), np.ones(6))
    with pytest.raises(DataError, match="varying signal"):
        sentiment_return_study(np.zeros(50), np.ones(50))
    with pytest.raises(DataError, match="horizon"):
        sentiment_return_study(np.zeros(50), np.ones(50), horizon=0)
