"""`ml_proba` without a registered model: a small model that retrains itself on a rolling window, causally.

    compute("ml_proba", frame)                       # online: retrains every 100 bars on the last 500
    compute("ml_proba", frame, horizon=4, window=1000, retrain=250)

Every `retrain` x (the bars' spacing) of absolute time, at the first bar of the new period, a LightGBM model
(scikit-learn's gradient boosting when LightGBM is absent) is fitted on the last `window` bars whose label
(close `horizon` bars later above the close) is already known at that bar, with a sigmoid calibrator on the
latest 20 % of them (purged), and predicts every bar until the next retraining. The features are a fixed set of
FINITE-window indicators (Williams %R, CCI, Bollinger bands, rate of change, stochastic, returns, volatility),
so a run that starts later reaches exactly the same values after its warm-up, retrains at the same bars on the
same data and predicts the same: the bias check's recursion test holds, and walk-forward windows retrain on
their own history. The batch computation and the streaming twin train at the same bars on the same rows.

Warm-up: nothing until the first retraining with at least 100 labelled samples of both classes (a few hundred
bars). The spacing of the bars is the first positive gap between timestamps (the only causal choice).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.ml.features import FeatureSpec

NAN = math.nan
MIN_SAMPLES = 100
ONLINE_FEATURES = FeatureSpec.parse(["willr:period=14", "cci:period=20", "bbands:period=20", "roc:period=10",
                                     "stoch"], returns=(1, 2, 4, 8, 16), volatility=(8, 32))


def _spec(horizon: int) -> Any:
    from quantdesk.ml.labels import LabelSpec
    from quantdesk.ml.models import available
    from quantdesk.ml.training import TrainSpec

    kind = "lightgbm" if available("lightgbm") else "gb"
    params = {"n_estimators": 60, "num_leaves": 4, "min_child_samples": 20, "learning_rate": 0.1} \
        if kind == "lightgbm" else {"max_iter": 60, "max_depth": 2, "min_samples_leaf": 20, "learning_rate": 0.1}
    return TrainSpec(features=ONLINE_FEATURES, label=LabelSpec(horizon=horizon), model=kind, params=params,  # type: ignore[arg-type]
                     calibration="sigmoid", calibration_fraction=0.2, conformal_alpha=None, seed=0, n_jobs=1,
                     causality_samples=0)


def _fit(F: np.ndarray, close: np.ndarray, t: int, horizon: int, window: int, spec: Any) -> Any:
    """The model fitted at bar t (rows 0..t of F and close are known), or None when there is too little data."""
    from quantdesk.ml.training import _fit as fit_members

    lo = max(0, t - window + 1)
    idx = np.arange(lo, t - horizon + 1)
    if len(idx) < MIN_SAMPLES:
        return None
    X = F[idx]
    ok = np.isfinite(X).all(axis=1) & np.isfinite(close[idx]) & np.isfinite(close[idx + horizon])
    idx = idx[ok]
    if len(idx) < MIN_SAMPLES:
        return None
    y = (close[idx + horizon] > close[idx]).astype(np.float64)
    if len(np.unique(y)) < 2:
        return None
    try:
        return fit_members(F[idx], y, idx, idx + horizon, np.arange(len(idx)), spec)
    except Exception:  # noqa: BLE001 - a window the model cannot learn from (e.g. one class after purging)
        return None


def _retrain_bars(ts: np.ndarray, retrain: int) -> np.ndarray:
    """Bars that open a new retraining period (never the first bar)."""
    d = np.diff(ts)
    d = d[d > 0]
    if len(d) == 0:
        return np.zeros(len(ts), dtype=bool)
    period = int(d[0]) * retrain
    k = ts // period
    out = np.zeros(len(ts), dtype=bool)
    out[1:] = k[1:] != k[:-1]
    return out


def online_batch(frame: pd.DataFrame, horizon: int, window: int, retrain: int) -> dict[str, np.ndarray]:
    from quantdesk.ml.features import build_features

    spec = _spec(horizon)
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    F = build_features(frame, ONLINE_FEATURES, base_timeframe=_first_gap(ts)).to_numpy(dtype=np.float64)
    close = frame["close"].to_numpy(dtype=np.float64)
    n = len(frame)
    proba = np.full(n, NAN)
    starts = np.flatnonzero(_retrain_bars(ts, retrain))
    ends = np.concatenate((starts[1:], [n]))
    model = None
    for a, b in zip(starts, ends, strict=True):
        model = _fit(F, close, int(a), horizon, window, spec) or model
        if model is None:
            continue
        rows = F[a:b]
        ok = np.isfinite(rows).all(axis=1)
        if ok.any():
            seg = np.full(b - a, NAN)
            seg[ok] = model.predict(rows[ok])["proba"]
            proba[a:b] = seg
    agree = np.where(np.isfinite(proba), 1.0, NAN)
    return {"proba": proba, "confidence": np.maximum(proba, 1 - proba), "agreement": agree}


def _first_gap(ts: np.ndarray) -> int | None:
    d = np.diff(ts)
    d = d[d > 0]
    return int(d[0]) if len(d) else None


class OnlineStream:
    """The streaming twin of `online_batch` (same retraining bars, same rows, same models)."""

    def __init__(self, horizon: int, window: int, retrain: int) -> None:
        self.h, self.window, self.retrain = horizon, window, retrain
        self.spec = _spec(horizon)
        self.stream: Any = None
        self.rows: deque[np.ndarray] = deque(maxlen=window + 1)
        self.closes: deque[float] = deque(maxlen=window + 1)
        self.t = -1
        self.prev_ts: int | None = None
        self.gap: int | None = None
        self.model: Any = None

    def update(self, bar: Any) -> tuple[float, float, float]:
        from quantdesk.ml.feature_stream import FeatureStream, bar_values

        v = bar_values(bar)
        ts = int(v["timestamp"])
        if self.prev_ts is not None and self.gap is None and ts > self.prev_ts:
            self.gap = ts - self.prev_ts
        if self.stream is None:
            # the base spacing only matters for higher-timeframe features, which the online set has none of
            self.stream = FeatureStream(ONLINE_FEATURES, base_ns=1)
        row = self.stream.update(v)
        self.t += 1
        self.rows.append(row)
        self.closes.append(v["close"])
        new_period = self.gap is not None and self.prev_ts is not None and \
            ts // (self.gap * self.retrain) != self.prev_ts // (self.gap * self.retrain)
        self.prev_ts = ts
        if new_period:
            F = np.array(self.rows)
            close = np.array(self.closes)
            local_t = len(F) - 1
            self.model = _fit(F, close, local_t, self.h, self.window, self.spec) or self.model
        if self.model is None or not np.all(np.isfinite(row)):
            return NAN, NAN, NAN
        p = float(self.model.predict(row.reshape(1, -1))["proba"][0])
        return p, max(p, 1.0 - p), 1.0
