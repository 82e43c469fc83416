"""`StreamCandleFeed`: closed candles from `MarketDataClient` behind the feed port of paper bots and the live node
(`engine.ports.BarFeed`; the bars held, as in `paper.exchange_feed.ExchangeFeed`, in `ClosedBarBuffer`).

    feed = StreamCandleFeed(AdapterConfig.from_settings("binance"), "BTC/USDT", "1m", start="2024-01-01T00:00Z")
    bot = PaperBot.open(store, spec, feed=feed)          # spec.feed == "exchange"

The client runs on its own event loop thread (ccxt.pro is async; bots are not): closed candles are queued as
they arrive (stream, with reconnect and REST gap fill) and `poll()` moves them into the feed, so `poll()` never
blocks on the network and `delay()` is a short wait while nothing is queued. With `store=` (or `persist=True`)
every new bar is appended to the candle store before the bot sees it and the feed starts with the stored bars
from `start`, so a restarted bot replays exactly the bars it saw (as ExchangeFeed does).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from quantdesk.adapters.ccxt.config import AdapterConfig
from quantdesk.adapters.ccxt.data import MarketDataClient
from quantdesk.adapters.ccxt.loop import LoopThread
from quantdesk.adapters.ccxt.parsing import Candle
from quantdesk.core.errors import ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import parse_utc
from quantdesk.engine.bar_buffer import OHLCV, ClosedBarBuffer
from quantdesk.model.identifiers import normalize_symbol
from quantdesk.model.instrument import Instrument
from quantdesk.model.timeframe import Timeframe

if TYPE_CHECKING:
    from quantdesk.engine.ports import BarFeed

log = get_logger(__name__)


class StreamCandleFeed(ClosedBarBuffer):
    """Live closed candles of one symbol from a venue's streams (see the module docstring)."""

    kind = "exchange"
    live = True

    def __init__(self, config: AdapterConfig, symbol: str, timeframe: str, *, start: Any = None, end: Any = None,
                 store: Any = None, persist: bool = False, settings: Any = None, streams: bool = True,
                 stall_s: float = 5.0,
                 poll_wait_s: float = 0.25, instruments: Sequence[Instrument] | None = None,
                 client_factory: Callable[[], MarketDataClient] | None = None) -> None:
        super().__init__(normalize_symbol(symbol), config.exchange, Timeframe.parse(timeframe),
                         instruments=instruments)
        self.config = config
        self._start_ns: int | None = None
        if start is not None:
            raw = int(parse_utc(start, name="start").value)
            self._start_ns = -(-raw // self._tf_ns) * self._tf_ns  # the first bar opening at or after start
        self.first_candle_timeout_s = 60.0
        self.end_ns = None if end is None else int(parse_utc(end, name="end").value)
        self.poll_wait_s = float(poll_wait_s)
        self._streams = streams
        self._stall_s = float(stall_s)
        self._client_factory = client_factory
        self._store = store
        if persist and store is None:
            from quantdesk.core.config import get_settings
            from quantdesk.data.store import open_store

            self._store = open_store(settings or get_settings())
        self._queue: collections.deque[Candle] = collections.deque()
        self._lock = threading.Lock()
        self._loop: LoopThread | None = None
        self._task: Any = None
        self.client: MarketDataClient | None = None
        self.error: str | None = None
        if self._store is not None and self._start_ns is not None:
            self._load_stored()

    # ---- wiring --------------------------------------------------------------------------------------------
    @property
    def start_ns(self) -> int:
        """Open time of the first bar. Without `start`: the venue's last closed candle when streaming began
        (waits for it: the venue's clock, not ours, says which candle that is)."""
        if self._start_ns is None:
            import time

            deadline = time.monotonic() + self.first_candle_timeout_s
            self.start()
            while self._start_ns is None:
                with self._lock:
                    if self._queue:
                        self._start_ns = self._queue[0].ts_ms * 1_000_000
                        break
                if self.error or time.monotonic() > deadline:
                    raise ParameterError(f"feed {self.exchange} {self.symbol}: no candle within "
                                         f"{self.first_candle_timeout_s:.0f} s ({self.error or 'no data'})")
                time.sleep(0.02)
        return self._start_ns

    def _load_stored(self) -> None:
        try:
            frame = self._store.read(self.exchange, self.symbol, str(self.timeframe), self._start_ns, self.end_ns)
        except Exception:  # nothing stored yet: everything comes from the venue
            return
        from quantdesk.engine.feed import index_ns

        self._append(index_ns(frame.index).tolist(), frame[list(OHLCV)].to_numpy(dtype=float).tolist())

    def start(self) -> None:
        """Start streaming (done by the first `poll()`)."""
        if self._loop is not None:
            return
        self._loop = LoopThread(f"feed-{self.exchange}-{self.symbol}")
        self._task = self._loop.submit(self._run())

    async def _run(self) -> None:
        client = self._client_factory() if self._client_factory else MarketDataClient(
            self.config.make_client(), self.symbol, reconnect=self.config.reconnect, streams=self._streams,
            stall_s=self._stall_s)
        self.client = client
        if self._ts:
            since_ms: int | None = (self._ts[-1] + self._tf_ns) // 1_000_000
        else:
            since_ms = None if self._start_ns is None else self._start_ns // 1_000_000
        try:
            await client.start()
            async for candle in client.candles(str(self.timeframe), since_ms):
                with self._lock:
                    self._queue.append(candle)
        except Exception as exc:  # reported by poll(); the loop retries connection failures itself
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            log.error("feed %s %s stopped: %s", self.exchange, self.symbol, self.error)
        finally:
            await client.close()

    def close(self) -> None:
        """Stop the stream's event loop thread."""
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    # ---- the rest of the feed interface (BarFeed) ----------------------------------------------------------
    def poll(self) -> int:
        """Move the candles received so far into the feed (persisted first); returns how many are new."""
        self.start()
        self.polls += 1
        with self._lock:
            fresh = list(self._queue)
            self._queue.clear()
        if not fresh:
            return 0

        def store_first(kept: list[int]) -> None:  # stored BEFORE delivery: a restart replays exactly these bars
            self._store.append(self.exchange, self.symbol, str(self.timeframe), _frame([fresh[i] for i in kept]),
                               source=f"ccxt:{self.exchange}")

        return self._append([c.ts_ms * 1_000_000 for c in fresh],
                            [(c.open, c.high, c.low, c.close, c.volume) for c in fresh], from_ns=self.start_ns,
                            persist=None if self._store is None else store_first)

    def delay(self) -> float:
        if self._consumed + 1 < len(self._ts):
            return 0.0
        with self._lock:
            queued = bool(self._queue)
        return 0.0 if queued else self.poll_wait_s

    @property
    def stats(self) -> dict[str, int]:
        return dict(self.client.stats) if self.client is not None else {}


if TYPE_CHECKING:
    def _is_a_bar_feed(feed: StreamCandleFeed) -> BarFeed:  # mypy proves StreamCandleFeed implements the port
        return feed


def _frame(candles: list[Candle]) -> pd.DataFrame:
    idx = pd.DatetimeIndex(pd.to_datetime([c.ts_ms for c in candles], unit="ms", utc=True), name="timestamp")
    return pd.DataFrame([c.values()[1:] for c in candles], index=idx,
                        columns=["open", "high", "low", "close", "volume"], dtype=float)


def stream_feed_for(spec: Any, config: AdapterConfig | None = None, **kwargs: Any) -> StreamCandleFeed:
    """The streaming feed of a paper/live BotSpec (feed='exchange'): one symbol, the spec's exchange settings."""
    if len(spec.symbols) != 1:
        raise ParameterError(f"--feed exchange streams one symbol per bot, got {spec.symbols}")
    if not spec.exchange:
        raise ParameterError("--feed exchange needs --exchange (a ccxt exchange id such as binance)")
    config = config or AdapterConfig.from_settings(spec.exchange)
    return StreamCandleFeed(config, spec.symbols[0], spec.timeframe, start=spec.start, end=spec.end, **kwargs)
