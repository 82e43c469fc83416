"""Probability calibration (isotonic or sigmoid) and split-conformal prediction sets.

The calibrator is always fitted on samples strictly LATER than the model's training samples (see
`cv.calibration_tail`): a model's own training data would make its probabilities look better calibrated than they
are. `isotonic` is a monotone step function (sklearn IsotonicRegression, clipped); `sigmoid` is Platt scaling on
the score's logit (sklearn LogisticRegression).

Conformal (binary, split conformal): nonconformity of a calibration sample = 1 - p(true class); qhat = its
ceil((n + 1)(1 - alpha)) / n quantile. A new sample's prediction set = the classes c with 1 - p(c) <= qhat, which
contains the true class with probability >= 1 - alpha (exchangeability assumed: a guide under drift, not a law).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quantdesk.core.errors import ParameterError

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.log(q / (1 - q))


def fit_calibrator(score: np.ndarray, y: np.ndarray, method: str, seed: int = 0) -> Any:
    """A fitted sklearn object mapping raw scores to calibrated probabilities (None for method 'none' or when
    the calibration set has a single class)."""
    if method == "none" or len(np.unique(y)) < 2:
        return None
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y)
    if method == "sigmoid":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1e6, random_state=seed).fit(_logit(score).reshape(-1, 1), y)
    raise ParameterError(f"--calibration must be isotonic, sigmoid or none, got {method!r}")


def apply_calibrator(calibrator: Any, score: np.ndarray) -> np.ndarray:
    if calibrator is None:
        return np.asarray(score, dtype=np.float64)
    if hasattr(calibrator, "coef_"):  # Platt: the logistic of a x logit(score) + b (also one row, fast)
        from scipy.special import expit

        z = _logit(np.asarray(score, dtype=np.float64)) * float(calibrator.coef_[0, 0]) + float(calibrator.intercept_[0])
        return np.asarray(expit(z), dtype=np.float64)
    return np.asarray(calibrator.predict(np.asarray(score, dtype=np.float64)), dtype=np.float64)


def conformal_qhat(proba: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Split-conformal threshold on the nonconformity 1 - p(true class); NaN when n is too small for alpha."""
    if not 0 < alpha < 1:
        raise ParameterError(f"conformal alpha must be in (0, 1), got {alpha}")
    p_true = np.where(y == 1, proba, 1 - proba)
    scores = np.sort(1 - p_true)
    n = len(scores)
    k = math.ceil((n + 1) * (1 - alpha))
    if n == 0 or k > n:
        return math.nan
    return float(scores[k - 1])


def prediction_sets(proba: np.ndarray, qhat: float) -> np.ndarray:
    """Per sample: 0 = {down}, 1 = {up}, 2 = {down, up} (uncertain), -1 = empty (both classes too unlikely)."""
    up = (1 - proba) <= qhat
    down = proba <= qhat  # 1 - (1 - p) for the class 0
    return np.where(up & down, 2, np.where(up, 1, np.where(down, 0, -1))).astype(np.int64)
