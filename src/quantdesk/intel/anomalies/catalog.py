"""Catalog entry `anomaly`: the per-bar robust anomaly scores (zscore | iqr) of quantdesk.intel.anomalies.detect,
for strategies (`Ind("anomaly")`: e.g. stand aside on anomalous bars), ML features and the dashboard."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.intel.anomalies.detect import DEFAULT_THRESHOLD, _robust_findings
from quantdesk.intel.anomalies.features import bar_feature_row
from quantdesk.intel.anomalies.robust import RollingScore, rolling_batch

OUTPUTS = ("score", "is_anomaly", "score_return", "score_range", "score_volume")
NAN = math.nan


def _threshold(method: str, threshold: float) -> float:
    return DEFAULT_THRESHOLD[method] if threshold == 0 else threshold


def anomaly_kernel(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *, method: str,
                   window: int, threshold: float) -> tuple[np.ndarray, ...]:
    n = len(close)
    feats = np.empty((n, 3))
    prev = NAN
    for i in range(n):
        feats[i] = bar_feature_row(high[i], low[i], close[i], volume[i], prev)
        prev = close[i]
    per = np.column_stack([rolling_batch(feats[:, j], window, method == "iqr") for j in range(3)])
    thr = _threshold(method, threshold)
    ok = np.isfinite(per).all(axis=1)
    score = np.where(ok, np.abs(per).max(axis=1), NAN)
    flag = np.full(n, NAN)
    flag[ok] = [1.0 if _robust_findings(per[i], thr) else 0.0 for i in np.flatnonzero(ok)]
    return score, flag, per[:, 0].copy(), per[:, 1].copy(), per[:, 2].copy()


class AnomalyStream:
    """Streaming twin of the `anomaly` column."""

    inputs = ("high", "low", "close", "volume")

    def __init__(self, method: str = "zscore", window: int = 100, threshold: float = 0.0) -> None:
        self.thr = _threshold(method, threshold)
        self.scores = [RollingScore(window, method == "iqr") for _ in range(3)]
        self.prev = NAN

    def update(self, bar: Any) -> tuple[float, ...]:
        get = bar.__getitem__ if isinstance(bar, dict) else lambda k: getattr(bar, k)
        h, lo, c, v = (float(get(k)) for k in self.inputs)
        feats = bar_feature_row(h, lo, c, v, self.prev)
        self.prev = c
        per = np.array([s.update(x) for s, x in zip(self.scores, feats, strict=True)])
        if not np.isfinite(per).all():
            return (NAN, NAN, *per)
        return (float(np.abs(per).max()), 1.0 if _robust_findings(per, self.thr) else 0.0, *per)


register(IndicatorSpec(
    name="anomaly",
    group="statistic",
    inputs=("high", "low", "close", "volume"),
    params=(
        Param("method", str, "zscore", choices=("zscore", "iqr"), description="robust z-score or IQR fences"),
        Param("window", int, 100, 10, 100_000, description="previous bars each bar is judged against"),
        Param("threshold", float, 0.0, 0.0, 1000.0, description="alarm level (0 = default: 5 for zscore, 3 iqr)"),
    ),
    outputs=OUTPUTS,
    kernel=anomaly_kernel,
    description="Causal bar-anomaly scores of the log return, log range and log volume against the previous "
                "`window` bars (robust z-score or IQR); is_anomaly = 1 when one passes the threshold.",
    streaming=AnomalyStream,
))
