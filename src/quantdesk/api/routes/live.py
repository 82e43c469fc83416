"""Live bots: what each node believes (orders with venue ids, fills with venue trade ids, positions, venue
balances, reconciliation state) and their controls. Live bots are also in `GET /bots` with `mode: "live"`, and
the paper controls (stop, force exit, cancel order, manual trade, risk halt / resume / kill switch) work on them
(queued for the bot's own `quantdesk live` process: service.live_control)."""

from __future__ import annotations

from typing import Any

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


LIVE_ACTIONS = {
    "stop": "Stop the bot (acts at once).",
    "kill": "Kill switch: cancel the bot's orders on the venue and flatten its positions.",
    "halt": "Halt trading (no new entries).",
    "resume": "Resume trading after a halt.",
    "exit": "Force exit: close the bot's open positions.",
}


def _action_route(action: str, summary: str) -> None:
    """One operation per control (the schema then says exactly which paths exist, each with `Allow: POST`)."""

    def live_action(name: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
        return live_control.control(svc.node.store, name, action, reason=f"{action} (API)")

    live_action.__doc__ = summary + " Queued for the bot's node (the others act after its next closed bar)."
    router.add_api_route(f"/{{name}}/{action}", live_action, methods=["POST"], name=f"live_{action}",
                         summary=f"Live bot: {action}", dependencies=[Depends(write_access)])


for _action, _summary in LIVE_ACTIONS.items():
    _action_route(_action, _summary)
