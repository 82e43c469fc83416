"""Alerts raised on the node, newest first, with their per-channel delivery status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from quantdesk.api.deps import read_access, service
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME
from quantdesk.monitoring.alert_config import RuleKind, Severity
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)


@router.get("", dependencies=[Depends(read_access)])
def alerts(limit: int = Query(default=100, ge=1, le=1000),
           kind: RuleKind | None = Query(default=None, description="Rule kind, e.g. fill or risk_halt."),
           severity: Severity | None = Query(default=None),
           bot: str | None = Query(default=None, pattern=NAME),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Each alert: id, ts (event time, UTC ISO), created_at, kind, severity, title, text, bot, symbol, status
    (dispatched | deduplicated) and deliveries [{channel, status (sent | failed | rate_limited | pending),
    attempts, error}]."""
    return svc.alerts(limit=limit, kind=kind, severity=severity, bot=bot)
