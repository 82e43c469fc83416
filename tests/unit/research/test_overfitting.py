"""Deflated Sharpe ratio and PBO (CSCV): against direct computations and known properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats import norm

from quantdesk.core.errors import ParameterError
from quantdesk.research.overfitting import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    moments,
    overfitting_report,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    sharpe,
)


def test_psr_matches_direct_formula():
    sr, t, g3, g4, ref = 0.08, 750, -0.7, 6.5, 0.02
    direct = norm.cdf((sr - ref) * math.sqrt(t - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert probabilistic_sharpe_ratio(sr, t, g3, g4, ref) == pytest.approx(direct, rel=1e-12)
    # normal returns, reference 0: Phi(SR sqrt(T-1) / sqrt(1 + SR^2 / 2))
    assert probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0) == pytest.approx(
        norm.cdf(0.1 * 10 / math.sqrt(1 + 0.01 / 2)), rel=1e-12)


def test_expected_max_sharpe_matches_direct_formula():
    n, var = 250, 0.0025
    direct = math.sqrt(var) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / n) + EULER_GAMMA * norm.ppf(1 - 1 / (n * math.e)))
    assert expected_max_sharpe(n, var) == pytest.approx(direct, rel=1e-12)
    assert expected_max_sharpe(1, var) == 0.0  # no selection
    assert expected_max_sharpe(10, 0.0) == 0.0
    with pytest.raises(ParameterError):
        expected_max_sharpe(0, var)


def test_expected_max_sharpe_is_close_to_simulated_maximum():
    rng = np.random.default_rng(3)
    n, sd = 100, 0.05
    sims = rng.normal(0.0, sd, size=(20000, n)).max(axis=1).mean()
    assert expected_max_sharpe(n, sd * sd) == pytest.approx(sims, rel=0.03)


def test_dsr_hand_computation_and_decreases_with_more_trials():
    sr, t, g3, g4, var = 0.1, 1000, -0.5, 5.0, 0.001
    sr0 = math.sqrt(var) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / 50) + EULER_GAMMA * norm.ppf(1 - 1 / (50 * math.e)))
    hand = norm.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr * sr))
    assert deflated_sharpe_ratio(sr, t, g3, g4, 50, var) == pytest.approx(hand, rel=1e-12)
    values = [deflated_sharpe_ratio(sr, t, g3, g4, n, var) for n in (1, 2, 10, 100, 1000, 10000)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert values[0] == pytest.approx(probabilistic_sharpe_ratio(sr, t, g3, g4, 0.0))


def test_moments_match_scipy():
    r = np.random.default_rng(1).standard_t(4, size=500) * 0.01 + 0.0005
    m = moments(r)
    assert m["sr"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert m["skew"] == pytest.approx(stats.skew(r, bias=True), rel=1e-10)
    assert m["kurtosis"] == pytest.approx(stats.kurtosis(r, fisher=False, bias=True), rel=1e-10)
    assert m["n_obs"] == 500
    assert math.isnan(sharpe([0.01, 0.01, 0.01]))


def _pbo_reference(m: np.ndarray, s: int) -> tuple[float, list[float]]:
    """Straight from the paper, with loops."""
    t, n = m.shape
    rows = t // s
    blocks = [m[i * rows : (i + 1) * rows] for i in range(s)]
    logits = []
    for combo in itertools.combinations(range(s), s // 2):
        is_ = np.vstack([blocks[i] for i in combo])
        oos = np.vstack([blocks[i] for i in range(s) if i not in combo])
        is_sr = is_.mean(axis=0) / is_.std(axis=0, ddof=1)
        oos_sr = oos.mean(axis=0) / oos.std(axis=0, ddof=1)
        best = int(np.argmax(is_sr))
        rank = stats.rankdata(oos_sr)[best]
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.array(logits) <= 0)), logits


def test_pbo_matches_reference_implementation():
    m = np.random.default_rng(5).normal(0.0002, 0.01, size=(600, 12))
    got = pbo_cscv(m, 6, return_logits=True)
    ref, logits = _pbo_reference(m, 6)
    assert got["pbo"] == pytest.approx(ref)
    assert got["n_combinations"] == math.comb(6, 3)
    np.testing.assert_allclose(got["logits"], logits, rtol=1e-9)


def test_pbo_tiny_hand_example():
    # two trials, two blocks: each trial is good in one block and bad in the other -> the in-sample winner is
    # always the out-of-sample loser: PBO = 1. A trial that wins both blocks: PBO = 0.
    a = np.array([0.02, 0.01, -0.01, -0.02])
    b = np.array([-0.01, -0.02, 0.02, 0.01])
    assert pbo_cscv(np.column_stack([a, b]), 2)["pbo"] == 1.0
    good = np.array([0.03, 0.029, 0.03, 0.029])  # Sharpe ~42 in each block, b at most ~2.1
    assert pbo_cscv(np.column_stack([good, b]), 2)["pbo"] == 0.0


def test_pbo_is_about_half_for_noise():
    pbos = [pbo_cscv(np.random.default_rng(seed).normal(0, 0.01, size=(1600, 100)), 16)["pbo"]
            for seed in range(4)]
    assert 0.35 < float(np.mean(pbos)) < 0.65


def test_pbo_near_zero_with_one_skilled_trial():
    rng = np.random.default_rng(11)
    m = rng.normal(0, 0.01, size=(1600, 50))
    m[:, 7] += 0.004  # a real edge: Sharpe 0.4 per period
    assert pbo_cscv(m, 16)["pbo"] < 0.05


def test_pbo_edge_cases():
    assert math.isnan(pbo_cscv(np.zeros((100, 1)), 16)["pbo"])
    with pytest.raises(ParameterError):
        pbo_cscv(np.zeros((100, 3)), 5)
    with pytest.raises(ParameterError):
        pbo_cscv(np.zeros(10), 4)
    # few rows: the number of blocks is lowered
    assert pbo_cscv(np.random.default_rng(0).normal(size=(9, 4)), 16)["n_splits"] == 4


def test_overfitting_report_combines_everything():
    rng = np.random.default_rng(2)
    m = rng.normal(0.0, 0.01, size=(800, 30))
    srs = m.mean(axis=0) / m.std(axis=0, ddof=1)
    best = int(np.argmax(srs))
    rep = overfitting_report(m[:, best], srs, m, n_splits=8)
    assert rep["n_trials"] == 30
    assert rep["sr_best"] == pytest.approx(srs[best])
    assert rep["expected_max_sr"] == pytest.approx(expected_max_sharpe(30, float(np.var(srs, ddof=1))))
    assert rep["dsr"] < rep["psr"]
    assert rep["pbo_combinations"] == math.comb(8, 4)
    assert 0.0 <= rep["pbo"] <= 1.0
