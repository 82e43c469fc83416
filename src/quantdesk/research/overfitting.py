"""Overfitting statistics of an optimisation: the deflated Sharpe ratio and the probability of backtest overfitting.

All Sharpe ratios here are PER PERIOD (mean / std of the per-period returns, not annualised), as in the papers.

Probabilistic Sharpe ratio (Bailey & Lopez de Prado 2012), the probability that the true Sharpe exceeds `sr_ref`:

    PSR(sr_ref) = Phi( (SR - sr_ref) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) )

with SR the observed Sharpe, T the number of returns, g3 their skewness and g4 their (non-excess) kurtosis.

Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): PSR of the best trial against the Sharpe that the best of N
independent unskilled trials is expected to reach,

    SR0 = mean + sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))

V = variance of the N trials' Sharpe ratios, gamma = Euler-Mascheroni constant; `mean` is 0 (the null of no
skill) unless given. With N = 1 there is no selection: SR0 = `mean`.

Probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, Lopez de
Prado & Zhu 2015): the T x N matrix of per-period returns (one column per trial) is cut into S even blocks of
consecutive rows (S even; the last T mod S rows are dropped). For each of the C(S, S/2) ways to pick S/2 blocks as
the in-sample set (the rest is out-of-sample): the trial with the best in-sample Sharpe is found, its out-of-sample
Sharpe is ranked among all N trials (1 = worst ... N = best; ties get their average rank), w = rank / (N + 1),
logit = ln(w / (1 - w)). PBO = share of the logits <= 0 (the in-sample winner did no better than the median
out of sample). A column with zero variance in a set has Sharpe 0 there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from quantdesk.core.errors import ParameterError

EULER_GAMMA = 0.5772156649015329


def sharpe(returns: Sequence[float] | np.ndarray) -> float:
    """Per-period Sharpe: mean / std (ddof=1); NaN for fewer than 2 returns or zero variance."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd if sd > 0 else math.nan


