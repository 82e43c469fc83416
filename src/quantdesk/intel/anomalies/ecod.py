"""ECOD (Li et al. 2022, "ECOD: Unsupervised Outlier Detection Using Empirical Cumulative Distribution
Functions"), written from the paper: per feature, the empirical left and right tail probabilities of a point
under the fitted sample; the outlier score is the largest of the summed negative log left tails, right tails, and
skewness-chosen tails. Fitted on past bars only; scoring a new point never changes the fitted sample.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import skew


class ECOD:
    def fit(self, x: np.ndarray) -> ECOD:
        x = np.asarray(x, dtype=np.float64)
        self.sorted_ = np.sort(x, axis=0)
        self.n_ = x.shape[0]
        self.skew_ = np.nan_to_num(skew(x, axis=0))
        return self

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Outlier score of each row (higher = more anomalous; the opposite sign of sklearn's score_samples)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        n = self.n_
        left = np.empty_like(x)
        right = np.empty_like(x)
        for d in range(x.shape[1]):
            col = self.sorted_[:, d]
            # smoothed empirical tails: (count + 1) / (n + 1) never reaches 0
            left[:, d] = (np.searchsorted(col, x[:, d], side="right") + 1.0) / (n + 1.0)
            right[:, d] = (n - np.searchsorted(col, x[:, d], side="left") + 1.0) / (n + 1.0)
        nl, nr = -np.log(left), -np.log(right)
        auto = np.where(self.skew_ < 0, nl, nr)
        return np.maximum.reduce([nl.sum(axis=1), nr.sum(axis=1), auto.sum(axis=1)])
