'''The Strategy API: small, typed, the same in backtest, paper and live.

Example::

    from quantdesk.strategies.base import IntParam, Ind, Strategy

    class SmaCross(Strategy):
        """Buy when the fast SMA crosses above the slow one, sell when it crosses below."""

        name = "sma_cross"                                   # built-in name (strategies are found by it)
        params = {"fast": IntParam(10, 2, 200), "slow": IntParam(30, 2, 500)}

        def indicators(self):                                # catalog indicators, by name + parameters
            return {"fast": Ind("sma", period=self.p.fast), "slow": Ind("sma", period=self.p.slow)}

        def on_bar(self, bar):                               # called on the CLOSE of every bar
            fast, slow = self.ind.fast, self.ind.slow        # views: [-1] = now, [-2] = previous bar
            if fast[-2] <= slow[-2] and fast[-1] > slow[-1] and self.is_flat:
                self.buy_all_cash()                          # market order: fills at the next bar's open
            elif fast[-2] >= slow[-2] and fast[-1] < slow[-1] and self.is_long:
                self.close()

Parameters: `params` maps names to `IntParam(default, min, max)`, `FloatParam`, `BoolParam`, `ChoiceParam`,
`TextParam` (e.g. a model id);
the optimiser reads them via `Strategy.param_space()`. Values are validated and available as `self.p.<name>`.

Indicators: `indicators()` returns `{key: Ind(name, **params)}` from the indicator catalog. Backtests compute
them in one batch over the whole history (`indicators.compute`); paper/live update the streaming versions one
bar at a time (`indicators.stream(...).update(bar)`); the values are the same either way. `self.ind.<key>` is a
view that exposes values only up to the current bar: `[-1]` current, `[-2]` previous, `[0]` first; asking for
a future bar raises IndexError. Multi-output indicators give a group: `self.ind.bb.upper[-1]`.
Price history: `self.data.close[-1]` (also open/high/low/close/volume).

Orders (all return the `Order`; quantities in base units, `notional=` in quote currency):
`buy(quantity=None, *, notional=None, limit=None, stop=None, tif="gtc", expire_ts=None, reduce_only=False,
stop_loss=None, take_profit=None, tag="")`, `sell(...)` likewise; `buy_all_cash()` (fee-aware, sized at the
fill price); `close()`; `target_position(qty)`; `target_weight(w)` (fraction of equity at the current close);
`trailing_stop(offset, percent=False)`; `attach_stop_loss(price)` / `attach_take_profit(price)` (reduce-only
orders for the open position, linked OCO when both exist); `cancel(order)`, `modify(order, quantity=, price=,
trigger_price=)`, `cancel_all()`. `stop_loss=`/`take_profit=` on `buy`/`sell` make a bracket (OCO children
activated by the entry fill). Client order ids are deterministic: `{strategy_id}-{bar_index}-{n}`.

State: `position` (the Position entity, Decimal), `position_size` (signed float), `is_flat/is_long/is_short`,
`cash`, `equity` (floats), `bar_index`, `time` (UTC ns), `open_orders`, `log`.

Callbacks: `on_start()`, `on_bar(bar)`, `on_fill(event: OrderFilled)`, `on_order_event(event)` (every order
event), `on_stop()`. A market order placed in `on_bar` fills at the next bar's open.

Several instruments (one engine, shared cash in one quote currency; `run_backtest(config, {sym: df, ...})`):
the first instrument is the default, so every call above works unchanged and means "the first instrument";
each order/state helper also takes `symbol=` to address another one::

    class Spread(Strategy):
        def indicators(self):                        # flat declarations are computed for EVERY instrument
            return {"sma": Ind("sma", period=20),     # self.ind.sma = first instrument's,
                    "LTC/BTC": {"rsi": Ind("rsi", period=14)}}   # a group keyed by a symbol: that one only

        def on_bar(self, bar):                       # ONCE per timestamp, after all bars of that time are in
            a, b = self.symbols                      # ["ETH/BTC", "LTC/BTC"] (order given; a = default)
            if not (self.has_bar(a) and self.has_bar(b)):
                return                               # one of them has no bar at this timestamp
            ca, cb = self.data[a].close, self.data[b].close          # per-symbol price views
            sma_b = self.ind_for(b).sma[-1]                           # per-symbol indicator views
            if ... and self.is_flat_on(a):
                self.target_weight(0.45, symbol=a)   # long a ...
                self.target_weight(-0.45, symbol=b)  # ... short b (needs margin=True)
            elif ...:
                self.close_all()                     # or self.close(symbol=a); self.close(symbol=b)

Multi-instrument helpers: `symbols`, `data[sym]` (open..volume views of `sym`; `data.close` stays the first
instrument's), `ind_for(sym)`, `has_bar(sym)` (a bar at the current timestamp), `price(sym)` (last close, NaN
before its first bar), `position_of(sym)` (Position), `size_of(sym)` (signed float), `is_flat_on(sym)`,
`open_orders_for(sym)`, `close_all()`. `buy/sell/buy_all_cash/close/target_position/target_weight/
trailing_stop/attach_stop_loss/attach_take_profit` take `symbol=`. `equity` is the whole account: cash + every
position at its last close; `target_weight(w, symbol=s)` sizes `w x equity` at `s`'s last close. `bar_index`
counts timeline steps (the union of all instruments' timestamps); `open_orders` lists every instrument's.
Shorts: with `margin=True` a sell from flat opens a short: the sale proceeds are credited to cash and the
position (negative quantity) is worth qty x mark < 0, so equity = cash + sum(qty x mark) holds exactly.

Errors: an exception in any callback is contained by the engine: it is logged, a `StrategyErrored` event is
published, the strategy is STOPPED (no further callbacks, its working orders are cancelled), and the run
continues to the end of the data, marking the existing positions to market: the portfolio stays intact.
'''

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from quantdesk.core.errors import ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.engine.views import Ind, Namespace
from quantdesk.model.enums import OrderSide
from quantdesk.model.money import to_decimal
from quantdesk.model.orders import Order
from quantdesk.model.position import Position
from quantdesk.strategies.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Params,
    TextParam,
    _ParamBase,
)

