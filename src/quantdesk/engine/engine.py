"""The trading engine: one event loop for backtest, paper and live.

    data feed -> strategy.on_bar -> order -> RISK ENGINE -> venue (matching core / exchange)
              -> OrderFilled on the bus -> portfolio (first subscriber) -> strategy.on_fill / on_order_event

Only the clock, the feed and the venue change between modes. A backtest is `run(HistoricalFeed)` with a
SimulatedClock and the SimulatedVenue; paper/live call `start()`, then `on_bar(bar)` for each new bar, then
`stop()`. The backtest loop is the same steps as `on_bar`, inlined over column lists for speed: per bar it sets
the clock, lets the venue match working orders (skipped when none are working), moves the bar cursor and calls
`strategy.on_bar`. Decimals appear only at fills; the float cash/position caches are refreshed per fill.

Strategy errors: an exception in a strategy callback is logged, published as `StrategyErrored`, recorded in
`events`, and the strategy is stopped (no more callbacks, its working orders cancelled); the loop runs on to the
end of the data so that equity is marked to market and the portfolio stays consistent.
"""

from __future__ import annotations

import decimal
import math
from array import array
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.bus import MessageBus
from quantdesk.core.clock import Clock, SimulatedClock
from quantdesk.core.logging import get_logger
from quantdesk.engine.feed import HistoricalFeed, as_array
from quantdesk.engine.portfolio import Portfolio
from quantdesk.model.commands import CancelOrder, ModifyOrder, SubmitBracket, SubmitOrder
from quantdesk.model.data import Bar, BarView
from quantdesk.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TrailingOffsetType
from quantdesk.model.events import OrderDenied, OrderEvent, OrderFilled, StrategyErrored
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import CONTEXT, to_decimal
from quantdesk.model.orders import Order
from quantdesk.risk.engine import RiskEngine
from quantdesk.simulation.models import FeeModel, SlippageModel
from quantdesk.simulation.venue import SimulatedVenue
from quantdesk.strategies.base import Ind, Namespace, SeriesView, Strategy

log = get_logger(__name__)

IndicatorMode = Literal["batch", "stream"]


