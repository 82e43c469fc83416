"""Paper trading: start/stop a bot on the node, status, account, positions, trades, manual trades."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import PAGED, Page, page_params, paged, slice_list
from quantdesk.api.responses.paper import Account, PaperStatus, Performance, Profit, Trade
from quantdesk.api.responses.trading import Position
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME, ManualTrade, SimulateSignals, StartPaper, StopPaper
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/paper-trading", tags=["paper trading"], responses=ERRORS)
BotQ = Query(default=None, pattern=NAME, description="Bot name (default: the latest bot).")


@router.post("/start", status_code=201, dependencies=[Depends(write_access)])
def start(body: StartPaper, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Start a paper bot on the node (replay feed, background thread)."""
    return svc.start_paper(name=body.name, strategy=body.strategy, params=body.params, symbols=body.symbols,
                           timeframe=body.timeframe, speed=body.speed, cash=body.cash, risk=body.risk,
                           start=body.start, end=body.end, fee=body.fee)


@router.post("/stop", dependencies=[Depends(write_access)])
def stop(body: StopPaper | None = None, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return {"stopped": svc.stop_paper(body.bot if body else None)}


@router.get("/status", response_model=PaperStatus, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def status(page: Page = Depends(page_params), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """`running`: the bots running on this node (live); `bots`: a page of every bot's status row (limit, offset;
    `total_bots` in all), from bounded queries."""
    return svc.paper_status(page.limit, page.offset or 0)


@router.get("/account", response_model=Account, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def account(bot: str | None = BotQ, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.account(bot)


@router.get("/positions", response_model=list[Position], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def positions(response: Response, bot: str | None = BotQ, page: Page = Depends(page_params),
              svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return slice_list(svc.positions(bot), page, response)


@router.get("/trades", response_model=list[Trade], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def trades(response: Response, bot: str | None = BotQ, page: Page = Depends(page_params),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """A bot's round trips, oldest first (default: the latest `limit`): P&L net of fees and in %, entry tag,
    exit reason, duration, and the open trade's unrealised P&L."""
    rows, total = svc.trades(bot, page.limit, page.offset)
    return paged(response, rows, total)


@router.post("/trade", status_code=201, dependencies=[Depends(write_access)])
def trade(body: ManualTrade, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """A manual market order outside the strategy (exactly one of quantity, notional, confidence)."""
    return svc.manual_trade(body.bot, body.side, quantity=body.quantity, notional=body.notional,
                            confidence=body.confidence, reason=body.reason, symbol=body.symbol)


@router.post("/simulate-signals", status_code=201, dependencies=[Depends(write_access)])
def simulate(body: SimulateSignals, svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    return svc.simulate_signals(body.bot, body.n, body.seed)


@router.get("/performance", response_model=Performance, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def performance(bot: str | None = BotQ, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return svc.performance(bot)


@router.get("/profit", response_model=Profit, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def profit(bot: str | None = BotQ,
           period: Literal["day", "week", "month"] = Query(default="day", description="Bar length of the profit."),
           svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Profit of the closed trades (net of fees) per day, week or month, and per pair."""
    return svc.profit(bot, period)
