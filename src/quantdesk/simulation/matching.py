"""Where a bar's prices reach a working order: the fill rules of the simulated venue (pure price logic; the
venue (`simulation.venue`) owns quantities, cash, lifecycle events and fills).

FILL RULES (bar = open, high, low, close, volume; an order submitted on the close of bar i is first
matched against bar i+1, its "first opportunity"):

- MARKET: fills at the open of the next bar (+ adverse slippage). Taker.
- LIMIT buy: if the bar opens at or below the limit, fills at the open; otherwise if low <= limit, fills at
  the limit. (Sell: mirror, open >= limit / high >= limit.) Maker, except when it was marketable on its first
  opportunity (opened through the limit on its first bar): taker. Limit fills never slip past the limit.
- STOP buy: if open >= stop (gap over), fills at the open; else if high >= stop, fills at the stop. Taker, with
  slippage. (Sell: open <= stop / low <= stop.)
- STOP_LIMIT: triggers like a stop (at the open if it gaps through, else at the trigger price), then behaves
  as a limit in the same bar if reachable: buy fills at min(trigger point, limit) if that is <= limit
  (taker), else at the limit if low <= limit (maker); otherwise it rests as a limit order.
- TRAILING_STOP (sell protects a long; buy protects a short): the reference is the best price since
  submission (the close at submission, then each bar's high for a sell / low for a buy); stop = ref - offset
  (amount) or ref x (1 - offset%) (mirror for buys). Conservative intrabar order: each bar is first checked
  against the stop computed from the reference *before* this bar (fills at the open if it gaps through, else at
  the stop), and only if it did not trigger is the reference updated with this bar's extreme.
- BRACKETS: an entry with take-profit (limit) and stop-loss (stop) children, which are reduce-only and OCO
  (when one fills the other is cancelled; partial fills shrink the sibling). Children are activated by the
  entry's fill and are matched from the entry bar onwards, starting at the entry fill price. On the entry bar the
  take-profit is only checked when the entry filled at the bar's open (otherwise the bar's high may have come
  before the entry). When a stop-loss and a take-profit could both fill within one bar, the STOP-LOSS fills
  (the worse case), unless detail (lower-timeframe) bars are given: then the detail bars of that period are
  walked in order, each with the same rules.
- TIME IN FORCE: GTC stays; GTD expires at the first bar whose open time >= expire_ts (before matching);
  IOC fills what is possible at its first opportunity and cancels the rest; FOK fills the full quantity at its
  first opportunity or is cancelled without any fill.
- REDUCE-ONLY: never increases or flips a position: the fill is capped at the open position; with no opposite
  position to reduce, the order is rejected at submission (cancelled if that happens while working). When a
  position becomes flat, its working reduce-only orders (e.g. the stop-loss of a position closed by hand) are
  cancelled ("position closed").
- PRECISION: quantities are rounded DOWN to the lot size, prices to the nearest tick; an order below the
  minimum quantity or minimum notional (at the reference price) is REJECTED with a reason.
- CASH / MARGIN: without margin a sell larger than the long position is rejected (no shorting) and a buy whose
  cost (notional + fee) exceeds the cash is cancelled at fill time. With margin neither check applies.
- `notional=` orders resolve quantity = notional / fill price; `all_cash=True` buys resolve
  quantity = cash / (fill price x (1 + fee rate)) at the fill (rounded down to the lot).
- VOLUME: with `VolumeShare(cap)` slippage at most cap x bar volume fills per bar per instrument; the rest
  stays working (PARTIALLY_FILLED) and continues on later bars.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from quantdesk.model.enums import LiquiditySide, OrderSide, OrderType, TrailingOffsetType
from quantdesk.model.instrument import Instrument
from quantdesk.model.orders import Order

_MAKER = LiquiditySide.MAKER
_TAKER = LiquiditySide.TAKER

# (base price: the bar's float or an order's Decimal price, liquidity, limit price | None)
Match = tuple[float | Decimal, LiquiditySide, Decimal | None]


def match_bar(order: Order, o: float, h: float, low: float, first: bool,
              instrument_of: Callable[[Order], Instrument]) -> Match | None:
    """Where this bar (open, high, low) fills `order`, or None. A stop-limit records its trigger and a trailing
    stop moves its reference (on the order, re-priced to `instrument_of(order)`'s tick) as a side effect, once per
    bar. The order's own checks guarantee the prices its type needs (a limit has `price`, a stop `trigger_price`,
    a trailing stop its offset and, once accepted, `trigger_price` and `trail_ref`)."""
    buy = order.side is OrderSide.BUY
    t = order.type
    if t is OrderType.MARKET:
        return o, _TAKER, None
    if t is OrderType.LIMIT or (t is OrderType.STOP_LIMIT and order.triggered):
        price = order.price
        assert price is not None
        lim = float(price)
        if (o <= lim) if buy else (o >= lim):
            return o, (_TAKER if first and not order.triggered else _MAKER), price
        if (low <= lim) if buy else (h >= lim):
            return price, _MAKER, price
        return None
    if t is OrderType.STOP:
        trigger = order.trigger_price
        assert trigger is not None
        st = float(trigger)
        if (o >= st) if buy else (o <= st):
            return o, _TAKER, None
        if (h >= st) if buy else (low <= st):
            return trigger, _TAKER, None
        return None
    if t is OrderType.STOP_LIMIT:
        price, trigger = order.price, order.trigger_price
        assert price is not None and trigger is not None
        st = float(trigger)
        lim = float(price)
        point: float
        if (o >= st) if buy else (o <= st):
            point = o
        elif (h >= st) if buy else (low <= st):
            point = st
        else:
            return None
        order.triggered = True
        if (point <= lim) if buy else (point >= lim):
            return (o if point == o else trigger), _TAKER, price
        if (low <= lim) if buy else (h >= lim):
            return price, _MAKER, price
        return None
    if t is OrderType.TRAILING_STOP:
        trigger = order.trigger_price
        assert trigger is not None
        stop = float(trigger)
        if (o >= stop) if buy else (o <= stop):
            return o, _TAKER, None
        if (h >= stop) if buy else (low <= stop):
            return trigger, _TAKER, None
        # not triggered: only now move the reference with this bar's extreme
        ref = order.trail_ref
        assert ref is not None
        order.trail_ref = min(ref, low) if buy else max(ref, h)
        if order.trail_ref != ref:
            update_trail_price(order, instrument_of(order))
        return None
    raise ValueError(f"unknown order type {t}")


def trail_stop(order: Order) -> float:
    """The trailing stop's trigger from its reference: ref -/+ offset (amount) or ref x (1 -/+ offset%)."""
    ref, offset = order.trail_ref, order.trailing_offset
    assert ref is not None and offset is not None  # set on acceptance / checked by the order
    off = float(offset)
    buy = order.side is OrderSide.BUY
    if order.trailing_offset_type is TrailingOffsetType.PERCENT:
        return ref * (1 + off / 100.0) if buy else ref * (1 - off / 100.0)
    return ref + off if buy else ref - off


def update_trail_price(order: Order, inst: Instrument) -> None:
    order.trigger_price = inst.make_price(trail_stop(order))
