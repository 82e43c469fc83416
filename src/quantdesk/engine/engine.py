"""The trading engine: one event loop for backtest, paper and live.

    data feed -> strategy.on_bar -> order -> RISK ENGINE -> venue (matching core / exchange)
              -> OrderFilled on the bus -> portfolio (first subscriber) -> strategy.on_fill / on_order_event

Only the clock, the feed and the venue change between modes. A backtest is `run(HistoricalFeed)` with a
SimulatedClock and the SimulatedVenue; paper/live call `start()`, then `on_bar(bar)` for each new bar, then
`stop()`. The backtest loop is the same steps as `on_bar`, inlined over column lists for speed: per bar it sets
the clock, lets the venue match working orders (skipped when none are working), moves the bar cursor and calls
`strategy.on_bar`. Decimals appear only at fills; the float cash/position caches are refreshed per fill.

MULTI-INSTRUMENT: `TradingEngine(strategy, [inst_a, inst_b, ...])` runs one strategy over several instruments
with ONE shared cash balance (one quote currency; the portfolio refuses mixed quotes) and per-instrument
positions, marks, price views and indicator views. `run([feed_a, feed_b])` (a list/tuple or a dict of
`HistoricalFeed`s, one per instrument) aligns the series on a common timeline, the UNION of their timestamps.
At each timestamp t, in this order:
  1. every instrument that has a bar at t is matched by the venue (fills of orders submitted earlier), in the
     order the instruments were given; the price cursors still show the previous bars during these fills;
  2. the cursors (and streaming indicators) of those instruments move to their bar at t;
  3. `strategy.on_bar(bar)` is called ONCE (bar = the first instrument's latest bar view).
An instrument without a bar at t gets no fill at t (its working orders wait for its next bar) and keeps its
last close as its mark (equity uses it). Before an instrument's first bar it has no price (`[-1]` raises
IndexError, `Strategy.price(symbol)` is NaN) and no position. `bar_index` (and the client order ids) count the
timeline steps; each instrument's views are indexed by its own bars. The first instrument is the default for
every `symbol=None` API, so a one-instrument engine behaves exactly as before. Paper/live multi-instrument:
`on_bars([bar_a, bar_b])` = one timestamp (`on_bar(bar)` in a multi engine = a group of one bar).
An order for an instrument that has had no bar yet is refused (`order()` returns None, a warning is logged): it
has no reference price.

SHORTS (`margin=True`; without margin a sell beyond the long position is rejected): a sell from flat opens a
short. Cash is credited with the proceeds (qty x price) minus the fee, the position quantity is negative, so its
value qty x mark is negative and equity = cash + sum(qty x mark) holds exactly (Decimal) at every mark; buying
back debits cash. No borrow fee or margin requirement is modelled (cash may go negative on the long side, too).

RISK (quantdesk.risk): every strategy order goes through `risk.check(order, engine)` (the engine is the context:
`equity_f`, `cash_f`, positions, `last_price`, `legs`, `venue.open_orders`, `clock`); a denial is published as
an `OrderDenied` (`RiskDenied`: rule, limit, value) and recorded in `events`. When the risk engine has breakers,
`risk.bar_hook(ts)` runs once per bar/timestep after matching and the cursor move, before `strategy.on_bar`
(nothing runs per bar otherwise); `risk.fill_hook` sees fills only when cooldowns/entry limits need them.
`kill_switch(reason)` cancels every working order and flattens every position with reduce-only market orders;
`risk_flatten` is the action used by halts. With `risk.sizing` configured, strategy orders without quantity
(`notional=`, `buy_all_cash()`) that increase exposure are sized by the configured sizer (quantdesk.risk.sizing).

Strategy errors: an exception in a strategy callback is logged, published as `StrategyErrored`, recorded in
`events`, and the strategy is stopped (no more callbacks, its working orders cancelled); the loop runs on to the
end of the data so that equity is marked to market and the portfolio stays consistent.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
from array import array
from collections.abc import Mapping, Sequence
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
from quantdesk.risk.events import RiskDenied
from quantdesk.simulation.models import FeeModel, SlippageModel
from quantdesk.simulation.venue import SimulatedVenue
from quantdesk.strategies.base import Ind, MarketData, Namespace, SeriesView, Strategy

log = get_logger(__name__)

IndicatorMode = Literal["batch", "stream"]


class Leg:
    """One instrument of the engine: its bar columns, cursor (`view.index` = its own bar index), position cache,
    price and indicator views."""

    __slots__ = (
        "instrument",
        "iid",
        "symbol",
        "ts",
        "o",
        "h",
        "l",
        "c",
        "v",
        "view",
        "data",
        "ind",
        "streams",
        "detail",
        "frame",
        "position_f",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.iid = instrument.id
        self.symbol = instrument.id.symbol
        self.ts, self.o, self.h, self.l, self.c, self.v = (
            array("q"),
            array("d"),
            array("d"),
            array("d"),
            array("d"),
            array("d"),
        )
        self.view = BarView(self.iid, self.ts, self.o, self.h, self.l, self.c, self.v)
        self.view.index = -1
        self.data: Namespace = Namespace()
        self.ind: Namespace = Namespace()
        self.streams: list[tuple[Any, list[array]]] = []
        self.detail: tuple[list[tuple], np.ndarray, np.ndarray] | None = None
        self.frame: pd.DataFrame | None = None
        self.position_f = 0.0

    @property
    def last_close(self) -> float:
        i = self.view.index
        return self.c[i] if i >= 0 else math.nan

    def columns_from(self, cols: tuple, view: BarView) -> None:
        self.ts, self.o, self.h, self.l, self.c, self.v = cols
        self.view = view


def _as_instruments(instrument: Instrument | Sequence[Instrument]) -> list[Instrument]:
    if isinstance(instrument, Instrument):
        return [instrument]
    out = list(instrument)
    if not out or not all(isinstance(i, Instrument) for i in out):
        raise TypeError("instrument must be an Instrument or a non-empty sequence of Instruments")
    if len({i.id for i in out}) != len(out):
        raise ValueError("the same instrument was given twice")
    return out


class TradingEngine:
    """Runs one strategy on one instrument, or on several (`instrument` = a sequence; shared cash; see the
    module docstring for the timeline semantics). The first instrument is the default one."""

    def __init__(
        self,
        strategy: Strategy,
        instrument: Instrument | Sequence[Instrument],
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
        instruments = _as_instruments(instrument)
        instrument = instruments[0]
        self.instruments = instruments
        self.instrument = instrument
        self._multi = len(instruments) > 1
        self.legs = [Leg(i) for i in instruments]
        self._by_name: dict[Any, Leg] = {}
        for leg in self.legs:
            for name in (leg.iid, leg.symbol, str(leg.iid)):
                self._by_name.setdefault(name, leg)
        self._by_iid = {leg.iid: leg for leg in self.legs}
        self.timeline = array("q")  # multi: the union of the instruments' timestamps, as processed
        self._k = -1  # multi: the timeline index
        self.clock = clock if clock is not None else SimulatedClock()
        self.bus = bus if bus is not None else MessageBus()
        self.risk = risk if risk is not None else RiskEngine()
        self.risk.bind(self)
        self._risk_bar: Any = None  # risk.bar_hook: set at start(), None when no breaker needs bars
        self._risk_fill: Any = None  # risk.fill_hook
        self.portfolio = Portfolio(
            instruments,
            to_decimal(cash),
            margin=margin,
            emit=self.bus.publish,
            wants=self.bus.has_subscribers,
        )
        self.venue = (
            venue
            if venue is not None
            else SimulatedVenue(
                instruments, self.portfolio, self.bus.publish, fees=fees, slippage=slippage, margin=margin
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
        # series name -> its instrument (several instruments: names are "SYMBOL:key")
        self.indicator_owner: dict[str, Leg] = {}
        # growing/complete column lists + the bar cursor
        self._ts = array("q")
        self._o = array("d")
        self._h = array("d")
        self._l = array("d")
        self._c = array("d")
        self._v = array("d")
        self.view = BarView(instrument.id, self._ts, self._o, self._h, self._l, self._c, self._v)
        self.view.index = -1
        if self._multi:  # the engine's own columns/view are the first instrument's
            self._alias_primary()
        self._matching: int | None = None
        self._detail: tuple[list[tuple], np.ndarray, np.ndarray] | None = None

    # ---- state for the strategy -----------------------------------------------------------------------
    @property
    def bar_index(self) -> int:
        """The current bar (one instrument) or timeline step (several); -1 before the first."""
        return self._k if self._multi else self.view.index

    @property
    def is_multi(self) -> bool:
        return self._multi

    @property
    def symbols(self) -> list[str]:
        return [leg.symbol for leg in self.legs]

    def leg(self, symbol: Any = None) -> Leg:
        """The instrument leg for `symbol` (a symbol "ETH/BTC", an alias, "ETH/BTC@sim", an InstrumentId or an
        Instrument); None = the first instrument."""
        if symbol is None:
            return self.legs[0]
        if isinstance(symbol, Instrument):
            symbol = symbol.id
        try:
            return self._by_name[symbol]
        except (KeyError, TypeError):
            raise KeyError(f"unknown symbol {symbol!r}; have {self.symbols}") from None

    def alias(self, name: str, instrument: Any) -> None:
        """Let `name` (e.g. the key of a data dict) address `instrument` in `symbol=` arguments."""
        self._by_name[name] = self.leg(instrument)

    def _alias_primary(self) -> None:
        leg = self.legs[0]
        self._ts, self._o, self._h, self._l, self._c, self._v = leg.ts, leg.o, leg.h, leg.l, leg.c, leg.v
        self.view = leg.view

    def _sync_single_leg(self) -> None:
        if not self._multi:
            self.legs[0].columns_from((self._ts, self._o, self._h, self._l, self._c, self._v), self.view)

    @property
    def last_close(self) -> float:
        i = self.view.index
        return self._c[i] if i >= 0 else math.nan

    @property
    def equity_f(self) -> float:
        if self._multi:
            total = self.cash_f
            for leg in self.legs:
                if leg.position_f:
                    total += leg.position_f * leg.last_close
            return total
        return self.cash_f + (self.position_f * self.last_close if self.position_f else 0.0)

    def open_orders(self, symbol: Any = None) -> list[Order]:
        """Working orders of `symbol`; with several instruments and no symbol: of all of them."""
        if symbol is None and self._multi:
            return self.venue.open_orders()
        return self.venue.open_orders(self.leg(symbol).iid if symbol is not None else self.instrument.id)

    def last_price(self, instrument: Any = None) -> float:
        """Last close of an instrument (any form `leg()` accepts; None = the first); NaN before its first bar.
        Risk rules read prices through this."""
        return self.leg(instrument).last_close

    def has_bar(self, symbol: Any = None) -> bool:
        """Whether `symbol` has a bar at the current time (multi: instruments can miss timestamps)."""
        leg = self.leg(symbol)
        i = leg.view.index
        return i >= 0 and leg.ts[i] == self.clock.now_ns()

    # ---- setup ----------------------------------------------------------------------------------------
    def _bind_strategy(self, frame: pd.DataFrame | Mapping[Any, pd.DataFrame] | None) -> None:
        """Price and indicator views. `indicators()` may return flat `{key: Ind}` declarations (computed for
        EVERY instrument; `self.ind.key` = the first instrument's, `self.ind_for(sym).key` any one's) and/or
        per-symbol groups `{"ETH/BTC": {key: Ind}}` (only that instrument)."""
        strat = self.strategy
        strat._engine = self
        self._sync_single_leg()
        frames: dict[Leg, pd.DataFrame | None] = {}
        for leg in self.legs:
            if isinstance(frame, Mapping):
                frames[leg] = leg.frame if leg.frame is not None else frame.get(leg.iid)
            elif frame is not None and not self._multi:
                frames[leg] = frame
            else:
                frames[leg] = leg.frame
        for leg in self.legs:
            cur = leg.view
            leg.data = Namespace(
                {
                    "open": SeriesView(leg.o, cur, "open"),
                    "high": SeriesView(leg.h, cur, "high"),
                    "low": SeriesView(leg.l, cur, "low"),
                    "close": SeriesView(leg.c, cur, "close"),
                    "volume": SeriesView(leg.v, cur, "volume"),
                }
            )
        strat.data = MarketData(dict(self.legs[0].data.__dict__), lambda key: self.leg(key).data)
        flat: dict[str, Ind] = {}
        per: dict[Leg, dict[str, Ind]] = {leg: {} for leg in self.legs}
        for key, decl in dict(strat.indicators()).items():
            if isinstance(decl, Ind):
                flat[key] = decl
            elif isinstance(decl, Mapping):
                try:
                    leg = self.leg(key)
                except KeyError:
                    raise TypeError(
                        f"indicators()[{key!r}]: a group of declarations needs a traded symbol as "
                        f"its key; have {self.symbols}"
                    ) from None
                for k2, d2 in decl.items():
                    if not isinstance(d2, Ind):
                        raise TypeError(
                            f"indicators()[{key!r}][{k2!r}] must be Ind(name, **params), got {d2!r}"
                        )
                    per[leg][k2] = d2
            else:
                raise TypeError(f"indicators()[{key!r}] must be Ind(name, **params), got {decl!r}")
        self._streams = []
        for leg in self.legs:
            leg.streams = []
            decls = {**flat, **per[leg]}
            leg.ind = Namespace(self._indicator_views(leg, decls, frames[leg]))
            self._streams.extend(leg.streams)
        strat.ind = self.legs[0].ind

    def _indicator_views(
        self, leg: Leg, decls: Mapping[str, Ind], frame: pd.DataFrame | None
    ) -> dict[str, Any]:
        from quantdesk.indicators import registry

        cur = leg.view
        prefix = f"{leg.symbol}:" if self._multi else ""
        views: dict[str, Any] = {}
        for key, decl in decls.items():
            spec = registry.get(decl.name)
            outputs = spec.outputs
            if self.indicator_mode == "batch" and frame is not None:
                result = registry.compute(decl.name, frame, **decl.params)
                lists = [as_array(result[o].to_numpy(dtype=np.float64), "d") for o in outputs]
                for o in outputs:
                    name = prefix + (key if len(outputs) == 1 else f"{key}.{o}")
                    self.indicator_series[name] = result[o].to_numpy(dtype=np.float64)
                    self.indicator_owner[name] = leg
            else:
                lists = [array("d") for _ in outputs]
                leg.streams.append((registry.stream(decl.name, **decl.params), lists))
            if len(outputs) == 1:
                views[key] = SeriesView(lists[0], cur, key)
            else:
                views[key] = Namespace(
                    {o: SeriesView(lst, cur, f"{key}.{o}") for o, lst in zip(outputs, lists, strict=True)}
                )
        return views

    def start(self, frame: pd.DataFrame | None = None) -> None:
        """Attach the strategy and call `on_start`. Indicators are computed in batch over `frame` when it is
        given (backtests), otherwise (paper/live, or `indicator_mode="stream"`) updated bar by bar by the
        streaming implementations: the values are the same either way."""
        self._bind_strategy(frame)
        self._risk_bar = self.risk.bar_hook
        self._risk_fill = self.risk.fill_hook
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
    def run(self, feed: HistoricalFeed | Sequence[HistoricalFeed] | Mapping[Any, HistoricalFeed]) -> None:
        """Backtest: replay the feed's bars through the same steps as `on_bar` (batch indicators). Several
        instruments: one feed per instrument (a list, or a dict keyed by anything), matched by `feed.instrument`."""
        if not isinstance(self.clock, SimulatedClock):
            raise TypeError("a backtest needs a SimulatedClock")
        if self._multi or not isinstance(feed, HistoricalFeed):
            feeds = (
                list(feed.values())
                if isinstance(feed, Mapping)
                else ([feed] if isinstance(feed, HistoricalFeed) else list(feed))
            )
            if not self._multi:
                if len(feeds) != 1:
                    raise ValueError(f"{len(feeds)} feeds for a one-instrument engine")
                feed = feeds[0]
            else:
                with decimal.localcontext(CONTEXT):
                    self._run_multi(feeds)
                return
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
        risk_bar = self._risk_bar
        for i in range(len(ts)):
            clock._now = ts[i]
            if working:
                self._match(i)
            view.index = i
            if streams:
                self._update_streams(view)
            if risk_bar is not None:
                risk_bar(ts[i])
            if self.active:
                try:
                    on_bar(view)
                except Exception as exc:  # noqa: BLE001 - user code is contained
                    self._strategy_failed("on_bar", exc)
        self.stop(cancel_working=True)

    # ---- several instruments ------------------------------------------------------------------------------
    def _run_multi(self, feeds: list[HistoricalFeed]) -> None:
        by_iid: dict[Any, HistoricalFeed] = {}
        for f in feeds:
            if f.instrument not in self._by_iid:
                raise KeyError(f"feed for {f.instrument}, which is not one of the engine's instruments")
            if f.instrument in by_iid:
                raise ValueError(f"two feeds for {f.instrument}")
            by_iid[f.instrument] = f
        missing = [str(leg.iid) for leg in self.legs if leg.iid not in by_iid]
        if missing:
            raise ValueError(f"no feed for {missing}")
        for leg in self.legs:
            f = by_iid[leg.iid]
            cols = f.columns()
            view = BarView(leg.iid, *cols, f.timeframe)
            view.index = -1
            leg.columns_from(cols, view)
            leg.detail = f.detail_rows()
            leg.frame = f.frame
        self._alias_primary()
        timeline = np.unique(np.concatenate([np.frombuffer(leg.ts, dtype=np.int64) for leg in self.legs]))
        self.timeline = as_array(timeline, "q")
        batch = self.indicator_mode == "batch"
        if not batch:
            for leg in self.legs:
                leg.frame = None
        self.start()
        clock = self.clock
        on_bar = self.strategy.on_bar
        view = self.view
        tl = self.timeline
        risk_bar = self._risk_bar
        for k in range(len(tl)):
            t = tl[k]
            clock._now = t
            self._k = k
            self._advance(t, k)
            if risk_bar is not None:
                risk_bar(t)
            if self.active:
                try:
                    on_bar(view)
                except Exception as exc:  # noqa: BLE001 - user code is contained
                    self._strategy_failed("on_bar", exc)
        self.stop(cancel_working=True)

    def _advance(self, t: int, k: int) -> None:
        """One timestamp of the timeline: match every instrument that has a bar at t, then move their cursors."""
        working = self.venue.working
        moved = []
        for leg in self.legs:
            j = leg.view.index + 1
            if j < len(leg.ts) and leg.ts[j] == t:
                moved.append((leg, j))
                if working[leg.iid]:
                    self._matching = k
                    try:
                        self._match_leg(leg, j)
                    finally:
                        self._matching = None
        for leg, j in moved:
            leg.view.index = j
            if leg.streams:
                self._update_leg_streams(leg)

    def _match_leg(self, leg: Leg, j: int) -> None:
        detail = leg.detail
        if detail is not None:
            rows, start, end = detail
            s, e = int(start[j]), int(end[j])
            if e > s:
                self.venue.process_detail(leg.iid, rows[s:e])
                return
        self.venue.process_bar(leg.iid, leg.ts[j], leg.o[j], leg.h[j], leg.l[j], leg.c[j], leg.v[j])

    def _update_leg_streams(self, leg: Leg) -> None:
        for stream, lists in leg.streams:
            value = stream.update(leg.view)
            if len(lists) == 1:
                lists[0].append(float(value[0] if isinstance(value, tuple) else value))
            else:
                for lst, x in zip(lists, value, strict=True):
                    lst.append(float(x))

    def on_bars(self, bars: Sequence[Bar]) -> None:
        """Paper/live, several instruments: the bars of ONE timestamp (one per instrument at most; instruments
        without a bar at that time are simply absent). Same steps as one timeline step of `run`."""
        if not bars:
            return
        t = bars[0].ts_ns
        if any(b.ts_ns != t for b in bars):
            raise ValueError("on_bars: all bars must have the same timestamp")
        with decimal.localcontext(CONTEXT):
            if isinstance(self.clock, SimulatedClock):
                self.clock.advance_to(t)
            if self.timeline and t <= self.timeline[-1]:
                raise ValueError("on_bars: timestamps must increase")
            seen = set()
            for bar in bars:
                leg = self.leg(bar.instrument)
                if leg.iid in seen:
                    raise ValueError(f"on_bars: two bars for {leg.iid}")
                seen.add(leg.iid)
                leg.ts.append(bar.ts_ns)
                leg.o.append(bar.open)
                leg.h.append(bar.high)
                leg.l.append(bar.low)
                leg.c.append(bar.close)
                leg.v.append(bar.volume)
            self.timeline.append(t)
            k = len(self.timeline) - 1
            self._k = k
            self._advance(t, k)
            if self._risk_bar is not None:
                self._risk_bar(t)
            if self.active:
                try:
                    self.strategy.on_bar(self.view)
                except Exception as exc:  # noqa: BLE001
                    self._strategy_failed("on_bar", exc)

    def on_bar(self, bar: Bar) -> None:
        """Paper/live: one new bar (after `start()`); the same steps as one iteration of `run`. With several
        instruments this is `on_bars([bar])` (prefer `on_bars` with all bars of a timestamp)."""
        if self._multi:
            self.on_bars([bar])
            return
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
        if self._risk_bar is not None:
            self._risk_bar(bar.ts_ns)
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
            if self._multi:
                leg = self._by_iid[event.instrument]
                leg.position_f = float(self.portfolio.position_qty(leg.iid))
                self.position_f = self.legs[0].position_f
                at = self._matching if self._matching is not None else max(self._k, 0)
                self._snaps.append((at, self.cash_f, tuple(lg.position_f for lg in self.legs)))
            else:
                self.position_f = float(self.portfolio.position_qty(self.instrument.id))
                at = self._matching if self._matching is not None else max(self.view.index, 0)
                self._snaps.append((at, self.cash_f, self.position_f))
            if self._risk_fill is not None:
                self._risk_fill(event)
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
        where = _user_frame(exc)
        error = f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")
        log.error("strategy %s failed in %s at bar %d: %s; strategy stopped (-v shows the traceback)", sid,
                  callback, self.bar_index, error)
        log.debug("strategy %s traceback", sid, exc_info=exc)
        self.active = False
        ts = self.clock.now_ns()
        event = StrategyErrored(ts, ts, sid, callback, error, self.bar_index)
        self.events.append(event.to_dict())
        self.bus.publish(event)
        for order in list(self.venue.orders.values()):
            if order.strategy_id == sid and not order.is_terminal:
                self.venue.cancel(order.client_order_id, ts, "strategy stopped after an error")

    # ---- orders ---------------------------------------------------------------------------------------
    def _next_id(self) -> str:
        i = self.bar_index
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
        symbol: Any = None,
    ) -> Order | None:
        if not self.active:
            return None
        if symbol is None:
            iid = self.instrument.id
            ref_price = self.last_close
        else:
            leg = self.leg(symbol)
            iid = leg.iid
            ref_price = leg.last_close
            if leg.view.index < 0:
                log.warning("order for %s refused: it has had no bar yet (no reference price)", iid)
                return None
        if quantity is None and self.risk.sizer is not None:  # risk.sizing: size orders without quantity
            sized = self.risk.size_order(self, side, self.leg(symbol), all_cash)
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
        self.risk.fit(order, self)
        if not self._risk_ok(order, ts, children):
            return order
        if children:
            self.venue.submit_bracket(order, tp, sl, ts, ref_price)
        else:
            self.venue.submit(order, ts, ref_price)
        return order

    def _risk_ok(self, order: Order, ts: int, children: list[Order] = ()) -> bool:
        denial = self.risk.check(order, self)
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

    # ---- kill switch / halts ----------------------------------------------------------------------------
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
                self.venue.submit(order, ts, leg.last_close)
                submitted += 1
        return canceled, submitted

    def attach_exit(
        self, strategy: Strategy, kind: str, price: float, *, symbol: Any = None, **kwargs: Any
    ) -> Order | None:
        """Reduce-only stop-loss / take-profit for the open position; the two are linked OCO."""
        iid = self.instrument.id if symbol is None else self.leg(symbol).iid
        qty = self.portfolio.position_qty(iid)
        if qty == 0 or not self.active:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        key = "stop" if kind == "stop_loss" else "limit"
        order = self.order(
            strategy, side, abs(qty), reduce_only=True, **{key: price}, tag=kind, symbol=symbol, **kwargs
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
                    proposed = dataclasses.replace(cur, **{k: v for k, v in conv.items() if v is not None})
                except ValueError:
                    proposed = None
                denial = self.risk.check(proposed, self) if proposed is not None else None
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

    # ---- results --------------------------------------------------------------------------------------
    def equity_array(self) -> np.ndarray:
        """cash + position x close after every bar (float; exact Decimal equity via `portfolio.equity`).
        Several instruments: after every timeline step, cash + sum(position x last close so far)."""
        if self._multi:
            return self._equity_multi()
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

    def _equity_multi(self) -> np.ndarray:
        tl = np.frombuffer(self.timeline, dtype=np.int64) if len(self.timeline) else np.zeros(0, np.int64)
        n = len(tl)
        cash = np.full(n, float(self.portfolio.starting_cash))
        pos = np.zeros((n, len(self.legs)))
        if self._snaps and n:
            idx = np.array([s[0] for s in self._snaps], dtype=np.int64)
            row = np.full(n, -1, dtype=np.int64)
            row[idx] = np.arange(len(idx))  # last snapshot of a step wins
            row = np.maximum.accumulate(row)
            has = row >= 0
            cash[has] = np.array([s[1] for s in self._snaps])[row[has]]
            pos[has] = np.array([s[2] for s in self._snaps], dtype=np.float64)[row[has]]
        equity = cash
        for j, leg in enumerate(self.legs):
            ts = np.frombuffer(leg.ts, dtype=np.int64) if len(leg.ts) else np.zeros(0, np.int64)
            close = np.asarray(leg.c, dtype=np.float64)
            at = np.searchsorted(ts, tl, side="right") - 1  # this instrument's last bar at each step
            mark = np.where(at >= 0, close[np.maximum(at, 0)] if len(close) else 0.0, 0.0)
            equity = equity + pos[:, j] * mark
        return equity

    def marks(self) -> Mapping[Any, Decimal]:
        """The last close of every instrument that has had a bar (the marks of `portfolio.equity`)."""
        if self._multi:
            return {leg.iid: to_decimal(leg.last_close) for leg in self.legs if leg.view.index >= 0}
        return {self.instrument.id: to_decimal(self.last_close)}


def _user_frame(exc: BaseException) -> str:
    """`file.py, line N` of the innermost frame of the strategy's own code (outside the quantdesk package)."""
    import traceback
    from pathlib import Path

    package = str(Path(__file__).resolve().parents[1])
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not str(Path(f.filename).resolve()).startswith(package)]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""
