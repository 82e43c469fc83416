"""Model-based detectors (Gaussian HMM, Markov-switching regression): fitted on past bars, filtered forward.

Schedule (identical in batch and streaming, which is what makes them equal and causal): with m = the number of
valid feature rows seen so far, the model is fitted when m == `train` and again every `refit` rows (0 = never
again), each time on the last `window` rows up to and including the current one. The state probabilities at a
fit bar come from the forward filter run over that window with the new parameters; after it, one filter step
per bar. A fit that fails keeps the previous model (NaN until a first fit succeeds); a fit whose states do not
persist (a self-transition probability below 0.8, typical of a window that holds a single regime) counts as
failed.

- hmm: hmmlearn's GaussianHMM (diagonal covariances) on the standardised (return, log range) pair. Only its
  fitted parameters are used: never `predict`/`predict_proba`/`decode`, which smooth over the future.
- markov: statsmodels' MarkovRegression (switching mean and variance) on the standardised log range (a
  far sharper volatility signal than the return); its filtered probabilities are the same Hamilton filter as
  ours (tests check the two agree).
States are sorted by volatility after every fit (the mean log range; see GaussianHMMParams.ordered), so label 0
is always the calmest state and labels do not swap between refits.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import deque
from typing import Any

import numpy as np

from quantdesk.intel.regimes.filtering import Z_CLIP, GaussianHMMParams, filter_rows, forward_step, stationary

COLUMNS = {"hmm": (0, 1), "markov": (1,)}


def robust_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and 1.4826 x MAD per column (the deviation when the MAD is 0): frozen or zero-range bars (a floored
    log range far below the rest) must not dominate the fit. Standardised values are clipped at +-Z_CLIP."""
    center = np.median(x, axis=0)
    scale = 1.4826 * np.median(np.abs(x - center), axis=0)
    return center, np.where(scale > 0, scale, x.std(axis=0))


def fit_hmm(x: np.ndarray, n_states: int, seed: int) -> GaussianHMMParams | None:
    """Fit a diagonal Gaussian HMM on raw feature rows `x` (m, D); None when the fit is unusable."""
    from hmmlearn.hmm import GaussianHMM

    center, scale = robust_scale(x)
    if not np.all(scale > 0):
        return None
    z = np.clip((x - center) / scale, -Z_CLIP, Z_CLIP)
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # "not converging" chatter on every tiny decrease
    # start from the quantile bins of the log range (plus a seeded jitter) instead of hmmlearn's k-means, which
    # costs more than EM itself; the jitter makes the seed matter, the volatility ordering makes it harmless
    model = GaussianHMM(n_states, covariance_type="diag", n_iter=50, tol=1e-3, random_state=seed,
                        init_params="c")
    order = np.argsort(z[:, -1], kind="stable")
    bins = np.array_split(order, n_states)
    jitter = np.random.default_rng(seed).normal(0.0, 0.1, (n_states, z.shape[1]))
    model.means_ = np.array([z[b].mean(axis=0) for b in bins]) + jitter
    model.startprob_ = np.full(n_states, 1.0 / n_states)
    model.transmat_ = np.full((n_states, n_states), 0.05 / (n_states - 1)) + np.eye(n_states) * (0.95 - 0.05 / (
        n_states - 1))  # sticky start: regimes persist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(z)
    variances = np.ascontiguousarray(np.diagonal(model.covars_, axis1=1, axis2=2))
    params = GaussianHMMParams(np.asarray(model.startprob_, dtype=np.float64),
                               np.ascontiguousarray(model.transmat_, dtype=np.float64),
                               np.ascontiguousarray(model.means_, dtype=np.float64), variances,
                               center, scale, COLUMNS["hmm"])
    return params.ordered() if _usable(params) else None


