"""ML signal: trade a registered model's calibrated probability and size the position by its confidence.

    quantdesk ml train --symbol BTC/USDT --timeframe 1h --label horizon:12 --model lightgbm --out runs/m1
    quantdesk backtest --strategy ml_signal -p model=<model id> --symbol BTC/USDT --timeframe 1h

On the close of every bar the strategy reads `ml_proba` (the catalog column of the model: calibrated probability
p that the label is 1, i.e. the price is up after the label's horizon) and:
- goes long when p >= `upper` (short when p <= `lower`, only with `allow_short` and a margin account);
- sizes the position by confidence: weight = `max_weight` x min(1, (confidence - 0.5) / (`full_confidence` - 0.5)),
  confidence = max(p, 1 - p), re-sized only when the target weight moves by more than `rebalance`;
- leaves a long when p < `exit` (a short when p > 1 - `exit`).
`model`: the model id (`quantdesk ml models`). Without one, `online=true` trades the catalog's online model
(`quantdesk.ml.online`: retrained every `online_retrain` bars on the last `online_window` bars, label horizon
`online_horizon`, calibrated on the latest part of each window); with neither the strategy trades nothing (and
says so once).

The model's features are causal (checked when it was trained) and the probability at bar t uses data up to t,
so `quantdesk check-bias --strategy ml_signal -p model=<id>` passes; the declared warm-up is 10 x the bars the
model's features need before they are all defined. Every decision is kept in `signal_log` (time, direction,
confidence, probability, price) for signal tracking (`quantdesk.ml.tracking.track_backtest`). For walk-forward
with retraining per window use `quantdesk ml walk-forward` (it trains a model per window and runs this strategy
out of sample).
"""

from __future__ import annotations

import math
from typing import Any

from quantdesk.strategies.base import BoolParam, FloatParam, Ind, IntParam, Strategy, TextParam


class MlSignal(Strategy):
    name = "ml_signal"
    description = "Trades a registered ML model's calibrated probability; position size grows with confidence."
    params = {
        "model": TextParam("", pattern=r"[0-9a-f]{8,64}", description="Model id in the ML registry."),
        "upper": FloatParam(0.55, 0.5, 0.99, description="Go long when the probability is at least this."),
        "lower": FloatParam(0.45, 0.01, 0.5, description="Go short (allow_short) when at most this."),
        "exit": FloatParam(0.5, 0.01, 0.99, description="Leave a long below this (a short above 1 - exit)."),
        "full_confidence": FloatParam(0.65, 0.51, 1.0, description="Confidence that gets the full max_weight."),
        "max_weight": FloatParam(0.95, 0.01, 1.0, description="Largest position, fraction of equity."),
        "rebalance": FloatParam(0.1, 0.0, 1.0, description="Re-size only when the target moves by more."),
        "allow_short": BoolParam(False, description="Short when the probability is low (needs margin)."),
        "online": BoolParam(False, description="Without a model: trade a model retrained online."),
        "online_window": IntParam(500, 150, 100_000, description="Online mode: bars the model learns from."),
        "online_retrain": IntParam(100, 1, 100_000, description="Online mode: retrain every this many bars."),
        "online_horizon": IntParam(1, 1, 1000, description="Online mode: label horizon in bars."),
    }

    search_space = {"upper": "0.52:0.60:0.02", "exit": "0.46:0.52:0.02"}
    search_constraints = ("upper>exit",)

    @classmethod
    def idle_reason(cls, params: Any) -> str | None:
        if not params.get("model") and not params.get("online"):
            return "ml_signal: no model given (-p model=<id>, or -p online=true): it would never trade"
        return None

    def __init__(self, params: Any = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.signal_log: list[dict[str, Any]] = []
        self._warned = False
        self._warmup: int | None = None

    @property
    def warmup(self) -> int | None:  # type: ignore[override]  # read by check-bias and walk-forward
        if not self.p.model:
            # online: the training window plus one retraining period and the features' look-back (32 bars)
            return self.p.online_window + 2 * self.p.online_retrain + 40 if self.p.online else None
        if self._warmup is None:
            from quantdesk.ml.predictor import Predictor

            self._warmup = 10 * max(1, Predictor.for_model(self.p.model).lookback)
        return self._warmup

    def indicators(self) -> dict[str, Ind]:
        if self.p.model:
            return {"ml": Ind("ml_proba", model=self.p.model)}
        if self.p.online:
            return {"ml": Ind("ml_proba", horizon=self.p.online_horizon, window=self.p.online_window,
                              retrain=self.p.online_retrain)}
        return {}

    def _weight(self, confidence: float) -> float:
        p = self.p
        return p.max_weight * min(1.0, max(0.0, (confidence - 0.5) / (p.full_confidence - 0.5)))

    def on_bar(self, bar: Any) -> None:
        if not self.p.model and not self.p.online:
            if not self._warned:
                self.log.warning("ml_signal: no model given (-p model=<id>, or -p online=true): not trading")
                self._warned = True
            return
        prob = self.ind.ml.proba[-1]
        if not math.isfinite(prob):
            return
        conf = max(prob, 1.0 - prob)
        equity = self.equity
        current = self.position_size * bar.close / equity if equity > 0 else 0.0
        target: float | None = None
        if prob >= self.p.upper:
            target = self._weight(conf)
        elif self.p.allow_short and prob <= self.p.lower:
            target = -self._weight(conf)
        elif current > 0 and prob < self.p.exit or current < 0 and prob > 1.0 - self.p.exit:
            target = 0.0
        if target is None:
            return
        if target == 0.0 or (current == 0.0) or abs(target - current) > self.p.rebalance:
            if target != 0.0 and (current == 0.0 or (target > 0) != (current > 0)):
                self.signal_log.append({"ts": self.time, "direction": 1 if target > 0 else -1,
                                        "confidence": conf, "proba": prob, "price": bar.close,
                                        "weight": target})
            if target == 0.0:
                self.close()
            else:
                self.target_weight(target)