if TYPE_CHECKING:
    from quantdesk.engine.ports import TradingContext
    from quantdesk.model.data import Bar
    from quantdesk.model.events import OrderEvent, OrderFilled


# ---- parameters: quantdesk.strategies.params; indicators and series views: quantdesk.engine.views ------------
# (both re-exported here: this module is the Strategy API)



# ---- the strategy ---------------------------------------------------------------------------------------
class Strategy:
    """Base class of every strategy. Subclass it, declare `params` and `indicators()`, implement `on_bar`::

        class RsiReversion(Strategy):
            name = "rsi_reversion"                               # built-in name (found by the loader)
            params = {"period": IntParam(14, 2, 100), "low": FloatParam(30, 1, 50), "high": FloatParam(70, 50, 99)}

            def indicators(self):
                return {"rsi": Ind("rsi", period=self.p.period)}

            def on_bar(self, bar):                               # on the CLOSE of each bar
                rsi = self.ind.rsi[-1]                           # current value ([-2] = previous bar)
                if rsi < self.p.low and self.is_flat:
                    self.buy_all_cash(stop_loss=bar.close * 0.95)   # fills at the next bar's open
                elif rsi > self.p.high and self.is_long:
                    self.close()

    The whole API (orders, state, callbacks, error policy) is described in this module's docstring.
    """

    name: ClassVar[str] = ""
    params: ClassVar[dict[str, _ParamBase]] = {}
    description: ClassVar[str] = ""
    # Bars of history needed before the strategy's values are reliable; read by the bias check and by
    # walk-forward's warm-up. None = the tools infer it from the declared indicators' look-backs.
    warmup: ClassVar[int | None] = None
    # The default optimisation space (`optimize` / `walk-forward` without --space), next to the parameters as
    # freqtrade strategies declare hyperopt spaces: parameter -> the --space syntax ("5:50:5", "a,b") or a list
    # of values; parameters left out keep their value. {} = every parameter over its declared range.
    search_space: ClassVar[Mapping[str, Any]] = {}
    # Validity constraints every searched combination must satisfy (the --constraint syntax), e.g. "slow>fast".
    search_constraints: ClassVar[tuple[str, ...]] = ()
    # Instruments the strategy trades at once (pairs: 2). Single-series tools (optimize, walk-forward on one
    # DataFrame) refuse a strategy that needs more, with a message instead of a failure in every trial.
    instruments: ClassVar[int] = 1
    # What the dashboard draws on a bot's chart: {"main": [indicator keys on the price], "panes": {"title":
    # [keys]}}. None = every declared indicator, on the price or in its own pane as the catalog says.
    plot_config: ClassVar[Mapping[str, Any] | None] = None

    def __init__(self, params: Mapping[str, Any] | None = None, *, strategy_id: str | None = None) -> None:
        self.p = Params(self.validate_params(dict(params or {})))
        self.strategy_id = strategy_id or (self.name or type(self).__name__.lower())
        self.ind: Namespace = Namespace()
        self.data: Namespace = Namespace()
        self.log: logging.Logger = get_logger(f"quantdesk.strategy.{self.strategy_id}")
        self._engine: TradingContext | None = None

    # ---- parameters ---------------------------------------------------------------------------------
    @classmethod
    def idle_reason(cls, params: Mapping[str, Any]) -> str | None:
        """Why these (validated) parameters make the strategy never trade, or None. A backtest runs anyway (and
        logs it); an optimisation refuses up front, since every trial would score nothing."""
        return None

    @classmethod
    def validate_params(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(values) - set(cls.params)
        if unknown:
            raise ParameterError(
                f"{cls.name or cls.__name__}: unknown parameter(s) {sorted(unknown)}; "
                f"expected {sorted(cls.params) or 'none'}"
            )
        out = {k: spec.default for k, spec in cls.params.items()}
        for key, value in values.items():
            out[key] = cls.params[key].validate(key, value)
        return out

    @classmethod
    def param_space(cls) -> dict[str, dict[str, Any]]:
        """Parameter specs for optimisers and UIs: `{"fast": {"type": "int", "default": 10, "minimum": 2, ...}}`."""
        return {k: spec.as_dict() for k, spec in cls.params.items()}

    # ---- to override --------------------------------------------------------------------------------
    def indicators(self) -> Mapping[str, Ind]:
        return {}

    def on_start(self) -> None:
        pass

    def on_bar(self, bar: Bar) -> None:
        pass

    def on_fill(self, event: OrderFilled) -> None:
        pass

    def on_order_event(self, event: OrderEvent) -> None:
        pass

    def on_stop(self) -> None:
        pass

    @classmethod
    def learns_online(cls, params: Mapping[str, Any]) -> bool:
        """Whether, with `params`, the strategy learns from every past bar (a model refitted on the data it
        trades): its values then depend on where the data starts by design (the bias check says so instead of
        reporting a recursion)."""
        return False

    @classmethod
    def handles_order_events(cls) -> bool:
        """Whether this strategy overrides `on_order_event` (the venue then builds every lifecycle event)."""
        return cls.on_order_event is not Strategy.on_order_event

    # ---- state --------------------------------------------------------------------------------------
    @property
    def engine(self) -> TradingContext:
        """The engine running this strategy, seen through its declared interface (`engine.ports.TradingContext`)."""
        if self._engine is None:
            raise RuntimeError("the strategy is not attached to an engine yet")
        return self._engine

    @property
    def bar_index(self) -> int:
        return self.engine.bar_index

    @property
    def time(self) -> int:
        return self.engine.clock.now_ns()

    @property
    def instrument(self):
        return self.engine.instrument.id

    @property
    def position(self) -> Position:
        return self.engine.portfolio.position(self.engine.instrument.id)

    @property
    def position_size(self) -> float:
        return self.engine.position_f

    @property
    def is_flat(self) -> bool:
        return self.engine.position_f == 0.0

    @property
    def is_long(self) -> bool:
        return self.engine.position_f > 0.0

    @property
    def is_short(self) -> bool:
        return self.engine.position_f < 0.0

    @property
    def cash(self) -> float:
        return self.engine.cash_f

    @property
    def equity(self) -> float:
        return self.engine.equity_f

    @property
    def open_orders(self) -> list[Order]:
        return self.engine.open_orders()

    # ---- several instruments (all default to the first instrument) ----------------------------------
    @property
    def symbols(self) -> list[str]:
        """The traded symbols, in the order given; the first is the default of every `symbol=None`."""
        return self.engine.symbols

    def ind_for(self, symbol: Any = None) -> Namespace:
        """Indicator views of `symbol` (flat declarations + its own group)."""
        return self.engine.leg(symbol).ind

    def has_bar(self, symbol: Any = None) -> bool:
        """True when `symbol` has a bar at the current timestamp."""
        return self.engine.has_bar(symbol)

    def price(self, symbol: Any = None) -> float:
        """Last close of `symbol` (NaN before its first bar)."""
        return self.engine.leg(symbol).last_close

    def position_of(self, symbol: Any = None) -> Position:
        return self.engine.portfolio.position(self.engine.leg(symbol).iid)

    def size_of(self, symbol: Any = None) -> float:
        """Signed position size of `symbol` (float)."""
        leg = self.engine.leg(symbol)
        return leg.position_f

    def is_flat_on(self, symbol: Any = None) -> bool:
        return self.size_of(symbol) == 0.0

    def open_orders_for(self, symbol: Any = None) -> list[Order]:
        return self.engine.open_orders(symbol if symbol is not None else self.engine.instrument.id)

    def close_all(self, **kwargs: Any) -> list[Order]:
        """Market orders closing every open position (all instruments)."""
        out = []
        for sym in self.symbols:
            order = self.close(symbol=sym, **kwargs)
            if order is not None:
                out.append(order)
        return out

    # ---- orders -------------------------------------------------------------------------------------
    def buy(
        self, quantity: float | Decimal | None = None, *, sizer: Any = None, **kwargs: Any
    ) -> Order | None:
        """Buy `quantity`; or `sizer=` (quantdesk.risk.sizing, e.g. `FixedFraction(0.1)`): the sizer's quantity
        (None, no order, when it is 0). A `stop_loss=`/`stop=` price is the sizer's stop (RiskPerTrade)."""
        if sizer is not None and quantity is None:
            quantity = self._sized(sizer, kwargs)
            if quantity is None:
                return None
        return self.engine.order(self, OrderSide.BUY, quantity, **kwargs)

    def sell(
        self, quantity: float | Decimal | None = None, *, sizer: Any = None, **kwargs: Any
    ) -> Order | None:
        if sizer is not None and quantity is None:
            quantity = self._sized(sizer, kwargs)
            if quantity is None:
                return None
        return self.engine.order(self, OrderSide.SELL, quantity, **kwargs)

    # ---- sizing (quantdesk.risk.sizing) -----------------------------------------------------------------
    def size(
        self, sizer: Any, *, symbol: Any = None, stop: float | None = None, price: float | None = None
    ) -> float:
        """Quantity (float, >= 0) that `sizer` gives now for `symbol`: equity, last close (or `price`), recent
        bars and this instrument's closed round trips are its inputs; `stop` for risk-per-trade sizing."""
        from quantdesk.risk.sizing import context_from_engine

        return sizer.quantity(context_from_engine(self.engine, symbol, stop=stop, price=price))

    def _sized(self, sizer: Any, kwargs: dict[str, Any]) -> float | None:
        stop = kwargs.get("stop_loss", kwargs.get("stop"))
        q = self.size(sizer, symbol=kwargs.get("symbol"), stop=stop, price=kwargs.get("limit"))
        leg = self.engine.leg(kwargs.get("symbol"))
        return float(leg.instrument.make_qty(q)) if q > 0 and leg.instrument.make_qty(q) > 0 else None

    def buy_all_cash(self, **kwargs: Any) -> Order | None:
        """Market buy with all available cash; quantity = cash / (fill price x (1 + fee)) at the fill."""
        return self.engine.order(self, OrderSide.BUY, None, all_cash=True, **kwargs)

    def close(self, *, symbol: Any = None, **kwargs: Any) -> Order | None:
        """Market order closing the whole position (reduce-only). None when flat."""
        qty = (self.position if symbol is None else self.position_of(symbol)).quantity
        if qty == 0:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        if symbol is not None:
            kwargs["symbol"] = symbol
        return self.engine.order(self, side, abs(qty), reduce_only=True, **kwargs)

    def target_position(
        self, quantity: float | Decimal, *, symbol: Any = None, **kwargs: Any
    ) -> Order | None:
        """Trade the difference to reach a signed position (market order). None when already there."""
        if symbol is None:
            inst, pos = self.engine.instrument, self.position
        else:
            inst, pos = self.engine.leg(symbol).instrument, self.position_of(symbol)
        target = inst.make_qty(to_decimal(quantity))  # rounds towards zero
        diff = target - pos.quantity
        if diff == 0:
            return None
        side = OrderSide.BUY if diff > 0 else OrderSide.SELL
        if symbol is not None:
            kwargs["symbol"] = symbol
        return self.engine.order(self, side, abs(diff), **kwargs)

    def target_weight(self, weight: float, *, symbol: Any = None, **kwargs: Any) -> Order | None:
        """Target `weight` x equity in the instrument, valued at the current close and leaving room for the
        taker fee (negative = short). The order fills at the next open: a gap up can still make a full-weight
        buy unaffordable (then it is cancelled); use `buy_all_cash()` to go all-in."""
        if symbol is None:
            price, inst = self.engine.last_close, self.engine.instrument
        else:
            leg = self.engine.leg(symbol)
            price, inst = leg.last_close, leg.instrument
        if not price > 0:
            return None
        fee = float(inst.taker_fee)
        if symbol is not None:
            kwargs["symbol"] = symbol
        return self.target_position(weight * self.equity / (price * (1 + fee)), **kwargs)

    def trailing_stop(
        self, offset: float, *, percent: bool = False, symbol: Any = None, **kwargs: Any
    ) -> Order | None:
        """Trailing stop closing the current position (reduce-only)."""
        qty = (self.position if symbol is None else self.position_of(symbol)).quantity
        if qty == 0:
            return None
        side = OrderSide.SELL if qty > 0 else OrderSide.BUY
        if symbol is not None:
            kwargs["symbol"] = symbol
        return self.engine.order(
            self, side, abs(qty), trailing=offset, trailing_percent=percent, reduce_only=True, **kwargs
        )

    def attach_stop_loss(self, price: float, **kwargs: Any) -> Order | None:  # symbol= accepted
        return self.engine.attach_exit(self, "stop_loss", price, **kwargs)

    def attach_take_profit(self, price: float, **kwargs: Any) -> Order | None:
        return self.engine.attach_exit(self, "take_profit", price, **kwargs)

    def cancel(self, order: Order | str) -> bool:
        return self.engine.cancel(order)

    def cancel_all(self) -> None:
        for order in self.open_orders:
            self.engine.cancel(order)

    def modify(self, order: Order | str, **changes: Any) -> bool:
        return self.engine.modify(order, **changes)


# the Strategy API: what `from quantdesk.strategies.base import ...` offers strategy authors
__all__ = ["BoolParam", "ChoiceParam", "FloatParam", "Ind", "IntParam", "Namespace", "Params", "Strategy", "TextParam"]
