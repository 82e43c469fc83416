"""The training pipeline: features -> causality guard -> labels -> purged CV (out-of-sample scores) -> final model.

    spec = TrainSpec(label=LabelSpec.parse("horizon:12"), model="lightgbm", cv="walk-forward", folds=5)
    result = train(frame, spec, symbol="BTC/USDT", timeframe="1h")
    result.cv          # auc, brier, logloss, accuracy and their baselines, ece, the OOS strategy's deflated Sharpe
    result.model       # the final Model (fitted on all samples; calibrated on the latest part)
    result.model_id    # content address (see quantdesk.ml.registry)

EVERY FOLD (walk-forward or CPCV split): the purge assertion runs on the split; the training samples are cut into
a fit part and a LATER calibration part (`calibration_fraction`, purged between them, `cv.calibration_tail`); the
members are fitted on the fit part, the calibrator on the calibration part, and the test fold is predicted. Folds
run through a `quantdesk.research.executors` executor (in-process, process pool or Ray); each fold is a pure
function of (data, spec, split), so every executor gives identical results.

OUT-OF-SAMPLE METRICS: walk-forward: over the concatenated test folds. CPCV: per path (each a full out-of-sample
history), reported as the mean over paths with the per-path values alongside. The strategy figures come from
`evaluation.signal_strategy` on the same out-of-sample probabilities (per-bar returns, fee per position change);
for CPCV the Sharpe variance across paths feeds the deflated Sharpe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.ml import cv as cvmod
from quantdesk.ml.calibration import conformal_qhat, fit_calibrator
from quantdesk.ml.evaluation import classification_scores, reliability, signal_strategy
from quantdesk.ml.features import CustomFeatures, FeatureSpec, build_features, check_causality, lookback
from quantdesk.ml.labels import LabelSpec, make_labels
from quantdesk.ml.models import Model, fit_members, member_probas, members_of, raw_score

Progress = Callable[[int, int, str], None]


class TrainSpec(BaseModel):
    """Everything that determines a trained model besides the data (part of its content address)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: FeatureSpec = Field(default_factory=FeatureSpec)
    label: LabelSpec = Field(default_factory=LabelSpec)
    model: Literal["lightgbm", "rf", "et", "gb", "xgboost", "ensemble"] = "lightgbm"
    members: tuple[str, ...] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    cv: Literal["walk-forward", "cpcv"] = "walk-forward"
    folds: int = Field(default=5, ge=1, le=100)
    test_groups: int = Field(default=2, ge=1, le=10)
    embargo: int = Field(default=0, ge=0)
    calibration: Literal["isotonic", "sigmoid", "none"] = "sigmoid"
    calibration_fraction: float = Field(default=0.2, gt=0, lt=1)
    conformal_alpha: float | None = Field(default=0.1, gt=0, lt=1)
    seed: int = 42
    n_jobs: int = Field(default=1, ge=1, le=256)
    upper: float = Field(default=0.55, gt=0, lt=1, description="OOS strategy: long above this probability.")
    lower: float = Field(default=0.45, gt=0, lt=1, description="OOS strategy: short below (if allowed).")
    allow_short: bool = True
    fee: float = Field(default=0.001, ge=0, lt=0.1)
    trials: int = Field(default=1, ge=1, description="Models/configurations tried (deflates the Sharpe).")
    causality_samples: int = Field(default=5, ge=0, le=100)

    def identity(self) -> dict[str, Any]:
        """The parts that change the fitted model (not the evaluation settings)."""
        d = self.model_dump(mode="json")
        for k in ("upper", "lower", "allow_short", "fee", "trials", "causality_samples"):
            d.pop(k, None)
        return d


