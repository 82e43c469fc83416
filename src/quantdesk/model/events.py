"""Events (past tense): what happened. Frozen; `ts_event` = when it happened, `ts_init` = when the object was
created, both UTC integer nanoseconds. Every event has a `topic` (its bus topic)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from quantdesk.model.enums import LiquiditySide, OrderSide, OrderType
from quantdesk.model.identifiers import InstrumentId


@dataclass(frozen=True, slots=True)
class Event:
    ts_event: int
    ts_init: int

    topic = "event"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": type(self).__name__}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = str(v) if isinstance(v, (Decimal, InstrumentId)) else getattr(v, "value", v)
        return out


@dataclass(frozen=True, slots=True)
class OrderEvent(Event):
    client_order_id: str
    instrument: InstrumentId
    strategy_id: str

    topic = "orders"


@dataclass(frozen=True, slots=True)
class OrderSubmitted(OrderEvent):
    pass


@dataclass(frozen=True, slots=True)
class OrderAccepted(OrderEvent):
    pass


@dataclass(frozen=True, slots=True)
class OrderRejected(OrderEvent):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderDenied(OrderEvent):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderCanceled(OrderEvent):
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderExpired(OrderEvent):
    pass


@dataclass(frozen=True, slots=True)
class OrderModified(OrderEvent):
    quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderFilled(OrderEvent):
    trade_id: str = ""
    side: OrderSide = OrderSide.BUY
    order_type: OrderType = OrderType.MARKET
    price: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    liquidity: LiquiditySide = LiquiditySide.TAKER
    leaves_qty: Decimal = Decimal(0)

    @property
    def signed_qty(self) -> Decimal:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def ts_ns(self) -> int:
        return self.ts_event


@dataclass(frozen=True, slots=True)
class PositionEvent(Event):
    instrument: InstrumentId
    quantity: Decimal  # signed, after the fill
    avg_price: Decimal | None
    realized_pnl: Decimal
    fees: Decimal

    topic = "positions"


@dataclass(frozen=True, slots=True)
class PositionOpened(PositionEvent):
    pass


@dataclass(frozen=True, slots=True)
class PositionChanged(PositionEvent):
    pass


@dataclass(frozen=True, slots=True)
class PositionClosed(PositionEvent):
    pass


@dataclass(frozen=True, slots=True)
class AccountStateChanged(Event):
    currency: str
    balance: Decimal

    topic = "account"


@dataclass(frozen=True, slots=True)
class StrategyErrored(Event):
    """A strategy callback raised: the engine stopped the strategy. `bar_index` is the bar it was on (-1 before
    the first bar, e.g. in on_start)."""

    strategy_id: str
    callback: str
    error: str
    bar_index: int = -1

    topic = "strategy"
