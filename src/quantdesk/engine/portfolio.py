"""Portfolio: positions in several instruments over one shared cash balance (one quote currency for now).

Exact Decimal accounting. For every fill: cash changes by -(signed qty x price) - fee; the position's cost by
the opened part minus the removed part; realised P&L = closing proceeds - removed cost. Hence, exactly,

    equity(marks) == cash + sum(qty x mark)
    (cash - starting cash) + sum(position cost) == sum(realised P&L) - sum(fees)

Short positions need `margin=True` (the venue rejects short sales otherwise). Round trips (the `trades`
table of a backtest) are recorded as fills arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from quantdesk.model.events import (
    AccountStateChanged,
    Event,
    OrderFilled,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import CONTEXT, ZERO, to_decimal
from quantdesk.model.orders import Fill
from quantdesk.model.position import Account, Position


@dataclass(slots=True)
class RoundTrip:
    """A trade from flat to flat (a flip closes one and opens another)."""

    instrument: InstrumentId
    side: str  # "long" | "short"
    entry_ts: int
    entry_qty: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_notional: Decimal = ZERO
    fees: Decimal = ZERO
    realized: Decimal = ZERO
    exit_ts: int | None = None
    entry_order_id: str = ""  # the order whose fill opened the trip (its tag says why it was entered)
    exit_order_id: str = ""  # the order whose fill closed it (stop-loss, take-profit, signal, manual...)

    @property
    def is_open(self) -> bool:
        return self.exit_ts is None

    @property
    def entry_price(self) -> Decimal:
        return CONTEXT.divide(self.entry_notional, self.entry_qty)

    @property
    def exit_price(self) -> Decimal | None:
        return CONTEXT.divide(self.exit_notional, self.exit_qty) if self.exit_qty else None


def fill_from_event(event: OrderFilled) -> Fill:
    return Fill(
        event.client_order_id,
        event.trade_id,
        event.instrument,
        event.side,
        event.price,
        event.quantity,
        event.fee,
        event.fee_currency,
        event.liquidity,
        event.ts_event,
    )


class Portfolio:
    """Positions + account. `emit` receives the position and account events produced by each fill."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        starting_cash: Decimal | float | str,
        currency: str | None = None,
        *,
        margin: bool = False,
        emit: Callable[[Event], None] | None = None,
        wants: Callable[[str], bool] | None = None,
    ) -> None:
        self.instruments: dict[InstrumentId, Instrument] = {i.id: i for i in instruments}
        if not self.instruments:
            raise ValueError("a portfolio needs at least one instrument")
        quotes = {i.quote_currency for i in self.instruments.values()}
        if currency is None:
            if len(quotes) != 1:
                raise ValueError(
                    f"instruments have several quote currencies {sorted(quotes)}; give `currency`"
                )
            currency = quotes.pop()
        self.currency = currency
        self.starting_cash = to_decimal(starting_cash)
        self.account = Account({currency: self.starting_cash}, margin=margin)
        self.margin = margin
        self.positions: dict[InstrumentId, Position] = {
            i.id: Position(i.id, money_precision=i.money_precision) for i in self.instruments.values()
        }
        self.emit = emit
        self.wants = wants  # e.g. MessageBus.has_subscribers: skip building events nobody listens to
        self.trips: list[RoundTrip] = []
        self._open_trip: dict[InstrumentId, RoundTrip] = {}
        self.fills: list[Fill | OrderFilled] = []
        self._last_iid: InstrumentId | None = None
        self._last_pos: Position  # read only once `_last_iid` matched, i.e. after it was set
        self.version = 0  # increments on every fill (cheap change detection)

    # ---- AccountView --------------------------------------------------------------------------------
    def position_qty(self, instrument: InstrumentId) -> Decimal:
        return self.position(instrument).quantity

    def cash(self, currency: str | None = None) -> Decimal:
        return self.account.balance(currency or self.currency)

    # ---- valuation ----------------------------------------------------------------------------------
    def position(self, instrument: InstrumentId) -> Position:
        if instrument is self._last_iid:  # identity cache: InstrumentId hashing is comparatively slow
            return self._last_pos
        pos = self.positions[instrument]
        self._last_iid, self._last_pos = instrument, pos
        return pos

    def equity(self, marks: Mapping[InstrumentId, Decimal | float]) -> Decimal:
        total = self.cash()
        for iid, pos in self.positions.items():
            if pos.quantity:
                total = CONTEXT.add(total, CONTEXT.multiply(pos.quantity, to_decimal(marks[iid])))
        return total

    def unrealized_pnl(self, marks: Mapping[InstrumentId, Decimal | float]) -> Decimal:
        total = ZERO
        for iid, pos in self.positions.items():
            if pos.quantity:
                total = CONTEXT.add(total, pos.unrealized_pnl(to_decimal(marks[iid])))
        return total

    @property
    def realized_pnl(self) -> Decimal:
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    @property
    def total_fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), ZERO)

    @property
    def cost_basis(self) -> Decimal:
        return sum((p.cost for p in self.positions.values()), ZERO)

    def exposure(self, marks: Mapping[InstrumentId, Decimal | float]) -> tuple[Decimal, Decimal]:
        """(gross, net) market value of the positions."""
        gross = net = ZERO
        for iid, pos in self.positions.items():
            if pos.quantity:
                value = pos.market_value(to_decimal(marks[iid]))
                gross += abs(value)
                net += value
        return gross, net

    # ---- updates ------------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Bus handler: applies OrderFilled events."""
        if type(event) is OrderFilled:
            self.apply_fill(event)

    def apply_fill(self, fill: Fill | OrderFilled) -> None:
        """Apply one execution (a `Fill`, or an `OrderFilled` event which has the same fields)."""
        try:
            pos = self.position(fill.instrument)
        except KeyError:
            raise KeyError(f"fill for unknown instrument {fill.instrument}") from None
        before = pos.quantity
        realized = pos.apply(fill)
        self.account.adjust(fill.fee_currency or self.currency, -fill.fee)
        self.account.adjust(self.currency, -CONTEXT.multiply(fill.signed_qty, fill.price))
        self.fills.append(fill)
        self.version += 1
        self._record_trip(fill, before, pos.quantity, realized)
        emit = self.emit
        if emit is not None and (self.wants is None or self.wants("positions") or self.wants("account")):
            ts = fill.ts_ns
            args = (ts, ts, fill.instrument, pos.quantity, pos.avg_price, pos.realized_pnl, pos.fees)
            if before == 0:
                emit(PositionOpened(*args))
            elif pos.quantity == 0:
                emit(PositionClosed(*args))
            else:
                if (before > 0) != (pos.quantity > 0):
                    emit(PositionClosed(ts, ts, fill.instrument, ZERO, None, pos.realized_pnl, pos.fees))
                    emit(PositionOpened(*args))
                else:
                    emit(PositionChanged(*args))
            emit(AccountStateChanged(ts, ts, self.currency, self.cash()))

    def _record_trip(
        self, fill: Fill | OrderFilled, before: Decimal, after: Decimal, realized: Decimal
    ) -> None:
        iid = fill.instrument
        q = fill.quantity
        trip = self._open_trip.get(iid)
        if before == 0 or (before > 0) == (fill.signed_qty > 0):
            if trip is None:
                trip = RoundTrip(iid, "long" if fill.signed_qty > 0 else "short", fill.ts_ns,
                                 entry_order_id=fill.client_order_id)
                self._open_trip[iid] = trip
                self.trips.append(trip)
            trip.entry_qty += q
            trip.entry_notional += q * fill.price
            trip.fees += fill.fee
            return
        closing = min(q, abs(before))
        assert trip is not None
        fee_close = fill.fee if closing == q else CONTEXT.divide(CONTEXT.multiply(fill.fee, closing), q)
        trip.exit_qty += closing
        trip.exit_notional += closing * fill.price
        trip.fees += fee_close
        trip.realized += realized
        if after == 0 or (after > 0) != (before > 0):
            trip.exit_ts = fill.ts_ns
            trip.exit_order_id = fill.client_order_id
            del self._open_trip[iid]
        if closing < q:
            rest = q - closing
            new = RoundTrip(iid, "long" if fill.signed_qty > 0 else "short", fill.ts_ns,
                            entry_order_id=fill.client_order_id)
            new.entry_qty = rest
            new.entry_notional = rest * fill.price
            new.fees = fill.fee - fee_close
            self._open_trip[iid] = new
            self.trips.append(new)
