"""Risk: configured limits, per-bot state, VaR, and the halt / resume / kill switch controls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import SYMBOL, TIMEFRAME, RiskAction
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/risk", tags=["risk"], responses=ERRORS)


@router.get("/limits", dependencies=[Depends(read_access)])
def limits(svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.risk_limits()


@router.get("/state", dependencies=[Depends(read_access)])
def state(svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_state()


@router.get("/var", dependencies=[Depends(read_access)])
def var(symbols: str = Query(max_length=400, examples=["BTC/USDT"], description="Comma separated."),
        timeframe: str = Query(default="1d", pattern=TIMEFRAME),
        alpha: float = Query(default=0.95, gt=0.5, lt=1.0),
        svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    import re

    syms = [s.strip() for s in symbols.split(",") if s.strip()]
    if not syms or len(syms) > 20 or not all(re.match(SYMBOL, s) for s in syms):
        raise HTTPException(422, [{"loc": ["query", "symbols"], "msg": "1-20 comma separated symbols",
                                   "type": "value_error"}])
    return svc.risk_var(syms, timeframe, alpha)


@router.post("/halt", dependencies=[Depends(write_access)])
def halt(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("halt", body.bot if body else None, body.reason if body else "")


@router.post("/resume", dependencies=[Depends(write_access)])
def resume(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("resume", body.bot if body else None, body.reason if body else "")


@router.post("/kill-switch", dependencies=[Depends(write_access)])
def kill(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("kill", body.bot if body else None, body.reason if body else "")
