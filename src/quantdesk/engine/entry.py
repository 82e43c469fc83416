"""Order entry: what a strategy (and the risk engine's actions) can ask of the engine.

`order()` builds the Order (deterministic client id `{strategy_id}-{bar_index}-{n}`), lets the configured sizer
size orders without quantity, lets the risk engine fit it to the limits and check it (a denial is a `RiskDenied`
event), passes it through the order gate (paper/live: the write-ahead) and hands it to the venue. Also brackets,
attached exits (OCO), cancel, modify (risk-checked), the kill switch and the risk engine's flatten action.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from quantdesk.core.logging import get_logger
from quantdesk.model.commands import CancelOrder, ModifyOrder, SubmitBracket, SubmitOrder
from quantdesk.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from quantdesk.model.money import to_decimal
from quantdesk.model.orders import Order
from quantdesk.risk.events import RiskDenied

if TYPE_CHECKING:
    from quantdesk.core.bus import MessageBus
    from quantdesk.core.clock import Clock
    from quantdesk.engine.leg import Leg
    from quantdesk.engine.portfolio import Portfolio
    from quantdesk.engine.ports import ExecutionVenue
    from quantdesk.model.instrument import Instrument
    from quantdesk.risk.context import RiskContext
    from quantdesk.risk.engine import RiskEngine

log = get_logger("quantdesk.engine.engine")

OrderGate = Callable[[list[Order]], None]


class OrderEntry:
    """The order half of `TradingEngine` (a mixin: it reads the engine's state)."""

    if TYPE_CHECKING:  # the engine state this mixin reads and writes (set by TradingEngine.__init__)
        strategy: Any
        instrument: Instrument
        legs: list[Leg]
        clock: Clock
        bus: MessageBus
        risk: RiskEngine
        portfolio: Portfolio
        venue: ExecutionVenue
        order_gate: OrderGate | None
        orders_from_ns: int | None
        orders: list[Order]
        events: list[dict[str, Any]]
        active: bool
        _id_bar: int
        _id_seq: int
        _attached: dict[str, Order]

        @property
        def bar_index(self) -> int: ...

        @property
        def _risk_ctx(self) -> RiskContext:  # the engine itself (TradingEngine satisfies RiskContext)
            ...

        def leg(self, symbol: Any = None) -> Leg: ...

    def _before_orders_start(self) -> bool:
        """Orders are refused before `orders_from_ns` (walk-forward's warm-up bars trade nothing)."""
        start = self.orders_from_ns
        return start is not None and self.clock.now_ns() < start

    def _next_id(self) -> str:
        i = self.bar_index
        if i != self._id_bar:
            self._id_bar, self._id_seq = i, 0
        self._id_seq += 1
        return f"{self.strategy.strategy_id}-{i}-{self._id_seq}"

    def order(
        self,
        strategy: Any,
        side: OrderSide,
        quantity: float | Decimal | None = None,
        *,
        notional: float | Decimal | None = None,
        all_cash: bool = False,
        limit: float | Decimal | None = None,
        stop: float | Decimal | None = None,
        trailing: float | Decimal | None = None,
        trailing_percent: bool = False,
        tif: str | TimeInForce = TimeInForce.GTC,
        expire_ts: int | None = None,
        reduce_only: bool = False,
        stop_loss: float | Decimal | None = None,
        take_profit: float | Decimal | None = None,
        tag: str = "",
        symbol: Any = None,
    ) -> Order | None:
        if not self.active or (self.orders_from_ns is not None and self._before_orders_start()):
            return None
        leg = self.legs[0] if symbol is None else self.leg(symbol)
        iid = leg.iid
        ref_price = leg.last_close
        if symbol is not None and leg.view.index < 0:
            log.warning("order for %s refused: it has had no bar yet (no reference price)", iid)
            return None
        if quantity is None and self.risk.sizer is not None:  # risk.sizing: size orders without quantity
            sized = self.risk.size_order(self._risk_ctx, side, self.leg(symbol), all_cash)
            if sized is not None:
                q = self.leg(symbol).instrument.make_qty(to_decimal(sized)) if sized > 0 else Decimal(0)
                if q <= 0:
                    log.warning("order for %s dropped: the configured sizer gives quantity 0", iid)
                    return None
                quantity, notional, all_cash = q, None, False
        if trailing is not None:
            otype = OrderType.TRAILING_STOP
        elif limit is not None and stop is not None:
            otype = OrderType.STOP_LIMIT
        elif limit is not None:
            otype = OrderType.LIMIT
        elif stop is not None:
            otype = OrderType.STOP
        else:
            otype = OrderType.MARKET
        ts = self.clock.now_ns()
        order = Order(
            self._next_id(),
            iid,
            side,
            otype,
            quantity=None if quantity is None else to_decimal(quantity),
            price=None if limit is None else to_decimal(limit),
            trigger_price=None if stop is None else to_decimal(stop),
            trailing_offset=None if trailing is None else to_decimal(trailing),
            trailing_offset_type=TrailingOffsetType.PERCENT
            if trailing_percent
            else TrailingOffsetType.AMOUNT,
            tif=TimeInForce(tif),
            expire_ts=expire_ts,
            reduce_only=reduce_only,
            notional=None if notional is None else to_decimal(notional),
            all_cash=all_cash,
            tags=(tag,) if tag else (),
            strategy_id=strategy.strategy_id,
            ts_init=ts,
        )
        children: list[Order] = []
        tp = sl = None
        if take_profit is not None or stop_loss is not None:
            placeholder = order.quantity if order.quantity is not None else Decimal(1)
            if take_profit is not None:
                tp = Order(
                    self._next_id(),
                    order.instrument,
                    side.opposite,
                    OrderType.LIMIT,
                    quantity=placeholder,
                    price=to_decimal(take_profit),
                    reduce_only=True,
                    strategy_id=strategy.strategy_id,
                    ts_init=ts,
                    tags=("take_profit",),
                )
                children.append(tp)
            if stop_loss is not None:
                sl = Order(
                    self._next_id(),
                    order.instrument,
                    side.opposite,
                    OrderType.STOP,
                    quantity=placeholder,
                    trigger_price=to_decimal(stop_loss),
                    reduce_only=True,
                    strategy_id=strategy.strategy_id,
                    ts_init=ts,
                    tags=("stop_loss",),
                )
                children.append(sl)
        self.orders.append(order)
        self.orders.extend(children)
        if self.bus.has_subscribers("commands"):  # audit trail (built only when somebody listens)
            if children:
                self.bus.publish(SubmitBracket(strategy.strategy_id, order, tp, sl, ts), "commands")
            else:
                self.bus.publish(SubmitOrder(strategy.strategy_id, order, ts), "commands")
        self.risk.fit(order, self._risk_ctx)
        if not self._risk_ok(order, ts, children):
            return order
        if self.order_gate is not None:
            self.order_gate([order, *children])
        if children:
            self.venue.submit_bracket(order, tp, sl, ts, ref_price)
        else:
            self.venue.submit(order, ts, ref_price)
        return order

    def _risk_ok(self, order: Order, ts: int, children: Sequence[Order] = ()) -> bool:
        denial = self.risk.check(order, self._risk_ctx)
        if denial is None:
            return True
        order.transition(OrderStatus.DENIED, ts, denial.reason)
        for child in children:
            child.transition(OrderStatus.CANCELED, ts, "parent denied")
        self.bus.publish(
            RiskDenied(
                ts,
                ts,
                order.client_order_id,
                order.instrument,
                order.strategy_id,
                denial.reason,
                denial.rule,
                getattr(denial, "limit", None),
                getattr(denial, "value", None),
                dict(getattr(denial, "details", None) or {}),
            )
        )
        return False


    def kill_switch(self, reason: str = "kill switch") -> None:
        """Cancel every working order and flatten every position (reduce-only market orders, filled at the next
        bar), then refuse every order that increases exposure until `risk.resume()`."""
        self.risk.kill(reason)

    def risk_flatten(self, reason: str, *, positions: bool, cancel: str = "all") -> tuple[int, int]:
        """Risk action: cancel working orders (`cancel="all"`, or "entries" = the non-reduce-only ones), and
        with `positions` close every position with a reduce-only market order (no risk check: it only reduces;
        submitted even when the strategy has stopped). -> (orders cancelled, flattening orders submitted)."""
        ts = self.clock.now_ns()
        canceled = 0
        for order in list(self.venue.open_orders()):
            if cancel == "all" or not order.reduce_only:
                if self.venue.cancel(order.client_order_id, ts, f"risk: {reason}"):
                    canceled += 1
        submitted = 0
        if positions:
            sid = self.strategy.strategy_id
            for leg in self.legs:
                qty = self.portfolio.position_qty(leg.iid)
                if qty == 0 or leg.view.index < 0:
                    continue
                side = OrderSide.SELL if qty > 0 else OrderSide.BUY
                order = Order(
                    self._next_id(),
                    leg.iid,
                    side,
                    OrderType.MARKET,
                    quantity=abs(qty),
                    reduce_only=True,
                    tags=("risk_flatten",),
                    strategy_id=sid,
                    ts_init=ts,
                )
                self.orders.append(order)
                if self.order_gate is not None:
                    self.order_gate([order])
                self.venue.submit(order, ts, leg.last_close)
                submitted += 1
        return canceled, submitted

    def attach_exit(
        self, strategy: Any, kind: str, price: float, *, symbol: Any = None, **kwargs: Any
    ) -> Order | None:
        """Reduce-only stop-loss / take-profit for the open position; the two are linked OCO."""
        iid = self.leg(symbol).iid
        qty = self.portfolio.position_qty(iid)
        if qty == 0 or not self.active or self._before_orders_start():
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        stop, limit = (price, None) if kind == "stop_loss" else (None, price)
        order = self.order(
            strategy, side, abs(qty), reduce_only=True, stop=stop, limit=limit, tag=kind, symbol=symbol, **kwargs
        )
        suffix = (
            "" if iid == self.instrument.id else f"@{iid}"
        )  # one stop-loss/take-profit pair per instrument
        slot = kind + suffix
        other = self._attached.get(("take_profit" if kind == "stop_loss" else "stop_loss") + suffix)
        if order is not None and order.is_open:
            if other is not None and other.is_open:
                order.linked_ids = (other.client_order_id,)
                other.linked_ids = (order.client_order_id,)
            self._attached[slot] = order
        return order

    def _order_iid(self, oid: str) -> Any:
        o = self.venue.orders.get(oid)
        return o.instrument if o is not None else self.instrument.id

    def cancel(self, order: Order | str) -> bool:
        oid = order if isinstance(order, str) else order.client_order_id
        ts = self.clock.now_ns()
        if self.bus.has_subscribers("commands"):
            self.bus.publish(
                CancelOrder(self.strategy.strategy_id, self._order_iid(oid), oid, ts), "commands"
            )
        return self.venue.cancel(oid, ts)

    def modify(self, order: Order | str, **changes: Any) -> bool:
        """Change a working order's quantity/price/trigger. A change to a non-reduce-only order goes through the
        risk check as the order it would become (refused -> False, a `RiskDenied` dict with details.modify in
        `events`; the order keeps working unchanged)."""
        oid = order if isinstance(order, str) else order.client_order_id
        conv = {k: (None if v is None else to_decimal(v)) for k, v in changes.items()}
        ts = self.clock.now_ns()
        if self.risk.active:
            cur = self.venue.orders.get(oid)
            if cur is not None and cur.is_open and not cur.reduce_only:
                try:
                    given: dict[str, Any] = {k: v for k, v in conv.items() if v is not None}
                    proposed = dataclasses.replace(cur, **given)
                except ValueError:
                    proposed = None
                denial = self.risk.check(proposed, self._risk_ctx) if proposed is not None else None
                if denial is not None:
                    log.warning("modify of %s denied by risk: %s", oid, denial.reason)
                    details = dict(getattr(denial, "details", None) or {})
                    details["modify"] = True
                    ev = RiskDenied(
                        ts,
                        ts,
                        oid,
                        cur.instrument,
                        cur.strategy_id,
                        denial.reason,
                        denial.rule,
                        getattr(denial, "limit", None),
                        getattr(denial, "value", None),
                        details,
                    )
                    self.events.append(ev.to_dict())
                    return False
        if self.bus.has_subscribers("commands"):
            self.bus.publish(
                ModifyOrder(self.strategy.strategy_id, self._order_iid(oid), oid, ts, **conv), "commands"
            )
        return self.venue.modify(oid, ts, **conv)