@dataclass
class Dataset:
    """Samples = labelled bars with every feature defined. `pos` = their bar positions in the data."""

    features: pd.DataFrame  # all bars
    X: np.ndarray  # samples x features
    y: np.ndarray
    t0: np.ndarray  # decision bar position (== pos)
    t1: np.ndarray  # resolution bar position
    pos: np.ndarray
    next_ret: np.ndarray  # simple return close[t] -> close[t+1] per sample (NaN at the end)
    names: list[str]
    lookback: int
    causality_cuts: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def prepare_dataset(frame: pd.DataFrame, spec: TrainSpec, *, custom: CustomFeatures | None = None,
                    side: np.ndarray | None = None, base_timeframe: str | None = None) -> Dataset:
    """Features (causality-checked), labels and the sample table. `side`: primary sides for meta-labels (the
    side is then also a feature)."""
    t0 = time.perf_counter()
    feats = build_features(frame, spec.features, base_timeframe=base_timeframe, custom=custom)
    t1 = time.perf_counter()
    cuts: list[int] = []
    if spec.causality_samples:
        cuts = check_causality(frame, spec.features, samples=spec.causality_samples, seed=spec.seed,
                               base_timeframe=base_timeframe, custom=custom, full=feats)
    timings = {"features": t1 - t0, "causality_guard": time.perf_counter() - t1}
    if side is not None:
        feats = feats.assign(side=np.sign(np.nan_to_num(np.asarray(side, dtype=np.float64))))
    labels = make_labels(frame, spec.label, side=side)
    values = feats.to_numpy(dtype=np.float64)
    ok = np.isfinite(values).all(axis=1) & np.isfinite(labels["y"].to_numpy()) & (labels["t1"].to_numpy() >= 0)
    if side is not None:
        ok &= np.asarray(side) != 0
    pos = np.flatnonzero(ok).astype(np.int64)
    close = frame["close"].to_numpy(dtype=np.float64)
    nxt = np.full(len(close), np.nan)
    nxt[:-1] = close[1:] / close[:-1] - 1.0
    y = labels["y"].to_numpy()[pos]
    if len(pos) < 50:
        raise DataError(f"only {len(pos)} labelled samples with every feature defined (need >= 50): use more "
                        f"data, shorter look-backs or a shorter label horizon")
    if len(np.unique(y)) < 2:
        raise DataError("every label has the same class: nothing to learn (check the label spec)")
    return Dataset(feats, np.ascontiguousarray(values[pos]), y.astype(np.float64), pos,
                   labels["t1"].to_numpy()[pos].astype(np.int64), pos, nxt[pos], list(feats.columns),
                   lookback(feats), cuts, timings)


# ---- one fold ------------------------------------------------------------------------------------------------
def _fit(X: np.ndarray, y: np.ndarray, t0: np.ndarray, t1: np.ndarray, train: np.ndarray, spec: TrainSpec
         ) -> Model:
    """Members on the fit part, calibrator (and conformal threshold) on the later calibration part."""
    kinds = members_of(spec.model, spec.members)
    if spec.calibration == "none":
        fit_idx, cal_idx = train, np.zeros(0, dtype=np.int64)
    else:
        fit_idx, cal_idx = cvmod.calibration_tail(t0, t1, train, spec.calibration_fraction)
    if len(fit_idx) < 20 or len(np.unique(y[fit_idx])) < 2:
        raise DataError(f"a fold has {len(fit_idx)} training samples ({len(np.unique(y[fit_idx]))} classes) "
                        "after purging: use fewer folds or more data")
    members = fit_members(kinds, spec.params, X[fit_idx], y[fit_idx], spec.seed, spec.n_jobs)
    model = Model(kinds, members)
    if len(cal_idx):
        score, _ = raw_score(member_probas(members, X[cal_idx]))
        model.calibrator = fit_calibrator(score, y[cal_idx], spec.calibration, spec.seed)
        if spec.conformal_alpha is not None:
            p_cal = model.predict(X[cal_idx])["proba"]
            model.qhat = conformal_qhat(p_cal, y[cal_idx], spec.conformal_alpha)
    return model


