"""Domain model: frozen, typed value objects shared by backtest, paper and live.

Values, commands and events are frozen dataclasses with UTC int-ns timestamps; `Order`, `Position` and
`Account` are the mutable entities (state changes are validated). Accounting uses Decimal (`model.money`).
"""

from quantdesk.model.commands import CancelOrder, ModifyOrder, SubmitBracket, SubmitOrder
from quantdesk.model.data import Bar, BarView, QuoteTick, Tick, TradeTick
from quantdesk.model.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    TrailingOffsetType,
)
from quantdesk.model.events import (
    AccountStateChanged,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSubmitted,
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
    StrategyErrored,
)
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.orders import Fill, InvalidOrderTransition, Order
from quantdesk.model.position import Account, Position
from quantdesk.model.timeframe import Timeframe

__all__ = [
    "Account",
    "AccountStateChanged",
    "Bar",
    "BarView",
    "CancelOrder",
    "Event",
    "Fill",
    "Instrument",
    "InstrumentId",
    "InvalidOrderTransition",
    "LiquiditySide",
    "ModifyOrder",
    "Order",
    "OrderAccepted",
    "OrderCanceled",
    "OrderDenied",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderModified",
    "OrderRejected",
    "OrderSide",
    "OrderStatus",
    "OrderSubmitted",
    "OrderType",
    "Position",
    "PositionChanged",
    "PositionClosed",
    "PositionEvent",
    "PositionOpened",
    "PositionSide",
    "QuoteTick",
    "StrategyErrored",
    "SubmitBracket",
    "SubmitOrder",
    "Tick",
    "TimeInForce",
    "Timeframe",
    "TradeTick",
    "TrailingOffsetType",
]
