"""Catalog column `ml_proba`: a registered model's calibrated probability, confidence and member agreement per bar.

    Ind("ml_proba", model="<model id>")      # in a strategy; outputs proba, confidence, agreement
    compute("ml_proba", frame, model=mid)    # batch (backtests): features in batch + one vectorised prediction
    stream("ml_proba", model=mid)            # paper/live: FeatureStream + one-row prediction per bar

The value at bar t uses the data up to the close of bar t only (the features pass the causality guard when the
model is trained), so backtests, the bias check and live bots see the same numbers. NaN during the features'
warm-up. Models trained on extra data columns or on meta-labels need inputs a bar does not carry and are refused
here (use `quantdesk.ml.predictor.Predictor` with those columns instead).

This module is imported by the indicator registry at start-up: it must stay light (no scikit-learn import here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quantdesk.core.errors import ParameterError
from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import StreamingIndicator

NAN = math.nan


def _predictor(model: str) -> Any:
    if not model:
        raise ParameterError("ml_proba: parameter 'model' (a model id from `quantdesk ml models`) is required")
    from quantdesk.ml.predictor import Predictor

    pred = Predictor.for_model(model)
    if pred.extra_columns:
        raise ParameterError(f"ml_proba: model {model} uses data columns {list(pred.extra_columns)} that bars do "
                             "not carry; predict with quantdesk.ml.predictor.Predictor on a frame that has them")
    return pred


def ml_proba(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
             timestamp: np.ndarray, model: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd

    pred = _predictor(model)
    index = pd.to_datetime(np.asarray(timestamp, dtype=np.int64), unit="ns", utc=True)
    frame = pd.DataFrame({"open": open, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    out = pred.predict_frame(frame)
    return out["proba"], out["confidence"], out["agreement"]


class MlProbaStream(StreamingIndicator):
    """The streaming twin: one bar in, (proba, confidence, agreement) out."""

    inputs = ("open", "high", "low", "close", "volume", "timestamp")

    def __init__(self, model: str = "") -> None:
        self.predictor = _predictor(model)
        self.stream = self.predictor.feature_stream()

    def update(self, bar: Any) -> tuple[float, float, float]:
        row = self.stream.update(bar)
        return self.predictor.predict_row(row)


register(IndicatorSpec(
    name="ml_proba",
    group="other",
    inputs=("open", "high", "low", "close", "volume", "timestamp"),
    params=(Param("model", str, "", description="Model id in the ML registry (`quantdesk ml models`)."),),
    outputs=("proba", "confidence", "agreement"),
    kernel=ml_proba,
    description="Calibrated probability that the model's label is 1 (e.g. the price is higher after the label "
                "horizon), the confidence max(p, 1 - p) and the ensemble members' agreement.",
    streaming=MlProbaStream,
))
