"""The trading engine: one event loop for backtest, paper and live.

    data feed -> strategy.on_bar -> order -> RISK ENGINE -> venue (matching core / exchange)
              -> OrderFilled on the bus -> portfolio (first subscriber) -> strategy.on_fill / on_order_event

Only the clock, the feed and the venue change between modes. ONE step serves every mode: a backtest is
`run(feeds)` (SimulatedClock, SimulatedVenue, the whole history at once, batch indicators), paper and live call
`start()`, then `on_bars(bars)` as bars close (streaming indicators), then `stop()`. Both go through `step`
(its loop is built in `engine/step.py`).

INSTRUMENTS: `TradingEngine(strategy, [inst_a, inst_b, ...])` runs one strategy over one or several instruments
(legs) with ONE shared cash balance (one quote currency; the portfolio refuses mixed quotes) and per-leg
positions, marks, price views and indicator views. One instrument is the one-leg case. The bars are aligned on a
common timeline, the UNION of the legs' timestamps; at each timestamp t, `step` does, in this order:
  1. every leg that has a bar at t is matched by the venue (fills of orders submitted earlier), in the order the
     instruments were given; the price cursors still show the previous bars during these fills;
  2. the cursors (and streaming indicators) of those legs move to their bar at t;
  3. the risk engine's bar hook (breakers), when it has one;
  4. `strategy.on_bar(bar)` ONCE (bar = the first instrument's latest bar view).
A leg without a bar at t gets no fill at t (its working orders wait for its next bar) and keeps its last close as
its mark. Before a leg's first bar it has no price (NaN) and no position; an order for it is refused (no
reference price). `bar_index` (and the client order ids) count the timeline steps; each leg's views are indexed
by its own bars. The first instrument is the default of every `symbol=None` API.

SHORTS (`margin=True`; without margin a sell beyond the long position is rejected): a sell from flat opens a
short. Cash is credited with the proceeds minus the fee, the position quantity is negative, so equity =
cash + sum(qty x mark) holds exactly (Decimal) at every mark. No borrow fee or margin requirement is modelled.

RISK (quantdesk.risk): every strategy order goes through the risk engine (`engine.entry`); its bar hook runs once
per step before `on_bar` when breakers need it, its fill hook sees fills when cooldowns/entry limits need them.

EXTENSION POINTS (instead of replacing methods of live objects): `order_gate` (called with every new order just
before the venue sees it: paper/live write-ahead), `orders_from_ns` (orders are refused before that time:
walk-forward warm-up), `run(..., progress=)` (backtest progress), the bus (every event; paper bots publish their
own events there too), `clock.set`/`bus.subscriber_count` (no private state read from outside).

Strategy errors: an exception in a strategy callback is logged, published as `StrategyErrored`, recorded in
`events`, and the strategy is stopped (no more callbacks, its working orders cancelled); the loop runs on to the
end of the data so that equity is marked to market and the portfolio stays consistent.
"""

from __future__ import annotations

import decimal
from array import array
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.bus import MessageBus
from quantdesk.core.clock import Clock, SimulatedClock
from quantdesk.core.logging import get_logger
from quantdesk.engine.entry import OrderEntry, OrderGate
from quantdesk.engine.feed import HistoricalFeed, as_array
from quantdesk.engine.leg import Leg, as_instruments
from quantdesk.engine.portfolio import Portfolio
from quantdesk.engine.ports import ExecutionVenue
from quantdesk.engine.result import EngineResult, FillSnapshots, equity_curve
from quantdesk.engine.step import make_steps
from quantdesk.engine.user_code import user_frame
from quantdesk.engine.views import Ind, MarketData, Namespace, SeriesView
from quantdesk.model.data import Bar, BarView
from quantdesk.model.events import OrderDenied, OrderEvent, OrderFilled, StrategyErrored
from quantdesk.model.instrument import Instrument
from quantdesk.model.money import CONTEXT, to_decimal
from quantdesk.model.orders import Order
from quantdesk.risk.context import RiskContext
from quantdesk.risk.engine import RiskEngine
from quantdesk.simulation.models import FeeModel, SlippageModel
from quantdesk.simulation.venue import SimulatedVenue

