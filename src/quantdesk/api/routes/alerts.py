"""Alerts raised on the node, newest first, with their per-channel delivery status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from quantdesk.api.deps import read_access, service
from quantdesk.api.pagination import PAGED, paged
from quantdesk.api.responses.runs import Alert
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME
from quantdesk.monitoring.alert_config import RuleKind, Severity
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)


@router.get("", response_model=list[Alert], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def alerts(response: Response, limit: int = Query(default=100, ge=1, le=1000),
           offset: int = Query(default=0, ge=0, le=10**9, description="Alerts to skip, newest first."),
           kind: RuleKind | None = Query(default=None, description="Rule kind, e.g. fill or risk_halt."),
           severity: Severity | None = Query(default=None),
           bot: str | None = Query(default=None, pattern=NAME),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Each alert: id, ts (event time, UTC ISO), created_at, kind, severity, title, text, bot, symbol, status
    (dispatched | deduplicated) and deliveries [{channel, status (sent | failed | rate_limited | pending),
    attempts, error}]."""
    rows, total = svc.alerts_page(limit=limit, offset=offset, kind=kind, severity=severity, bot=bot)
    return paged(response, rows, total)
