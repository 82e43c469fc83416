"""ML use cases shared by the CLI (`quantdesk ml ...`) and the API (`/api/v1/ml/...`).

    doc = train_model(TrainRequest(symbol="BTC/USDT", timeframe="1h", label="horizon:12"), out_dir="runs/m1")
    doc["cv"]["auc"], doc["cv"]["baseline_accuracy"], doc["model_id"]

Files written by `train_model(out_dir=...)`: summary.json (what `--json` prints), oos.csv (every out-of-sample
prediction with its label), importance.csv, folds.csv and report.html (reliability diagram, accuracy by
confidence decile, importance; plotly, self-contained).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core.errors import DataError, NotFoundError, ParameterError

Progress = Callable[[int, int, str], None]


class TrainRequest(BaseModel):
    """What `ml train` / `POST /ml/train` accept (text forms, as typed on the command line)."""

    model_config = ConfigDict(extra="forbid")

    symbol: str | None = None
    timeframe: str | None = None
    exchange: str | None = None
    data_file: str | None = None
    start: str | None = None
    end: str | None = None
    label: str = "horizon:12"
    model: str = "lightgbm"
    members: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    cv: str = "walk-forward"
    folds: int = Field(default=5, ge=1, le=100)
    test_groups: int = Field(default=2, ge=1, le=10)
    embargo: int = Field(default=0, ge=0)
    features: list[str] | None = None
    returns: list[int] | None = None
    volatility: list[int] | None = None
    extra: list[str] = Field(default_factory=list)
    calibration: str = "sigmoid"
    conformal_alpha: float | None = Field(default=0.1, gt=0, lt=1)
    seed: int = 42
    n_jobs: int = Field(default=1, ge=1, le=64)
    trials: int = Field(default=1, ge=1)
    fee: float = Field(default=0.001, ge=0, lt=0.1)
    causality_samples: int = Field(default=5, ge=0, le=100)
    search: dict[str, list[Any]] | None = Field(default=None, description="Grid of model parameters to search.")
    save: bool = True


def load_frame(*, symbol: str | None, timeframe: str | None, exchange: str | None = None,
               data_file: str | None = None, start: str | None = None, end: str | None = None,
               extra: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame, str, str]:
    """(OHLCV frame, symbol label, timeframe) from the candle store or a file; extra data columns of the file
    named in `extra` are joined by bar time."""
    from quantdesk import data as qdata
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.ml.features import _is_catalog

    if not data_file and not symbol:
        raise ParameterError("give --symbol SYMBOL (with --timeframe) or --data FILE")
    if data_file:
        path = Path(data_file)
        if not path.is_file():
            raise NotFoundError(f"data file not found: {path}")
        raw = qdata.read_file(path)
        tf = timeframe or _infer_timeframe(raw.ts[~raw.ts_bad])
        frame, _report = qdata.prepare(raw, tf)
        label = symbol or path.stem
        wanted = [e for e in extra if not _is_catalog(e)]
        if wanted:
            frame = _join_columns(frame, path, wanted)
    else:
        tf = timeframe or "1h"
        frame = qdata.load(symbol, tf, exchange, start, end)  # type: ignore[arg-type]
        label = str(symbol)
    if start:
        frame = frame[frame.index >= parse_utc(start, name="--start")]
    if end:
        frame = frame[frame.index <= parse_utc(end, name="--end")]
    if len(frame) == 0:
        raise DataError(f"no bars for {label} {tf} between start={start} and end={end}")
    return frame, label, tf


def _infer_timeframe(ts_ns: Any) -> str:
    from quantdesk.model.timeframe import Timeframe

    d = np.diff(np.sort(np.asarray(ts_ns, dtype=np.int64)))
    d = d[d > 0]
    if len(d) == 0:
        raise DataError("cannot infer the timeframe from fewer than two distinct timestamps; pass --timeframe")
    return str(Timeframe(int(np.median(d))))


def _join_columns(frame: pd.DataFrame, path: Path, columns: list[str]) -> pd.DataFrame:
    table = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    lower = {c.lower(): c for c in table.columns}
    tcol = next((lower[k] for k in ("timestamp", "time", "date", "datetime") if k in lower), None)
    if tcol is None:
        raise DataError(f"{path}: no timestamp column to join the extra columns {columns} on")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise NotFoundError(f"extra feature(s) {missing}: neither indicator-catalog entries nor columns of {path}")
    ts = table[tcol]
    numeric = isinstance(ts.dtype, np.dtype) and np.issubdtype(ts.dtype, np.number)
    idx = pd.to_datetime(ts, unit="ms", utc=True) if numeric else \
        pd.to_datetime(ts, utc=True)
    extra = table[columns].set_axis(pd.DatetimeIndex(idx).as_unit("ns"))
    extra = extra[~extra.index.duplicated(keep="last")]
    return frame.join(extra.reindex(frame.index))


def spec_from_request(req: TrainRequest) -> Any:
    from quantdesk.ml.features import FeatureSpec
    from quantdesk.ml.labels import LabelSpec
    from quantdesk.ml.models import members_of
    from quantdesk.ml.training import TrainSpec

    features = FeatureSpec.parse(req.features, returns=req.returns, volatility=req.volatility, extra=req.extra)
    if req.cv not in ("walk-forward", "cpcv"):
        raise ParameterError(f"--cv must be walk-forward or cpcv, got {req.cv!r}")
    if req.calibration not in ("isotonic", "sigmoid", "none"):
        raise ParameterError(f"--calibration must be isotonic, sigmoid or none, got {req.calibration!r}")
    if req.cv == "cpcv" and req.folds < 3:
        raise ParameterError(f"--folds for cpcv is the number of groups: >= 3, got {req.folds}")
    members_of(req.model, tuple(req.members) if req.members else None)  # validates kind + packages now
    try:
        return TrainSpec(features=features, label=LabelSpec.parse(req.label), model=req.model,  # type: ignore[arg-type]
                         members=tuple(req.members) if req.members else None, params=req.params, cv=req.cv,  # type: ignore[arg-type]
                         folds=req.folds, test_groups=req.test_groups, embargo=req.embargo,
                         calibration=req.calibration, conformal_alpha=req.conformal_alpha,  # type: ignore[arg-type]
                         seed=req.seed, n_jobs=req.n_jobs, trials=req.trials, fee=req.fee,
                         causality_samples=req.causality_samples)
    except ValueError as exc:
        raise ParameterError(f"training spec: {exc}") from None


def train_model(req: TrainRequest, *, out_dir: str | Path | None = None, executor: Any = None,
                progress: Progress | None = None, url: str | None = None) -> dict[str, Any]:
    from quantdesk.ml import registry
    from quantdesk.ml.training import train

    spec = spec_from_request(req)
    frame, symbol, tf = load_frame(symbol=req.symbol, timeframe=req.timeframe, exchange=req.exchange,
                                   data_file=req.data_file, start=req.start, end=req.end, extra=req.extra)
    if req.search:
        from quantdesk.ml.search import search

        found = search(frame, spec, req.search, symbol=symbol, timeframe=tf, executor=executor, progress=progress)
        result, doc = found.result, found.summary()
    else:
        result = train(frame, spec, symbol=symbol, timeframe=tf, executor=executor, progress=progress)
        doc = result.summary()
    if req.save:
        row = registry.save(result.model, result.meta, result.model_id, url=url)
        doc["registry"] = {"status": row["status"], "path": row["path"], "slot": row["slot"]}
    if out_dir is not None:
        doc["files"] = write_outputs(result, Path(out_dir), doc)
    return doc


def write_outputs(result: Any, out: Path, doc: dict[str, Any]) -> dict[str, str]:
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.core.timeutil import iso
    from quantdesk.ml.report import render_training_report

    out.mkdir(parents=True, exist_ok=True)
    files = {k: out / k for k in ("summary.json", "oos.csv", "importance.csv", "folds.csv", "report.html")}
    oos = result.oos.copy()
    oos["time"] = [iso(t) for t in pd.DatetimeIndex(oos["time"])]
    oos.to_csv(files["oos.csv"], index=False, float_format="%.10g")
    pd.DataFrame(result.importance).to_csv(files["importance.csv"], index=False, float_format="%.10g")
    pd.DataFrame(result.folds).to_csv(files["folds.csv"], index=False, float_format="%.10g")
    files["report.html"].write_text(render_training_report(doc, result.oos), encoding="utf-8")
    paths = {k: str(v) for k, v in files.items()}
    files["summary.json"].write_text(json.dumps(to_jsonable({**doc, "files": paths}), indent=2))
    return paths


def evaluate_model(model_id: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Scores of a registered model on `frame` (new data: bars after its training end are out of sample; bars
    inside its training period are flagged as in-sample and excluded from the headline)."""
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.ml.evaluation import classification_scores, deciles, reliability, signal_strategy
    from quantdesk.ml.labels import LabelSpec, make_labels
    from quantdesk.ml.predictor import Predictor

    pred = Predictor.for_model(model_id)
    spec = pred.meta["spec"]
    label = LabelSpec.model_validate(spec["label"])
    out = pred.predict_frame(frame)
    labels = make_labels(frame, label)
    trained_until = parse_utc(pred.meta["last"], name="model last bar")
    t1 = labels["t1"].to_numpy()
    ok = np.isfinite(out["proba"]) & np.isfinite(labels["y"].to_numpy()) & (t1 >= 0)
    oos = ok & (frame.index > trained_until)
    in_sample = int((ok & ~oos).sum())
    if not oos.any():
        raise DataError(f"no labelled bar after the model's training data (which ends {pred.meta['last']}): "
                        "evaluate on newer data")
    y, p = labels["y"].to_numpy()[oos], out["proba"][oos]
    close = frame["close"].to_numpy(dtype=np.float64)
    nxt = np.full(len(close), np.nan)
    nxt[:-1] = close[1:] / close[:-1] - 1
    cv = pred.meta.get("cv") or {}
    strat = signal_strategy(p, nxt[oos], upper=0.55, lower=0.45, fee=0.001)
    hit = ((p >= 0.5) == (y == 1)).astype(np.float64)
    return {"model_id": model_id, "bars": len(frame), "out_of_sample": int(oos.sum()),
            "skipped_in_sample": in_sample, "scores": classification_scores(y, p), "strategy": strat,
            "reliability": reliability(p, y), "deciles": deciles(out["confidence"][oos], hit),
            "validation": {k: cv.get(k) for k in ("auc", "brier", "logloss", "accuracy", "baseline_accuracy",
                                                   "ece")}}


