"""Risk: configured limits, per-bot state, VaR, and the halt / resume / kill switch controls."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import PAGED, Page, page_params, slice_list
from quantdesk.api.responses.risk import BotRisk, Correlation, RiskLimits, RiskVar, Stress
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import SYMBOL, SYMBOL_LIST, TIMEFRAME, RiskAction
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/risk", tags=["risk"], responses=ERRORS)
_NUMBER = r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][+-]?[0-9]{1,2})?"  # finite, float() reads it
WEIGHTS = rf"^ *{_NUMBER} *(?:, *{_NUMBER} *){{0,19}}$"


@router.get("/limits", response_model=RiskLimits, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def limits(svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.risk_limits()


@router.get("/state", response_model=list[BotRisk], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def state(response: Response, page: Page = Depends(page_params),
          svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Per running bot: trading state, halt reason, denials by rule, limits and their usage."""
    return slice_list(svc.risk_state(), page, response)


def _symbols(symbols: str, lo: int = 1) -> list[str]:
    syms = [s.strip() for s in symbols.split(",") if s.strip()]
    if len(syms) < lo or len(syms) > 20 or not all(re.match(SYMBOL, s) for s in syms):
        raise HTTPException(422, [{"loc": ["query", "symbols"], "msg": f"{lo}-20 comma separated symbols",
                                   "type": "value_error"}])
    return syms


SymbolsQ = Query(max_length=1300, pattern=SYMBOL_LIST, examples=["BTC/USDT"],
                 description="1-20 symbols, comma separated.")


@router.get("/var", response_model=RiskVar, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def var(symbols: str = SymbolsQ, timeframe: str = Query(default="1d", pattern=TIMEFRAME),
        alpha: float = Query(default=0.95, gt=0.5, lt=1.0),
        svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.risk_var(_symbols(symbols), timeframe, alpha)


@router.get("/correlation", response_model=Correlation, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def correlation(symbols: str = SymbolsQ, timeframe: str = Query(default="1d", pattern=TIMEFRAME),
                svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Correlation matrix of bar returns on the common timestamps (for the heat map)."""
    return svc.risk_correlation(_symbols(symbols), timeframe)


@router.get("/stress", response_model=Stress, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def stress(symbols: str = SymbolsQ,
           weights: str | None = Query(default=None, max_length=400, pattern=WEIGHTS,
                                       description="Comma separated, one per symbol (default equal)."),
           timeframe: str = Query(default="1d", pattern=TIMEFRAME),
           value: float = Query(default=10_000.0, gt=0, le=1e12, description="Book value (quote currency)."),
           svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Crash, flash crash, correlation breakdown and the historical episodes found in the data, on the book."""
    syms = _symbols(symbols)
    w = None
    if weights:
        try:
            w = [float(x) for x in weights.split(",") if x.strip()]
        except ValueError:
            raise HTTPException(422, [{"loc": ["query", "weights"], "msg": "comma separated numbers",
                                       "type": "value_error"}]) from None
    return svc.risk_stress(syms, w, timeframe, value)


@router.post("/halt", dependencies=[Depends(write_access)])
def halt(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("halt", body.bot if body else None, body.reason if body else "")


@router.post("/resume", dependencies=[Depends(write_access)])
def resume(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("resume", body.bot if body else None, body.reason if body else "")


@router.post("/kill-switch", dependencies=[Depends(write_access)])
def kill(body: RiskAction | None = None, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.risk_action("kill", body.bot if body else None, body.reason if body else "")
