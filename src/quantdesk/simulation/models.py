"""Fee and slippage models of the simulated venue.

Fees: a fill that rested on the book (a limit order that was not marketable when it arrived) pays the maker
rate; market, stop, trailing-stop and marketable limit fills pay the taker rate. Fee = notional x rate, rounded
to the instrument's money precision.

Slippage applies to taker fills only (a limit order never fills worse than its limit):
- `NoSlippage`
- `FixedBps(bps)`: the price moves `bps` basis points against the order.
- `VolumeShare(cap, impact)`: at most `cap` x bar volume fills per bar (across all orders of the instrument);
  the rest stays working (partial fills). Price moves against the order by `impact` x share of the bar volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quantdesk.model.enums import LiquiditySide
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import CONTEXT, to_decimal


@dataclass(frozen=True, slots=True)
class FeeModel:
    """Maker/taker rates; `None` = the instrument's defaults."""

    maker: Decimal | None = None
    taker: Decimal | None = None

    def rate(self, instrument: Instrument, liquidity: LiquiditySide) -> Decimal:
        if liquidity is LiquiditySide.MAKER:
            return to_decimal(self.maker) if self.maker is not None else instrument.maker_fee
        return to_decimal(self.taker) if self.taker is not None else instrument.taker_fee

    def fee(self, instrument: Instrument, notional: Decimal, liquidity: LiquiditySide) -> Decimal:
        return instrument.money(CONTEXT.multiply(notional, self.rate(instrument, liquidity)))


class SlippageModel:
    """Base: no slippage, no volume cap."""

    volume_cap: float | None = None

    def adjust(self, price: float, is_buy: bool, qty: float, bar_volume: float) -> float:
        return price


class NoSlippage(SlippageModel):
    pass


@dataclass(frozen=True)
class FixedBps(SlippageModel):
    bps: float = 0.0
    volume_cap = None

    def adjust(self, price: float, is_buy: bool, qty: float, bar_volume: float) -> float:
        move = price * self.bps / 10_000.0
        return price + move if is_buy else price - move


@dataclass(frozen=True)
class VolumeShare(SlippageModel):
    cap: float = 0.025
    impact: float = 0.1
    bps: float = 0.0

    @property
    def volume_cap(self) -> float:  # type: ignore[override]
        return self.cap

    def adjust(self, price: float, is_buy: bool, qty: float, bar_volume: float) -> float:
        share = qty / bar_volume if bar_volume > 0 else 0.0
        factor = self.impact * share + self.bps / 10_000.0
        return price * (1 + factor) if is_buy else price * (1 - factor)
