"""Backtests: run one in the background, poll it, list the recorded runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import PAGED, paged
from quantdesk.api.responses.runs import Backtest, BacktestRow
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import Accepted, BacktestRequest
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/backtests", tags=["backtests"], responses=ERRORS)


@router.post("", status_code=202, response_model=Accepted, dependencies=[Depends(write_access)])
def submit(body: BacktestRequest, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Queue a backtest on the bounded worker pool (429 with Retry-After when it is full); poll GET /{id}."""
    return {"id": svc.submit_backtest(body.model_dump()), "status": "running"}


@router.get("", response_model=list[BacktestRow], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def runs(response: Response, limit: int = Query(default=50, ge=1, le=500),
         offset: int = Query(default=0, ge=0, le=10**9),
         svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Jobs in flight (running or queued, failed) first, then the recorded runs, newest first."""
    rows, total = svc.backtests_page(limit, offset)
    return paged(response, rows, total)


@router.get("/{run_id}", response_model=Backtest, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def run(run_id: str = Path(max_length=64), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.backtest(run_id)
