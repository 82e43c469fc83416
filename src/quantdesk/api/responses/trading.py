"""Bots, orders, fills, signals, positions and strategies (routes/trading.py)."""

from __future__ import annotations

from typing import Any

from quantdesk.api.responses import IsoTime, Json, Money, Nanos, Number, Row


class BotStatus(Row):
    """A bot's current state and the sizes of its history (GET /bots, /bots/{name}, status `bots`)."""

    bot: str
    id: str
    status: str
    strategy: str
    symbols: list[str]
    timeframe: str
    cursor: int | None = None
    starting_cash: Money
    cash: Money
    equity: Money | None = None
    positions: dict[str, Money]
    orders: int
    fills: int
    signals: int
    open_orders: int
    updated_at: IsoTime | None = None
    config: Json


class Order(Row):
    bot: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: Money | None = None
    price: Money | None = None
    trigger_price: Money | None = None
    notional: Money | None = None
    reduce_only: bool | None = None
    tif: str | None = None
    status: str
    filled_qty: Money | None = None
    avg_price: Money | None = None
    fees: Money | None = None
    reason: str | None = None
    tags: list[str] | None = None
    bar_index: int | None = None
    ts_init: Nanos | None = None
    ts_last: Nanos | None = None


class Fill(Row):
    bot: str
    trade_id: str | None = None
    client_order_id: str
    symbol: str
    side: str
    price: Money
    quantity: Money
    fee: Money
    fee_currency: str | None = None
    liquidity: str | None = None
    ts: Nanos


class Signal(Row):
    """A recorded signal (manual, simulated, API) or one of the strategy's own orders (source "strategy")."""

    bot: str
    seq: int | None = None
    bar_index: int | None = None
    source: str
    symbol: str | None = None
    side: str | None = None
    quantity: Money | None = None
    notional: Money | None = None
    confidence: Number | None = None
    reason: str | None = None
    client_order_id: str | None = None
    ts: Nanos | None = None
    action: str | None = None
    order_type: str | None = None
    price: Money | None = None


class Position(Row):
    bot: str
    symbol: str
    quantity: Money
    avg_price: Money | None = None
    cost: Money | None = None
    realized_pnl: Money | None = None
    fees: Money | None = None
    ts_last: Nanos | None = None


class StrategyParam(Row):
    type: str
    default: Any = None
    min: Number | None = None
    max: Number | None = None
    step: Number | None = None
    choices: list[Any] | None = None
    description: str = ""


class Strategy(Row):
    name: str
    doc: str
    params: dict[str, StrategyParam]


class PlotGroup(Row):
    id: str
    label: str
    overlay: bool
    outputs: list[str]
    values: list[dict[str, Number | str | None]]


class BotIndicators(Row):
    """The strategy's own indicators for the bot's chart (`plots`: one group per overlay or pane)."""

    bot: str
    symbol: str
    timeframe: str
    plots: list[PlotGroup]


class LiveOrder(Row):
    """An order of a live bot as its node knows it: our client id, the venue's id once acknowledged."""

    client_order_id: str
    venue_order_id: str | None = None
    status: str
    side: str
    symbol: str


class LiveFill(Row):
    """A fill booked once by the venue's trade id."""

    trade_id: str
    side: str
    qty: Any
    price: Any


class LiveBotStatus(Row):
    """What a live node believes (GET /live, /live/{name}): orders, fills, positions, venue balances and the last
    reconciliation with the venue."""

    bot: str
    mode: str
    status: str
    exchange: str | None = None
    strategy: str
    symbols: list[str]
    timeframe: str
    cursor: int | None = None
    halted: str | None = None
    orders: list[LiveOrder]
    fills: list[LiveFill]
    positions: dict[str, Any]
    balances: dict[str, Any]
    reconciliation: Json
    adopted: list[Json]
    intents: dict[str, int]
    running: bool
