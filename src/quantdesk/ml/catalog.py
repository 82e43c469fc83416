"""Catalog column `ml_proba`: a registered model's calibrated probability, confidence and member agreement per bar.

    Ind("ml_proba", model="<model id>")      # in a strategy; outputs proba, confidence, agreement
    Ind("ml_proba")                          # no model: retrained online on a rolling window (quantdesk.ml.online)
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
    from quantdesk.ml.predictor import Predictor

    pred = Predictor.for_model(model)
    if pred.extra_columns:
        raise ParameterError(f"ml_proba: model {model} uses data columns {list(pred.extra_columns)} that bars do "
                             "not carry; predict with quantdesk.ml.predictor.Predictor on a frame that has them")
    return pred


def ml_proba(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
             timestamp: np.ndarray, model: str = "", horizon: int = 1, window: int = 500, retrain: int = 100
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd

    index = pd.to_datetime(np.asarray(timestamp, dtype=np.int64), unit="ns", utc=True)
    frame = pd.DataFrame({"open": open, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    if not model:
        from quantdesk.ml.online import online_batch

        out = online_batch(frame, horizon, window, retrain)
    else:
        out = _predictor(model).predict_frame(frame)
    return out["proba"], out["confidence"], out["agreement"]


class MlProbaStream(StreamingIndicator):
    """The streaming twin: one bar in, (proba, confidence, agreement) out."""

    inputs = ("open", "high", "low", "close", "volume", "timestamp")

    def __init__(self, model: str = "", horizon: int = 1, window: int = 500, retrain: int = 100) -> None:
        if model:
            self.predictor = _predictor(model)
            self.stream = self.predictor.feature_stream()
            self.online = None
        else:
            from quantdesk.ml.online import OnlineStream

            self.online = OnlineStream(horizon, window, retrain)

    def update(self, bar: Any) -> tuple[float, float, float]:
        if self.online is not None:
            return self.online.update(bar)
        return self.predictor.predict_row(self.stream.update(bar))


register(IndicatorSpec(
    name="ml_proba",
    group="other",
    inputs=("open", "high", "low", "close", "volume", "timestamp"),
    params=(Param("model", str, "", description="Model id in the ML registry (`quantdesk ml models`); empty = "
                                                "a small model retrained online on a rolling window."),
            Param("horizon", int, 1, 1, 1000, description="Online mode: label horizon in bars."),
            Param("window", int, 500, 150, 100_000, description="Online mode: bars the model learns from."),
            Param("retrain", int, 100, 1, 100_000, description="Online mode: retrain every this many bars.")),
    outputs=("proba", "confidence", "agreement"),
    kernel=ml_proba,
    description="Calibrated probability that the model's label is 1 (e.g. the price is higher after the label "
                "horizon), the confidence max(p, 1 - p) and the ensemble members' agreement.",
    streaming=MlProbaStream,
))
