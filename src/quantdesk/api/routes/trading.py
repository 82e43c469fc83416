"""Bots, orders, positions, signals (from the trading store)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import PAGED, Page, page_params, paged, slice_list
from quantdesk.api.responses.trading import BotIndicators, BotStatus, Fill, Order, Position, Signal, Strategy
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME, SYMBOL, ForceExit, NewOrder
from quantdesk.service.facade import QuantDeskService

router = APIRouter(tags=["trading"], responses=ERRORS)
BotQ = Query(default=None, pattern=NAME, description="Bot name (default: the latest bot).")


@router.get("/bots", response_model=list[BotStatus], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def bots(response: Response, page: Page = Depends(page_params),
         svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Every bot of the database with its current state (status, cash, equity, positions) and the sizes of its
    history, in creation order (bounded queries: no history is loaded)."""
    rows, total = svc.bots_page(page.limit, page.offset or 0)
    return paged(response, rows, total)


@router.get("/bots/{name}", response_model=BotStatus, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def bot(name: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.bot(name)


@router.get("/bots/{name}/indicators", response_model=BotIndicators, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def bot_indicators(name: str = Path(pattern=NAME),
                   symbol: str | None = Query(default=None, pattern=SYMBOL, description="Default: its first symbol."),
                   limit: int = Query(default=500, ge=1, le=10_000, description="Last bars."),
                   svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """The strategy's own indicators for the bot's chart, grouped as the strategy declares (`plot_config`)."""
    return svc.bot_indicators(name, symbol, limit)


@router.post("/bots/{name}/force-exit", dependencies=[Depends(write_access)])
def force_exit(name: str = Path(pattern=NAME), body: ForceExit | None = None,
               svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Close the bot's open position now (freqtrade's forceexit): its working orders on that symbol are
    cancelled and a reduce-only market order tagged `force_exit` fills at the next bar's open. 409 when flat or
    when the bot is not running."""
    body = body or ForceExit()
    return svc.force_exit(name, body.symbol, body.reason)


def _bot_action(action: str, doc: str) -> None:
    """POST /bots/{name}/<action>: one route per action, so that the schema lists exactly the paths that exist
    (a `{action}` parameter made POST /bots/x/indicators a 422 instead of a 405)."""

    def act(name: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
        return svc.bot_control(name, action)

    act.__doc__ = doc
    router.add_api_route(f"/bots/{{name}}/{action}", act, methods=["POST"], name=f"bot_{action}",
                         dependencies=[Depends(write_access)])


for _action, _doc in (("pause", "Pause a running bot (it keeps its state; no new orders)."),
                      ("resume", "Resume a paused bot."),
                      ("stop", "Stop a running bot."),
                      ("start", "Start a stopped bot again (state recovered from the database).")):
    _bot_action(_action, _doc)


@router.get("/strategies", response_model=list[Strategy], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def strategies(response: Response, page: Page = Depends(page_params),
               svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Built-in strategies and their parameters (type, default, min, max, choices)."""
    return slice_list(svc.strategies(), page, response)


OrderStatus = Literal["initialized", "submitted", "accepted", "partially_filled", "filled", "canceled", "denied",
                      "rejected", "expired"]


@router.get("/orders", response_model=list[Order], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def orders(response: Response, bot: str | None = BotQ, status: OrderStatus | None = Query(default=None),
           page: Page = Depends(page_params), svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """A bot's orders, oldest first (default: the latest `limit`)."""
    rows, total = svc.history("orders", bot, page.limit, page.offset, status)
    return paged(response, rows, total)


@router.get("/orders/{order_id}", response_model=Order, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def order(order_id: str = Path(max_length=200), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.order(order_id)


@router.post("/orders", status_code=201, dependencies=[Depends(write_access)])
def new_order(body: NewOrder, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """An order on a running paper bot: market (fills at the next bar's open), limit or stop at `price`
    (working until filled or canceled). Recorded first, then risk-checked and executed."""
    return svc.manual_trade(body.bot, body.side, quantity=body.quantity, notional=body.notional, confidence=None,
                            reason=body.reason, symbol=body.symbol, order_type=body.type, price=body.price)


@router.delete("/orders/{order_id}", dependencies=[Depends(write_access)])
def cancel(order_id: str = Path(max_length=200),
           reason: str = Query(default="", max_length=500, description="Why (stored with the cancellation)."),
           svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Cancel a working order of a running bot: 404 unknown id, 409 when it is no longer working."""
    return svc.cancel_order(order_id, reason)


@router.get("/positions", response_model=list[Position], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def positions(response: Response, bot: str | None = BotQ, page: Page = Depends(page_params),
              svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return slice_list(svc.positions(bot), page, response)


@router.get("/fills", response_model=list[Fill], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def fills(response: Response, bot: str | None = BotQ, page: Page = Depends(page_params),
          svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """A bot's fills, oldest first (default: the latest `limit`)."""
    rows, total = svc.history("fills", bot, page.limit, page.offset)
    return paged(response, rows, total)


@router.get("/signals", response_model=list[Signal], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def signals(response: Response, bot: str | None = BotQ, page: Page = Depends(page_params),
            svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """A bot's signals, oldest first (default: the latest `limit`): the strategy's own orders (source
    "strategy", the order's tag as the reason) and the manual, simulated and API signals."""
    rows, total = svc.signals(bot, page.limit, page.offset)
    return paged(response, rows, total)
