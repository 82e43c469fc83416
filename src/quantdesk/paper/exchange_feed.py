"""`ExchangeFeed`: closed candles of one symbol streamed from an exchange through ccxt REST polling.

    feed = ExchangeFeed("binance", "BTC/USDT", "1m", start="2024-01-01T00:00Z")   # backfills from start
    feed.poll()      # fetch the closed bars after the last one known (one page); returns how many are new
    feed.group(k)    # [Bar] of step k (steps = closed bars, in time order)
    feed.delay()     # 0 while bars are waiting, else seconds until the next bar closes + `close_delay_s`

How it works:
- POLLING, not websockets: ccxt pro (`watch_ohlcv`) is not available offline / in this install, so the feed calls
  `fetch_ohlcv(since=last closed bar + 1 timeframe, until=open of the bar in progress)` on the timeframe's
  boundaries plus a small delay (`close_delay_s`, the exchange needs a moment to close the bar).
- CLOSED bars only: the request ends before the bar in progress (`floor(now)`), so a bar is delivered once,
  final. Every page goes through the downloader's checks (quantdesk.data.download: shape, numbers, range, grid,
  candle rules) and retry policy (timeouts, 429 with Retry-After, 5xx: capped exponential backoff).
- DE-DUPLICATED and IN ORDER: only bars strictly after the last delivered timestamp are kept.
- GAP-AWARE: the next request always starts right after the last bar delivered, so bars missed while the
  exchange was unreachable (a poll that failed even after its retries is logged and simply tried again at the
  next poll) are fetched first, page by page, and delivered in order before newer ones.
- PERSISTED: every new bar is appended to the candle store (`open_store().append`, source `ccxt:{exchange}`)
  BEFORE it is handed to the bot, so a restarted bot replays exactly the bars it saw (the feed starts with the
  stored bars from `start`).
- The bot's clock is the bars' own timestamps (as in a replay): same bars -> same orders as a backtest.
- WHICH BARS ARE CLOSED: by default the exchange says so: its newest candle is the one in progress, every earlier
  one is closed (one `fetch_ohlcv(limit=1)` per poll). A skewed local clock, or an exchange simulator replaying
  history on its own clock, can then never make a forming candle look closed. Polls happen when the local clock
  says the next bar should have closed, and at least every `max_poll_s` (a simulator may run faster than real
  time). With an injected `clock` (tests), that clock decides instead.

One symbol per exchange feed (a multi-symbol live timeline would need a policy for a symbol whose bar is late).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from quantdesk.core.clock import Clock, WallClock
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.engine.bar_buffer import OHLCV, ClosedBarBuffer
from quantdesk.model.instrument import Instrument
from quantdesk.model.timeframe import Timeframe

if TYPE_CHECKING:
    from quantdesk.engine.ports import BarFeed

log = get_logger(__name__)


class ExchangeFeed(ClosedBarBuffer):
    """Live closed candles of one symbol from a ccxt exchange (REST polling); see the module docstring. The bars
    held, steps and `group`/`frame`/`finished` are `ClosedBarBuffer`'s."""

    kind = "exchange"
    live = True  # the bot is never "done" by running out of bars: it waits for the next one

    def __init__(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        *,
        start: Any = None,
        end: Any = None,
        settings: Any = None,
        client: Any = None,
        store: Any = None,
        clock: Clock | None = None,
        retry: Any = None,
        close_delay_s: float = 2.0,
        page_limit: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        instruments: Sequence[Instrument] | None = None,
        load_stored: bool = True,
    ) -> None:
        from quantdesk.core.config import get_settings
        from quantdesk.data.download import ceil_to_grid, grid_origin
        from quantdesk.model.identifiers import normalize_symbol, normalize_venue

        if not exchange or normalize_venue(exchange) in ("local", "sim"):
            raise ParameterError("--feed exchange needs a ccxt exchange id (--exchange binance)")
        super().__init__(normalize_symbol(symbol), normalize_venue(exchange), Timeframe.parse(timeframe),
                         instruments=instruments)
        self.settings = settings or get_settings()
        self._origin = grid_origin(self._tf_ns)
        self._exchange_time = clock is None  # the exchange's newest candle decides what is closed
        self.clock = clock or WallClock()
        self.close_delay_s = float(close_delay_s)
        self.max_poll_s = min(self._tf_ns / 1e9, 5.0)
        self.sleep = sleep
        self._client = client
        self._store = store
        self._job: Any = None
        self._per_page = page_limit
        self._retry = retry
        self.start_ns = 0  # set below; asking the exchange for its newest candle needs the client first
        if start is None:  # from the last closed bar at creation
            start_ns = self.closed_until_ns() - self._tf_ns
        else:
            start_ns = ceil_to_grid(int(parse_utc(start, name="start").value), self._tf_ns, self._origin)
        self.start_ns = start_ns
        self.end_ns = None if end is None else int(parse_utc(end, name="end").value)
        if load_stored:
            self._load_stored()

    # ---- wiring ------------------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        if self._store is None:
            from quantdesk.data.store import open_store

            self._store = open_store(self.settings)
        return self._store

    def _load_stored(self) -> None:
        try:
            frame = self.store.read(self.exchange, self.symbol, str(self.timeframe), self.start_ns, self.end_ns)
        except Exception:  # nothing stored yet (NotFoundError) or an unreadable series: start from the exchange
            return
        self._extend(frame, persist=False)

    def _extend(self, frame: pd.DataFrame, *, persist: bool) -> int:
        if frame is None or not len(frame):
            return 0
        from quantdesk.engine.feed import index_ns

        def store_first(kept: list[int]) -> None:  # stored BEFORE delivery: a restart replays exactly these bars
            self.store.append(self.exchange, self.symbol, str(self.timeframe), frame.iloc[kept],
                              source=f"ccxt:{self.exchange}")

        rows = frame[list(OHLCV)].to_numpy(dtype=float).tolist()
        return self._append(index_ns(frame.index).tolist(), rows, from_ns=self.start_ns,
                            persist=store_first if persist else None)

    def _job_ready(self) -> Any:
        if self._job is not None:
            return self._job
        from quantdesk.data.ccxt_client import ResponseWatch, check_timeframe, make_exchange, ohlcv_page_limit
        from quantdesk.data.download import DownloadReport, RetryPolicy, _Job, _load_market

        client = self._client if self._client is not None else make_exchange(self.exchange, self.settings)
        policy = self._retry or RetryPolicy.from_settings(self.settings)
        job = _Job(client=client, watch=ResponseWatch.install(client), exchange=self.exchange, symbol=self.symbol,
                   tf=self.timeframe, tf_key=check_timeframe(client, str(self.timeframe)), policy=policy,
                   rng=random.Random(policy.seed), sleep=self.sleep,
                   report=DownloadReport(exchange=self.exchange, symbol=self.symbol, timeframe=str(self.timeframe),
                                         since=iso(self.start_ns), until="", existing_bars=0,
                                         missing_bars=0))
        market = _load_market(job)
        limit = ohlcv_page_limit(client, market)
        self._per_page = min(self._per_page, limit) if self._per_page else limit
        self._job = job
        return job

    @property
    def retries(self) -> int:
        return self._job.report.retries if self._job is not None else 0

    # ---- polling -------------------------------------------------------------------------------------------
    def closed_until_ns(self) -> int:
        """Open time of the bar in progress: every bar opened before it is closed (see the module docstring)."""
        from quantdesk.data.download import floor_to_grid

        if self._exchange_time:
            newest = self._newest_open_ns()
            if newest is not None:
                return newest
        return floor_to_grid(self.clock.now_ns(), self._tf_ns, self._origin)

    def _newest_open_ns(self) -> int | None:
        """Open time of the exchange's newest candle (the one in progress), or None when it cannot be asked."""
        try:
            job = self._job_ready()
            rows = job.client.fetch_ohlcv(job.symbol, job.tf_key, limit=1)
        except Exception as exc:  # noqa: BLE001 - the poll falls back to the local clock, and retries later
            log.debug("exchange feed %s %s: newest candle unknown (%s)", self.exchange, self.symbol,
                      type(exc).__name__)
            return None
        return int(rows[-1][0]) * 1_000_000 if rows else None

    def poll(self) -> int:
        """Fetch (one page of) the closed bars after the last one known; returns the number of new bars.
        A request that still fails after the retry policy is logged and retried at the next poll (nothing is
        skipped: the next request starts after the last bar delivered)."""
        from quantdesk.data.download import _fetch_page

        self.polls += 1
        since = self._ts[-1] + self._tf_ns if self._ts else self.start_ns
        until = self.closed_until_ns()
        if self.end_ns is not None:
            until = min(until, self.end_ns + 1)
        if until <= since:
            return 0
        try:
            job = self._job_ready()
            n = max(1, min(int(self._per_page or 500), -(-(until - since) // self._tf_ns)))
            frame = _fetch_page(job, since, until, n)
        except DataError as exc:
            self.failed_polls += 1
            log.warning("exchange feed %s %s %s: %s; will retry at the next poll", self.exchange, self.symbol,
                        self.timeframe, exc)
            return 0
        return self._extend(frame, persist=True)

    # ---- the rest of the feed interface (BarFeed) --------------------------------------------------------------
    def delay(self) -> float:
        """0 while delivered bars wait; else wall seconds until the next bar closes, plus `close_delay_s`."""
        if self._consumed + 1 < len(self._ts):
            return 0.0
        nxt = (self._ts[-1] + 2 * self._tf_ns) if self._ts else self.start_ns + self._tf_ns
        if not self._exchange_time:
            if nxt <= self.closed_until_ns():  # behind: catch up now
                return 0.0
            return max(0.0, (nxt - self.clock.now_ns()) / 1e9) + self.close_delay_s
        wait = max(0.0, (nxt - self.clock.now_ns()) / 1e9) + self.close_delay_s
        return min(wait, self.max_poll_s)


if TYPE_CHECKING:
    def _is_a_bar_feed(feed: ExchangeFeed) -> BarFeed:  # mypy proves ExchangeFeed implements the port
        return feed


def exchange_feed_for(spec: Any, **kwargs: Any) -> ExchangeFeed:
    """The exchange feed of a BotSpec (feed='exchange')."""
    if len(spec.symbols) != 1:
        raise ParameterError(f"--feed exchange streams one symbol per bot, got {spec.symbols}")
    if not spec.exchange:
        raise ParameterError("--feed exchange needs --exchange (a ccxt exchange id such as binance)")
    return ExchangeFeed(spec.exchange, spec.symbols[0], spec.timeframe, start=spec.start, end=spec.end, **kwargs)
