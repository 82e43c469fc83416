"""Bots, orders, positions, signals (from the trading store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME, NewOrder
from quantdesk.service.facade import QuantDeskService

router = APIRouter(tags=["trading"], responses=ERRORS)
BotQ = Query(default=None, pattern=NAME, description="Bot name (default: the latest bot).")


@router.get("/bots", dependencies=[Depends(read_access)])
def bots(svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.bots()


@router.get("/bots/{name}", dependencies=[Depends(read_access)])
def bot(name: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.bot(name)


@router.get("/orders", dependencies=[Depends(read_access)])
def orders(bot: str | None = BotQ,
           status: str | None = Query(default=None, pattern=r"^[a-z_]{1,32}$"),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.orders(bot, status)


@router.get("/orders/{order_id}", dependencies=[Depends(read_access)])
def order(order_id: str = Path(max_length=200), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.order(order_id)


@router.post("/orders", status_code=201, dependencies=[Depends(write_access)])
def new_order(body: NewOrder, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """A market order on a running paper bot (recorded as a manual signal, then risk-checked and executed)."""
    return svc.manual_trade(body.bot, body.side, quantity=body.quantity, notional=body.notional, confidence=None,
                            reason=body.reason, symbol=body.symbol)


@router.delete("/orders/{order_id}", dependencies=[Depends(write_access)])
def cancel(order_id: str = Path(max_length=200), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    o = svc.order(order_id)  # 404 when unknown
    if o["status"] in ("filled", "canceled", "denied", "rejected", "expired"):
        raise HTTPException(409, f"order {order_id} is {o['status']}: nothing to cancel")
    raise HTTPException(409, "cancelling a working paper order is not supported yet (the node has no cancel command)")


@router.get("/positions", dependencies=[Depends(read_access)])
def positions(bot: str | None = BotQ, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.positions(bot)


@router.get("/fills", dependencies=[Depends(read_access)])
def fills(bot: str | None = BotQ, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.fills(bot)


@router.get("/signals", dependencies=[Depends(read_access)])
def signals(bot: str | None = BotQ, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.signals(bot)
