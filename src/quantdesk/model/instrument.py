"""Instrument specification: precision, lot size, minimums and default fees."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.money import CONTEXT, quantum, round_down, round_nearest, to_decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the venue enforces for one instrument.

    `price_precision` decimals and `tick_size` (prices are rounded to the nearest tick); `size_precision` and
    `lot_size` (quantities are rounded DOWN to a lot); `min_quantity`, `min_notional` (orders below are
    rejected with a reason); default maker/taker fee rates (fractions of notional); `margin` allows shorts.
    Fees and cash are kept with `money_precision` decimals.
    """

    id: InstrumentId
    price_precision: int = 2
    size_precision: int = 8
    tick_size: Decimal | None = None
    lot_size: Decimal | None = None
    min_quantity: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    margin: bool = False
    money_precision: int = 10
    _pq: Decimal = field(init=False, repr=False, compare=False, default=Decimal(0))
    _sq: Decimal = field(init=False, repr=False, compare=False, default=Decimal(0))
    _mq: Decimal = field(init=False, repr=False, compare=False, default=Decimal(0))
    _tick_pow10: bool = field(init=False, repr=False, compare=False, default=False)
    _lot_pow10: bool = field(init=False, repr=False, compare=False, default=False)
    _quote: str = field(init=False, repr=False, compare=False, default="")
    _tick: Decimal = field(init=False, repr=False, compare=False, default=Decimal(0))
    _lot: Decimal = field(init=False, repr=False, compare=False, default=Decimal(0))

    def __post_init__(self) -> None:
        tick = quantum(self.price_precision) if self.tick_size is None else to_decimal(self.tick_size)
        lot = quantum(self.size_precision) if self.lot_size is None else to_decimal(self.lot_size)
        if tick <= 0 or lot <= 0:
            raise ValueError("tick_size and lot_size must be positive")
        for name, value in (("tick_size", tick), ("lot_size", lot), ("_tick", tick), ("_lot", lot)):
            object.__setattr__(self, name, value)
        for name in ("min_quantity", "min_notional", "maker_fee", "taker_fee"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        pq, sq = quantum(self.price_precision), quantum(self.size_precision)
        object.__setattr__(self, "_pq", pq)
        object.__setattr__(self, "_sq", sq)
        object.__setattr__(self, "_mq", quantum(self.money_precision))
        object.__setattr__(self, "_tick_pow10", tick == pq)
        object.__setattr__(self, "_lot_pow10", lot == sq)
        object.__setattr__(self, "_quote", self.id.quote)

    @property
    def tick(self) -> Decimal:
        """`tick_size` once resolved (typed without the None the constructor accepts)."""
        return self._tick

    @property
    def lot(self) -> Decimal:
        """`lot_size` once resolved (typed without the None the constructor accepts)."""
        return self._lot

    @property
    def quote_currency(self) -> str:
        return self._quote

    @property
    def base_currency(self) -> str:
        return self.id.base

    @property
    def money_quantum(self) -> Decimal:
        return quantum(self.money_precision)

    def make_price(self, value: float | Decimal | str) -> Decimal:
        """Convert and round a price to the nearest tick (half up)."""
        d = Decimal(repr(value)) if type(value) is float else to_decimal(value)
        if self._tick_pow10:
            return d.quantize(self._pq, rounding=ROUND_HALF_UP, context=CONTEXT)
        return round_nearest(d, self._tick).quantize(self._pq, context=CONTEXT)

    def make_qty(self, value: float | Decimal | str) -> Decimal:
        """Convert and round a quantity DOWN (towards zero) to the lot size."""
        d = Decimal(repr(value)) if type(value) is float else to_decimal(value)
        if self._lot_pow10:
            return d.quantize(self._sq, rounding=ROUND_DOWN, context=CONTEXT)
        return round_down(d, self._lot).quantize(self._sq, context=CONTEXT)

    def money(self, value: Decimal) -> Decimal:
        """Round an amount of money (fees, removed cost) to the money precision (half up)."""
        return value.quantize(self._mq, rounding=ROUND_HALF_UP, context=CONTEXT)
