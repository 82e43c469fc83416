"""Orders and fills.

`Fill` is a frozen value. `Order` is the one mutable entity of the model: its *request* fields are set at
creation, its *state* (status, filled quantity, average price, trailing reference) changes only through
`transition`, which enforces the `OrderStatus` state machine (an illegal transition raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quantdesk.model.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.money import CONTEXT, ZERO


class InvalidOrderTransition(RuntimeError):
    """An order was asked to move to a status its state machine does not allow (a bug, not user input)."""


@dataclass(slots=True, eq=False)
class Order:
    """An order request plus its live state.

    Quantity: `quantity` (base units) or `notional` (quote units, resolved at the fill price), or
    `all_cash=True` (market buy of all available cash, fee-aware, resolved at the fill price).
    `price` is the limit price (LIMIT, STOP_LIMIT), `trigger_price` the stop (STOP, STOP_LIMIT, and the current
    stop of a TRAILING_STOP), `trailing_offset` + `trailing_offset_type` define a trailing stop.
    `parent_id` links bracket children to their entry (they activate when it fills); `linked_ids` are OCO
    siblings (one fills, the others are cancelled).
    """

    client_order_id: str
    instrument: InstrumentId
    side: OrderSide
    type: OrderType
    quantity: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType = TrailingOffsetType.AMOUNT
    tif: TimeInForce = TimeInForce.GTC
    expire_ts: int | None = None
    reduce_only: bool = False
    notional: Decimal | None = None
    all_cash: bool = False
    parent_id: str | None = None
    linked_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    strategy_id: str = ""
    ts_init: int = 0
    # ---- state --------------------------------------------------------------------------------------
    status: OrderStatus = OrderStatus.INITIALIZED
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: Decimal = ZERO
    triggered: bool = False
    trail_ref: float | None = None  # best price since submission (trailing stops)
    bars_seen: int = 0  # bars the order has been working (0 = first opportunity)
    reason: str = ""
    ts_last: int = 0

    def __post_init__(self) -> None:
        if self.quantity is None and self.notional is None and not self.all_cash:
            raise ValueError(f"order {self.client_order_id}: give quantity, notional or all_cash")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError(f"order {self.client_order_id}: quantity must be positive, got {self.quantity}")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.price is None:
            raise ValueError(f"order {self.client_order_id}: {self.type.value} order needs a price")
        if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) and self.trigger_price is None:
            raise ValueError(f"order {self.client_order_id}: {self.type.value} order needs a trigger_price")
        if self.type is OrderType.TRAILING_STOP and (
            self.trailing_offset is None or self.trailing_offset <= 0
        ):
            raise ValueError(f"order {self.client_order_id}: trailing stop needs a positive trailing_offset")
        if self.tif is TimeInForce.GTD and self.expire_ts is None:
            raise ValueError(f"order {self.client_order_id}: GTD needs expire_ts")

    def resize(self, quantity: Decimal) -> None:
        """Pre-trade sizing (the risk engine fitting an order to its limits): a fixed `quantity` replaces the
        requested size (quantity, notional or all cash). Only an order not yet submitted may be resized."""
        if self.status is not OrderStatus.INITIALIZED:
            raise InvalidOrderTransition(f"order {self.client_order_id}: only a new order can be resized")
        if quantity <= 0:
            raise ValueError(f"order {self.client_order_id}: quantity must be positive, got {quantity}")
        self.quantity = quantity
        self.notional = None
        self.all_cash = False

    # ---- state machine ------------------------------------------------------------------------------
    def transition(self, new: OrderStatus, ts: int = 0, reason: str = "") -> None:
        if not self.status.can_transition_to(new):
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: {self.status.value} -> {new.value} not allowed"
            )
        self.status = new
        self.ts_last = ts
        if reason:
            self.reason = reason

    def apply_fill(self, qty: Decimal, price: Decimal, fee: Decimal, ts: int) -> None:
        """Add a fill and move to PARTIALLY_FILLED or FILLED."""
        total = self.filled_qty + qty
        self.filled_notional = CONTEXT.add(self.filled_notional, CONTEXT.multiply(price, qty))
        self.filled_qty = total
        self.fees += fee
        done = self.quantity is not None and total >= self.quantity
        self.transition(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, ts)

    @property
    def avg_price(self) -> Decimal | None:
        """Volume-weighted average fill price (None before the first fill)."""
        if not self.filled_qty:
            return None
        return CONTEXT.divide(self.filled_notional, self.filled_qty)

    @property
    def leaves_qty(self) -> Decimal | None:
        return None if self.quantity is None else self.quantity - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def is_buy(self) -> bool:
        return self.side is OrderSide.BUY


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution: `quantity` > 0 in base units, `price` in quote, `fee` in `fee_currency`."""

    client_order_id: str
    trade_id: str
    instrument: InstrumentId
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: LiquiditySide
    ts_ns: int

    @property
    def signed_qty(self) -> Decimal:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity
