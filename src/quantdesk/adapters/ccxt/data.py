"""The market-data client: closed candles, trades and order books of one symbol through ccxt.pro streams.

    client = MarketDataClient(AdapterConfig.for_simulator(sim).make_client(), "BTC/USDT")
    async for candle in client.candles("1m", since_ms=...):   # closed candles, in order, each exactly once
        ...

Candles (the contract the engine relies on: no forming candle, none missing, none twice):
- a candle is CLOSED once a later candle has been seen, on the same connection or in a REST answer (ccxt's
  parsed OHLCV has no "closed" flag; venues publish the next candle as soon as it opens);
- after every (re)connect the client closes the gap by REST (`fetch_ohlcv` from the candle after the last one
  delivered): once right away, and again when the new stream's first message proves the subscription live.
  REST candles followed by a later one are final; stream values are trusted only for candles from the last
  REST candle on (the one still forming when the REST answer was made), so a stale value cached from a dropped
  connection is never delivered;
- every candle is delivered only if it is after the last one delivered: duplicates cannot pass.
Reconnects back off exponentially (`AdapterConfig.reconnect`). A venue without `watchOHLCV` in ccxt.pro, or
`streams=False`, is polled by REST every `poll_s` with the same closing rule; a stream silent for `stall_s` is
bridged by the same REST poll until its next message (a dead-but-open connection never stalls the bars).
Stream values are read from ccxt.pro's OHLCV cache (`exchange.ohlcvs`), which keeps every update received: the
batch one `watch_ohlcv` call returns can miss the closing update of a candle that arrived between two calls.

Trades are de-duplicated by trade id and gap-filled by `fetch_trades(since=last)` after a reconnect; order books
come from ccxt.pro's own snapshot+diff book (resynchronised by ccxt after a reconnect; the first book after it
is flagged `resynced`), or from REST polling.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from quantdesk.adapters.ccxt.capabilities import VenueCapabilities, capabilities_for
from quantdesk.adapters.ccxt.config import Backoff
from quantdesk.adapters.ccxt.connections import ws_fingerprint
from quantdesk.adapters.ccxt.parsing import BookSnapshot, Candle, Trade, id_order
from quantdesk.core.logging import get_logger
from quantdesk.model.timeframe import Timeframe

log = get_logger(__name__)


class MarketDataClient:
    """Public market data of one symbol on one venue (async)."""

    def __init__(self, exchange: Any, symbol: str, *, caps: VenueCapabilities | None = None,
                 reconnect: Backoff | None = None, streams: bool = True, poll_s: float = 2.0,
                 stall_s: float = 5.0, page_limit: int = 500) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.caps = caps or capabilities_for(exchange.id, exchange=exchange)
        self.reconnect = reconnect or Backoff()
        self.streams = bool(streams)
        self.poll_s = float(poll_s)
        self.stall_s = float(stall_s)
        self.page_limit = int(page_limit)
        self.stats = {"reconnects": 0, "stream_candles": 0, "rest_candles": 0, "rest_calls": 0, "polls": 0, "stalls": 0,
                      "trades_filled": 0}
        self._rng = random.Random(0)

    async def start(self, attempts: int = 5) -> None:
        """Load the venue's markets, retrying network failures with the reconnect backoff."""
        import ccxt

        for attempt in range(attempts):
            try:
                await self.exchange.load_markets()
                return
            except ccxt.NetworkError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.reconnect.delay(attempt, self._rng))

    async def close(self) -> None:
        await self.exchange.close()

    def _uses_stream(self, name: str) -> bool:
        return self.streams and self.caps.has_stream(name)

    async def _backoff(self, attempt: int, what: str, exc: BaseException) -> None:
        self.stats["reconnects"] += 1
        delay = self.reconnect.delay(attempt, self._rng)
        log.warning("%s %s stream lost (%s: %s); reconnecting in %.2f s", self.caps.exchange, what,
                    type(exc).__name__, str(exc)[:120], delay)
        await asyncio.sleep(delay)

    # ---- candles -----------------------------------------------------------------------------------------
    async def rest_candles(self, timeframe: str, since_ms: int | None) -> list[Candle]:
        """Candles from `since_ms` to the newest (the last one may still be forming), all pages."""
        out: list[Candle] = []
        since = since_ms
        while True:
            self.stats["rest_calls"] += 1
            rows = await self.exchange.fetch_ohlcv(self.symbol, timeframe, since, self.page_limit)
            fresh = [Candle.from_ohlcv(r, "rest") for r in rows if not out or r[0] > out[-1].ts_ms]
            out.extend(fresh)
            if len(rows) < self.page_limit or not fresh or since is None:
                return out
            since = out[-1].ts_ms + 1

    async def candles(self, timeframe: str, since_ms: int | None = None) -> AsyncIterator[Candle]:
        """Closed candles from the one opening at `since_ms` (default: the last closed one), forever."""
        tf_ms = Timeframe.parse(timeframe).nanos // 1_000_000
        state = _CandleState(tf_ms, None if since_ms is None else int(since_ms) - tf_ms)
        attempt = 0
        while True:
            if not self._uses_stream("watchOHLCV"):
                try:
                    for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since())):
                        yield self._count(candle)
                    self.stats["polls"] += 1
                    attempt = 0
                    await asyncio.sleep(self.poll_s)
                except Exception as exc:  # a failed poll is retried after a backoff; nothing is skipped
                    await self._backoff(attempt, "candle poll", exc)
                    attempt += 1
                continue
            pending = asyncio.ensure_future(self.exchange.watch_ohlcv(self.symbol, timeframe))
            try:
                state.reset()
                for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since())):
                    yield self._count(candle)
                while not await self._ready(pending):  # no message yet: REST keeps the candles coming
                    for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since())):
                        yield self._count(candle)
                pending.result()
                # the subscription is live: close the gap again, then trust the stream from the forming candle on
                for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since()), trust=True):
                    yield self._count(candle)
                attempt = 0
                connection = ws_fingerprint(self.exchange)
                while True:
                    if ws_fingerprint(self.exchange) != connection:  # ccxt reconnected silently: gap fill again
                        self.stats["reconnects"] += 1
                        state.reset()
                        for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since()),
                                                      trust=True):
                            yield self._count(candle)
                        connection = ws_fingerprint(self.exchange)
                    # ccxt's cache holds every update received (the batch a watch returns may not): read its tail
                    for candle in state.from_stream(self._cached(timeframe, state.last)):
                        yield self._count(candle)
                    if pending.done():
                        pending = asyncio.ensure_future(self.exchange.watch_ohlcv(self.symbol, timeframe))
                    if await self._ready(pending):
                        pending.result()
                        continue
                    for candle in state.from_stream(self._cached(timeframe, state.last)):  # a silent stream:
                        yield self._count(candle)
                    for candle in state.from_rest(await self.rest_candles(timeframe, state.next_since())):
                        yield self._count(candle)  # REST bridges it until the next message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                import ccxt

                if isinstance(exc, ccxt.NotSupported):
                    self.streams = False
                    continue
                await self._backoff(attempt, "candle", exc)
                attempt += 1
            finally:
                if not pending.done():
                    pending.cancel()
                elif not pending.cancelled():
                    pending.exception()  # retrieved: a failed first watch is handled by the backoff above

    def _cached(self, timeframe: str, after: int | None) -> list[Any]:
        """The rows of ccxt.pro's OHLCV cache opened after `after` (its newest end), oldest first."""
        cache = (getattr(self.exchange, "ohlcvs", None) or {}).get(self.symbol, {}).get(timeframe) or []
        tail = []
        for row in reversed(cache):
            if after is not None and row[0] <= after:
                break
            tail.append(list(row))
        return tail[::-1]

    async def _ready(self, task: asyncio.Future[Any]) -> bool:
        """Wait up to `stall_s` for a stream message; False if none came (the caller polls REST meanwhile)."""
        done, _ = await asyncio.wait({task}, timeout=self.stall_s)
        if not done:
            self.stats["stalls"] += 1
        return bool(done)

    def _count(self, candle: Candle) -> Candle:
        self.stats["stream_candles" if candle.source == "stream" else "rest_candles"] += 1
        return candle

    # ---- trades ------------------------------------------------------------------------------------------
    async def trades(self, since_ms: int | None = None) -> AsyncIterator[Trade]:
        """Public trades in time order, each once (by trade id), gap-filled by REST after reconnects."""
        seen: OrderedDict[str, None] = OrderedDict()
        last_ts = since_ms
        attempt = 0

        def fresh(rows: list[Any], source: str) -> list[Trade]:
            nonlocal last_ts
            out = []
            for row in sorted(rows, key=lambda t: (t.get("timestamp") or 0, id_order(t.get("id")))):
                trade = Trade.from_ccxt(row, source)
                if trade.trade_id in seen or (last_ts is not None and trade.ts_ms < last_ts):
                    continue
                seen[trade.trade_id] = None
                if len(seen) > 10_000:
                    seen.popitem(last=False)
                last_ts = trade.ts_ms
                out.append(trade)
            return out

        gap_fill = True
        while True:
            try:
                if last_ts is not None and gap_fill:
                    try:
                        rows = await self.exchange.fetch_trades(self.symbol, last_ts, self.page_limit)
                    except Exception as exc:
                        import ccxt

                        if isinstance(exc, ccxt.NetworkError):
                            raise
                        gap_fill = False  # the venue cannot list trades since a time: stream only
                        log.warning("%s: no trade history by time (%s); trades after a reconnect may be missing",
                                    self.caps.exchange, str(exc)[:120])
                        rows = []
                    filled = fresh(rows, "rest")
                    self.stats["trades_filled"] += len(filled)
                    for trade in filled:
                        yield trade
                if not self._uses_stream("watchTrades"):
                    rows = await self.exchange.fetch_trades(self.symbol, last_ts, self.page_limit)
                    for trade in fresh(rows, "rest"):
                        yield trade
                    await asyncio.sleep(self.poll_s)
                    continue
                connection = None
                while True:
                    rows = await self.exchange.watch_trades(self.symbol)
                    attempt = 0
                    now = ws_fingerprint(self.exchange)
                    if connection is not None and now != connection:  # reconnected silently: gap fill first
                        self.stats["reconnects"] += 1
                        break
                    connection = now
                    for trade in fresh(rows, "stream"):
                        yield trade
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._backoff(attempt, "trade", exc)
                attempt += 1

    # ---- order book --------------------------------------------------------------------------------------
    async def order_books(self, depth: int = 20) -> AsyncIterator[BookSnapshot]:
        """The top `depth` levels after each change (stream) or each poll (REST)."""
        attempt, resynced = 0, True
        pending: asyncio.Future[Any] | None = None
        connection: tuple[Any, ...] | None = None
        try:
            while True:
                try:
                    if self._uses_stream("watchOrderBook"):
                        if pending is None or pending.done():
                            pending = asyncio.ensure_future(self.exchange.watch_order_book(self.symbol))
                        if await self._ready(pending):
                            book = pending.result()
                        else:  # a silent stream: the REST book stands in until it speaks
                            book = await self.exchange.fetch_order_book(self.symbol, depth)
                    else:
                        book = await self.exchange.fetch_order_book(self.symbol, depth)
                        await asyncio.sleep(self.poll_s)
                    attempt = 0
                    now = ws_fingerprint(self.exchange)
                    if connection is not None and now != connection:  # ccxt reconnected silently: a new book
                        self.stats["reconnects"] += 1
                        resynced = True
                    connection = now
                    yield BookSnapshot.from_ccxt(book, depth, resynced)
                    resynced = False
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    pending = None
                    await self._backoff(attempt, "order book", exc)
                    attempt += 1
                    resynced = True
        finally:
            if pending is not None and not pending.done():
                pending.cancel()


