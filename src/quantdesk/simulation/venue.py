"""The simulated venue: a matching core on bars, shared by backtests and paper trading.

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

import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol

from quantdesk.model.enums import (
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from quantdesk.model.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderSubmitted,
)
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import CONTEXT, ONE, ZERO, round_down
from quantdesk.model.orders import Order
from quantdesk.simulation.models import FeeModel, NoSlippage, SlippageModel

_MAKER = LiquiditySide.MAKER


def _limit_last(order: Order) -> bool:
    return order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.triggered)


_TAKER = LiquiditySide.TAKER


class AccountView(Protocol):
    """What the venue needs to know about the account it trades for."""

    def position_qty(self, instrument: InstrumentId) -> Decimal: ...

    def cash(self, currency: str) -> Decimal: ...


class SimulatedVenue:
    """Matching core for bar data. Events go to `emit` synchronously (the portfolio must apply fills at once)."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        account: AccountView,
        emit: Callable[[Event], None],
        *,
        fees: FeeModel | None = None,
        slippage: SlippageModel | None = None,
        margin: bool = False,
        name: str = "sim",
    ) -> None:
        self.instruments: dict[InstrumentId, Instrument] = {i.id: i for i in instruments}
        self.account = account
        self.emit = emit
        self.fees = fees or FeeModel()
        self.slippage = slippage or NoSlippage()
        self.margin = margin
        self.name = name
        # build OrderSubmitted/OrderAccepted/OrderModified events? (a backtest with no listener skips them)
        self.emit_lifecycle = True
        self.orders: dict[str, Order] = {}
        self.working: dict[InstrumentId, list[Order]] = {i: [] for i in self.instruments}
        self._children: dict[str, list[Order]] = {}  # entry id -> inactive bracket children
        self._activated: list[tuple[Order, float, bool]] = []  # (child, entry price, entry at open)
        self._trade_seq = 0
        self._last_iid: InstrumentId | None = None
        self._last_inst: Instrument  # read only once `_last_iid` matched, i.e. after it was set
        self._budget = math.inf
        self._ts = 0

    # ---- helpers ------------------------------------------------------------------------------------
    def has_working(self, instrument: InstrumentId) -> bool:
        return bool(self.working[instrument])

    def open_orders(self, instrument: InstrumentId | None = None) -> list[Order]:
        if instrument is not None:
            return [o for o in self.working[instrument] if o.status.is_open]
        return [o for lst in self.working.values() for o in lst if o.status.is_open]

    def _margin_ok(self, inst: Instrument) -> bool:
        return self.margin or inst.margin

    def _instrument(self, order: Order) -> Instrument:
        iid = order.instrument
        if iid is self._last_iid:  # identity cache: InstrumentId hashing is comparatively slow
            return self._last_inst
        try:
            inst = self.instruments[iid]
            self._last_iid, self._last_inst = iid, inst
            return inst
        except KeyError:
            raise KeyError(f"instrument {order.instrument} is not traded on venue {self.name!r}") from None

    # ---- commands -----------------------------------------------------------------------------------
    def submit(self, order: Order, ts: int, ref_price: float) -> bool:
        """Submit (validate, round, accept or reject). Returns True when accepted."""
        self._ts = ts
        inst = self._instrument(order)
        self.orders[order.client_order_id] = order
        order.transition(OrderStatus.SUBMITTED, ts)
        if self.emit_lifecycle:
            self.emit(OrderSubmitted(ts, ts, order.client_order_id, order.instrument, order.strategy_id))
        reason = self._validate(order, inst, ref_price)
        if reason:
            order.transition(OrderStatus.REJECTED, ts, reason)
            self.emit(
                OrderRejected(ts, ts, order.client_order_id, order.instrument, order.strategy_id, reason)
            )
            self._cancel_children(order, ts, "parent rejected")
            return False
        self._accept(order, ts, ref_price)
        return True

    def submit_bracket(
        self, entry: Order, take_profit: Order | None, stop_loss: Order | None, ts: int, ref_price: float
    ) -> bool:
        children = [c for c in (take_profit, stop_loss) if c is not None]
        ids = tuple(c.client_order_id for c in children)
        for child in children:
            child.parent_id = entry.client_order_id
            child.reduce_only = True
            child.linked_ids = tuple(i for i in ids if i != child.client_order_id)
            self.orders[child.client_order_id] = child
        if children:
            self._children[entry.client_order_id] = children
        return self.submit(entry, ts, ref_price)

    def cancel(self, client_order_id: str, ts: int, reason: str = "cancelled") -> bool:
        order = self.orders.get(client_order_id)
        if order is None or order.is_terminal:
            return False
        self._cancel(order, ts, reason)
        return True

    def modify(
        self,
        client_order_id: str,
        ts: int,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> bool:
        order = self.orders.get(client_order_id)
        if order is None or not order.is_open:
            return False
        inst = self._instrument(order)
        if quantity is not None:
            q = inst.make_qty(quantity)
            if q <= order.filled_qty:
                return False
            order.quantity = q
        if price is not None:
            order.price = inst.make_price(price)
        if trigger_price is not None:
            order.trigger_price = inst.make_price(trigger_price)
        self.emit(
            OrderModified(
                ts,
                ts,
                order.client_order_id,
                order.instrument,
                order.strategy_id,
                order.quantity,
                order.price,
                order.trigger_price,
            )
        )
        return True

    # ---- validation ---------------------------------------------------------------------------------
    def _validate(self, order: Order, inst: Instrument, ref_price: float) -> str:
        if order.price is not None:
            order.price = inst.make_price(order.price)
            if order.price <= 0:
                return "price rounds to zero"
        if order.trigger_price is not None:
            order.trigger_price = inst.make_price(order.trigger_price)
        if order.quantity is not None:
            order.quantity = inst.make_qty(order.quantity)
            if order.quantity <= 0:
                return f"quantity rounds to zero at lot size {inst.lot_size}"
            if order.quantity < inst.min_quantity:
                return f"quantity {order.quantity} below minimum {inst.min_quantity}"
            ref = order.price if order.price is not None else inst.make_price(ref_price)
            if inst.min_notional and order.quantity * ref < inst.min_notional:
                return f"notional {order.quantity * ref} below minimum {inst.min_notional}"
        elif order.notional is not None and order.notional < inst.min_notional:
            return f"notional {order.notional} below minimum {inst.min_notional}"
        if order.tif is TimeInForce.GTD and order.expire_ts is not None and order.expire_ts <= self._ts:
            return "GTD expire time is in the past"
        pos = self.account.position_qty(order.instrument)
        if order.reduce_only:
            if pos == 0 or (pos > 0) == (order.side is OrderSide.BUY):
                return "reduce-only order would open or increase a position"
        elif not self._margin_ok(inst) and order.side is OrderSide.SELL:
            if order.quantity is None or order.quantity > pos:
                return "short selling requires a margin account (sell exceeds the long position)"
        return ""

    def _accept(self, order: Order, ts: int, ref_price: float) -> None:
        order.transition(OrderStatus.ACCEPTED, ts)
        order.bars_seen = 0
        if order.type is OrderType.TRAILING_STOP:
            order.trail_ref = float(ref_price)
            self._update_trail_price(order)
        self.working[order.instrument].append(order)
        if self.emit_lifecycle:
            self.emit(OrderAccepted(ts, ts, order.client_order_id, order.instrument, order.strategy_id))

    # ---- bar processing -----------------------------------------------------------------------------
    def process_bar(
        self, instrument: InstrumentId, ts: int, o: float, h: float, low: float, c: float, v: float
    ) -> None:
        """Match the working orders of `instrument` against one bar."""
        orders = self.working[instrument]
        if not orders:
            return
        self._ts = ts
        cap = self.slippage.volume_cap
        self._budget = cap * v if cap is not None else math.inf
        # stops first: when a stop and a limit could both fill within the bar, assume the worse (stop) came first
        batch = sorted(orders, key=_limit_last) if len(orders) > 1 else list(orders)
        for order in batch:
            if order.is_terminal:
                continue
            if order.tif is TimeInForce.GTD and order.expire_ts is not None and ts >= order.expire_ts:
                self._expire(order, ts)
                continue
            self._step(order, ts, o, h, low, v, True)
        while self._activated:
            activated, self._activated = self._activated, []
            # stop-losses before take-profits: when both can fill, the worse one wins
            activated.sort(key=lambda t: t[0].type is OrderType.LIMIT)
            for child, entry_px, at_open in activated:
                if child.is_terminal:
                    continue
                self._step(child, ts, entry_px, max(h, entry_px), min(low, entry_px), v, at_open)
        orders[:] = [x for x in orders if not x.is_terminal]

    def process_detail(
        self, instrument: InstrumentId, rows: Iterable[tuple[int, float, float, float, float, float]]
    ) -> None:
        """Walk lower-timeframe bars (ts, o, h, l, c, v) of one main bar in order."""
        for ts, o, h, low, c, v in rows:
            if not self.working[instrument]:
                return
            self.process_bar(instrument, ts, o, h, low, c, v)

    def _step(
        self, order: Order, ts: int, o: float, h: float, low: float, v: float, allow_limit: bool
    ) -> None:
        first = order.bars_seen == 0
        if order.parent_id is not None and order.type is OrderType.LIMIT and not allow_limit:
            match = None  # take-profit on an entry bar whose path before the entry is unknown
        else:
            match = self._match(order, o, h, low, first)
        order.bars_seen += 1
        if match is None:
            if first and order.tif in (TimeInForce.IOC, TimeInForce.FOK):
                self._cancel(order, ts, f"{order.tif.value.upper()}: not fillable at first opportunity")
            return
        base_price, liquidity, limit_px = match
        self._fill(order, ts, base_price, liquidity, limit_px, v, first)

    def _match(
        self, order: Order, o: float, h: float, low: float, first: bool
    ) -> tuple[float | Decimal, LiquiditySide, Decimal | None] | None:
        """Return (price float | Decimal, liquidity, limit Decimal | None) or None.

        The order's own checks guarantee the prices its type needs (a limit has `price`, a stop
        `trigger_price`, a trailing stop its offset and, once accepted, `trigger_price` and `trail_ref`).
        """
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
                self._update_trail_price(order)
            return None
        raise ValueError(f"unknown order type {t}")

    def _trail_stop(self, order: Order) -> float:
        ref, offset = order.trail_ref, order.trailing_offset
        assert ref is not None and offset is not None  # set on acceptance / checked by the order
        off = float(offset)
        buy = order.side is OrderSide.BUY
        if order.trailing_offset_type is TrailingOffsetType.PERCENT:
            return ref * (1 + off / 100.0) if buy else ref * (1 - off / 100.0)
        return ref + off if buy else ref - off

    def _update_trail_price(self, order: Order) -> None:
        order.trigger_price = self._instrument(order).make_price(self._trail_stop(order))

    # ---- fills --------------------------------------------------------------------------------------
    def _fill(
        self,
        order: Order,
        ts: int,
        base_price: float | Decimal,
        liquidity: LiquiditySide,
        limit_px: Decimal | None,
        v: float,
        first: bool,
    ) -> None:
        inst = self._instrument(order)
        buy = order.side is OrderSide.BUY
        rate = self.fees.rate(inst, liquidity)
        base_f = float(base_price)
        # desired quantity
        budget = self._budget
        if order.quantity is not None:
            qty_f = float(order.quantity - order.filled_qty)
        elif budget != math.inf:
            qty_f = float(self._resolve_qty(order, inst, inst.make_price(base_f), rate))
        else:
            qty_f = 0.0  # sized below at the final price; no volume-dependent slippage without a cap
        if qty_f > budget:
            qty_f = budget
        # price
        if liquidity is _TAKER and isinstance(base_price, float) or limit_px is None:
            px_f = self.slippage.adjust(base_f, buy, qty_f, v)
            price = inst.make_price(px_f) if px_f != base_f or isinstance(base_price, float) else base_price
        else:
            price = base_price if isinstance(base_price, Decimal) else inst.make_price(base_f)
        if limit_px is not None:
            if buy and price > limit_px:
                price = limit_px
            elif not buy and price < limit_px:
                price = limit_px
        if price <= 0:
            self._cancel(order, ts, "fill price rounds to zero")
            return
        if order.quantity is None:
            order.quantity = self._resolve_qty(order, inst, price, rate)
            if order.quantity <= 0 or order.quantity < inst.min_quantity:
                self._cancel(order, ts, "insufficient cash" if order.all_cash else "quantity below minimum")
                return
        qty = order.quantity - order.filled_qty
        if budget != math.inf and float(qty) > budget:
            qty = round_down(Decimal(repr(budget)), inst.lot)
            if order.tif is TimeInForce.FOK:
                self._cancel(order, ts, "FOK: not enough volume to fill the full quantity")
                return
            if qty <= 0:
                return  # no volume left on this bar; stays working
        # position constraints
        pos = self.account.position_qty(order.instrument)
        if order.reduce_only:
            allowed = -pos if buy else pos
            if allowed <= 0:
                self._cancel(order, ts, "reduce-only: no position to reduce")
                return
            if qty > allowed:
                qty = allowed
                order.quantity = order.filled_qty + qty
        margin = self._margin_ok(inst)
        if not margin and not buy and qty > pos:
            self._cancel(order, ts, "short selling requires a margin account")
            return
        notional = CONTEXT.multiply(qty, price)
        fee = self.fees.fee(inst, notional, liquidity)
        if not margin and buy:
            cash = self.account.cash(inst.quote_currency)
            if notional + fee > cash:
                self._cancel(order, ts, f"insufficient cash: need {notional + fee}, have {cash}")
                return
        self._trade_seq += 1
        order.apply_fill(qty, price, fee, ts)
        if budget != math.inf:
            self._budget = budget - float(qty)
        self.emit(
            OrderFilled(
                ts,
                ts,
                order.client_order_id,
                order.instrument,
                order.strategy_id,
                f"{self.name}-{self._trade_seq}",
                order.side,
                order.type,
                price,
                qty,
                fee,
                inst.quote_currency,
                liquidity,
                order.quantity - order.filled_qty,
            )
        )
        self._after_fill(order, ts, qty, price, isinstance(base_price, float))
        if self.account.position_qty(order.instrument) == 0:
            # flat: reduce-only orders left over (stop-loss / take-profit of the closed position) are cancelled,
            # so they can never act on a later position (as futures exchanges do)
            for other in self.working[order.instrument]:
                if other.reduce_only and other is not order and other.status.is_open:
                    self._cancel(other, ts, "position closed")
        if (
            order.status is OrderStatus.PARTIALLY_FILLED
            and first
            and order.tif in (TimeInForce.IOC, TimeInForce.FOK)
        ):
            self._cancel(order, ts, "IOC: remainder cancelled")

    def _resolve_qty(self, order: Order, inst: Instrument, price: Decimal, rate: Decimal) -> Decimal:
        if order.all_cash:
            cash = self.account.cash(inst.quote_currency)
            if cash <= 0:
                return ZERO
            qty = round_down(CONTEXT.divide(cash, CONTEXT.multiply(price, ONE + rate)), inst.lot)
            while qty > 0:
                notional = CONTEXT.multiply(qty, price)
                if notional + inst.money(CONTEXT.multiply(notional, rate)) <= cash:
                    break
                qty -= inst.lot
            return inst.make_qty(max(qty, ZERO))
        assert order.notional is not None  # an order gives quantity, notional or all_cash
        return inst.make_qty(CONTEXT.divide(order.notional, price))

    def _after_fill(self, order: Order, ts: int, qty: Decimal, price: Decimal, at_open: bool) -> None:
        # OCO siblings: a full fill cancels them, a partial fill shrinks them
        for sid in order.linked_ids:
            sib = self.orders.get(sid)
            if sib is None or sib.is_terminal:
                continue
            if order.status is OrderStatus.FILLED:
                self._cancel(sib, ts, f"OCO: {order.client_order_id} filled")
            elif sib.quantity is not None:
                new_q = sib.quantity - qty
                if new_q <= sib.filled_qty:
                    self._cancel(sib, ts, f"OCO: {order.client_order_id} filled")
                elif sib.status.is_open:
                    sib.quantity = new_q
        # bracket children: activate on the entry's first fill, grow with later fills
        children = self._children.get(order.client_order_id)
        if children:
            for child in children:
                if child.is_terminal:
                    continue
                child.quantity = order.filled_qty
                if child.status is OrderStatus.INITIALIZED:
                    child.transition(OrderStatus.SUBMITTED, ts)
                    if self.emit_lifecycle:
                        self.emit(
                            OrderSubmitted(ts, ts, child.client_order_id, child.instrument, child.strategy_id)
                        )
                    self._accept(child, ts, float(price))
                    self._activated.append((child, float(price), at_open))
            if order.status is OrderStatus.FILLED:
                del self._children[order.client_order_id]

    # ---- terminal transitions -----------------------------------------------------------------------
    def _cancel(self, order: Order, ts: int, reason: str) -> None:
        if order.is_terminal:
            return
        order.transition(OrderStatus.CANCELED, ts, reason)
        self.emit(OrderCanceled(ts, ts, order.client_order_id, order.instrument, order.strategy_id, reason))
        if order.filled_qty == 0:
            self._cancel_children(order, ts, "parent cancelled")
        else:
            self._children.pop(order.client_order_id, None)

    def _expire(self, order: Order, ts: int) -> None:
        order.transition(OrderStatus.EXPIRED, ts, "GTD expired")
        self.emit(OrderExpired(ts, ts, order.client_order_id, order.instrument, order.strategy_id))
        if order.filled_qty == 0:
            self._cancel_children(order, ts, "parent expired")
        else:
            self._children.pop(order.client_order_id, None)

    def _cancel_children(self, order: Order, ts: int, reason: str) -> None:
        for child in self._children.pop(order.client_order_id, []):
            if not child.is_terminal:
                child.transition(OrderStatus.CANCELED, ts, reason)
                self.emit(
                    OrderCanceled(ts, ts, child.client_order_id, child.instrument, child.strategy_id, reason)
                )
