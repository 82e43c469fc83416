"""Position and account: exact Decimal accounting.

A position keeps its signed quantity and its *cost* (sum of signed qty x price of the open part). Reducing a
position removes a pro-rata part of the cost (quantised to the money precision) and books the difference as
realised P&L. So, exactly: change of cash + change of cost == realised P&L - fees, for every fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from quantdesk.model.enums import PositionSide
from quantdesk.model.events import OrderFilled
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.money import CONTEXT, ZERO, quantum, round_nearest
from quantdesk.model.orders import Fill


@dataclass(slots=True, eq=False)
class Position:
    instrument: InstrumentId
    quantity: Decimal = ZERO  # signed: > 0 long, < 0 short
    cost: Decimal = ZERO  # signed cost of the open quantity (qty x entry prices)
    realized_pnl: Decimal = ZERO  # gross of fees
    fees: Decimal = ZERO
    money_precision: int = 10
    ts_opened: int | None = None
    ts_last: int = 0

    @property
    def side(self) -> PositionSide:
        if self.quantity > 0:
            return PositionSide.LONG
        if self.quantity < 0:
            return PositionSide.SHORT
        return PositionSide.FLAT

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    @property
    def avg_price(self) -> Decimal | None:
        if self.quantity == 0:
            return None
        return CONTEXT.divide(self.cost, self.quantity)

    def market_value(self, mark: Decimal) -> Decimal:
        return CONTEXT.multiply(self.quantity, mark)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return CONTEXT.subtract(self.market_value(mark), self.cost)

    def apply(self, fill: Fill | OrderFilled) -> Decimal:
        """Apply a fill; returns the realised P&L (gross of fee) it produced."""
        q = fill.signed_qty
        price = fill.price
        realized = ZERO
        self.fees = CONTEXT.add(self.fees, fill.fee)
        self.ts_last = fill.ts_ns
        if self.quantity == 0:
            self.ts_opened = fill.ts_ns
        if self.quantity != 0 and (self.quantity > 0) != (q > 0):
            # reducing (and maybe flipping)
            closing = q if abs(q) <= abs(self.quantity) else -self.quantity
            if closing == -self.quantity:
                removed = self.cost
            else:
                removed = round_nearest(
                    CONTEXT.divide(CONTEXT.multiply(self.cost, abs(closing)), abs(self.quantity)),
                    quantum(self.money_precision),
                )
            realized = CONTEXT.subtract(CONTEXT.multiply(-closing, price), removed)
            self.cost = CONTEXT.subtract(self.cost, removed)
            self.quantity = CONTEXT.add(self.quantity, closing)
            self.realized_pnl = CONTEXT.add(self.realized_pnl, realized)
            q = CONTEXT.subtract(q, closing)
            if self.quantity == 0:
                self.cost = ZERO
                if q != 0:
                    self.ts_opened = fill.ts_ns
        if q != 0:
            self.cost = CONTEXT.add(self.cost, CONTEXT.multiply(q, price))
            self.quantity = CONTEXT.add(self.quantity, q)
        return realized


@dataclass(slots=True, eq=False)
class Account:
    """Cash balances per currency (one quote currency for now)."""

    balances: dict[str, Decimal] = field(default_factory=dict)
    margin: bool = False

    def balance(self, currency: str) -> Decimal:
        return self.balances.get(currency, ZERO)

    def adjust(self, currency: str, amount: Decimal) -> Decimal:
        value = CONTEXT.add(self.balances.get(currency, ZERO), amount)
        self.balances[currency] = value
        return value
