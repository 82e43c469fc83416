"""Enumerations of the domain model, including the order state machine."""

from __future__ import annotations

from enum import StrEnum


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled
    IOC = "ioc"  # immediate or cancel: fill what is possible at the first opportunity, cancel the rest
    FOK = "fok"  # fill or kill: all at the first opportunity, or nothing
    GTD = "gtd"  # good till date: expires at `expire_ts` (UTC ns)


class TrailingOffsetType(StrEnum):
    AMOUNT = "amount"  # price units
    PERCENT = "percent"  # percent of the best price (1.5 = 1.5 %)


class LiquiditySide(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class PositionSide(StrEnum):
    FLAT = "flat"
    LONG = "long"
    SHORT = "short"


class OrderStatus(StrEnum):
    """Order life cycle. Allowed transitions are in `_TRANSITIONS`; `Order.transition` enforces them.

    INITIALIZED -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED, or on the way CANCELED / EXPIRED;
    INITIALIZED -> DENIED (pre-trade risk); SUBMITTED -> REJECTED (venue).
    """

    INITIALIZED = "initialized"
    DENIED = "denied"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Working at the venue (can still fill)."""
        return self in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    def can_transition_to(self, new: OrderStatus) -> bool:
        return new in _TRANSITIONS[self]


_TERMINAL = frozenset(
    {OrderStatus.DENIED, OrderStatus.REJECTED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED}
)
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.INITIALIZED: frozenset({OrderStatus.SUBMITTED, OrderStatus.DENIED, OrderStatus.CANCELED}),
    OrderStatus.SUBMITTED: frozenset({OrderStatus.ACCEPTED, OrderStatus.REJECTED, OrderStatus.CANCELED}),
    OrderStatus.ACCEPTED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED}
    ),
    OrderStatus.DENIED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}