def moments(returns: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Per-period Sharpe, skewness and (non-excess, Pearson) kurtosis (biased moments, like
    scipy.stats.skew/kurtosis(bias=True, fisher=False)) and the number of observations."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = len(r)
    if n < 3 or float(np.std(r)) == 0.0:
        return {"sr": sharpe(r), "skew": math.nan, "kurtosis": math.nan, "n_obs": float(n)}
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    m3 = float(np.mean(d * d * d))
    m4 = float(np.mean((d * d) ** 2))
    return {"sr": sharpe(r), "skew": m3 / m2**1.5, "kurtosis": m4 / (m2 * m2), "n_obs": float(n)}


def probabilistic_sharpe_ratio(sr: float, n_obs: float, skew: float = 0.0, kurtosis: float = 3.0,
                               sr_ref: float = 0.0) -> float:
    """PSR: P(true Sharpe > sr_ref) given the observed per-period `sr` over `n_obs` returns."""
    if not (math.isfinite(sr) and n_obs > 1):
        return math.nan
    g3 = 0.0 if not math.isfinite(skew) else skew
    g4 = 3.0 if not math.isfinite(kurtosis) else kurtosis
    denom = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr * sr
    if denom <= 0:
        return math.nan
    z = (sr - sr_ref) * math.sqrt(n_obs - 1.0) / math.sqrt(denom)
    return float(sps.norm.cdf(z))


def expected_max_sharpe(n_trials: int, sr_variance: float, sr_mean: float = 0.0) -> float:
    """Expected maximum Sharpe of `n_trials` independent unskilled trials whose Sharpes have `sr_variance`."""
    if n_trials < 1:
        raise ParameterError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1 or not (sr_variance > 0):
        return float(sr_mean)
    n = float(n_trials)
    z1 = sps.norm.ppf(1.0 - 1.0 / n)
    z2 = sps.norm.ppf(1.0 - 1.0 / (n * math.e))
    return float(sr_mean + math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe_ratio(sr: float, n_obs: float, skew: float, kurtosis: float, n_trials: int,
                          sr_variance: float, sr_mean: float = 0.0) -> float:
    """DSR = PSR of the best trial's Sharpe against `expected_max_sharpe(n_trials, sr_variance)`."""
    sr0 = expected_max_sharpe(n_trials, sr_variance, sr_mean)
    return probabilistic_sharpe_ratio(sr, n_obs, skew, kurtosis, sr_ref=sr0)


def _block_stats(m: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray, int]:
    t = m.shape[0] - m.shape[0] % s
    blocks = m[:t].reshape(s, t // s, m.shape[1])
    return blocks.sum(axis=1), (blocks * blocks).sum(axis=1), t // s


def pbo_cscv(returns: np.ndarray | Any, n_splits: int = 16, *, max_combinations: int | None = None,
             return_logits: bool = False) -> dict[str, Any]:
    """PBO by CSCV over a T x N matrix of per-period returns (rows = periods, columns = trials).

    Returns {"pbo", "n_splits", "n_combinations", "n_trials", "logits" (if asked), "mean_logit"}.
    `n_splits` (even, >= 2) is lowered to the largest even number with at least 2 rows per block.
    `max_combinations`: use only the first that many combinations (in itertools order) - for very large S.
    NaN returns count as 0. With fewer than 2 trials, PBO is NaN.
    """
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise ParameterError(f"pbo_cscv: returns must be 2-D (periods x trials), got shape {m.shape}")
    t, n = m.shape
    if n < 2:
        return {"pbo": math.nan, "n_splits": 0, "n_combinations": 0, "n_trials": n, "mean_logit": math.nan,
                **({"logits": []} if return_logits else {})}
    if n_splits < 2 or n_splits % 2:
        raise ParameterError(f"pbo_cscv: n_splits must be even and >= 2, got {n_splits}")
    s = min(n_splits, (t // 2) // 2 * 2)
    if s < 2:
        raise ParameterError(f"pbo_cscv: need at least 4 periods, got {t}")
    m = np.where(np.isfinite(m), m, 0.0)
    bsum, bsq, rows = _block_stats(m, s)
    combos = list(itertools.combinations(range(s), s // 2))
    if max_combinations is not None:
        combos = combos[:max_combinations]
    sel = np.zeros((len(combos), s), dtype=np.float64)
    for i, c in enumerate(combos):
        sel[i, list(c)] = 1.0
    k = rows * (s // 2)

    def sr(sums: np.ndarray, sqs: np.ndarray) -> np.ndarray:
        mean = sums / k
        var = (sqs - sums * sums / k) / (k - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(sd > 1e-15 * np.maximum(np.abs(mean), 1e-300), mean / sd, 0.0)
        return out

    is_sr = sr(sel @ bsum, sel @ bsq)
    oos = 1.0 - sel
    oos_sr = sr(oos @ bsum, oos @ bsq)
    best = np.argmax(is_sr, axis=1)  # first best on ties: deterministic
    ranks = sps.rankdata(oos_sr, axis=1, method="average")
    w = ranks[np.arange(len(combos)), best] / (n + 1.0)
    logits = np.log(w / (1.0 - w))
    out: dict[str, Any] = {
        "pbo": float(np.mean(logits <= 0.0)),
        "n_splits": s,
        "n_combinations": len(combos),
        "n_trials": n,
        "mean_logit": float(np.mean(logits)),
    }
    if return_logits:
        out["logits"] = logits.tolist()
    return out


def overfitting_report(
    best_returns: np.ndarray,
    trial_sharpes: Sequence[float] | np.ndarray,
    returns_matrix: np.ndarray | None = None,
    *,
    n_splits: int = 16,
) -> dict[str, Any]:
    """The statistics shown with every optimisation result.

    `best_returns`: per-period returns of the selected (best) trial; `trial_sharpes`: per-period Sharpes of all
    trials that ran (NaN ones are dropped; their count is `n_trials`); `returns_matrix` (T x N) for PBO.
    Keys: dsr, psr (against 0), pbo, n_trials, sr_best (per period), sr_variance, expected_max_sr, skew,
    kurtosis, n_obs, pbo_splits, pbo_combinations, pbo_trials.
    """
    srs = np.asarray(trial_sharpes, dtype=np.float64)
    srs = srs[np.isfinite(srs)]
    n_trials = int(len(srs))
    mo = moments(best_returns)
    var = float(np.var(srs, ddof=1)) if n_trials > 1 else 0.0
    out: dict[str, Any] = {
        "dsr": math.nan, "psr": math.nan, "pbo": math.nan, "n_trials": n_trials, "sr_best": mo["sr"],
        "sr_variance": var, "expected_max_sr": math.nan, "skew": mo["skew"], "kurtosis": mo["kurtosis"],
        "n_obs": int(mo["n_obs"]), "pbo_splits": 0, "pbo_combinations": 0, "pbo_trials": 0,
    }
    if n_trials >= 1 and math.isfinite(mo["sr"]):
        sr0 = expected_max_sharpe(n_trials, var)
        out["expected_max_sr"] = sr0
        out["psr"] = probabilistic_sharpe_ratio(mo["sr"], mo["n_obs"], mo["skew"], mo["kurtosis"], 0.0)
        out["dsr"] = probabilistic_sharpe_ratio(mo["sr"], mo["n_obs"], mo["skew"], mo["kurtosis"], sr0)
    if returns_matrix is not None:
        mat = np.asarray(returns_matrix, dtype=np.float64)
        if mat.ndim == 2 and mat.shape[1] >= 2 and mat.shape[0] >= 4:
            p = pbo_cscv(mat, n_splits)
            out.update(pbo=p["pbo"], pbo_splits=p["n_splits"], pbo_combinations=p["n_combinations"],
                       pbo_trials=p["n_trials"])
    return out
