"""Bar anomalies of an OHLCV frame: one row per anomalous bar (`detect_anomalies`), the per-bar scores
(`anomaly_scores`, the catalog's `anomaly` column) and `BarAnomalyStream`, their one-bar-at-a-time twin.

Kinds: return_spike (|robust score of the log return| > threshold), range_spike (the bar's range far above its
usual), volume_burst (volume far above), bar_outlier (iforest/ocsvm/ecod: score above the model's threshold),
plus the feed-health kinds of quantdesk.intel.anomalies.health (gap, stale, zero_volume, price_jump,
outside_book). A bar with several kinds is ONE row: `kind` = the strongest (health kinds first, they are facts),
`kinds` = all of them ("gap;return_spike"), `score` = the strongest kind's score.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.intel.anomalies import BAR_METHODS
from quantdesk.intel.anomalies.features import bar_feature_row, bar_features
from quantdesk.intel.anomalies.health import FeedHealth, health_checks, infer_timeframe_ns
from quantdesk.intel.anomalies.models import FittedScorer
from quantdesk.intel.anomalies.robust import RollingScore, rolling_batch

DEFAULT_THRESHOLD = {"zscore": 5.0, "iqr": 3.0, "iforest": 8.0, "ocsvm": 8.0, "ecod": 8.0}
# feature -> (kind, which tail counts: +1 high only, 0 both)
ROBUST_KINDS = (("return_spike", 0), ("range_spike", 1), ("volume_burst", 1))
HEALTH_KINDS = ("gap", "stale", "zero_volume", "price_jump", "outside_book")
COLUMNS = ("timestamp", "kind", "kinds", "score", "method")


def _check(method: str, window: int, threshold: float | None) -> float:
    if method not in BAR_METHODS:
        raise ParameterError(f"anomaly method must be one of {list(BAR_METHODS)}, got {method!r}")
    if window < 10:
        raise ParameterError(f"anomaly window must be >= 10 bars, got {window}")
    thr = DEFAULT_THRESHOLD[method] if threshold is None else float(threshold)
    if not thr > 0:
        raise ParameterError(f"anomaly threshold must be > 0, got {threshold}")
    return thr


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    cols = {str(c).lower(): c for c in df.columns}
    missing = [k for k in ("open", "high", "low", "close", "volume") if k not in cols]
    if missing:
        raise DataError(f"anomaly detection needs columns {missing} (have {list(df.columns)})")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError("anomaly detection needs bar times: a DatetimeIndex (UTC)")
    out = df[[cols[k] for k in ("open", "high", "low", "close", "volume")]].astype("float64")
    out.columns = ["open", "high", "low", "close", "volume"]
    bad = ~np.isfinite(out.to_numpy())
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"anomaly detection: {out.columns[j]} is NaN/inf at {out.index[i]}")
    return out


def _robust_findings(scores: np.ndarray, threshold: float) -> list[tuple[str, float]]:
    found = []
    for (kind, tail), s in zip(ROBUST_KINDS, scores, strict=True):
        if s == s and (s > threshold or (tail == 0 and s < -threshold)):
            found.append((kind, abs(float(s))))
    return found


def anomaly_scores(df: pd.DataFrame, method: str = "zscore", *, window: int = 100, threshold: float | None = None,
                   **model_params: Any) -> pd.DataFrame:
    """Per bar: score (largest |feature score|, or the model score), is_anomaly (0/1), and for zscore/iqr the
    per-feature scores score_return, score_range, score_volume (NaN while warming up)."""
    thr = _check(method, window, threshold)
    bars = _frame(df)
    feats = bar_features(bars)
    n = len(bars)
    out = pd.DataFrame(index=df.index, data={"score": np.nan, "is_anomaly": np.nan, "score_return": np.nan,
                                             "score_range": np.nan, "score_volume": np.nan})
    if method in ("zscore", "iqr"):
        per = np.column_stack([rolling_batch(feats[:, j], window, method == "iqr") for j in range(3)])
        out[["score_return", "score_range", "score_volume"]] = per
        flags = np.array([bool(_robust_findings(per[i], thr)) if np.isfinite(per[i]).all() else np.nan
                          for i in range(n)], dtype=np.float64)
        out["score"] = np.abs(per).max(axis=1)
        out["is_anomaly"] = flags
        return out
    ok = np.isfinite(feats).all(axis=1)
    scores = np.full(n, np.nan)
    scores[ok] = FittedScorer(method, **model_params).batch(feats[ok])
    out["score"] = scores
    out["is_anomaly"] = np.where(np.isfinite(scores), (scores > thr).astype(np.float64), np.nan)
    return out


def _merge(found: list[tuple[str, float]]) -> tuple[str, str, float] | None:
    if not found:
        return None
    health = [f for f in found if f[0] in HEALTH_KINDS]
    ranked = health + sorted((f for f in found if f[0] not in HEALTH_KINDS), key=lambda f: -f[1])
    kinds = ";".join(dict.fromkeys(k for k, _ in ranked))
    return ranked[0][0], kinds, ranked[0][1]


def detect_anomalies(df: pd.DataFrame, method: str = "zscore", *, window: int = 100,
                     threshold: float | None = None, health: bool = True, timeframe_ns: int | None = None,
                     health_params: dict[str, Any] | None = None, **model_params: Any) -> pd.DataFrame:
    """One row per anomalous bar: timestamp, kind, kinds, score, method (see the module docstring)."""
    thr = _check(method, window, threshold)
    scores = anomaly_scores(df, method, window=window, threshold=thr, **model_params)
    bars = _frame(df)
    checks = health_checks(bars, timeframe_ns, **(health_params or {})) if health else [[] for _ in range(len(df))]
    rows = []
    per = scores[["score_return", "score_range", "score_volume"]].to_numpy()
    model_score = scores["score"].to_numpy()
    robust = method in ("zscore", "iqr")
    for i, ts in enumerate(bars.index):
        found = list(checks[i])
        if robust:
            found += _robust_findings(per[i], thr)
        elif model_score[i] > thr:
            found.append(("bar_outlier", float(model_score[i])))
        merged = _merge(found)
        if merged is not None:
            rows.append((ts, *merged, method))
    return pd.DataFrame(rows, columns=list(COLUMNS))


class BarAnomalyStream:
    """Streaming twin of `detect_anomalies`: `update(ts_ns, o, h, l, c, v, book=None)` returns the merged
    (kind, kinds, score) of the bar, or None. Same numbers as the batch function, bar for bar."""

    def __init__(self, method: str = "zscore", *, window: int = 100, threshold: float | None = None,
                 health: bool = True, timeframe_ns: int | None = None, health_params: dict[str, Any] | None = None,
                 **model_params: Any) -> None:
        self.method, self.threshold = method, _check(method, window, threshold)
        self.robust = method in ("zscore", "iqr")
        self.scores = [RollingScore(window, method == "iqr") for _ in range(3)] if self.robust else []
        self.model = None if self.robust else FittedScorer(method, **model_params)
        self.health = FeedHealth(timeframe_ns, **(health_params or {})) if health else None
        self.prev_close = math.nan

    def update(self, ts_ns: int, o: float, h: float, lo: float, c: float, v: float,
               book: tuple[float, float] | None = None) -> tuple[str, str, float] | None:
        feats = bar_feature_row(h, lo, c, v, self.prev_close)
        self.prev_close = c
        found = self.health.update(ts_ns, o, h, lo, c, v, book) if self.health is not None else []
        if self.robust:
            per = np.array([s.update(x) for s, x in zip(self.scores, feats, strict=True)])
            found += _robust_findings(per, self.threshold)
        elif self.model is not None and all(x == x for x in feats):
            score = self.model.update(np.array(feats))
            if score > self.threshold:
                found.append(("bar_outlier", float(score)))
        return _merge(found)


def stream_frame(df: pd.DataFrame, method: str = "zscore", **kwargs: Any) -> pd.DataFrame:
    """Run BarAnomalyStream over a frame (tests, and to replay a feed): the same rows as detect_anomalies."""
    bars = _frame(df)
    times = cast(pd.DatetimeIndex, bars.index)
    kwargs.setdefault("timeframe_ns", infer_timeframe_ns(times))
    s = BarAnomalyStream(method, **kwargs)
    ts = times.as_unit("ns").asi8
    o, h, lo, c, v = (bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    rows = []
    for i in range(len(bars)):
        res = s.update(int(ts[i]), float(o[i]), float(h[i]), float(lo[i]), float(c[i]), float(v[i]))
        if res is not None:
            rows.append((bars.index[i], *res, method))
    return pd.DataFrame(rows, columns=list(COLUMNS))
