"""Fills booked exactly once, by the venue's trade id.

The same execution reaches the node several times: on the private stream, again in the REST snapshot after a
reconnect, again after a restart when the node re-reads the venue's trades since its last booking (the
NautilusTrader #3046 failure: a replayed fill booked twice). `FillBook.book` keys every fill by
(symbol, trade id): the first arrival is booked, later ones are recognised as duplicates (and checked: the same
trade id with a different quantity, price or side is a venue/parser inconsistency and raises `FillConflict`,
because booking either version silently would corrupt the position).

The book can be saved (`records`) and restored (`FillBook.from_records`) so that a restarted node knows which
trade ids it has already booked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from quantdesk.execution.models import FillReport
from quantdesk.model.money import ZERO


class FillConflict(RuntimeError):
    """Two different executions under one venue trade id: the node cannot tell which is true (fail closed)."""


@dataclass
class FillBook:
    """Booked fills keyed by (symbol, trade id), with per-order and per-symbol totals."""

    fills: dict[tuple[str, str], FillReport] = field(default_factory=dict)
    duplicates: int = 0
    _by_order: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal), repr=False)
    _position: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal), repr=False)

    def book(self, fill: FillReport) -> bool:
        """Book `fill`; True if it is new, False if this trade id was booked before (nothing changes)."""
        known = self.fills.get(fill.key)
        if known is not None:
            if (known.quantity, known.price, known.side) != (fill.quantity, fill.price, fill.side):
                raise FillConflict(
                    f"trade {fill.trade_id} on {fill.symbol}: booked as {known.side.value} {known.quantity} @ "
                    f"{known.price}, now reported as {fill.side.value} {fill.quantity} @ {fill.price}")
            self.duplicates += 1
            return False
        self.fills[fill.key] = fill
        if fill.client_order_id:
            self._by_order[fill.client_order_id] += fill.quantity
        self._position[fill.symbol] += fill.base_delta
        return True

    def book_all(self, fills: Iterable[FillReport]) -> list[FillReport]:
        """Book each; returns the new ones, in the given order."""
        return [f for f in fills if self.book(f)]

    def has(self, symbol: str, trade_id: str) -> bool:
        return (symbol, str(trade_id)) in self.fills

    def filled(self, client_order_id: str) -> Decimal:
        """Total booked quantity of one order."""
        return self._by_order.get(client_order_id, ZERO)

    def position(self, symbol: str) -> Decimal:
        """Net base-asset change from booked fills of `symbol` (buy +, sell -, base-asset fees deducted)."""
        return self._position.get(symbol, ZERO)

    def positions(self) -> dict[str, Decimal]:
        return {s: q for s, q in self._position.items()}

    def since(self, symbol: str, since_ms: int) -> list[FillReport]:
        """Booked fills of `symbol` at or after `since_ms`."""
        return [f for f in self.fills.values() if f.symbol == symbol and f.ts_ms >= since_ms]

    def __iter__(self) -> Iterator[FillReport]:
        return iter(self.fills.values())

    def __len__(self) -> int:
        return len(self.fills)

    # ---- persistence --------------------------------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.fills.values()]

    @classmethod
    def from_records(cls, rows: Iterable[Mapping[str, Any]]) -> FillBook:
        book = cls()
        for row in rows:
            book.book(FillReport.from_dict(row))
        return book
