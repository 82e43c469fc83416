"""Health (per component) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from quantdesk.api.deps import service
from quantdesk.api.schemas import Health
from quantdesk.service.facade import QuantDeskService

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
def health(svc: QuantDeskService = Depends(service)) -> dict:
    return svc.health()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    body, ctype = request.app.state.metrics.render()
    return PlainTextResponse(body, media_type=ctype)
