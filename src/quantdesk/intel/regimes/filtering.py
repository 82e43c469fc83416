"""The forward filter (Hamilton filter) of a Gaussian hidden Markov model: the ONLY source of state probabilities.

Smoothed posteriors (forward-backward) and Viterbi paths use future observations; the filter uses x_1..x_t only:

    alpha_t(j) ∝ b_j(x_t) · Σ_i alpha_{t-1}(i) A_ij        (b_j = diagonal Gaussian density of state j)

and the probability that the state changed at t, given x_1..x_t:

    p_change_t = 1 - Σ_j alpha_{t-1}(j) A_jj b_j(x_t) / Σ_ij alpha_{t-1}(i) A_ij b_j(x_t)

Batch and streaming code call the same jitted `forward_step`, so their numbers are bit-identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

LOG_2PI = math.log(2.0 * math.pi)
Z_CLIP = 8.0  # standardised features are clipped here (fit and filter alike): one wild bar is not a regime


@dataclass(frozen=True)
class GaussianHMMParams:
    """A fitted model, states ordered by volatility (0 = calmest). `center`/`scale`
    standardise the raw features (`columns` of the (r, log range) pair) before the densities are evaluated."""

    startprob: np.ndarray  # (K,)
    transmat: np.ndarray  # (K, K) row-stochastic: A[i, j] = P(s_t = j | s_{t-1} = i)
    means: np.ndarray  # (K, D) in standardised units
    variances: np.ndarray  # (K, D)
    center: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    columns: tuple[int, ...]

    @property
    def n_states(self) -> int:
        return len(self.startprob)

    def ordered(self) -> GaussianHMMParams:
        """The same model with states sorted by volatility: the mean log range when the model reads it (feature
        1), else the variance of the return, so label 0 is always the calmest state whatever order the fit found
        them in."""
        key = self.means[:, self.columns.index(1)] if 1 in self.columns else self.variances[:, 0]
        order = np.argsort(key, kind="stable")
        return GaussianHMMParams(self.startprob[order], self.transmat[np.ix_(order, order)],
                                 self.means[order], self.variances[order], self.center, self.scale, self.columns)


@njit(cache=True)
def forward_step(alpha_prev: np.ndarray, x: np.ndarray, transmat: np.ndarray, means: np.ndarray,
                 variances: np.ndarray, center: np.ndarray, scale: np.ndarray, first: bool,
                 out: np.ndarray) -> float:
    """One filter step on the raw feature vector `x`; writes alpha_t into `out`, returns p_change_t (NaN on the
    first step, where `alpha_prev` holds the start probabilities)."""
    k = len(alpha_prev)
    d = len(x)
    logb = np.empty(k)
    for j in range(k):
        s = 0.0
        for c in range(d):
            z = (x[c] - center[c]) / scale[c]
            z = Z_CLIP if z > Z_CLIP else (-Z_CLIP if z < -Z_CLIP else z)
            v = variances[j, c]
            diff = z - means[j, c]
            s -= 0.5 * (LOG_2PI + math.log(v) + diff * diff / v)
        logb[j] = s
    m = logb[0]
    for j in range(1, k):
        if logb[j] > m:
            m = logb[j]
    total = 0.0
    stay = 0.0
    for j in range(k):
        b = math.exp(logb[j] - m)
        if first:
            pred = alpha_prev[j]
        else:
            pred = 0.0
            for i in range(k):
                pred += alpha_prev[i] * transmat[i, j]
            stay += alpha_prev[j] * transmat[j, j] * b
        out[j] = pred * b
        total += out[j]
    if not (total > 0.0):  # every density underflowed: keep the prediction (no information in this bar)
        for j in range(k):
            out[j] = 1.0 / k
        return math.nan
    for j in range(k):
        out[j] /= total
    if first:
        return math.nan
    p = 1.0 - stay / total
    return 0.0 if p < 0.0 else p


@njit(cache=True)
def filter_rows(x: np.ndarray, alpha0: np.ndarray, first: bool, transmat: np.ndarray, means: np.ndarray,
                variances: np.ndarray, center: np.ndarray, scale: np.ndarray, probs: np.ndarray,
                p_change: np.ndarray) -> None:
    """Filter every row of `x` (n, D) from `alpha0` (start probabilities when `first`), writing probs (n, K)
    and p_change (n,)."""
    k = len(alpha0)
    prev = alpha0.copy()
    cur = np.empty(k)
    for t in range(x.shape[0]):
        p_change[t] = forward_step(prev, x[t], transmat, means, variances, center, scale, first and t == 0, cur)
        for j in range(k):
            probs[t, j] = cur[j]
            prev[j] = cur[j]


def stationary(transmat: np.ndarray) -> np.ndarray:
    """The stationary distribution of a row-stochastic matrix (the filter's start on a fresh window)."""
    w, v = np.linalg.eig(transmat.T)
    vec = np.real(v[:, int(np.argmin(np.abs(w - 1.0)))])
    vec = np.abs(vec)
    total = vec.sum()
    return vec / total if total > 0 else np.full(len(vec), 1.0 / len(vec))
