"""The model registry: content-addressed ids, safe artefacts (skops, not pickle) and metadata in the database.

MODEL ID = the first 24 hex digits of sha256 over the canonical JSON of: the data fingerprint (sha256 of the bars'
times and OHLCV, plus any extra columns used), the feature spec, the label spec, the model kind, members and
parameters, calibration settings, the seed, custom-feature source hashes, and the code version (QuantDesk's ML
format and the versions of numpy, scikit-learn, LightGBM and XGBoost, which decide the fitted trees). Training
the same inputs gives the same id and byte-identical predictions.

ARTEFACTS: `QD_HOME/models/<id>/model.skops` holds a plain dict {"members": [...], "calibrator": ...} of the
fitted estimators (skops refuses to load any type not on our allow-list, so a tampered file cannot run code);
`meta.json` beside it. The database row (`ml_models`) carries the id, slot (symbol|timeframe|label), kind,
status (candidate / champion / retired), validation metrics and the artefact path.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.ml.models import Model

log = get_logger(__name__)
ML_FORMAT = 1
TRUSTED_TYPES = frozenset({
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
})
_CACHE: dict[str, tuple[Model, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def code_version() -> dict[str, str]:
    import sklearn

    from quantdesk.core.version import __version__

    out = {"quantdesk": __version__, "ml_format": str(ML_FORMAT), "numpy": np.__version__,
           "sklearn": sklearn.__version__}
    for pkg in ("lightgbm", "xgboost"):
        try:
            out[pkg] = __import__(pkg).__version__
        except ImportError:
            out[pkg] = "absent"
    return out


def data_fingerprint(frame: pd.DataFrame, extra_columns: list[str] | tuple[str, ...] = ()) -> str:
    from quantdesk.backtest.runner import fingerprint

    h = hashlib.sha256(fingerprint(frame).encode())
    for col in extra_columns:
        h.update(col.encode())
        h.update(np.ascontiguousarray(pd.to_numeric(frame[col], errors="coerce").to_numpy(np.float64)).tobytes())
    return h.hexdigest()


def describe(frame: pd.DataFrame, spec: Any, ds: Any, *, symbol: str, timeframe: str, custom: Any = None,
             meta_labels: bool = False) -> dict[str, Any]:
    """The metadata of a model being trained (identity fields + descriptive ones)."""
    from quantdesk.core.timeutil import iso
    from quantdesk.ml.features import _is_catalog, custom_fingerprint

    extra_cols = [e for e in spec.features.extra if not _is_catalog(e)]
    return {
        "format": ML_FORMAT,
        "code_version": code_version(),
        "data_fingerprint": data_fingerprint(frame, extra_cols),
        "spec": spec.identity(),
        "custom_features": custom_fingerprint(custom),
        "meta_labels": meta_labels,
        "symbol": symbol,
        "timeframe": timeframe,
        "rows": len(frame),
        "first": iso(frame.index[0]),
        "last": iso(frame.index[-1]),
        "samples": len(ds.y),
        "features": list(ds.names),
        "lookback": int(ds.lookback),
        "causality_cuts": list(ds.causality_cuts),
        "kind": spec.model,
        "label": spec.label.text(),
    }


def model_id(meta: dict[str, Any]) -> str:
    ident = {k: meta[k] for k in ("format", "code_version", "data_fingerprint", "spec", "custom_features",
                                  "meta_labels")}
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def models_dir() -> Path:
    from quantdesk.core.config import get_settings

    return Path(get_settings().home) / "models"


def _check_id(mid: str) -> str:
    mid = str(mid).strip()
    if not mid or len(mid) > 64 or not all(c in "0123456789abcdef" for c in mid):
        raise NotFoundError(f"model id {mid!r} is not a registry id (hex digits)")
    return mid


def slot_of(meta: dict[str, Any]) -> str:
    return f"{meta.get('symbol') or '-'}|{meta.get('timeframe') or '-'}|{meta.get('label')}"


def save(model: Model, meta: dict[str, Any], mid: str, *, url: str | None = None, status: str = "candidate",
         parent_id: str | None = None, directory: Path | None = None) -> dict[str, Any]:
    """Write the artefact and meta.json, upsert the database row; returns the row. Idempotent per id."""
    import skops.io as sio

    from quantdesk.core.jsonable import to_jsonable

    folder = (directory or models_dir()) / _check_id(mid)
    folder.mkdir(parents=True, exist_ok=True)
    artefact = folder / "model.skops"
    if not artefact.exists():
        payload = {"members": list(model.members), "calibrator": model.calibrator, "kinds": list(model.kinds),
                   "qhat": float(model.qhat), "feature_names": list(model.feature_names)}
        tmp = folder / "model.skops.tmp"
        sio.dump(payload, tmp)
        tmp.replace(artefact)
    doc = to_jsonable({**meta, "model_id": mid})
    (folder / "meta.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
    row = _upsert(mid, doc, str(artefact), url=url, status=status, parent_id=parent_id)
    with _LOCK:
        _CACHE[mid] = (model, doc)
    return row


def _upsert(mid: str, meta: dict[str, Any], path: str, *, url: str | None, status: str,
            parent_id: str | None) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from quantdesk.storage import db
    from quantdesk.storage.ml_models import MlModelRow

    cv = meta.get("cv") or {}
    metrics = {k: cv.get(k) for k in ("auc", "brier", "logloss", "accuracy", "baseline_accuracy", "ece",
                                      "baseline_brier", "baseline_logloss", "n")}
    metrics["dsr"] = (cv.get("strategy") or {}).get("dsr")
    metrics["sharpe"] = (cv.get("strategy") or {}).get("sharpe")
    with Session(db.get_engine(url)) as session, session.begin():
        row = session.get(MlModelRow, mid)
        if row is None:
            row = MlModelRow(id=mid, created_at=datetime.now(UTC), status=status, parent_id=parent_id)
            session.add(row)
        row.slot = slot_of(meta)
        row.symbol = str(meta.get("symbol") or "")
        row.timeframe = str(meta.get("timeframe") or "")
        row.kind = str(meta.get("kind"))
        row.label = str(meta.get("label"))
        row.data_fingerprint = str(meta.get("data_fingerprint"))
        row.metrics = metrics
        row.meta = {k: v for k, v in meta.items() if k not in ("importance",)}
        row.path = path
        session.flush()
        return row.to_dict()


def load(mid: str, *, directory: Path | None = None) -> tuple[Model, dict[str, Any]]:
    """The fitted Model and its metadata (cached per process). Refuses artefacts with untrusted types."""
    import skops.io as sio

    mid = _check_id(mid)
    with _LOCK:
        hit = _CACHE.get(mid)
    if hit is not None:
        return hit
    folder = (directory or models_dir()) / mid
    artefact = folder / "model.skops"
    if not artefact.is_file():
        raise NotFoundError(f"no model {mid} in the registry ({folder})")
    untrusted = set(sio.get_untrusted_types(file=artefact))
    refused = sorted(untrusted - TRUSTED_TYPES)
    if refused:
        raise DataError(f"model {mid}: the artefact contains types that are not allowed: {', '.join(refused)}")
    payload = sio.load(artefact, trusted=sorted(untrusted))
    meta = json.loads((folder / "meta.json").read_text())
    model = Model(tuple(payload["kinds"]), list(payload["members"]), payload["calibrator"],
                  float(payload["qhat"]), list(payload["feature_names"]))
    with _LOCK:
        _CACHE[mid] = (model, meta)
    return model, meta


def remember(model: Model, meta: dict[str, Any], mid: str) -> None:
    """Make a model loadable by id in this process only (no artefact, no database row: throw-away research)."""
    with _LOCK:
        _CACHE[_check_id(mid)] = (model, {**meta, "model_id": mid})


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def list_models(url: str | None = None, *, slot: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from quantdesk.storage import db
    from quantdesk.storage.ml_models import MlModelRow

    stmt = sa.select(MlModelRow).order_by(MlModelRow.created_at.desc()).limit(limit)
    if slot:
        stmt = stmt.where(MlModelRow.slot == slot)
    with Session(db.get_engine(url)) as session:
        rows = [r.to_dict() for r in session.scalars(stmt)]
    for r in rows:
        r.pop("meta", None)
    return rows


def get_row(mid: str, url: str | None = None) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from quantdesk.storage import db
    from quantdesk.storage.ml_models import MlModelRow

    with Session(db.get_engine(url)) as session:
        row = session.get(MlModelRow, _check_id(mid))
        if row is None:
            raise NotFoundError(f"no model {mid} in the registry")
        return row.to_dict()


def set_status(mid: str, status: str, url: str | None = None) -> None:
    """Promote / retire: a champion demotes the slot's previous champion to retired."""
    from sqlalchemy.orm import Session

    from quantdesk.storage import db
    from quantdesk.storage.ml_models import MlModelRow

    if status not in ("candidate", "champion", "challenger", "retired"):
        raise ParameterError(f"model status must be candidate, champion, challenger or retired, got {status!r}")
    with Session(db.get_engine(url)) as session, session.begin():
        row = session.get(MlModelRow, _check_id(mid))
        if row is None:
            raise NotFoundError(f"no model {mid} in the registry")
        if status == "champion":
            for other in session.query(MlModelRow).filter(MlModelRow.slot == row.slot,
                                                          MlModelRow.status == "champion"):
                if other.id != row.id:
                    other.status = "retired"
        row.status = status


def champion(slot: str, url: str | None = None) -> str | None:
    for r in list_models(url, slot=slot, limit=1000):
        if r["status"] == "champion":
            return str(r["id"])
    return None
