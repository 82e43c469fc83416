"""What a venue tells us about orders, fills and balances, as plain values (no ccxt types past this point).

Adapters (`quantdesk.adapters.ccxt.parsing`) turn ccxt's dicts into these; the exactly-once primitives of this
package (order tracker, fill book, reconciler) and the live node work on them only. Quantities and prices are
Decimals parsed from the venue's text, timestamps are UTC milliseconds (the venues' unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from quantdesk.model.enums import OrderSide, OrderStatus
from quantdesk.model.money import ZERO


def base_of(symbol: str) -> str:
    """`BTC/USDT` -> `BTC` (and `BTC/USDT:USDT` -> `BTC`)."""
    return symbol.split("/")[0]


def quote_of(symbol: str) -> str:
    """`BTC/USDT` -> `USDT` (settlement suffixes dropped)."""
    return symbol.split("/")[1].split(":")[0] if "/" in symbol else ""


@dataclass(frozen=True, slots=True)
class OrderReport:
    """One venue statement about one order: its status and cumulative filled quantity at `ts_ms`.

    `status` uses the model's OrderStatus; `filled` is cumulative (venues report it so), which is what makes
    out-of-order and duplicate reports harmless to a tracker that keeps the maximum."""

    client_order_id: str
    symbol: str
    side: OrderSide
    status: OrderStatus
    filled: Decimal = ZERO
    quantity: Decimal | None = None
    venue_order_id: str | None = None
    price: Decimal | None = None
    average: Decimal | None = None
    order_type: str = ""
    ts_ms: int = 0
    source: str = ""  # "rest", "stream", "snapshot", "query"

    def to_dict(self) -> dict[str, Any]:
        return {"client_order_id": self.client_order_id, "venue_order_id": self.venue_order_id,
                "symbol": self.symbol, "side": self.side.value, "status": self.status.value,
                "quantity": _s(self.quantity), "filled": _s(self.filled), "price": _s(self.price),
                "average": _s(self.average), "order_type": self.order_type, "ts_ms": self.ts_ms,
                "source": self.source}


@dataclass(frozen=True, slots=True)
class FillReport:
    """One execution at the venue, identified by the venue's `trade_id` (unique per symbol)."""

    trade_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    client_order_id: str | None = None
    venue_order_id: str | None = None
    fee: Decimal = ZERO
    fee_currency: str | None = None
    liquidity: str | None = None  # "maker" / "taker"
    ts_ms: int = 0
    source: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Booking key: venues number trades per symbol."""
        return (self.symbol, self.trade_id)

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def base_delta(self) -> Decimal:
        """Change of the base-asset holding: signed quantity, less a fee charged in the base asset."""
        fee = self.fee if self.fee_currency and self.fee_currency == base_of(self.symbol) else ZERO
        return self.signed_quantity - fee

    def to_dict(self) -> dict[str, Any]:
        return {"trade_id": self.trade_id, "client_order_id": self.client_order_id,
                "venue_order_id": self.venue_order_id, "symbol": self.symbol, "side": self.side.value,
                "qty": _s(self.quantity), "price": _s(self.price), "fee": _s(self.fee),
                "fee_currency": self.fee_currency, "liquidity": self.liquidity, "ts_ms": self.ts_ms}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> FillReport:
        return cls(trade_id=str(row["trade_id"]), symbol=str(row["symbol"]), side=OrderSide(row["side"]),
                   quantity=Decimal(str(row["qty"])), price=Decimal(str(row["price"])),
                   client_order_id=row.get("client_order_id"), venue_order_id=row.get("venue_order_id"),
                   fee=Decimal(str(row.get("fee") or 0)), fee_currency=row.get("fee_currency"),
                   liquidity=row.get("liquidity"), ts_ms=int(row.get("ts_ms") or 0))


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class VenueSnapshot:
    """The venue's truth at one moment, fetched by REST (after a reconnect, at start, and periodically).

    `trades` are the account's trades since `since_ms` for `symbols`; `positions` are net holdings per
    symbol (spot: the base asset's total balance). `requested_at_seq` is the caller's activity counter when it
    asked for the snapshot: a reconciler refuses to act on a snapshot older than the caller's own activity.
    `queried` holds by-client-id query answers (None: the venue does not know that id)."""

    taken_at_ms: int
    since_ms: int
    symbols: tuple[str, ...]
    open_orders: tuple[OrderReport, ...] = ()
    trades: tuple[FillReport, ...] = ()
    balances: Mapping[str, Balance] = field(default_factory=dict)
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    requested_at_seq: int | None = None
    queried: Mapping[str, OrderReport | None] = field(default_factory=dict)


class Outcome(StrEnum):
    """What a request did at the venue, as far as the client can tell."""

    ACCEPTED = "accepted"  # the venue took it (the report says how far it got)
    REJECTED = "rejected"  # the venue refused it for good (bad price, no funds, rules): it does not exist
    UNKNOWN = "unknown"  # the answer was lost (timeout, 5xx, dropped connection...): query by client id first
    RATE_LIMITED = "rate_limited"  # refused for now (429/418): send the same id again after `retry_after_s`
    DUPLICATE = "duplicate"  # the venue already has an open order with this client id
    NOT_FOUND = "not_found"  # (cancel/query) the venue does not know this order
    CANCELED = "canceled"  # (cancel) done


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
