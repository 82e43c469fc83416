"""Backtests: run one in the background, poll it, list the recorded runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import Accepted, BacktestRequest
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/backtests", tags=["backtests"], responses=ERRORS)


@router.post("", status_code=202, response_model=Accepted, dependencies=[Depends(write_access)])
def submit(body: BacktestRequest, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return {"id": svc.submit_backtest(body.model_dump()), "status": "running"}


@router.get("", dependencies=[Depends(read_access)])
def runs(limit: int = Query(default=50, ge=1, le=500), svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.backtests(limit)


@router.get("/{run_id}", dependencies=[Depends(read_access)])
def run(run_id: str = Path(max_length=64), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.backtest(run_id)
