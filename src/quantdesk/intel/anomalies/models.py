"""Multivariate bar-anomaly models (Isolation Forest, One-Class SVM, ECOD) fitted on past bars, scored causally.

Schedule: with m = valid feature rows seen, a row is first SCORED by the current model (NaN before the first
fit), then added to the history; the model is fitted when m == `train` and every `refit` rows after (0 = once),
on the last `window` rows, standardised by their mean and deviation. So every score uses a model fitted on
earlier bars only. Scores are reported as robust z-scores against the model's scores on its own training rows,
(raw - median) / (1.4826 x MAD): a quantile threshold would be set by the anomalies inside the training window
(they are often more than the nominal contamination), the median and MAD are not.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from quantdesk.core.errors import ConfigError


def _make(method: str, seed: int, contamination: float) -> Any:
    try:
        if method == "iforest":
            from sklearn.ensemble import IsolationForest

            return IsolationForest(n_estimators=100, random_state=seed, n_jobs=1)
        if method == "ocsvm":
            from sklearn.svm import OneClassSVM

            return OneClassSVM(nu=max(contamination, 0.01), gamma="scale")
    except ImportError as exc:
        raise ConfigError(f"anomaly method {method!r} needs scikit-learn (pip install 'quantdesk[regimes]')") from exc
    from quantdesk.intel.anomalies.ecod import ECOD

    return ECOD()


def _raw_scores(model: Any, method: str, z: np.ndarray) -> np.ndarray:
    """Higher = more anomalous for every method."""
    if method == "ecod":
        return model.score_samples(z)
    return -model.score_samples(z)


class FittedScorer:
    """The schedule of the module docstring; `batch` and `update` give the same numbers."""

    def __init__(self, method: str, *, train: int = 500, refit: int = 500, window: int = 2000,
                 contamination: float = 0.002, seed: int = 0) -> None:
        self.method, self.train, self.refit, self.window = method, train, refit, window
        self.contamination, self.seed = contamination, seed
        self.rows: deque[np.ndarray] = deque(maxlen=window)
        self.m = 0
        self.model: Any = None
        self.center: np.ndarray = np.zeros(0)
        self.scale: np.ndarray = np.ones(0)
        self.center_score = 0.0
        self.threshold = math.nan

    def _is_fit(self, m: int) -> bool:
        return m == self.train or (self.refit > 0 and m > self.train and (m - self.train) % self.refit == 0)

    def _fit(self, x: np.ndarray) -> None:
        center, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = (x - center) / scale
        model = _make(self.method, self.seed, self.contamination).fit(z)
        train_scores = _raw_scores(model, self.method, z)
        self.model, self.center, self.scale = model, center, scale
        med = float(np.median(train_scores))
        self.center_score, self.threshold = med, float(1.4826 * np.median(np.abs(train_scores - med)))

    def _score(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            return np.full(len(x), np.nan)
        raw = _raw_scores(self.model, self.method, (x - self.center) / self.scale)
        return (raw - self.center_score) / max(self.threshold, 1e-12)

    def update(self, row: np.ndarray) -> float:
        """Score one valid feature row, then learn from it."""
        score = float(self._score(np.asarray(row, dtype=np.float64)[None, :])[0])
        self.rows.append(np.asarray(row, dtype=np.float64))
        self.m += 1
        if self._is_fit(self.m):
            self._fit(np.array(self.rows))
        return score

    def batch(self, x: np.ndarray) -> np.ndarray:
        """Scores of every row of `x` (all valid), scoring each segment between fit points in one call."""
        n = len(x)
        out = np.full(n, np.nan)
        fits = [m for m in range(1, n + 1) if self._is_fit(m)]
        start = 0
        for m in fits + [n]:
            # rows start .. m-1 (0-based) are scored by the model of the previous fit
            out[start:m] = self._score(x[start:m])
            if m in fits:
                self._fit(np.ascontiguousarray(x[max(0, m - self.window) : m]))
            start = m
        self.m = n
        self.rows.extend(x[max(0, n - self.window) :])
        return out
