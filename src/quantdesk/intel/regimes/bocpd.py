"""Bayesian online change-point detection (Adams & MacKay 2007) on the bar features (return, log range).

Each feature follows a Gaussian with unknown mean and precision inside a run (Normal-Gamma prior, Student-t
predictive); the two features are independent given the run. The hazard is constant, 1 / `expected_run`. The
run-length posterior is truncated at `max_run` (the tail mass is folded into the last cell), so one bar costs
O(max_run).

Outputs per bar:
- p_changepoint: posterior probability that the current run started within the last `cp_window` bars,
  P(r_t < cp_window | x_1..t). (P(r_t = 0) itself always equals the hazard under a constant hazard, so it says
  nothing; the mass on short runs is what moves when the data change.)
- a change is DECLARED at the bar where p_changepoint rises to `threshold` or above (from below), and not again
  until it has fallen back below `threshold`.
- regime: 1 (volatile) when the current run's expected log range is above the long-run median of log ranges
  seen so far (the warm-up included), else 0 (calm).
Features are standardised with the mean and deviation of the first `train` bars (the warm-up, NaN output).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# state layout: probs (R,), mu (R, 2), kappa (R, 2), alpha (R, 2), beta (R, 2); run cells 0..R-1
PRIOR_KAPPA = 0.1
PRIOR_ALPHA = 1.0
PRIOR_BETA = 1.0


@njit(cache=True)
def _student_logpdf(x: float, mu: float, kappa: float, alpha: float, beta: float) -> float:
    nu = 2.0 * alpha
    var = beta * (kappa + 1.0) / (alpha * kappa)
    z = (x - mu) * (x - mu) / (nu * var)
    return (math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu * math.pi * var)
            - 0.5 * (nu + 1.0) * math.log1p(z))


@njit(cache=True)
def bocpd_step(z0: float, z1: float, hazard: float, n_runs: int, probs: np.ndarray, mu: np.ndarray,
               kappa: np.ndarray, alpha: np.ndarray, beta: np.ndarray, cp_window: int) -> tuple[int, float, float]:
    """Update the run-length posterior in place with one standardised observation (z0, z1).
    Returns (new number of live run cells, p_changepoint, expected log-range mean of the current run)."""
    rmax = len(probs)
    # predictive probability of the observation under every live run
    logp = np.empty(n_runs)
    m = -1e300
    for r in range(n_runs):
        lp = (_student_logpdf(z0, mu[r, 0], kappa[r, 0], alpha[r, 0], beta[r, 0])
              + _student_logpdf(z1, mu[r, 1], kappa[r, 1], alpha[r, 1], beta[r, 1]))
        logp[r] = lp
        if lp > m:
            m = lp
    cp = 0.0
    grow = np.empty(n_runs)
    for r in range(n_runs):
        w = probs[r] * math.exp(logp[r] - m)
        grow[r] = w * (1.0 - hazard)
        cp += w * hazard
    new_n = n_runs + 1 if n_runs < rmax else rmax
    # shift runs up by one (the last cell absorbs the overflow), updating their sufficient statistics
    if n_runs == rmax:
        last = rmax - 1
        # fold the oldest two runs together: keep the statistics of the longer-lived cell
        grow[last - 1] += grow[last]
    for r in range(new_n - 1, 0, -1):
        src = r - 1
        probs[r] = grow[src]
        for d in range(2):
            x = z0 if d == 0 else z1
            k0 = kappa[src, d]
            mu_new = (k0 * mu[src, d] + x) / (k0 + 1.0)
            beta[r, d] = beta[src, d] + k0 * (x - mu[src, d]) * (x - mu[src, d]) / (2.0 * (k0 + 1.0))
            mu[r, d] = mu_new
            kappa[r, d] = k0 + 1.0
            alpha[r, d] = alpha[src, d] + 0.5
    probs[0] = cp
    for d in range(2):
        mu[0, d] = 0.0
        kappa[0, d] = PRIOR_KAPPA
        alpha[0, d] = PRIOR_ALPHA
        beta[0, d] = PRIOR_BETA
    total = 0.0
    for r in range(new_n):
        total += probs[r]
    short = 0.0
    level = 0.0
    for r in range(new_n):
        probs[r] /= total
        if r < cp_window:
            short += probs[r]
    # expected log-range level of the current run (posterior mean of the run's mean; the fresh run counts as
    # its first observation)
    best = 0
    for r in range(1, new_n):
        if probs[r] > probs[best]:
            best = r
    level = mu[best, 1] if best > 0 else z1
    return new_n, short, level


@njit(cache=True)
def bocpd_row(r: float, lr: float, norm: np.ndarray, scal: np.ndarray, hazard: float, cp_window: int,
              threshold: float, probs: np.ndarray, mu: np.ndarray, kappa: np.ndarray, alpha: np.ndarray,
              beta: np.ndarray) -> tuple[float, float, float]:
    """One post-warm-up bar. `norm` = (center_r, center_lr, scale_r, scale_lr); `scal` = (n_runs, rows seen,
    sum of standardised log ranges, declared flag, bars since the declared change). Returns (regime,
    p_changepoint, bars_since_change)."""
    z0 = (r - norm[0]) / norm[2]
    z1 = (lr - norm[1]) / norm[3]
    n_runs, pcp, level = bocpd_step(z0, z1, hazard, int(scal[0]), probs, mu, kappa, alpha, beta, cp_window)
    scal[0] = n_runs
    scal[1] += 1.0
    scal[2] += z1
    regime = 1.0 if level > scal[2] / scal[1] else 0.0
    if pcp >= threshold and scal[3] == 0.0:
        scal[3] = 1.0
        scal[4] = 0.0
    else:
        if pcp < threshold:
            scal[3] = 0.0
        scal[4] = scal[4] + 1.0 if math.isfinite(scal[4]) else 0.0
    return regime, pcp, scal[4]


@njit(cache=True)
def bocpd_rows(feats: np.ndarray, norm: np.ndarray, scal: np.ndarray, hazard: float, cp_window: int,
               threshold: float, probs: np.ndarray, mu: np.ndarray, kappa: np.ndarray, alpha: np.ndarray,
               beta: np.ndarray, out: np.ndarray) -> None:
    for i in range(feats.shape[0]):
        a, b, c = bocpd_row(feats[i, 0], feats[i, 1], norm, scal, hazard, cp_window, threshold, probs, mu,
                            kappa, alpha, beta)
        out[i, 0] = a
        out[i, 1] = b
        out[i, 2] = c


class BocpdState:
    """The run-length posterior and bookkeeping of one series (used by the batch kernel and the stream)."""

    def __init__(self, train: int, expected_run: int, max_run: int, cp_window: int, threshold: float) -> None:
        self.train, self.hazard, self.cp_window, self.threshold = train, 1.0 / expected_run, cp_window, threshold
        self.probs = np.zeros(max_run)
        self.probs[0] = 1.0
        self.mu = np.zeros((max_run, 2))
        self.kappa = np.full((max_run, 2), PRIOR_KAPPA)
        self.alpha = np.full((max_run, 2), PRIOR_ALPHA)
        self.beta = np.full((max_run, 2), PRIOR_BETA)
        self.norm: np.ndarray | None = None
        self.scal = np.array([1.0, float(train), 0.0, 0.0, math.nan])
        self.warm: list[tuple[float, float]] = []

    def start(self, warm: np.ndarray) -> None:
        """Standardisation from the warm-up rows (train, 2); a constant feature gets scale 1."""
        center = warm.mean(axis=0)
        scale = warm.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        self.norm = np.array([center[0], center[1], scale[0], scale[1]])

    def rows(self, feats: np.ndarray) -> np.ndarray:
        if self.norm is None:
            raise RuntimeError("BocpdState.rows before start(): the warm-up standardisation is missing")
        out = np.empty((feats.shape[0], 3))
        bocpd_rows(np.ascontiguousarray(feats), self.norm, self.scal, self.hazard, self.cp_window,
                   self.threshold, self.probs, self.mu, self.kappa, self.alpha, self.beta, out)
        return out

    def row(self, r: float, lr: float) -> tuple[float, float, float]:
        if self.norm is None:
            self.warm.append((r, lr))
            if len(self.warm) == self.train:
                self.start(np.array(self.warm))
                self.warm = []
            return math.nan, math.nan, math.nan
        return bocpd_row(r, lr, self.norm, self.scal, self.hazard, self.cp_window, self.threshold, self.probs,
                         self.mu, self.kappa, self.alpha, self.beta)


def bocpd_batch(feats: np.ndarray, *, train: int, expected_run: int, max_run: int, cp_window: int,
                threshold: float) -> np.ndarray:
    """(n, 3) = (regime, p_changepoint, bars_since_change) for feature rows `feats` (n, 2) whose rows are
    all valid (the caller strips the leading invalid ones). NaN during the warm-up."""
    n = feats.shape[0]
    out = np.full((n, 3), np.nan)
    if n < train:
        return out
    st = BocpdState(train, expected_run, max_run, cp_window, threshold)
    st.start(np.array(feats[:train]))
    out[train:] = st.rows(feats[train:])
    return out