def fold_task(ctx: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Executor task: fit on the split's training samples, predict its test samples (pure function)."""
    X, y, t0, t1 = ctx["X"], ctx["y"], ctx["t0"], ctx["t1"]
    spec = TrainSpec.model_validate(ctx["specs"][task.get("config", 0)])
    train, test = np.asarray(task["train"]), np.asarray(task["test"])
    cvmod.assert_purged(t0, t1, train, test, spec.embargo, where=f"split {task['number']}")
    started = time.perf_counter()
    model = _fit(X, y, t0, t1, train, spec)
    out = model.predict(X[test])
    return {"config": task.get("config", 0), "number": task["number"], "test": test, "proba": out["proba"],
            "agreement": out["agreement"], "train_size": int(len(train)), "purged": int(task["purged"]),
            "seconds": time.perf_counter() - started}


# ---- cross-validation ------------------------------------------------------------------------------------
@dataclass
class CVResult:
    summary: dict[str, Any]
    oos: pd.DataFrame  # per sample (walk-forward) or per (path, sample) for CPCV: time, y, proba, agreement
    folds: list[dict[str, Any]]


def run_folds(ds: Dataset, specs: list[TrainSpec], *, executor: Any = None, progress: Progress | None = None
              ) -> tuple[Any, list[cvmod.Split], list[dict[int, dict[str, Any]]]]:
    """Every (spec, split) pair as one executor task in ONE session (a search parallelises over both).
    The specs must share the CV settings; returns (splitter, splits, per-spec {split number: result})."""
    from quantdesk.research.executors import InProcessExecutor

    spec = specs[0]
    splitter = cvmod.make_cv(spec.cv, spec.folds, spec.embargo, spec.test_groups)
    splits = list(splitter.split(ds.t0, ds.t1))
    for s in splits:  # asserted here as well as in each worker
        cvmod.assert_purged(ds.t0, ds.t1, s.train, s.test, spec.embargo, where=f"split {s.number}")
    tasks = [{"config": c, "number": s.number, "train": s.train, "test": s.test, "purged": s.purged}
             for c in range(len(specs)) for s in splits]
    ctx = {"X": ds.X, "y": ds.y, "t0": ds.t0, "t1": ds.t1, "specs": [sp.model_dump(mode="json") for sp in specs]}
    ex = executor or InProcessExecutor()
    results: list[dict[int, dict[str, Any]]] = [{} for _ in specs]
    done = 0
    if progress:
        progress(0, len(tasks), f"cross-validation: {len(tasks)} fits")
    with ex.session(fold_task, ctx) as session:
        for _i, res in session.map(tasks):
            results[res["config"]][res["number"]] = res
            done += 1
            if progress:
                progress(done, len(tasks), f"fold {done}/{len(tasks)}")
    return splitter, splits, results


def cross_validate(ds: Dataset, spec: TrainSpec, *, executor: Any = None, progress: Progress | None = None,
                   index: pd.DatetimeIndex | None = None) -> CVResult:
    splitter, splits, results = run_folds(ds, [spec], executor=executor, progress=progress)
    return assemble(ds, spec, splitter, splits, results[0], index)


def assemble(ds: Dataset, spec: TrainSpec, splitter: Any, splits: list[cvmod.Split],
             results: dict[int, dict[str, Any]], index: pd.DatetimeIndex | None = None) -> CVResult:
    """Out-of-sample predictions (per path for CPCV) and their scores from the folds' results."""
    folds = [{k: v for k, v in results[n].items() if k not in ("test", "proba", "agreement", "config")} | {
        "test_size": int(len(results[n]["test"])), "test_groups": list(splits[n].test_groups)}
        for n in sorted(results)]
    times = index[ds.pos] if index is not None else pd.RangeIndex(len(ds.pos))
    if spec.cv == "walk-forward":
        order = sorted(results)
        test = np.concatenate([results[n]["test"] for n in order])
        proba = np.concatenate([results[n]["proba"] for n in order])
        agree = np.concatenate([results[n]["agreement"] for n in order])
        oos = pd.DataFrame({"time": times[test], "y": ds.y[test], "proba": proba, "agreement": agree,
                            "next_ret": ds.next_ret[test], "path": 0})
        paths = [oos]
    else:
        assert isinstance(splitter, cvmod.CombinatorialPurgedCV)
        group = splitter.group_of(len(ds.y))
        paths = []
        for p, assign in enumerate(splitter.paths()):
            proba = np.full(len(ds.y), np.nan)
            agree = np.full(len(ds.y), np.nan)
            for g, n in assign.items():
                res = results[n]
                sel = group[res["test"]] == g
                proba[res["test"][sel]] = res["proba"][sel]
                agree[res["test"][sel]] = res["agreement"][sel]
            paths.append(pd.DataFrame({"time": times, "y": ds.y, "proba": proba, "agreement": agree,
                                       "next_ret": ds.next_ret, "path": p}))
        oos = pd.concat(paths, ignore_index=True)
    per_path = []
    for frame in paths:
        sc = classification_scores(frame["y"].to_numpy(), frame["proba"].to_numpy())
        st = signal_strategy(frame["proba"].to_numpy(), frame["next_ret"].to_numpy(), upper=spec.upper,
                             lower=spec.lower, allow_short=spec.allow_short, fee=spec.fee, trials=spec.trials)
        per_path.append((sc, st))
    summary = _summarise(per_path, spec, oos)
    summary["splitter"] = splitter.describe()
    summary["purged_samples"] = int(sum(f["purged"] for f in folds))
    return CVResult(summary, oos, folds)


def _summarise(per_path: list[tuple[dict[str, Any], dict[str, Any]]], spec: TrainSpec, oos: pd.DataFrame
               ) -> dict[str, Any]:
    keys = [k for k in per_path[0][0] if k != "n"]
    out: dict[str, Any] = {k: float(np.nanmean([p[0][k] for p in per_path])) for k in keys}
    out["n"] = int(per_path[0][0]["n"])
    srs = np.array([p[1]["sharpe"] for p in per_path], dtype=np.float64)
    strat: dict[str, Any] = {k: float(np.nanmean([p[1][k] for p in per_path])) for k in per_path[0][1]
                             if k != "dsr_significant"}
    if len(per_path) > 1:  # CPCV: deflate with the observed Sharpe dispersion across paths
        first = oos[oos["path"] == 0]
        ret = first["next_ret"].to_numpy()
        st = signal_strategy(first["proba"].to_numpy(), ret, upper=spec.upper, lower=spec.lower,
                             allow_short=spec.allow_short, fee=spec.fee,
                             trials=max(spec.trials, len(per_path)),
                             sr_variance=float(np.nanvar(srs, ddof=1)) if np.isfinite(srs).sum() > 1 else None)
        strat["dsr"] = st["dsr"]
        strat["path_sharpes"] = [float(s) for s in srs]
        strat["paths"] = len(per_path)
        out["per_path"] = [{k: p[0][k] for k in ("auc", "brier", "logloss", "accuracy")} for p in per_path]
    strat["dsr_significant"] = bool(math.isfinite(strat["dsr"]) and strat["dsr"] > 0.95)
    out["strategy"] = strat
    first = oos[oos["path"] == 0]
    out["reliability"] = reliability(first["proba"].to_numpy(), first["y"].to_numpy())
    return out


# ---- the whole pipeline ---------------------------------------------------------------------------------
@dataclass
class TrainResult:
    spec: TrainSpec
    model: Model
    model_id: str
    cv: dict[str, Any]
    folds: list[dict[str, Any]]
    oos: pd.DataFrame
    meta: dict[str, Any]
    dataset: Dataset
    importance: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        return to_jsonable({"model_id": self.model_id, "cv": self.cv, "folds": self.folds,
                            "importance": self.importance[:20], **{k: v for k, v in self.meta.items()
                                                                   if k not in ("spec",)},
                            "spec": self.spec.model_dump(mode="json")})


def fit_final(ds: Dataset, spec: TrainSpec) -> Model:
    model = _fit(ds.X, ds.y, ds.t0, ds.t1, np.arange(len(ds.y), dtype=np.int64), spec)
    model.feature_names = list(ds.names)
    return model


def train(frame: pd.DataFrame, spec: TrainSpec, *, symbol: str = "", timeframe: str = "", executor: Any = None,
          progress: Progress | None = None, custom: CustomFeatures | None = None, side: np.ndarray | None = None,
          importance: bool = True) -> TrainResult:
    """Cross-validate, then fit the final model on every sample (see the module docstring)."""
    from quantdesk.ml import registry

    if spec.lower > spec.upper:
        raise ParameterError(f"lower threshold {spec.lower} is above upper {spec.upper}")
    started = time.perf_counter()
    if progress:
        progress(0, 1, "features and causality check")
    ds = prepare_dataset(frame, spec, custom=custom, side=side, base_timeframe=timeframe or None)
    timings = dict(ds.timings)
    t = time.perf_counter()
    result = cross_validate(ds, spec, executor=executor, progress=progress,
                            index=pd.DatetimeIndex(frame.index))
    timings["cross_validation"] = time.perf_counter() - t
    if progress:
        progress(0, 1, "final model")
    t = time.perf_counter()
    model = fit_final(ds, spec)
    timings["final_model"] = time.perf_counter() - t
    meta = registry.describe(frame, spec, ds, symbol=symbol, timeframe=timeframe, custom=custom,
                             meta_labels=side is not None)
    model_id = registry.model_id(meta)
    meta["cv"] = result.summary
    meta["seconds"] = round(time.perf_counter() - started, 3)
    imp: list[dict[str, Any]] = []
    if importance:
        from quantdesk.ml.explain import permutation_importance

        t = time.perf_counter()
        imp = permutation_importance(model, ds, spec)
        timings["importance"] = time.perf_counter() - t
    meta["importance"] = imp[:50]
    meta["timings"] = {k: round(v, 3) for k, v in timings.items()}
    meta["conformal"] = {"alpha": spec.conformal_alpha, "qhat": model.qhat}
    return TrainResult(spec, model, model_id, result.summary, result.folds, result.oos, meta, ds, imp)
