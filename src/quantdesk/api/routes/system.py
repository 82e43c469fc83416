"""Health (per component) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse

from quantdesk.api.deps import key_access, read_access, service
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import ApiVersion, Health, WhoAmI, WsTicket
from quantdesk.api.version import API_VERSION
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


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(read_access)],
            responses={k: v for k, v in ERRORS.items() if k in (401, 429)})
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format. Needs a key like every route, unless config api.public_metrics is on."""
    body, ctype = request.app.state.metrics.render()
    return PlainTextResponse(body, media_type=ctype)


@router.get("/version", response_model=ApiVersion, dependencies=[Depends(read_access)],
            responses={k: v for k, v in ERRORS.items() if k in (401, 429)})
def version() -> dict[str, str]:
    """The API's version (also in the `X-API-Version` header of every response) and the app's."""
    from quantdesk import __version__

    return {"api_version": API_VERSION, "app_version": __version__}


@router.get("/auth/whoami", response_model=WhoAmI, responses={k: v for k, v in ERRORS.items() if k in (401, 429)})
def whoami(rec: dict[str, Any] = Depends(key_access)) -> dict[str, Any]:
    """The key presented (X-API-Key or Bearer): its id, name and whether it is read-only. For logins."""
    return {"id": rec["id"], "name": rec["name"], "read_only": bool(rec["read_only"])}


@router.post("/auth/ws-ticket", response_model=WsTicket, status_code=201,
             responses={k: v for k, v in ERRORS.items() if k in (401, 429)})
def ws_ticket(request: Request, rec: dict[str, Any] = Depends(key_access)) -> dict[str, Any]:
    """A one-time WebSocket ticket for clients that can only authenticate through the URL: open
    `/ws?ticket=...` within `expires_in` seconds (spent on use; any key may ask, with its own rights)."""
    tickets = request.app.state.tickets
    try:
        ticket = tickets.issue(rec)
    except OverflowError:
        raise HTTPException(429, "too many open WebSocket tickets", headers={"Retry-After": "30"}) from None
    return {"ticket": ticket, "expires_in": tickets.ttl_s}
