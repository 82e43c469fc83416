"""Scheduled retraining with champion/challenger promotion on out-of-sample results.

    decision = champion_challenger(frame, spec, symbol="BTC/USDT", timeframe="1h", every_bars=500,
                                   holdout_bars=200)

The slot (symbol|timeframe|label) has at most one champion (registry status). Each call:
- no champion yet: a model is trained on the data and becomes the champion ("bootstrapped");
- fewer than `every_bars` new bars since the champion's last training bar and no drift: nothing ("not due");
- otherwise a CHALLENGER is trained on the latest `train_bars` bars that end `holdout_bars` before the data's
  end, and both models are scored on those last `holdout_bars` bars, which NEITHER has seen (the champion's data
  ends earlier still). The challenger is promoted when its log loss is lower by at least `min_improvement`
  (the champion is then retired); either way both are in the registry with the decision's scores.
`drifting(model_id)` says whether the champion's tracked signals show calibration drift (the other trigger).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError


def _holdout_scores(model_id: str, frame: pd.DataFrame, start: int, label_spec: Any) -> dict[str, Any]:
    from quantdesk.ml.evaluation import classification_scores
    from quantdesk.ml.labels import make_labels
    from quantdesk.ml.predictor import Predictor

    pred = Predictor.for_model(model_id)
    out = pred.predict_frame(frame)
    y = make_labels(frame, label_spec)["y"].to_numpy()
    p = out["proba"]
    ok = np.isfinite(p) & np.isfinite(y)
    ok[:start] = False
    if ok.sum() < 20 or len(np.unique(y[ok])) < 2:
        raise DataError(f"the holdout has {int(ok.sum())} labelled bars: not enough to compare models")
    return classification_scores(y[ok], p[ok])


def drifting(model_id: str, *, threshold: float = 0.1, url: str | None = None) -> bool:
    from quantdesk.ml.tracking import calibration_drift
    from quantdesk.ml.tracking_store import TrackingStore

    rows = TrackingStore(url).query(status="resolved")
    rows = rows[rows["source"].astype(str).str.endswith(model_id)] if len(rows) else rows
    return any(d["drifted"] for d in calibration_drift(rows, threshold=threshold)) if len(rows) else False


def champion_challenger(frame: pd.DataFrame, spec: Any, *, symbol: str, timeframe: str, every_bars: int = 500,
                        holdout_bars: int | None = None, train_bars: int | None = None,
                        min_improvement: float = 0.0, drift: bool = False, url: str | None = None,
                        executor: Any = None) -> dict[str, Any]:
    from quantdesk.ml import registry
    from quantdesk.ml.training import train

    if every_bars < 1:
        raise ParameterError(f"--every must be >= 1 bar, got {every_bars}")
    holdout = int(holdout_bars if holdout_bars is not None else max(50, every_bars // 2))
    slot = f"{symbol or '-'}|{timeframe or '-'}|{spec.label.text()}"
    champ = registry.champion(slot, url)
    if champ is None:
        data = frame if train_bars is None else frame.iloc[-train_bars:]
        res = train(data, spec, symbol=symbol, timeframe=timeframe, executor=executor, importance=False)
        registry.save(res.model, res.meta, res.model_id, url=url, status="champion")
        registry.set_status(res.model_id, "champion", url)
        return {"decision": "bootstrapped", "slot": slot, "champion": res.model_id}
    _model, meta = registry.load(champ)
    last = pd.Timestamp(meta["last"])
    new_bars = int((frame.index > last).sum())
    if new_bars < every_bars and not drift:
        return {"decision": "not due", "slot": slot, "champion": champ, "new_bars": new_bars,
                "every_bars": every_bars}
    if new_bars <= holdout:
        raise DataError(f"{new_bars} bars since the champion's training end: need more than the holdout "
                        f"({holdout}) to train a challenger on newer data")
    end = len(frame) - holdout
    rows = int(train_bars or meta.get("rows") or end)
    res = train(frame.iloc[max(0, end - rows):end], spec, symbol=symbol, timeframe=timeframe, executor=executor,
                importance=False)
    registry.save(res.model, res.meta, res.model_id, url=url, status="challenger", parent_id=champ)
    champ_sc = _holdout_scores(champ, frame, end, spec.label)
    chal_sc = _holdout_scores(res.model_id, frame, end, spec.label)
    promote = res.model_id != champ and chal_sc["logloss"] < champ_sc["logloss"] - min_improvement
    if promote:
        registry.set_status(res.model_id, "champion", url)
    return {"decision": "promoted" if promote else "kept", "slot": slot,
            "champion": res.model_id if promote else champ, "challenger": res.model_id, "previous": champ,
            "trigger": "drift" if drift and new_bars < every_bars else "schedule", "new_bars": new_bars,
            "holdout_bars": holdout, "holdout_start": str(frame.index[end]),
            "scores": {"champion": champ_sc, "challenger": chal_sc}}
