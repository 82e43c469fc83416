"""An order state machine that takes the venue's execution reports in any order, any number of times.

Venues and their streams deliver duplicates (a resend after a reconnect, the REST snapshot repeating what the
stream said) and reorder reports (a FILLED before its NEW, a PARTIALLY_FILLED after a later one). The model's
strict `Order.transition` would raise on those; here each report is MERGED into the known state instead:

- the cumulative filled quantity only grows (the maximum of everything reported);
- the status only moves forward along SUBMITTED < ACCEPTED < PARTIALLY_FILLED < terminal, and a terminal
  status (FILLED, CANCELED, EXPIRED, REJECTED) is never left; a filled quantity equal to the order's quantity
  is FILLED whatever the report said;
- a report that changes nothing is a duplicate (`apply` returns None), so a caller can act on changes only.

The final state after a set of reports does not depend on their order or multiplicity (property-tested with
Hypothesis in tests/unit/execution). Conflicting terminal statuses (CANCELED then FILLED) keep the one with
more filled and are counted in `conflicts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from quantdesk.execution.models import OrderReport
from quantdesk.model.enums import OrderSide, OrderStatus
from quantdesk.model.money import ZERO

TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED,
                      OrderStatus.DENIED})
_RANK = {OrderStatus.INITIALIZED: 0, OrderStatus.SUBMITTED: 1, OrderStatus.ACCEPTED: 2,
         OrderStatus.PARTIALLY_FILLED: 3}


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """What the node knows about one order (immutable; `OrderTracker` swaps in merged copies)."""

    client_order_id: str
    symbol: str
    side: OrderSide
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: Decimal = ZERO
    quantity: Decimal | None = None
    venue_order_id: str | None = None
    price: Decimal | None = None
    average: Decimal | None = None
    ts_ms: int = 0
    reports: int = 0
    conflicts: int = 0

    @property
    def is_open(self) -> bool:
        """Could still trade at the venue (accepted, or sent and not answered yet)."""
        return self.status not in TERMINAL

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def merged(self, report: OrderReport) -> TrackedOrder:
        """This order after `report` (see the module docstring for the rules)."""
        filled = max(self.filled, report.filled)
        quantity = self.quantity if self.quantity is not None else report.quantity
        conflicts = self.conflicts
        if self.status in TERMINAL:
            status = self.status
            if report.status in TERMINAL and report.status is not self.status:
                conflicts += 1
                if report.filled > self.filled:  # the other terminal knows more fills: it is the later truth
                    status = report.status
        elif report.status in TERMINAL:
            status = report.status
        else:
            status = max(self.status, report.status, key=lambda s: _RANK.get(s, 0))
        if filled > 0 and status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.INITIALIZED):
            status = OrderStatus.PARTIALLY_FILLED
        if quantity is not None and filled >= quantity and filled > 0 and status is not OrderStatus.FILLED:
            status = OrderStatus.FILLED
        average = report.average if report.average is not None and report.filled >= self.filled else self.average
        return replace(self, status=status, filled=filled, quantity=quantity,
                       venue_order_id=self.venue_order_id or report.venue_order_id,
                       price=self.price if self.price is not None else report.price, average=average,
                       ts_ms=max(self.ts_ms, report.ts_ms), reports=self.reports + 1, conflicts=conflicts)

    def same_state(self, other: TrackedOrder) -> bool:
        return (self.status, self.filled, self.venue_order_id, self.quantity) == (
            other.status, other.filled, other.venue_order_id, other.quantity)


@dataclass
class OrderTracker:
    """The node's orders by client id, updated by merging venue reports (`apply`)."""

    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    duplicates: int = 0

    def expect(self, client_order_id: str, symbol: str, side: OrderSide, quantity: Decimal | None,
               price: Decimal | None = None) -> TrackedOrder:
        """Register an order the node is about to send (status SUBMITTED). Idempotent."""
        known = self.orders.get(client_order_id)
        if known is not None:
            return known
        order = TrackedOrder(client_order_id, symbol, side, OrderStatus.SUBMITTED, quantity=quantity, price=price)
        self.orders[client_order_id] = order
        return order

    def apply(self, report: OrderReport) -> TrackedOrder | None:
        """Merge a report; returns the new state if it changed anything, None for a duplicate / stale report.
        A report for an order the node never registered starts tracking it (adopted)."""
        known = self.orders.get(report.client_order_id)
        if known is None:
            known = TrackedOrder(report.client_order_id, report.symbol, report.side, OrderStatus.SUBMITTED,
                                 quantity=report.quantity)
            merged = known.merged(report)
            self.orders[report.client_order_id] = merged
            return merged
        merged = known.merged(report)
        self.orders[report.client_order_id] = merged
        if merged.same_state(known):
            self.duplicates += 1
            return None
        return merged

    def reject_unsent(self, client_order_id: str) -> TrackedOrder | None:
        """An order the venue proved it never received (query: unknown id, past the request's expiry)."""
        known = self.orders.get(client_order_id)
        if known is None or known.is_terminal:
            return None
        gone = replace(known, status=OrderStatus.REJECTED)
        self.orders[client_order_id] = gone
        return gone

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self.orders.get(client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        return [o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter(self.orders.values())

    def __len__(self) -> int:
        return len(self.orders)
