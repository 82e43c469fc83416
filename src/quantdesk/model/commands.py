"""Commands (imperative): what a strategy asks for. Frozen, with ts_init in UTC ns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.orders import Order


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    strategy_id: str
    order: Order
    ts_init: int


@dataclass(frozen=True, slots=True)
class SubmitBracket:
    """Entry plus take-profit and/or stop-loss children (OCO), activated when the entry fills."""

    strategy_id: str
    entry: Order
    take_profit: Order | None
    stop_loss: Order | None
    ts_init: int


@dataclass(frozen=True, slots=True)
class CancelOrder:
    strategy_id: str
    instrument: InstrumentId
    client_order_id: str
    ts_init: int


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    strategy_id: str
    instrument: InstrumentId
    client_order_id: str
    ts_init: int
    quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
