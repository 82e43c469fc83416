"""Prediction with a registered model: a whole frame at once (backtests, `ml predict`) or one bar at a time (bots).

    pred = Predictor.for_model(model_id)
    out = pred.predict_frame(frame)          # proba, confidence, agreement arrays (NaN in the warm-up)
    stream = pred.feature_stream()           # FeatureStream twin of the model's features
    p, conf, agree = pred.predict_row(stream.update(bar))

One-bar latency matters in a live bot (goal < 5 ms, `benchmarks/bench_ml.py`): `predict_row` calls the members'
native boosters directly where that is exact (LightGBM `Booster.predict`, same trees and same arithmetic as
`predict_proba`) with ONE thread (starting OpenMP threads for one row costs ~10 ms), skipping the scikit-learn
wrappers' input validation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.ml.calibration import apply_calibrator
from quantdesk.ml.feature_stream import FeatureStream
from quantdesk.ml.features import FeatureSpec, _is_catalog, build_features
from quantdesk.ml.models import Model, raw_score

NAN = math.nan


class Predictor:
    def __init__(self, model: Model, meta: dict[str, Any], model_id: str = "") -> None:
        self.model, self.meta, self.model_id = model, meta, model_id
        spec = meta["spec"]
        self.features = FeatureSpec.model_validate(spec["features"])
        self.timeframe = meta.get("timeframe") or None
        self.names = list(meta.get("features") or model.feature_names)
        self.extra_columns = tuple(e for e in self.features.extra if not _is_catalog(e))
        self._fast = [_fast_member(m) for m in model.members]

    @classmethod
    def for_model(cls, model_id: str) -> Predictor:
        from quantdesk.ml import registry

        model, meta = registry.load(model_id)
        if meta.get("meta_labels"):
            raise ParameterError(f"model {model_id} was trained on meta-labels: it needs the primary strategy's "
                                 "side as an input, which a bar does not carry")
        if meta.get("custom_features"):
            raise ParameterError(f"model {model_id} uses custom Python features: load it with Predictor and the "
                                 "same functions")
        return cls(model, meta, model_id)

    @property
    def lookback(self) -> int:
        return int(self.meta.get("lookback") or 0)

    def base_ns(self, frame: pd.DataFrame | None = None) -> int:
        from quantdesk.ml.features import infer_timeframe_ns
        from quantdesk.model.timeframe import Timeframe

        if self.timeframe:
            try:
                return Timeframe.parse(self.timeframe).nanos
            except Exception:  # noqa: BLE001 - a free-form label: infer from the data
                pass
        if frame is not None:
            return infer_timeframe_ns(pd.DatetimeIndex(frame.index))
        raise ParameterError(f"model {self.model_id}: unknown bar timeframe")

    def predict_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        feats = build_features(frame, self.features, base_timeframe=self.base_ns(frame))
        if list(feats.columns) != self.names:
            raise ParameterError(f"model {self.model_id}: the features computed now ({len(feats.columns)}) differ "
                                 f"from the ones it was trained on ({len(self.names)})")
        X = feats.to_numpy(dtype=np.float64)
        ok = np.isfinite(X).all(axis=1)
        out = {k: np.full(len(frame), NAN) for k in ("proba", "confidence", "agreement")}
        if ok.any():
            pred = self.model.predict(X[ok])
            for k in out:
                out[k][ok] = pred[k]
        return out

    def feature_stream(self) -> FeatureStream:
        return FeatureStream(self.features, base_ns=self.base_ns(), extra_columns=self.extra_columns)

    def predict_row(self, row: np.ndarray) -> tuple[float, float, float]:
        if not np.all(np.isfinite(row)):
            return NAN, NAN, NAN
        x = np.ascontiguousarray(row, dtype=np.float64).reshape(1, -1)
        probas = np.empty((len(self._fast), 1))
        for i, fn in enumerate(self._fast):
            probas[i, 0] = fn(x)
        score, agree = raw_score(probas)
        p = float(np.clip(apply_calibrator(self.model.calibrator, score), 0.0, 1.0)[0])
        return p, max(p, 1.0 - p), float(agree[0])


def _fast_member(m: Any) -> Any:
    """P(label = 1) for one row, through the native booster when it is exact."""
    if type(m).__name__ == "LGBMClassifier" and list(getattr(m, "classes_", [])) == [0, 1]:
        booster = m.booster_

        def lgb(x: np.ndarray) -> float:
            return float(booster.predict(x, num_threads=1)[0])  # threads cost ~10 ms per call on one row

        return lgb

    def generic(x: np.ndarray) -> float:
        proba = m.predict_proba(x)
        return float(proba[0, list(m.classes_).index(1)])

    return generic
