"""Ports: what the engine needs from a venue and a data feed. The simulated venue implements `ExecutionVenue`
for backtests and paper trading; an exchange adapter (ccxt) will implement the same port for live trading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Protocol

from quantdesk.model.data import Bar
from quantdesk.model.events import Event
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.orders import Order


class ExecutionVenue(Protocol):
    """Accepts orders and reports what happened as events through the `emit` callback it was given
    (OrderSubmitted/Accepted/Rejected/Filled/Canceled/Expired/Modified), synchronously or later. Everything the
    engine calls on a venue is declared here: the simulated venue (backtest, paper) and the live venue implement it.
    `emit_lifecycle`: whether to build submitted/accepted events (the engine turns it off when nobody listens)."""

    orders: dict[str, Order]
    working: dict[InstrumentId, list[Order]]
    emit: Callable[[Event], None]
    emit_lifecycle: bool

    def submit(self, order: Order, ts: int, ref_price: float) -> bool: ...

    def submit_bracket(
        self, entry: Order, take_profit: Order | None, stop_loss: Order | None, ts: int, ref_price: float
    ) -> bool: ...

    def cancel(self, client_order_id: str, ts: int, reason: str = "cancelled") -> bool: ...

    def modify(
        self,
        client_order_id: str,
        ts: int,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> bool: ...

    def open_orders(self, instrument: InstrumentId | None = None) -> list[Order]: ...

    # simulated venues match against bars; an exchange adapter makes these no-ops
    def process_bar(
        self, instrument: InstrumentId, ts: int, o: float, h: float, low: float, c: float, v: float
    ) -> None: ...

    def process_detail(
        self, instrument: InstrumentId, rows: Iterable[tuple[int, float, float, float, float, float]]
    ) -> None:
        """Lower-timeframe bars (ts, o, h, l, c, v) of one main bar, in order (intrabar fill detail)."""
        ...


class LiveFeed(Protocol):
    """Paper/live bars, pushed into `TradingEngine.on_bar` as they close."""

    def bars(self) -> Iterator[Bar]: ...
