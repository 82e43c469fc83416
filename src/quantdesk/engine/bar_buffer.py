"""`ClosedBarBuffer`: the bookkeeping of a live feed that receives the closed bars of one symbol one at a time.

    class MyFeed(ClosedBarBuffer):                      # + poll(), delay(), start_ns, kind, live: a `BarFeed`
        def poll(self) -> int:
            return self._append(ts_ns, rows, from_ns=self.start_ns)   # only bars strictly after the last one

Both exchange feeds (`paper.exchange_feed.ExchangeFeed`, REST polling, and `adapters.ccxt.feed.StreamCandleFeed`,
streams) keep their bars here, so the steps they hand to a bot follow one rule: a step per closed bar, in time
order, each delivered once (late, repeated or out-of-order bars are dropped), none after `end_ns`. It lives in the
engine layer because `paper` and `adapters` are independent siblings above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from quantdesk.core.clock import Clock, WallClock
from quantdesk.model.data import Bar
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.model.timeframe import Timeframe

OHLCV = ("open", "high", "low", "close", "volume")


class ClosedBarBuffer:
    """Closed bars of one symbol held as steps (step k = the k-th bar); the `BarFeed` members that only depend on
    the bars held. Subclasses bring the bars in (`poll`, through `_append`) and say when to look (`delay`)."""

    def __init__(self, symbol: str, exchange: str, timeframe: Timeframe, *, end_ns: int | None = None,
                 instruments: Sequence[Instrument] | None = None) -> None:
        self.symbol = symbol
        self.symbols = [symbol]
        self.exchange = exchange
        self.timeframe = timeframe
        self._tf_ns = timeframe.nanos
        self.end_ns = end_ns
        self.instruments: list[Instrument] = list(instruments or [])
        self._ts: list[int] = []
        self._rows: list[tuple[float, float, float, float, float]] = []
        self._consumed = -1  # highest step handed out by group()
        self.polls = 0  # poll() calls, and those that failed after their retries (health and metrics read them)
        self.failed_polls = 0
        self.clock: Clock = WallClock()  # what the feed's lag is measured against (a test may inject another)

    def bind(self, instruments: Sequence[Instrument]) -> None:
        """Label the bars with the bot's instrument (until then: `InstrumentId(symbol, exchange)`)."""
        self.instruments = list(instruments)

    def _append(self, ts_ns: Sequence[int], rows: Sequence[Sequence[float]], *, from_ns: int | None = None,
                persist: Callable[[list[int]], None] | None = None) -> int:
        """Add the bars (open times `ts_ns`, rows o, h, l, c, v) that are new: strictly after the last bar held
        and the previous one kept (a bar is delivered once, in order), at or after `from_ns`, not after `end_ns`.
        `persist(positions)` receives the positions kept before the feed holds them (stored before delivery, so
        a restart replays exactly these bars). Returns how many were added."""
        last = self._ts[-1] if self._ts else None
        end = self.end_ns
        kept: list[int] = []
        for i, t in enumerate(ts_ns):
            t = int(t)
            if (last is not None and t <= last) or (from_ns is not None and t < from_ns) or (
                    end is not None and t > end):
                continue
            kept.append(i)
            last = t
        if not kept:
            return 0
        if persist is not None:
            persist(kept)
        for i in kept:
            o, h, low, c, v = rows[i]
            self._ts.append(int(ts_ns[i]))
            self._rows.append((float(o), float(h), float(low), float(c), float(v)))
        return len(kept)

    # ---- the steps ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ts)

    def ts(self, k: int) -> int:
        return self._ts[k]

    @property
    def timeline(self) -> list[int]:
        """The open times of the bars held (a copy)."""
        return list(self._ts)

    def group(self, k: int) -> list[Bar]:
        """The bar of step k (one symbol), labelled with the bound instrument."""
        o, h, low, c, v = self._rows[k]
        self._consumed = max(self._consumed, k)
        iid = self.instruments[0].id if self.instruments else InstrumentId(self.symbol, self.exchange)
        return [Bar(iid, self._ts[k], o, h, low, c, v, self.timeframe)]

    def frame(self) -> pd.DataFrame:
        """The bars held so far (precision inference of a new bot, reports)."""
        idx = pd.DatetimeIndex(pd.to_datetime(self._ts, unit="ns", utc=True), name="timestamp")
        return pd.DataFrame(self._rows, index=idx, columns=list(OHLCV), dtype=float)

    @property
    def finished(self) -> bool:
        """True once `end_ns` is set and its last bar has been handed out."""
        return (self.end_ns is not None and bool(self._ts) and self._consumed + 1 >= len(self._ts)
                and self._ts[-1] + self._tf_ns > self.end_ns)

    def close(self) -> None:
        """Nothing held open here (a streaming subclass stops its thread)."""
