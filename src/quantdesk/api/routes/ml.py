"""ML models: list them with their validation and live calibration, train one in the background, list features."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import LIMIT_MAX, PAGED, Page, page_params, slice_list
from quantdesk.api.responses.intel import Job, MlModel
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import SYMBOL, TIMEFRAME, Int, _Body, time_field
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/ml", tags=["ml"], responses=ERRORS)
MODEL_ID = r"^[0-9a-f]{8,64}$"
FEATURE = r"^[a-z0-9_]{1,40}(\.[a-z0-9_]{1,40})?(:[a-z_]{1,30}=[A-Za-z0-9_.\-]{1,30}){0,8}(@[0-9]{1,4}[smhdwM])?$"


class TrainBody(_Body):
    """A training job on candles of the store (the API never reads server files)."""

    symbol: str = Field(pattern=SYMBOL, examples=["BTC/USDT"])
    timeframe: str = Field(default="1h", pattern=TIMEFRAME)
    exchange: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,30}$")
    start: str | None = time_field()
    end: str | None = time_field()
    label: str = Field(default="horizon:12", pattern=r"^(horizon|barrier)(:[a-z]{0,10}=?[0-9.]{1,12}){0,5}$",
                       examples=["horizon:12", "barrier:tp=2:sl=1:max=24"])
    model: str = Field(default="lightgbm", pattern=r"^(lightgbm|rf|et|gb|xgboost|ensemble)$")
    cv: str = Field(default="walk-forward", pattern=r"^(walk-forward|cpcv)$")
    folds: Int = Field(default=5, ge=1, le=30)
    embargo: Int = Field(default=0, ge=0, le=10_000)
    features: list[Annotated[str, Field(pattern=FEATURE, max_length=400)]] | None = Field(default=None,
                                                                                          max_length=300)
    returns: list[Int] | None = Field(default=None, max_length=50)
    volatility: list[Int] | None = Field(default=None, max_length=50)
    calibration: str = Field(default="sigmoid", pattern=r"^(sigmoid|isotonic|none)$")
    seed: Int = Field(default=42, ge=0, le=2**31)


def _jobs(request: Request) -> Any:
    from quantdesk.ml.jobs import TrainJobs

    state = request.app.state
    if getattr(state, "ml_jobs", None) is None:
        state.ml_jobs = TrainJobs(max_running=2, url=state.service.settings.database_url)
    return state.ml_jobs


def _tracked(svc: QuantDeskService) -> Any:
    from quantdesk.ml.tracking_store import TrackingStore

    return TrackingStore(svc.settings.database_url).query()


def _live(rows: Any, model_id: str) -> dict[str, Any]:
    """Calibration of the model's tracked signals (sources ending in its id)."""
    from quantdesk.ml.tracking import accuracy_report

    mine = rows[rows["source"].astype(str).str.endswith(model_id)] if len(rows) else rows
    return accuracy_report(mine, by=())["overall"]


@router.get("/models", response_model=list[MlModel], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def models(response: Response, page: Page = Depends(page_params), svc: QuantDeskService = Depends(service)
           ) -> list[dict[str, Any]]:
    """Registered models, newest first: validation scores (out-of-sample, with baselines) and live calibration of
    their tracked signals."""
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.ml.service import list_models

    rows = slice_list(list_models(svc.settings.database_url, limit=LIMIT_MAX), page, response)
    tracked = _tracked(svc)
    for r in rows:
        live = _live(tracked, r["id"])
        r["live"] = {k: live.get(k) for k in ("resolved", "pending", "hit_rate", "baseline_hit_rate", "brier",
                                              "ece", "mean_confidence")}
    return to_jsonable(rows)


@router.get("/models/{model_id}", response_model=MlModel, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def model(model_id: str = Path(pattern=MODEL_ID), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """One model: metadata (features, label, data, validation with reliability diagram) and live calibration."""
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.ml.service import model_detail

    row = model_detail(model_id, svc.settings.database_url)
    row["live"] = _live(_tracked(svc), model_id)
    return to_jsonable(row)


@router.post("/models/{model_id}/promote", dependencies=[Depends(write_access)])
def promote(model_id: str = Path(pattern=MODEL_ID), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Make the model the champion of its slot (symbol|timeframe|label); the previous champion is retired."""
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.ml import registry

    registry.set_status(model_id, "champion", svc.settings.database_url)
    row = registry.get_row(model_id, svc.settings.database_url)
    row.pop("meta", None)
    return to_jsonable(row)


@router.post("/train", status_code=202, dependencies=[Depends(write_access)])
def train(body: TrainBody, request: Request) -> dict[str, Any]:
    """Train in the background (at most two jobs at once: 409 beyond); poll `GET /ml/jobs/{id}` for progress."""
    import re

    from quantdesk.core.errors import ParameterError
    from quantdesk.ml.service import TrainRequest

    for f in body.features or []:
        if not re.match(FEATURE, f):
            raise ParameterError(f"feature {f!r}: expected name[.output][:param=value...][@timeframe]")
    req = TrainRequest(**body.model_dump(), causality_samples=5)
    return {"id": _jobs(request).submit(req), "status": "running"}


@router.get("/jobs", dependencies=[Depends(read_access)], responses=PAGED)
def jobs(request: Request, response: Response, page: Page = Depends(page_params)) -> list[dict[str, Any]]:
    from quantdesk.core.jsonable import to_jsonable

    return to_jsonable(slice_list(_jobs(request).list(), page, response))


@router.get("/jobs/{job_id}", response_model=Job, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def job(request: Request, job_id: str = Path(pattern=r"^[0-9a-f]{32}$")) -> dict[str, Any]:
    from quantdesk.core.jsonable import to_jsonable

    return to_jsonable(_jobs(request).get(job_id))


@router.get("/features", dependencies=[Depends(read_access)])
def features(group: str | None = Query(default=None, pattern=r"^[a-z_]{1,30}$")) -> dict[str, Any]:
    """What can be used as a feature: catalog entries (any parameters, any higher timeframe), returns, volatility,
    extra columns."""
    from quantdesk.ml.service import features_catalog

    return features_catalog(group)
