"""What the risk engine and its rules may read from the trading engine they guard, declared as protocols.

The risk layer sits below the engine (the engine calls risk, never the reverse), so it cannot name the engine's
classes: it states the shape it needs, and the engine satisfies it structurally (`RiskEngine.bind(engine)`).
Anything a rule needs that is not here must be added here first, which keeps the engine free to change."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from quantdesk.core.clock import Clock
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.orders import Order


class CursorView(Protocol):
    """The bar cursor of one instrument: `index` is the last processed bar (-1 before the first)."""

    @property
    def index(self) -> int: ...


class RiskLeg(Protocol):
    """One instrument as the engine holds it: price columns up to the cursor, position and last close."""

    @property
    def iid(self) -> InstrumentId: ...

    @property
    def instrument(self) -> Instrument: ...

    @property
    def view(self) -> CursorView: ...

    @property
    def position_f(self) -> float: ...

    @property
    def last_close(self) -> float: ...

    # bar columns (array('q') / array('d')): timestamps, high, low, close
    ts: Any
    h: Any
    l: Any  # noqa: E741 - the low column, as in the engine
    c: Any


class RiskPortfolio(Protocol):
    def position_qty(self, instrument: InstrumentId) -> Decimal: ...

    @property
    def trips(self) -> Sequence[Any]: ...


class RiskVenue(Protocol):
    @property
    def orders(self) -> dict[str, Order]: ...

    def open_orders(self, instrument: InstrumentId | None = None) -> list[Order]: ...


class RiskBus(Protocol):
    def publish(self, message: Any, topic: str | None = None) -> None: ...


class SizingHost(Protocol):
    """What position sizing reads (`sizing.context_from_engine`): a strategy's `TradingContext` and the risk
    engine's `RiskContext` both provide it."""

    @property
    def equity_f(self) -> float: ...

    def leg(self, symbol: Any = None) -> RiskLeg: ...

    @property
    def portfolio(self) -> RiskPortfolio: ...


class RiskContext(Protocol):
    """The trading engine as risk sees it: clock and bar counters, float mirrors of cash and equity, legs,
    portfolio, the venue's working orders, the event log and bus, and the one action risk may take on its own:
    `risk_flatten` (a breaker or the kill switch cancels orders and closes positions)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def bar_index(self) -> int: ...

    @property
    def matching_step(self) -> int | None: ...

    @property
    def cash_f(self) -> float: ...

    @property
    def equity_f(self) -> float: ...

    @property
    def legs(self) -> Sequence[RiskLeg]: ...

    def leg(self, symbol: Any = None) -> RiskLeg: ...

    def last_price(self, instrument: Any = None) -> float: ...

    @property
    def portfolio(self) -> RiskPortfolio: ...

    @property
    def venue(self) -> RiskVenue: ...

    @property
    def events(self) -> list[dict[str, Any]]: ...

    @property
    def bus(self) -> RiskBus: ...

    def risk_flatten(self, reason: str, *, positions: bool, cancel: str = "all") -> tuple[int, int]: ...