def predict(model_id: str, frame: pd.DataFrame, *, last: int = 10, explain: bool = True) -> dict[str, Any]:
    from quantdesk.core.timeutil import iso
    from quantdesk.ml.explain import drivers
    from quantdesk.ml.features import build_features
    from quantdesk.ml.predictor import Predictor

    if last < 1:
        raise ParameterError(f"--last must be >= 1, got {last}")
    from quantdesk.ml.calibration import prediction_sets

    pred = Predictor.for_model(model_id)
    out = pred.predict_frame(frame)
    n = len(frame)
    qhat = float(pred.model.qhat)
    sets = prediction_sets(np.nan_to_num(out["proba"], nan=0.5), qhat) if math.isfinite(qhat) else None
    names = {0: ["down"], 1: ["up"], 2: ["down", "up"], -1: []}
    rows = []
    for i in range(max(0, n - last), n):
        p = out["proba"][i]
        rows.append({"time": iso(frame.index[i]), "close": float(frame["close"].iloc[i]), "proba": _f(p),
                     "direction": (1 if p >= 0.5 else -1) if math.isfinite(p) else None,
                     "confidence": _f(out["confidence"][i]), "agreement": _f(out["agreement"][i]),
                     "conformal_set": names[int(sets[i])] if sets is not None and math.isfinite(p) else None})
    alpha = (pred.meta.get("spec") or {}).get("conformal_alpha")
    doc: dict[str, Any] = {"model_id": model_id, "label": pred.meta.get("label"), "predictions": rows,
                           "conformal": {"alpha": alpha, "qhat": _f(qhat)}}
    if explain and rows and rows[-1]["proba"] is not None:
        feats = build_features(frame, pred.features, base_timeframe=pred.base_ns(frame)).to_numpy(np.float64)
        ok = np.isfinite(feats).all(axis=1)
        doc["drivers"] = drivers(pred.model, feats[-1], pred.names, background=feats[ok][-2000:])
    return doc