def fit_markov(x: np.ndarray, n_states: int, seed: int = 0) -> GaussianHMMParams | None:
    """Fit statsmodels' Markov-switching regression (switching mean and variance) on the log-range column."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    c, s = robust_scale(x[:, 1:2])
    center, scale = float(c[0]), float(s[0])
    if not scale > 0:
        return None
    z = np.clip((x[:, 1] - center) / scale, -Z_CLIP, Z_CLIP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MarkovRegression(z, k_regimes=n_states, trend="c", switching_variance=True).fit(disp=False)
    p = dict(zip(res.model.param_names, np.asarray(res.params, dtype=np.float64), strict=True))
    means = np.array([[p[f"const[{j}]"]] for j in range(n_states)])
    variances = np.array([[p[f"sigma2[{j}]"]] for j in range(n_states)])
    transmat = np.ascontiguousarray(np.asarray(res.model.regime_transition_matrix(res.params))[:, :, 0].T)
    params = GaussianHMMParams(stationary(transmat), transmat, means, variances, np.array([center]),
                               np.array([scale]), COLUMNS["markov"])
    return params.ordered() if _usable(params) else None


MIN_STAY = 0.8  # a state whose self-transition probability is lower does not persist: not a regime


def _usable(p: GaussianHMMParams) -> bool:
    """Finite, positive variances, and persistent states (every A_jj >= MIN_STAY). A window holding one regime
    only makes EM split noise into states that flip every few bars; such a fit is refused (see module doc)."""
    arrays = (p.startprob, p.transmat, p.means, p.variances)
    finite = all(np.all(np.isfinite(a)) for a in arrays) and bool(np.all(p.variances > 0))
    return finite and bool(np.all(np.diag(p.transmat) >= MIN_STAY))


FITTERS = {"hmm": fit_hmm, "markov": fit_markov}


def _fit(method: str, x: np.ndarray, n_states: int, seed: int) -> GaussianHMMParams | None:
    try:
        return FITTERS[method](np.ascontiguousarray(x), n_states, seed)
    except ImportError as exc:
        from quantdesk.core.errors import ConfigError

        raise ConfigError(f"regime method {method!r} needs {exc.name} (pip install 'quantdesk[regimes]')") from None
    except Exception:  # noqa: BLE001 - a failed fit keeps the previous model (documented)
        return None


def window_filter(params: GaussianHMMParams, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter raw feature rows `x` (m, D_all) from the model's start probabilities: (probs (m, K), p_change)."""
    cols = np.ascontiguousarray(x[:, list(params.columns)])
    probs = np.empty((len(cols), params.n_states))
    pc = np.empty(len(cols))
    filter_rows(cols, params.startprob, True, params.transmat, params.means, params.variances, params.center,
                params.scale, probs, pc)
    return probs, pc


def is_fit_row(m: int, train: int, refit: int) -> bool:
    """Whether the m-th valid feature row (1-based) is a fit point."""
    return m == train or (refit > 0 and m > train and (m - train) % refit == 0)


def fitted_batch(feats: np.ndarray, *, method: str, n_states: int, train: int, refit: int, window: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(probs (n, K), p_change (n,)) for valid feature rows `feats` (n, 2); NaN before the first good fit."""
    n = feats.shape[0]
    probs = np.full((n, n_states), np.nan)
    pc = np.full(n, np.nan)
    fits = [m - 1 for m in range(train, n + 1) if is_fit_row(m, train, refit)]
    params: GaussianHMMParams | None = None
    alpha: np.ndarray | None = None
    bounds = fits + [n]
    for k, t in enumerate(fits):
        new = _fit(method, feats[max(0, t - window + 1) : t + 1], n_states, seed)
        if new is not None:
            params = new
            p, c = window_filter(params, feats[max(0, t - window + 1) : t + 1])
            probs[t], pc[t], alpha = p[-1], c[-1], p[-1].copy()
            start = t + 1
        else:
            start = t
        stop = bounds[k + 1]
        if params is None or alpha is None or start >= stop:
            continue
        cols = np.ascontiguousarray(feats[start:stop][:, list(params.columns)])
        seg_p = np.empty((stop - start, params.n_states))
        seg_c = np.empty(stop - start)
        filter_rows(cols, alpha, False, params.transmat, params.means, params.variances, params.center,
                    params.scale, seg_p, seg_c)
        probs[start:stop], pc[start:stop] = seg_p, seg_c
        alpha = seg_p[-1].copy()
    return probs, pc


class FittedStream:
    """The streaming twin of `fitted_batch`: one valid feature row at a time."""

    def __init__(self, *, method: str, n_states: int, train: int, refit: int, window: int, seed: int) -> None:
        self.method, self.n_states, self.train, self.refit, self.window, self.seed = (
            method, n_states, train, refit, window, seed)
        self.rows: deque[tuple[float, float]] = deque(maxlen=window)
        self.m = 0
        self.params: GaussianHMMParams | None = None
        self.alpha: np.ndarray | None = None
        self._cur = np.empty(n_states)

    def step(self, r: float, lr: float) -> tuple[np.ndarray | None, float]:
        self.rows.append((r, lr))
        self.m += 1
        if is_fit_row(self.m, self.train, self.refit):
            x = np.array(self.rows, dtype=np.float64)
            new = _fit(self.method, x, self.n_states, self.seed)
            if new is not None:
                self.params = new
                probs, changes = window_filter(new, x)
                self.alpha = probs[-1].copy()
                return self.alpha, float(changes[-1])
        params = self.params
        if params is None or self.alpha is None:
            return None, math.nan
        pair = (r, lr)
        x1 = np.array([pair[c] for c in params.columns])
        cur = np.empty(params.n_states)
        p_change = forward_step(self.alpha, x1, params.transmat, params.means, params.variances, params.center,
                                params.scale, False, cur)
        self.alpha = cur
        return cur, float(p_change)

    def state(self) -> dict[str, Any]:
        p = self.params
        return {"fitted": p is not None, "rows": self.m,
                "transmat": None if p is None else p.transmat.tolist()}
