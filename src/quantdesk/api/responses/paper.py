"""Paper trading: status, account, performance, profit, round trips (routes/paper.py)."""

from __future__ import annotations

from quantdesk.api.responses import IsoTime, Json, Money, Nanos, Number, Row
from quantdesk.api.responses.trading import BotStatus


class RunningBot(Row):
    """A bot running on this node: its live summary."""

    bot: str
    id: str
    status: str
    strategy: str
    symbols: list[str]
    timeframe: str
    bars: int
    bars_total: int | None = None
    orders: int
    fills: int
    starting_cash: Money
    cash: Money
    equity: Money
    realized_pnl: Money
    fees: Money
    positions: dict[str, Money]
    denied: int
    risk: Json
    time: IsoTime | None = None


class PaperStatus(Row):
    running: list[RunningBot]
    bots: list[BotStatus]
    total_bots: int


class AccountPosition(Row):
    symbol: str
    quantity: Money
    mark_price: Money | None = None
    market_value: Money | None = None


class Account(Row):
    bot: str
    status: str
    currency: str
    starting_cash: Money
    cash: Money
    equity: Money
    positions_value: Money
    total_pnl: Money
    realized_pnl: Money
    unrealized_pnl: Money
    realized_pnl_gross: Money
    fees: Money
    positions: list[AccountPosition]
    live: bool


class DailyPnl(Row):
    date: str
    pnl: Number


class EquityPoint(Row):
    ts: Nanos
    equity: Number


class Performance(Row):
    bot: str
    starting_cash: Number
    equity: Number
    today_pnl: Number
    daily_pnl: list[DailyPnl]
    total_return_pct: Number
    max_drawdown_pct: Number
    trades: int
    win_rate_pct: Number | None = None
    fills: int
    equity_curve: list[EquityPoint]


class Profit(Row):
    """Closed trades' profit (net of fees) per period (`bars`) and per pair."""

    bot: str
    period: str
    currency: str
    bars: list[Json]
    pairs: list[Json]


class Trade(Row):
    """A round trip: P&L net of fees and in %, entry tag, exit reason, duration; an open one's unrealised P&L."""

    bot: str
    seq: int | None = None
    symbol: str
    side: str
    status: str
    quantity: Money
    entry_price: Money | None = None
    exit_price: Money | None = None
    fees: Money
    realized_pnl: Money
    pnl: Money | None = None
    pnl_pct: Number | None = None
    unrealized_pnl: Money | None = None
    mark_price: Money | None = None
    entry_ts: Nanos | None = None
    exit_ts: Nanos | None = None
    entry_time: IsoTime | None = None
    exit_time: IsoTime | None = None
    duration_s: Number | None = None
    duration: str | None = None
    entry_tag: str | None = None
    exit_reason: str | None = None