def _f(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def list_models(url: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    from quantdesk.ml import registry

    return registry.list_models(url, limit=limit)


def model_detail(model_id: str, url: str | None = None) -> dict[str, Any]:
    from quantdesk.ml import registry

    row = registry.get_row(model_id, url)
    return row


def features_catalog(group: str | None = None) -> dict[str, Any]:
    """What can be used as a feature: every catalog entry (parameters, outputs), plus the built-in kinds."""
    from quantdesk.indicators import registry

    entries = [s for s in registry.catalog() if group is None or s["group"] == group]
    return {
        "syntax": "name[.output][:param=value...][@timeframe], e.g. rsi:period=14, macd.macdsignal, adx@4h",
        "builtin": [{"name": "ret_<k>", "description": "log return over k bars (--returns 1,2,4)"},
                    {"name": "vol_<k>", "description": "std of 1-bar log returns over k bars (--volatility 8,32)"},
                    {"name": "<column>", "description": "--extra NAME: a catalog entry (e.g. regime, sentiment) "
                                                        "or a column of the --data file"}],
        "indicators": [{"name": e["name"], "group": e["group"], "params": {p["name"]: p["default"]
                                                                           for p in e["params"]},
                        "outputs": e["outputs"], "description": e["description"]}
                       for e in entries if e["name"] != "ml_proba"],
    }