class TradingEngine:
    """Runs one strategy on one instrument (the portfolio and venue already support several)."""

    def __init__(
        self,
        strategy: Strategy,
        instrument: Instrument,
        *,
        cash: Decimal | float | str = 10_000,
        clock: Clock | None = None,
        bus: MessageBus | None = None,
        risk: RiskEngine | None = None,
        fees: FeeModel | None = None,
        slippage: SlippageModel | None = None,
        margin: bool = False,
        venue: Any = None,
        indicator_mode: IndicatorMode = "batch",
    ) -> None:
        self.strategy = strategy
        self.instrument = instrument
        self.clock = clock if clock is not None else SimulatedClock()
        self.bus = bus if bus is not None else MessageBus()
        self.risk = risk if risk is not None else RiskEngine()
        self.portfolio = Portfolio(
            [instrument],
            to_decimal(cash),
            margin=margin,
            emit=self.bus.publish,
            wants=self.bus.has_subscribers,
        )
        self.venue = (
            venue
            if venue is not None
            else SimulatedVenue(
                [instrument], self.portfolio, self.bus.publish, fees=fees, slippage=slippage, margin=margin
            )
        )
        self.indicator_mode = indicator_mode
        # the portfolio hears about fills before anybody else
        self.bus.subscribe("orders", self.portfolio.on_event)
        self.bus.subscribe("orders", self._on_order_event)
        self.orders: list[Order] = []
        self.events: list[dict[str, Any]] = []
        self.active = False
        self.cash_f = float(self.portfolio.cash())
        self.position_f = 0.0
        self._snaps: list[tuple[int, float, float]] = []  # (bar index, cash, position) after fills
        self._id_bar = -1
        self._id_seq = 0
        self._attached: dict[str, Order] = {}
        self._streams: list[tuple[Any, list[list[float]]]] = []
        self.indicator_series: dict[str, np.ndarray] = {}
        # growing/complete column lists + the bar cursor
        self._ts = array("q")
        self._o = array("d")
        self._h = array("d")
        self._l = array("d")
        self._c = array("d")
        self._v = array("d")
        self.view = BarView(instrument.id, self._ts, self._o, self._h, self._l, self._c, self._v)
        self.view.index = -1
        self._matching: int | None = None
        self._detail: tuple[list[tuple], np.ndarray, np.ndarray] | None = None

    # ---- state for the strategy -----------------------------------------------------------------------
    @property
    def bar_index(self) -> int:
        return self.view.index

    @property
    def last_close(self) -> float:
        i = self.view.index
        return self._c[i] if i >= 0 else math.nan

    @property
    def equity_f(self) -> float:
        return self.cash_f + (self.position_f * self.last_close if self.position_f else 0.0)

    def open_orders(self) -> list[Order]:
        return self.venue.open_orders(self.instrument.id)

    # ---- setup ----------------------------------------------------------------------------------------
    def _bind_strategy(self, frame: pd.DataFrame | None) -> None:
        strat = self.strategy
        strat._engine = self
        cur = self.view
        strat.data = Namespace(
            {
                "open": SeriesView(self._o, cur, "open"),
                "high": SeriesView(self._h, cur, "high"),
                "low": SeriesView(self._l, cur, "low"),
                "close": SeriesView(self._c, cur, "close"),
                "volume": SeriesView(self._v, cur, "volume"),
            }
        )
        from quantdesk.indicators import registry

        views: dict[str, Any] = {}
        for key, decl in dict(strat.indicators()).items():
            if not isinstance(decl, Ind):
                raise TypeError(f"indicators()[{key!r}] must be Ind(name, **params), got {decl!r}")
            spec = registry.get(decl.name)
            outputs = spec.outputs
            if self.indicator_mode == "batch" and frame is not None:
                result = registry.compute(decl.name, frame, **decl.params)
                lists = [as_array(result[o].to_numpy(dtype=np.float64), "d") for o in outputs]
                for o in outputs:
                    name = key if len(outputs) == 1 else f"{key}.{o}"
                    self.indicator_series[name] = result[o].to_numpy(dtype=np.float64)
            else:
                lists = [array("d") for _ in outputs]
                self._streams.append((registry.stream(decl.name, **decl.params), lists))
            if len(outputs) == 1:
                views[key] = SeriesView(lists[0], cur, key)
            else:
                views[key] = Namespace(
                    {o: SeriesView(lst, cur, f"{key}.{o}") for o, lst in zip(outputs, lists, strict=True)}
                )
        strat.ind = Namespace(views)

    def start(self, frame: pd.DataFrame | None = None) -> None:
        """Attach the strategy and call `on_start`. Indicators are computed in batch over `frame` when it is
        given (backtests), otherwise (paper/live, or `indicator_mode="stream"`) updated bar by bar by the
        streaming implementations: the values are the same either way."""
        self._bind_strategy(frame)
        if hasattr(self.venue, "emit_lifecycle"):
            # order lifecycle events (submitted/accepted) are only built when someone listens: the strategy
            # overrides on_order_event, or another component subscribed to "orders" / "*" before start()
            overrides = type(self.strategy).on_order_event is not Strategy.on_order_event
            others = len(self.bus._subs.get("orders", ())) > 2 or bool(self.bus._subs.get("*"))
            self.venue.emit_lifecycle = overrides or others
        self.active = True
        self._call("on_start")

    def stop(self, *, cancel_working: bool = False) -> None:
        if cancel_working:
            ts = self.clock.now_ns()
            for order in list(self.venue.orders.values()):
                if not order.is_terminal:
                    self.venue.cancel(order.client_order_id, ts, "end of data")
        if self.active:
            self._call("on_stop")
        self.active = False

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self, feed: HistoricalFeed) -> None:
        """Backtest: replay the feed's bars through the same steps as `on_bar` (batch indicators)."""
        if not isinstance(self.clock, SimulatedClock):
            raise TypeError("a backtest needs a SimulatedClock")
        ts, o, h, low, c, v = feed.columns()
        self._ts, self._o, self._h, self._l, self._c, self._v = ts, o, h, low, c, v
        self.view = BarView(self.instrument.id, ts, o, h, low, c, v, feed.timeframe)
        self.view.index = -1
        self._detail = feed.detail_rows()
        with decimal.localcontext(CONTEXT):  # Decimal operators get 60 digits for the whole run
            self._run_loop(feed)

    def _run_loop(self, feed: HistoricalFeed) -> None:
        ts = self._ts
        self.start(feed.frame if self.indicator_mode == "batch" else None)
        clock = self.clock
        view = self.view
        working = self.venue.working[self.instrument.id]
        on_bar = self.strategy.on_bar
        streams = self._streams
        for i in range(len(ts)):
            clock._now = ts[i]
            if working:
                self._match(i)
            view.index = i
            if streams:
                self._update_streams(view)
            if self.active:
                try:
                    on_bar(view)
                except Exception as exc:  # noqa: BLE001 - user code is contained
                    self._strategy_failed("on_bar", exc)
        self.stop(cancel_working=True)

    def on_bar(self, bar: Bar) -> None:
        """Paper/live: one new bar (after `start()`); the same steps as one iteration of `run`."""
        with decimal.localcontext(CONTEXT):
            self._on_bar(bar)

    def _on_bar(self, bar: Bar) -> None:
        if isinstance(self.clock, SimulatedClock):
            self.clock.advance_to(bar.ts_ns)
        self._ts.append(bar.ts_ns)
        self._o.append(bar.open)
        self._h.append(bar.high)
        self._l.append(bar.low)
        self._c.append(bar.close)
        self._v.append(bar.volume)
        i = len(self._ts) - 1
        if self.venue.working[self.instrument.id]:
            self._match(i)
        self.view.index = i
        if self._streams:
            self._update_streams(self.view)
        if self.active:
            try:
                self.strategy.on_bar(self.view)
            except Exception as exc:  # noqa: BLE001
                self._strategy_failed("on_bar", exc)

    def _update_streams(self, view: BarView) -> None:
        for stream, lists in self._streams:
            value = stream.update(view)
            if len(lists) == 1:
                lists[0].append(float(value[0] if isinstance(value, tuple) else value))
            else:
                for lst, x in zip(lists, value, strict=True):
                    lst.append(float(x))

    def _match(self, i: int) -> None:
        self._matching = i
        try:
            self._match_bar(i)
        finally:
            self._matching = None

    def _match_bar(self, i: int) -> None:
        iid = self.instrument.id
        detail = self._detail
        if detail is not None:
            rows, start, end = detail
            s, e = int(start[i]), int(end[i])
            if e > s:
                self.venue.process_detail(iid, rows[s:e])
                return
        self.venue.process_bar(iid, self._ts[i], self._o[i], self._h[i], self._l[i], self._c[i], self._v[i])

    # ---- events ---------------------------------------------------------------------------------------
    def _on_order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderFilled):
            self.cash_f = float(self.portfolio.cash())
            self.position_f = float(self.portfolio.position_qty(self.instrument.id))
            at = self._matching if self._matching is not None else max(self.view.index, 0)
            self._snaps.append((at, self.cash_f, self.position_f))
        if isinstance(event, OrderDenied):
            self.events.append(event.to_dict())
        if not self.active or event.strategy_id != self.strategy.strategy_id:
            return
        self._call("on_order_event", event)
        if isinstance(event, OrderFilled) and self.active:
            self._call("on_fill", event)

    def _call(self, name: str, *args: Any) -> None:
        try:
            getattr(self.strategy, name)(*args)
        except Exception as exc:  # noqa: BLE001 - user code is contained
            self._strategy_failed(name, exc)

    def _strategy_failed(self, callback: str, exc: BaseException) -> None:
        sid = self.strategy.strategy_id
        log.error("strategy %s failed in %s: %r; strategy stopped", sid, callback, exc, exc_info=exc)
        self.active = False
        ts = self.clock.now_ns()
        event = StrategyErrored(ts, ts, sid, callback, f"{type(exc).__name__}: {exc}")
        self.events.append(event.to_dict())
        self.bus.publish(event)
        for order in list(self.venue.orders.values()):
            if order.strategy_id == sid and not order.is_terminal:
                self.venue.cancel(order.client_order_id, ts, "strategy stopped after an error")

    # ---- orders ---------------------------------------------------------------------------------------
    def _next_id(self) -> str:
        i = self.view.index
        if i != self._id_bar:
            self._id_bar, self._id_seq = i, 0
        self._id_seq += 1
        return f"{self.strategy.strategy_id}-{i}-{self._id_seq}"

    def order(
        self,
        strategy: Strategy,
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
    ) -> Order | None:
        if not self.active:
            return None
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
            self.instrument.id,
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
        if not self._risk_ok(order, ts, children):
            return order
        if children:
            self.venue.submit_bracket(order, tp, sl, ts, self.last_close)
        else:
            self.venue.submit(order, ts, self.last_close)
        return order

    def _risk_ok(self, order: Order, ts: int, children: list[Order] = ()) -> bool:
        denial = self.risk.check(order, self)
        if denial is None:
            return True
        order.transition(OrderStatus.DENIED, ts, denial.reason)
        for child in children:
            child.transition(OrderStatus.CANCELED, ts, "parent denied")
        self.bus.publish(
            OrderDenied(ts, ts, order.client_order_id, order.instrument, order.strategy_id, denial.reason)
        )
        return False

    def attach_exit(self, strategy: Strategy, kind: str, price: float, **kwargs: Any) -> Order | None:
        """Reduce-only stop-loss / take-profit for the open position; the two are linked OCO."""
        qty = self.portfolio.position_qty(self.instrument.id)
        if qty == 0 or not self.active:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        key = "stop" if kind == "stop_loss" else "limit"
        order = self.order(strategy, side, abs(qty), reduce_only=True, **{key: price}, tag=kind, **kwargs)
        other = self._attached.get("take_profit" if kind == "stop_loss" else "stop_loss")
        if order is not None and order.is_open:
            if other is not None and other.is_open:
                order.linked_ids = (other.client_order_id,)
                other.linked_ids = (order.client_order_id,)
            self._attached[kind] = order
        return order

    def cancel(self, order: Order | str) -> bool:
        oid = order if isinstance(order, str) else order.client_order_id
        ts = self.clock.now_ns()
        if self.bus.has_subscribers("commands"):
            self.bus.publish(CancelOrder(self.strategy.strategy_id, self.instrument.id, oid, ts), "commands")
        return self.venue.cancel(oid, ts)

    def modify(self, order: Order | str, **changes: Any) -> bool:
        oid = order if isinstance(order, str) else order.client_order_id
        conv = {k: (None if v is None else to_decimal(v)) for k, v in changes.items()}
        ts = self.clock.now_ns()
        if self.bus.has_subscribers("commands"):
            self.bus.publish(
                ModifyOrder(self.strategy.strategy_id, self.instrument.id, oid, ts, **conv), "commands"
            )
        return self.venue.modify(oid, ts, **conv)

    # ---- results --------------------------------------------------------------------------------------
    def equity_array(self) -> np.ndarray:
        """cash + position x close after every bar (float; exact Decimal equity via `portfolio.equity`)."""
        n = len(self._c)
        close = np.asarray(self._c, dtype=np.float64)
        cash = np.full(n, float(self.portfolio.starting_cash))
        pos = np.zeros(n)
        if self._snaps:
            idx = np.array([s[0] for s in self._snaps], dtype=np.int64)
            row = np.full(n, -1, dtype=np.int64)
            row[idx] = np.arange(len(idx))  # last snapshot of a bar wins
            row = np.maximum.accumulate(row)
            has = row >= 0
            cash_v = np.array([s[1] for s in self._snaps])
            pos_v = np.array([s[2] for s in self._snaps])
            cash[has] = cash_v[row[has]]
            pos[has] = pos_v[row[has]]
        return cash + pos * close

    def marks(self) -> Mapping[Any, Decimal]:
        return {self.instrument.id: to_decimal(self.last_close)}