log = get_logger(__name__)

IndicatorMode = Literal["batch", "stream"]
Progress = Callable[[int, int], None]


class TradingEngine(OrderEntry):
    """Runs one strategy on one or several instruments (shared cash; see the module docstring). The first
    instrument is the default one."""

    def __init__(
        self,
        strategy: Any,
        instrument: Instrument | Sequence[Instrument],
        *,
        cash: Decimal | float | str = 10_000,
        clock: Clock | None = None,
        bus: MessageBus | None = None,
        risk: RiskEngine | None = None,
        fees: FeeModel | None = None,
        slippage: SlippageModel | None = None,
        margin: bool = False,
        venue: ExecutionVenue | None = None,
        indicator_mode: IndicatorMode = "batch",
        order_gate: OrderGate | None = None,
        orders_from_ns: int | None = None,
    ) -> None:
        self.strategy = strategy
        instruments = as_instruments(instrument)
        self.instruments = instruments
        self.instrument = instruments[0]
        self.legs = [Leg(i) for i in instruments]
        self._by_name: dict[Any, Leg] = {}
        for leg in self.legs:
            for name in (leg.iid, leg.symbol, str(leg.iid)):
                self._by_name.setdefault(name, leg)
        self._by_iid = {leg.iid: leg for leg in self.legs}
        self.timeline: Any = array("q")  # the union of the legs' timestamps, as processed
        self._k = -1  # the timeline step
        self.clock = clock if clock is not None else SimulatedClock()
        self.bus = bus if bus is not None else MessageBus()
        self.risk = risk if risk is not None else RiskEngine()
        self.risk.bind(self)
        self._risk_bar: Any = None  # risk.bar_hook: set at start(), None when no breaker needs bars
        self._risk_fill: Any = None  # risk.fill_hook
        self.portfolio = Portfolio(instruments, to_decimal(cash), margin=margin, emit=self.bus.publish,
                                   wants=self.bus.has_subscribers)
        self.venue: ExecutionVenue = venue if venue is not None else SimulatedVenue(
            instruments, self.portfolio, self.bus.publish, fees=fees, slippage=slippage, margin=margin)
        self.indicator_mode = indicator_mode
        self.order_gate = order_gate
        self.orders_from_ns = orders_from_ns
        # the portfolio hears about fills before anybody else
        self.bus.subscribe("orders", self.portfolio.on_event)
        self.bus.subscribe("orders", self._on_order_event)
        self.orders: list[Order] = []
        self.events: list[dict[str, Any]] = []
        self.active = False
        self.cash_f = float(self.portfolio.cash())
        # after every fill: the step, the cash and every leg's position (flat typed arrays: no object per fill)
        self._snaps = FillSnapshots()
        self._id_bar = -1
        self._id_seq = 0
        self._attached: dict[str, Order] = {}
        self.indicator_series: dict[str, np.ndarray] = {}
        # series name -> its leg (several instruments: names are "SYMBOL:key")
        self.indicator_owner: dict[str, Leg] = {}
        self._matching: int | None = None
        self._bind_step()

    # ---- state for the strategy and the risk rules ----------------------------------------------------
    @property
    def _risk_ctx(self) -> RiskContext:
        """This engine as the risk engine reads it (checked by mypy: the engine satisfies `RiskContext`)."""
        return self

    @property
    def bar_index(self) -> int:
        """The current timeline step; -1 before the first. One leg: its cursor (the timeline is its bars; while
        its orders are matched, the step being matched), see `engine.step`."""
        if len(self.legs) > 1:
            return self._k
        return self._matching if self._matching is not None else self.legs[0].view.index

    @property
    def matching_step(self) -> int | None:
        """The step whose bar the venue is matching right now (a fill at that moment belongs to it), else None."""
        return self._matching

    @property
    def view(self) -> BarView:
        """The first instrument's bar cursor."""
        return self.legs[0].view

    @property
    def position_f(self) -> float:
        """The first instrument's position (float cache, refreshed per fill)."""
        return self.legs[0].position_f

    @property
    def symbols(self) -> list[str]:
        return [leg.symbol for leg in self.legs]

    def leg(self, symbol: Any = None) -> Leg:
        """The leg of `symbol` (a symbol "ETH/BTC", an alias, "ETH/BTC@sim", an InstrumentId or an Instrument);
        None = the first instrument."""
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

    @property
    def last_close(self) -> float:
        return self.legs[0].last_close

    @property
    def equity_f(self) -> float:
        total = self.cash_f
        for leg in self.legs:
            if leg.position_f:
                total += leg.position_f * leg.last_close
        return total

    def open_orders(self, symbol: Any = None) -> list[Order]:
        """Working orders of `symbol`; no symbol: of every instrument."""
        return self.venue.open_orders(None if symbol is None else self.leg(symbol).iid)

    def last_price(self, instrument: Any = None) -> float:
        """Last close of an instrument (any form `leg()` accepts; None = the first); NaN before its first bar."""
        return self.leg(instrument).last_close

    def has_bar(self, symbol: Any = None) -> bool:
        """Whether `symbol` has a bar at the current time (instruments can miss timestamps)."""
        leg = self.leg(symbol)
        i = leg.view.index
        return i >= 0 and leg.ts[i] == self.clock.now_ns()

    def marks(self) -> Mapping[Any, Decimal]:
        """The last close of every instrument that has had a bar (the marks of `portfolio.equity`)."""
        return {leg.iid: to_decimal(leg.last_close) for leg in self.legs if leg.view.index >= 0}

    # ---- setup ----------------------------------------------------------------------------------------
    def _bind_strategy(self) -> None:
        """Price and indicator views. `indicators()` may return flat `{key: Ind}` declarations (computed for
        EVERY instrument; `self.ind.key` = the first instrument's, `self.ind_for(sym).key` any one's) and/or
        per-symbol groups `{"ETH/BTC": {key: Ind}}` (only that instrument)."""
        strat = self.strategy
        strat._engine = self
        for leg in self.legs:
            leg.bind_price_views()
        strat.data = MarketData(dict(self.legs[0].data.__dict__), lambda key: self.leg(key).data)
        flat: dict[str, Ind] = {}
        per: dict[Leg, dict[str, Ind]] = {leg: {} for leg in self.legs}
        for key, decl in dict(strat.indicators()).items():
            if isinstance(decl, Ind):
                flat[key] = decl
            elif isinstance(decl, Mapping):
                try:
                    owner = self.leg(key)
                except KeyError:
                    raise TypeError(f"indicators()[{key!r}]: a group of declarations needs a traded symbol as its "
                                    f"key; have {self.symbols}") from None
                for k2, d2 in decl.items():
                    if not isinstance(d2, Ind):
                        raise TypeError(f"indicators()[{key!r}][{k2!r}] must be Ind(name, **params), got {d2!r}")
                    per[owner][k2] = d2
            else:
                raise TypeError(f"indicators()[{key!r}] must be Ind(name, **params), got {decl!r}")
        for leg in self.legs:
            leg.streams = []
            leg.ind = Namespace(self._indicator_views(leg, {**flat, **per[leg]}))
        strat.ind = self.legs[0].ind

    def _indicator_views(self, leg: Leg, decls: Mapping[str, Ind]) -> dict[str, Any]:
        from quantdesk.indicators import registry

        cur = leg.view
        frame = leg.frame if self.indicator_mode == "batch" else None
        prefix = f"{leg.symbol}:" if len(self.legs) > 1 else ""
        views: dict[str, Any] = {}
        for key, decl in decls.items():
            spec = registry.get(decl.name)
            outputs = spec.outputs
            lists: list[Any]
            if frame is not None:
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
                views[key] = Namespace({o: SeriesView(lst, cur, f"{key}.{o}") for o, lst in zip(outputs, lists,
                                                                                               strict=True)})
        return views

    def start(self, frame: pd.DataFrame | None = None) -> None:
        """Attach the strategy and call `on_start`. Indicators are computed in batch over the legs' frames when
        they have them (backtests; `frame` = the first leg's), otherwise (paper/live, or
        `indicator_mode="stream"`) updated bar by bar by the streaming implementations: the values are the same."""
        if frame is not None:
            self.legs[0].frame = frame
        self._bind_strategy()
        self._risk_bar = self.risk.bar_hook
        self._risk_fill = self.risk.fill_hook
        self._bind_step()
        # order lifecycle events (submitted/accepted) are only built when someone listens: the strategy
        # overrides on_order_event, or another component subscribed to "orders" / "*" before start()
        handles = getattr(self.strategy, "handles_order_events", None)
        overrides = handles() if callable(handles) else True
        others = self.bus.subscriber_count("orders") > 2 or self.bus.subscriber_count("*") > 0
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

    # ---- the step -------------------------------------------------------------------------------------
    def _bind_step(self) -> None:
        """Build the step for the current legs, strategy and hooks (at construction and at `start`): what it reads
        every bar is looked up once here, which keeps the one step as fast as the old per-mode loops. Each leg
        holds the venue's working-order list of its instrument (the venue keeps one list per instrument for its
        lifetime, see `ExecutionVenue.working`)."""
        for leg in self.legs:
            leg.working = self.venue.working[leg.iid]
        self._steps = make_steps(self)

    def step(self, k: int, t: int, legs: Sequence[Leg] | None = None) -> None:
        """Timeline step `k` at time `t` for the `legs` that have a bar at `t` (default: found from the legs'
        next timestamps): match their working orders, move their cursors and streaming indicators, risk bar
        hook, `on_bar` (module docstring). The one step of backtests (`run`) and paper/live (`on_bars`)."""
        legs = self._legs_at(t) if legs is None else legs
        if not legs:
            raise ValueError(f"step {k}: no instrument has its next bar at {t}")
        self._steps(k, (t,), (legs,))

    def _legs_at(self, t: int) -> tuple[Leg, ...]:
        """The legs whose next bar (the one after their cursor) is at `t`."""
        return tuple(leg for leg in self.legs if leg.view.index + 1 < len(leg.ts) and leg.ts[leg.view.index + 1] == t)

    def match_leg(self, leg: Leg, j: int) -> None:
        """Let the venue match `leg`'s working orders against its bar `j` (its detail rows when it has them)."""
        detail = leg.detail
        if detail is not None:
            rows, start, end = detail
            s, e = int(start[j]), int(end[j])
            if e > s:
                self.venue.process_detail(leg.iid, rows[s:e])
                return
        self.venue.process_bar(leg.iid, leg.ts[j], leg.o[j], leg.h[j], leg.l[j], leg.c[j], leg.v[j])

    # ---- backtest: the whole history ------------------------------------------------------------------
    def run(self, feed: HistoricalFeed | Sequence[HistoricalFeed] | Mapping[Any, HistoricalFeed], *,
            progress: Progress | None = None) -> None:
        """Backtest: every step of the feeds' timeline (one feed per instrument: a feed, a list, or a dict
        matched by `feed.instrument`), batch indicators unless `indicator_mode="stream"`. `progress(done, total)`
        is called every 256 steps and at the end."""
        if not isinstance(self.clock, SimulatedClock):
            raise TypeError("a backtest needs a SimulatedClock")
        feeds = (list(feed.values()) if isinstance(feed, Mapping)
                 else [feed] if isinstance(feed, HistoricalFeed) else list(feed))
        self._load(feeds)
        with decimal.localcontext(CONTEXT):  # Decimal operators get 60 digits for the whole run
            self.start()
            tl = self.timeline
            n = len(tl)
            # one instrument: its bars are the timeline, it takes part in every step
            legs = repeat(tuple(self.legs)) if len(self.legs) == 1 else (self._legs_at(t) for t in tl)
            if progress is None:
                self._steps(0, tl, legs)
            else:
                for k in range(0, n, 256):
                    self._steps(k, tl[k:k + 256], legs)
                    progress(min(k + 256, n), n)
            self.stop(cancel_working=True)

    def _load(self, feeds: list[HistoricalFeed]) -> None:
        if len(self.legs) == 1 and len(feeds) == 1 and feeds[0].instrument not in self._by_iid:
            raise KeyError(f"feed for {feeds[0].instrument}, which is not one of the engine's instruments")
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
            leg.load(cols, view)
            leg.detail = f.detail_rows()
            leg.frame = f.frame if self.indicator_mode == "batch" else None
        if len(self.legs) == 1:
            self.timeline = self.legs[0].ts
        else:
            timeline = np.unique(np.concatenate([np.frombuffer(leg.ts, dtype=np.int64) for leg in self.legs]))
            self.timeline = as_array(timeline, "q")

    # ---- paper / live: bar by bar ---------------------------------------------------------------------
    def on_bars(self, bars: Sequence[Bar]) -> None:
        """Paper/live: the bars of ONE timestamp (one per instrument at most; instruments without a bar at that
        time are absent). Same step as `run`."""
        if not bars:
            return
        t = bars[0].ts_ns
        if any(b.ts_ns != t for b in bars):
            raise ValueError("on_bars: all bars must have the same timestamp")
        if self.timeline and t <= self.timeline[-1]:
            raise ValueError("on_bars: timestamps must increase")
        legs: list[Leg] = []
        for bar in bars:
            leg = self.leg(bar.instrument)
            if leg in legs:
                raise ValueError(f"on_bars: two bars for {leg.iid}")
            legs.append(leg)
            leg.append(bar.ts_ns, bar.open, bar.high, bar.low, bar.close, bar.volume)
        legs.sort(key=self.legs.index)  # the engine's instrument order, whatever the order of the bars
        with decimal.localcontext(CONTEXT):
            if isinstance(self.clock, SimulatedClock):
                self.clock.advance_to(t)
            self.timeline.append(t)
            self.step(len(self.timeline) - 1, t, legs)

    def on_bar(self, bar: Bar) -> None:
        """Paper/live: one new bar (`on_bars([bar])`)."""
        self.on_bars([bar])

    # ---- events ---------------------------------------------------------------------------------------
    def _on_order_event(self, event: OrderEvent) -> None:
        if isinstance(event, OrderFilled):
            self.cash_f = float(self.portfolio.cash())
            legs, iid = self.legs, event.instrument
            # one leg: its own id object skips the dict lookup (an instrument the engine does not trade: KeyError)
            leg = legs[0] if len(legs) == 1 and iid is legs[0].iid else self._by_iid[iid]
            leg.position_f = float(self.portfolio.position_qty(leg.iid))
            at = self._matching if self._matching is not None else max(self.bar_index, 0)
            self._snaps.record(at, self.cash_f, legs)
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
        where = user_frame(exc)
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

    # ---- results --------------------------------------------------------------------------------------
    def equity_array(self) -> np.ndarray:
        """cash + sum(position x last close) after every timeline step (float; exact Decimal equity via
        `portfolio.equity`)."""
        return equity_curve(self.timeline, self.legs, self._snaps, float(self.portfolio.starting_cash))

    def result(self) -> EngineResult:
        """What a run produced, for the runner and reports (they never read the engine's internals)."""
        return EngineResult(
            timeline=np.frombuffer(self.timeline, dtype=np.int64).copy() if len(self.timeline) else
            np.zeros(0, np.int64),
            equity=self.equity_array(), orders=list(self.orders), trips=list(self.portfolio.trips),
            events=list(self.events), indicator_series=dict(self.indicator_series),
            indicator_owner={k: leg.iid for k, leg in self.indicator_owner.items()},
            resized=self.risk.resized_counts(), denied=self.risk.denial_counts(),
            last_close={leg.iid: leg.last_close for leg in self.legs})


__all__ = ["IndicatorMode", "Leg", "TradingEngine"]
