"""The model zoo: scikit-learn random forest / extra trees / gradient boosting, LightGBM, XGBoost (CPU), and a
soft-voting ensemble whose members' agreement enters the confidence.

DETERMINISM: every estimator gets the run's seed and a fixed number of threads (`n_jobs`); LightGBM runs with
`deterministic=True` and column-wise histograms, XGBoost with the `hist` method. The same data, parameters and seed
give byte-identical probabilities.

A fitted `Model` is members + calibrator (+ conformal threshold):
    score     = 0.5 + (mean member probability - 0.5) x agreement
    agreement = share of members on the same side of 0.5 as their mean (1 for a single model)
    proba     = calibrator(score)              calibrated P(label = 1), fitted on later data than the members
    confidence = max(proba, 1 - proba)         calibrated probability that the predicted direction is right
so a split ensemble is pulled towards 0.5 before calibration, and calibration keeps `confidence` honest.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantdesk.core.errors import ConfigError, ParameterError
from quantdesk.ml.calibration import apply_calibrator

KINDS = ("lightgbm", "rf", "et", "gb", "xgboost", "ensemble")
ENSEMBLE_DEFAULT = ("rf", "et", "gb", "lightgbm", "xgboost")
DEFAULTS: dict[str, dict[str, Any]] = {
    "rf": {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 100, "max_features": "sqrt"},
    "et": {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 100, "max_features": "sqrt"},
    "gb": {"max_iter": 150, "learning_rate": 0.05, "max_depth": 4, "min_samples_leaf": 50},
    "lightgbm": {"n_estimators": 200, "learning_rate": 0.03, "num_leaves": 8, "min_child_samples": 100,
                 "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8},
    "xgboost": {"n_estimators": 150, "learning_rate": 0.05, "max_depth": 4, "min_child_weight": 5,
                "subsample": 0.8, "colsample_bytree": 0.8},
}
_PACKAGES = {"lightgbm": "lightgbm", "xgboost": "xgboost"}


def available(kind: str) -> bool:
    pkg = _PACKAGES.get(kind)
    return pkg is None or importlib.util.find_spec(pkg) is not None


def members_of(kind: str, members: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if kind not in KINDS:
        raise ParameterError(f"--model must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind != "ensemble":
        if not available(kind):
            raise ConfigError(f"--model {kind} needs the {_PACKAGES[kind]} package: pip install 'quantdesk[ml]'")
        return (kind,)
    chosen = tuple(members) if members else tuple(k for k in ENSEMBLE_DEFAULT if available(k))
    for m in chosen:
        if m not in KINDS or m == "ensemble":
            raise ParameterError(f"ensemble member {m!r} is not a model kind ({', '.join(KINDS[:-1])})")
        if not available(m):
            raise ConfigError(f"ensemble member {m} needs the {_PACKAGES[m]} package")
    if len(chosen) < 2:
        raise ParameterError("an ensemble needs at least two members")
    return chosen


def member_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated with `params` (flat for one model; `{member: {...}}` for an ensemble's member)."""
    out = dict(DEFAULTS[kind])
    own = params.get(kind) if isinstance(params.get(kind), dict) else None
    if own is not None:
        out.update(own)
    else:
        out.update({k: v for k, v in params.items() if not isinstance(v, dict)})
    return out


def make_estimator(kind: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    p = member_params(kind, params)
    try:
        if kind == "rf":
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(random_state=seed, n_jobs=n_jobs, **p)
        if kind == "et":
            from sklearn.ensemble import ExtraTreesClassifier

            return ExtraTreesClassifier(random_state=seed, n_jobs=n_jobs, **p)
        if kind == "gb":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(random_state=seed, early_stopping=False, **p)
        if kind == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(random_state=seed, n_jobs=n_jobs, deterministic=True, force_col_wise=True,
                                  verbosity=-1, **p)
        if kind == "xgboost":
            from xgboost import XGBClassifier

            return XGBClassifier(random_state=seed, n_jobs=n_jobs, tree_method="hist", verbosity=0, **p)
    except TypeError as exc:
        raise ParameterError(f"model {kind}: {exc}") from None
    raise ParameterError(f"unknown model kind {kind!r}")


def fit_members(kinds: tuple[str, ...], params: dict[str, Any], X: np.ndarray, y: np.ndarray, seed: int,
                n_jobs: int) -> list[Any]:
    out = []
    for kind in kinds:
        est = make_estimator(kind, params, seed, n_jobs)
        try:
            est.fit(X, y.astype(np.int64))
        except ValueError as exc:
            raise ParameterError(f"model {kind}: {exc}") from None
        out.append(est)
    return out


def member_probas(members: list[Any], X: np.ndarray) -> np.ndarray:
    """(n_members, n) P(label = 1) of each member."""
    out = np.empty((len(members), len(X)), dtype=np.float64)
    for i, m in enumerate(members):
        proba = m.predict_proba(X)
        classes = list(getattr(m, "classes_", [0, 1]))
        out[i] = proba[:, classes.index(1)] if 1 in classes else 0.0
    return out


def raw_score(probas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, agreement) from member probabilities (see the module docstring)."""
    mean = probas.mean(axis=0)
    if probas.shape[0] == 1:
        return mean, np.ones_like(mean)
    side = mean >= 0.5
    agree = ((probas >= 0.5) == side[None, :]).mean(axis=0)
    return 0.5 + (mean - 0.5) * agree, agree


@dataclass
class Model:
    """A fitted model: members + calibrator; `predict(X)` gives calibrated probabilities and confidence."""

    kinds: tuple[str, ...]
    members: list[Any]
    calibrator: Any = None
    qhat: float = float("nan")
    feature_names: list[str] = field(default_factory=list)

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        probas = member_probas(self.members, X)
        score, agree = raw_score(probas)
        proba = np.clip(apply_calibrator(self.calibrator, score), 0.0, 1.0)
        return {"proba": proba, "confidence": np.maximum(proba, 1 - proba), "agreement": agree, "score": score}

    def predict_proba_one(self, x: np.ndarray) -> tuple[float, float, float]:
        """(proba, confidence, agreement) of one feature row; NaN when a feature is missing."""
        if not np.all(np.isfinite(x)):
            return float("nan"), float("nan"), float("nan")
        out = self.predict(x.reshape(1, -1))
        return float(out["proba"][0]), float(out["confidence"][0]), float(out["agreement"][0])
