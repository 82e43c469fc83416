"""Ports: what the engine needs from a venue and a data feed, and what it offers strategies. The simulated venue
implements `ExecutionVenue` for backtests and paper trading; the live venue implements the same port for live
trading. Paper and live bots read their bars through `BarFeed`. Strategies see the engine only as a
`TradingContext` (risk rules: `quantdesk.risk.context.RiskContext`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from quantdesk.core.clock import Clock
from quantdesk.model.data import Bar, BarView
from quantdesk.model.enums import OrderSide, TimeInForce
from quantdesk.model.events import Event
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.orders import Order
from quantdesk.model.timeframe import Timeframe

if TYPE_CHECKING:
    import pandas as pd  # annotations only

    # the engine's own types (they import this module at run time)
    from quantdesk.engine.leg import Leg
    from quantdesk.engine.portfolio import Portfolio


class ExecutionVenue(Protocol):
    """Accepts orders and reports what happened as events through the `emit` callback it was given
    (OrderSubmitted/Accepted/Rejected/Filled/Canceled/Expired/Modified), synchronously or later. Everything the
    engine calls on a venue is declared here: the simulated venue (backtest, paper) and the live venue implement it.
    `emit_lifecycle`: whether to build submitted/accepted events (the engine turns it off when nobody listens).
    `working`: one list per instrument for the venue's lifetime, changed in place (the engine's step holds on to
    each list and reads it every bar)."""

    orders: dict[str, Order]
    working: dict[InstrumentId, list[Order]]
    emit: Callable[[Event], None]
    emit_lifecycle: bool

    def submit(self, order: Order, ts: int, ref_price: float) -> bool: ...

    def submit_bracket(
        self, entry: Order, take_profit: Order | None, stop_loss: Order | None, ts: int, ref_price: float
    ) -> bool: ...

    def cancel(self, client_order_id: str, ts: int, reason: str = "cancelled") -> bool: ...

    def modify(
        self,
        client_order_id: str,
        ts: int,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> bool: ...

    def open_orders(self, instrument: InstrumentId | None = None) -> list[Order]: ...

    # simulated venues match against bars; an exchange adapter makes these no-ops
    def process_bar(
        self, instrument: InstrumentId, ts: int, o: float, h: float, low: float, c: float, v: float
    ) -> None: ...

    def process_detail(
        self, instrument: InstrumentId, rows: Iterable[tuple[int, float, float, float, float, float]]
    ) -> None:
        """Lower-timeframe bars (ts, o, h, l, c, v) of one main bar, in order (intrabar fill detail)."""
        ...


class BarFeed(Protocol):
    """The bars of a paper or live bot, step by step: everything the bots (`paper.PaperBot`, `live.LiveBot`), their
    nodes and their health/metrics read of a feed. Step k is the k-th timestamp of the feed's timeline (bar index k
    of the bot's engine, so a persisted cursor is all a restart needs). A replay holds all its steps from the start;
    a live feed appends closed bars as `poll()` brings them. Implemented by `paper.feeds.ReplayFeed`,
    `paper.exchange_feed.ExchangeFeed` (REST polling) and `adapters.ccxt.feed.StreamCandleFeed` (streams); the
    last two share their bookkeeping (`engine.bar_buffer.ClosedBarBuffer`)."""

    @property
    def kind(self) -> str:
        """What feeds the bot (`replay`, `exchange`): shown by the health report."""
        ...

    @property
    def live(self) -> bool:
        """True when running out of steps means waiting for the next bar, not being done."""
        ...

    @property
    def timeframe(self) -> Timeframe:
        """The bars' timeframe."""
        ...

    @property
    def start_ns(self) -> int:
        """Open time of the first bar (a new bot records it as its start, so a restart sees the same steps)."""
        ...

    @property
    def finished(self) -> bool:
        """True when no bar will be added to the steps held (a replay: always; a live feed: once its `end` bar has
        been handed out). The bot is done when its cursor has passed the last step of a finished feed."""
        ...

    @property
    def failed_polls(self) -> int:
        """Polls that failed after their retries (a feed that is not polled: 0); the health report compares it
        with the count when the last bar arrived."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock a live feed's lag is measured against (the wall clock unless a test injects one)."""
        ...

    def bind(self, instruments: Sequence[Instrument]) -> None:
        """Label the bars with the bot's instruments (one per symbol, in the feed's symbol order)."""
        ...

    def poll(self) -> int:
        """Bring in the bars that closed since the last call (never blocks on the network); returns how many
        steps were added (a replay: 0)."""
        ...

    def delay(self) -> float:
        """Seconds until a bar may be waiting, which the node waits before the next step: a replay's pace (one bar
        per timeframe / speed); a live feed: 0 while steps wait to be handed out, else until its next bar closes
        (a stream: a short wait)."""
        ...

    def __len__(self) -> int:
        """The number of steps held so far."""
        ...

    def ts(self, k: int) -> int:
        """Timestamp (bar open, UTC ns) of step k."""
        ...

    def group(self, k: int) -> list[Bar]:
        """The bars of step k, one per symbol that printed then."""
        ...

    def frame(self) -> pd.DataFrame:
        """The bars held so far of the feed's first symbol (OHLCV on a UTC `timestamp` index): what a new bot on a
        live feed infers its price precision from."""
        ...

    def close(self) -> None:
        """Release what the feed holds open (a stream's thread); nothing for a replay or a REST poller."""
        ...


class TradingContext(Protocol):
    """What a strategy may read and call on the engine running it (`Strategy.engine`), declared so that the rest
    of the engine stays free to change. Backtest, paper and live run the same engine, so one context serves all.

    Reads: the primary `instrument` and its `view` (bar cursor), `leg(symbol)` for any instrument (its views,
    indicators, last close), `has_bar(symbol)` (did this instrument print at the current time), `portfolio`,
    float mirrors `position_f`/`cash_f`/`equity_f`/`last_close`, `bar_index`, `clock`, `symbols`. Calls: `order`,
    `cancel`, `modify`, `attach_exit`, `open_orders`."""

    @property
    def instrument(self) -> Instrument: ...

    @property
    def view(self) -> BarView: ...

    @property
    def portfolio(self) -> Portfolio: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def bar_index(self) -> int: ...

    @property
    def position_f(self) -> float: ...

    @property
    def cash_f(self) -> float: ...

    @property
    def equity_f(self) -> float: ...

    @property
    def last_close(self) -> float: ...

    @property
    def symbols(self) -> list[str]: ...

    def leg(self, symbol: Any = None) -> Leg: ...

    def has_bar(self, symbol: Any = None) -> bool: ...

    def open_orders(self, symbol: Any = None) -> list[Order]: ...

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
    ) -> Order | None: ...

    def cancel(self, order: Order | str) -> bool: ...

    def modify(self, order: Order | str, **changes: Any) -> bool: ...

    def attach_exit(self, strategy: Any, kind: str, price: float, *, symbol: Any = None,
                    **kwargs: Any) -> Order | None: ...
