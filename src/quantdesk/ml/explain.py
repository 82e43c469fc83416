"""Explanations: which features a model uses, and which features drove one signal.

- `permutation_importance(model, ds, spec)`: drop in AUC when one feature's values are shuffled, on the LATEST
  part of the data (the calibration tail, which the members never trained on), scored on the members' raw score
  (the calibrator was fitted on that tail), averaged over seeded repeats (sklearn.inspection). When the `shap` package is installed, the
  mean |SHAP value| of tree members is added (`shap` column).
- `drivers(model, x, names, background)`: per signal, each feature's contribution to P(up): TreeSHAP when the
  members support it natively (LightGBM `pred_contrib`, XGBoost `pred_contribs`), otherwise occlusion (the change
  in probability when the feature is replaced by its training median). Sorted by absolute size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quantdesk.ml.models import Model


class _Wrapped:
    """sklearn-style classifier view of a Model (for sklearn.inspection)."""

    _estimator_type = "classifier"

    def __init__(self, model: Model) -> None:
        self.model = model
        self.classes_ = np.array([0, 1])

    def fit(self, X: Any, y: Any) -> _Wrapped:  # pragma: no cover - never refitted
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        # the members' raw score: the calibration tail is out-of-sample for the members but not for the calibrator
        p = self.model.predict(np.asarray(X, dtype=np.float64))["score"]
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def permutation_importance(model: Model, ds: Any, spec: Any, *, repeats: int = 2, max_rows: int = 1000
                           ) -> list[dict[str, Any]]:
    from sklearn.inspection import permutation_importance as sk_pi
    from sklearn.metrics import roc_auc_score

    n = len(ds.y)
    k = min(max_rows, max(50, int(n * spec.calibration_fraction)))
    X, y = ds.X[-k:], ds.y[-k:].astype(np.int64)
    if len(np.unique(y)) < 2:
        return []
    wrapped = _Wrapped(model)

    def scorer(est: Any, Xs: np.ndarray, ys: np.ndarray) -> float:
        return float(roc_auc_score(ys, est.predict_proba(Xs)[:, 1]))

    res = sk_pi(wrapped, X, y, scoring=scorer, n_repeats=repeats, random_state=spec.seed, n_jobs=1)
    rows = [{"feature": name, "importance": float(res.importances_mean[i]), "std": float(res.importances_std[i])}
            for i, name in enumerate(ds.names)]
    shap_values = _shap_mean_abs(model, X)
    if shap_values is not None:
        for r, v in zip(rows, shap_values, strict=True):
            r["shap"] = float(v)
    rows.sort(key=lambda r: -r["importance"])
    return rows


def _shap_mean_abs(model: Model, X: np.ndarray) -> np.ndarray | None:
    try:
        import shap  # noqa: F401
    except ImportError:
        return None
    import warnings

    # shap announces a change of its LightGBM output format on every call (thread-safe filter: by message)
    warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")
    try:
        import shap

        vals = []
        for m in model.members:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sv = shap.TreeExplainer(m).shap_values(X[:1000])
                sv = sv[1] if isinstance(sv, list) else sv
            sv = sv[..., 1] if getattr(sv, "ndim", 2) == 3 else sv
            vals.append(np.abs(np.asarray(sv)).mean(axis=0))
        return np.mean(vals, axis=0)
    except Exception:  # noqa: BLE001 - SHAP is an optional extra; permutation importance stands alone
        return None


def drivers(model: Model, x: np.ndarray, names: list[str], background: np.ndarray | None = None, top: int = 5
            ) -> list[dict[str, float | str]]:
    """The features that drove one prediction (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    contrib = _native_contrib(model, x)
    method = "treeshap"
    if contrib is None:
        method = "occlusion"
        base = float(model.predict(x)["proba"][0])
        ref = np.nanmedian(background, axis=0) if background is not None and len(background) else np.zeros(x.shape[1])
        contrib = np.empty(x.shape[1])
        batch = np.repeat(x, x.shape[1], axis=0)
        batch[np.arange(x.shape[1]), np.arange(x.shape[1])] = ref
        contrib[:] = base - model.predict(batch)["proba"]
    order = np.argsort(-np.abs(contrib))[:top]
    return [{"feature": names[i], "value": _f(x[0, i]), "contribution": _f(contrib[i]), "method": method}
            for i in order]


def _native_contrib(model: Model, x: np.ndarray) -> np.ndarray | None:
    """Mean TreeSHAP log-odds contributions over members that provide them natively; None if any does not."""
    out = []
    for m in model.members:
        name = type(m).__name__
        if name == "LGBMClassifier":
            c = m.predict_proba(x, pred_contrib=True)
            out.append(np.asarray(c)[0, :-1])
        elif name == "XGBClassifier":
            import xgboost as xgb

            c = m.get_booster().predict(xgb.DMatrix(x), pred_contribs=True)
            out.append(np.asarray(c)[0, :-1])
        else:
            return None
    return np.mean(out, axis=0) if out else None


def _f(v: float) -> float:
    v = float(v)
    return v if math.isfinite(v) else float("nan")