class _CandleState:
    """The closing rule of `MarketDataClient.candles` (pure: unit-tested without a venue)."""

    def __init__(self, tf_ms: int, last: int | None) -> None:
        self.tf_ms = tf_ms
        self.last = last  # open time of the last candle delivered (None: nothing yet)
        self.rows: dict[int, Candle] = {}
        self.trusted_from: int | None = None
        self.max_seen: int | None = None

    def next_since(self) -> int | None:
        return None if self.last is None else self.last + self.tf_ms

    def reset(self) -> None:
        """A new connection: forget stream values, trust the stream again only after a REST sync."""
        self.rows.clear()
        self.trusted_from = None

    def _emit(self) -> list[Candle]:
        if self.max_seen is None:
            return []
        out = []
        for ts in sorted(self.rows):
            if ts >= self.max_seen:
                break
            candle = self.rows.pop(ts)
            if self.last is None or ts > self.last:
                out.append(candle)
                self.last = ts
        for ts in [t for t in self.rows if self.last is not None and t <= self.last]:
            del self.rows[ts]
        return out

    def from_rest(self, candles: list[Candle], trust: bool = False) -> list[Candle]:
        """REST candles: all but the newest are final. `trust`: from now on the stream is trusted from the newest
        REST candle on."""
        if not candles:  # nothing from next_since on yet: whatever the live stream shows from there is new
            if trust:
                self.trusted_from = self.next_since() or 0
            return []
        if self.last is None and self.max_seen is None and len(candles) >= 2:
            self.last = candles[-2].ts_ms - self.tf_ms  # start at the last closed candle
        newest = candles[-1].ts_ms
        self.max_seen = newest if self.max_seen is None else max(self.max_seen, newest)
        for candle in candles:
            if candle.ts_ms < newest or candle.ts_ms not in self.rows:
                self.rows[candle.ts_ms] = candle
        if trust:
            self.trusted_from = newest
        return self._emit()

    def from_stream(self, rows: list[Any]) -> list[Candle]:
        for row in rows:
            candle = Candle.from_ohlcv(row, "stream")
            if self.trusted_from is None or candle.ts_ms < self.trusted_from:
                continue
            self.rows[candle.ts_ms] = candle
            self.max_seen = candle.ts_ms if self.max_seen is None else max(self.max_seen, candle.ts_ms)
        return self._emit()
