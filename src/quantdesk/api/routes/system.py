"""Health (per component) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse

from quantdesk.api.deps import read_access, service
from quantdesk.api.schemas import Health, WhoAmI
from quantdesk.service.facade import QuantDeskService

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "down: the database cannot be reached"}})
def health(response: Response, svc: QuantDeskService = Depends(service)) -> dict:
    """200 when ok or degraded (the named components in `degraded`), 503 when down, for load balancers."""
    report = svc.health()
    if report["status"] == "down":
        response.status_code = 503
    return report


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    body, ctype = request.app.state.metrics.render()
    return PlainTextResponse(body, media_type=ctype)


@router.get("/auth/whoami", response_model=WhoAmI, responses={401: {"description": "no or invalid key"}})
def whoami(rec: dict[str, Any] | None = Depends(read_access)) -> dict[str, Any]:
    """The key presented (X-API-Key or Bearer): its id, name and whether it is read-only. For logins."""
    if rec is None:
        raise HTTPException(401, "an API key is required (header X-API-Key or Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})
    return {"id": rec["id"], "name": rec["name"], "read_only": bool(rec["read_only"])}
