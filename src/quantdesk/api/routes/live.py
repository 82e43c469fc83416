"""Live bots: what each node believes (orders with venue ids, fills with venue trade ids, positions, venue
balances, reconciliation state) and their controls. Live bots are also in `GET /bots` with `mode: "live"`, and
the paper controls (stop, force exit, cancel order, manual trade, risk halt / resume / kill switch) work on them
(queued for the bot's own `quantdesk live` process: service.live_control)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Response

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import PAGED, Page, page_params, slice_list
from quantdesk.api.responses.trading import LiveBotStatus
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME
from quantdesk.service import live_control
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/live", tags=["live trading"], responses=ERRORS)


@router.get("", response_model=list[LiveBotStatus], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def live_bots(response: Response, page: Page = Depends(page_params),
              svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Every live bot with its orders, fills, positions, venue balances and last reconciliation."""
    return slice_list(live_control.status(svc.node.store), page, response)


@router.get("/{name}", response_model=LiveBotStatus, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def live_bot(name: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return live_control.status(svc.node.store, name)


@router.post("/{name}/{action}", dependencies=[Depends(write_access)])
def live_action(name: str = Path(pattern=NAME),
                action: Literal["stop", "kill", "halt", "resume", "exit"] = Path(description="The control."),
                svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Queue a control for the bot's node (a stop acts at once, the others after its next closed bar)."""
    return live_control.control(svc.node.store, name, action, reason=f"{action} (API)")
