"""Paper data feeds. `ReplayFeed` plays stored/bundled candles bar by bar, in real time or faster.

    feed = ReplayFeed({"BTC/USDT": frame}, instruments, timeframe="1m", speed=60)   # 1 minute bar per second
    feed.delay()        # wall seconds between two bars: timeframe / speed (+ bar_sleep); 0 with speed 0/'max'
    feed.group(k)       # the bars of the k-th timestamp of the (union) timeline: [Bar, ...]

The timeline is the union of the symbols' timestamps (the engine's multi-instrument semantics); step k of the
replay is bar index k of the bot's engine, so the persisted cursor (last committed step) is all a restart needs
to know where it is. The `exchange` feed (closed candles polled through ccxt, persisted to the candle store) is
quantdesk.paper.exchange_feed.ExchangeFeed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quantdesk.core.clock import Clock, WallClock
from quantdesk.core.errors import ParameterError
from quantdesk.engine.feed import index_ns, normalize_ohlcv
from quantdesk.model.data import Bar
from quantdesk.model.instrument import Instrument
from quantdesk.model.timeframe import Timeframe

if TYPE_CHECKING:
    from quantdesk.engine.ports import BarFeed


def parse_speed(speed: Any) -> float:
    """'max' / 0 -> 0.0 (as fast as possible); else a positive multiplier of real time."""
    if speed is None:
        return 1.0
    if isinstance(speed, str):
        text = speed.strip().lower()
        if text in ("max", "0", "inf", "fast"):
            return 0.0
        try:
            speed = float(text)
        except ValueError:
            raise ParameterError(f"--speed {speed!r}: expected a number > 0 or 'max'") from None
    value = float(speed)
    if value < 0 or not np.isfinite(value) and value != float("inf"):
        raise ParameterError(f"speed must be >= 0 or 'max', got {speed!r}")
    return 0.0 if value == 0 or value == float("inf") else value


class ReplayFeed:
    """Stored candles replayed as a live feed (several symbols aligned on the union of their timestamps). A
    `BarFeed` that holds every step from the start: `poll()` brings nothing, it is always `finished`."""

    kind = "replay"
    live = False  # running out of steps is the end of the replay

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        instruments: Sequence[Instrument],
        *,
        timeframe: str,
        speed: Any = "max",
        bar_sleep: float = 0.0,
    ) -> None:
        if len(frames) != len(instruments):
            raise ParameterError("one frame per instrument")
        self.symbols = list(frames)
        self.instruments = list(instruments)
        self.timeframe = Timeframe.parse(timeframe)
        self.failed_polls = 0  # a replay is never polled
        self.clock: Clock = WallClock()  # (the port's; a replay's lag is its pace, not a clock's)
        self.speed = parse_speed(speed)
        self.bar_sleep = float(bar_sleep)
        cols = []
        for sym, frame in frames.items():
            f = normalize_ohlcv(frame, what=f"replay data {sym}")
            cols.append(
                (
                    index_ns(f.index),
                    f["open"].to_numpy().tolist(),
                    f["high"].to_numpy().tolist(),
                    f["low"].to_numpy().tolist(),
                    f["close"].to_numpy().tolist(),
                    f["volume"].to_numpy().tolist(),
                )
            )
        self._cols = cols
        self.timeline = np.unique(np.concatenate([c[0] for c in cols])) if cols else np.zeros(0, np.int64)
        self._pos = [np.searchsorted(c[0], self.timeline) for c in cols]
        self._ts_lists = [c[0].tolist() for c in cols]
        self._tl = self.timeline.tolist()

    def bind(self, instruments: Sequence[Instrument]) -> None:
        """Label the bars with the bot's instruments (one per symbol, in the feed's symbol order)."""
        if len(instruments) != len(self._cols):
            raise ParameterError("one instrument per replayed symbol")
        self.instruments = list(instruments)

    @property
    def start_ns(self) -> int:
        """Open time of the first step (0 for an empty replay)."""
        return int(self._tl[0]) if self._tl else 0

    @property
    def finished(self) -> bool:
        """Always: a replay holds all its steps from the start."""
        return True

    def poll(self) -> int:
        """Nothing to bring in: every step is held from the start."""
        return 0

    def frame(self) -> pd.DataFrame:
        """The first symbol's bars (OHLCV on a UTC `timestamp` index)."""
        ts, o, h, low, c, v = self._cols[0] if self._cols else (np.zeros(0, np.int64), [], [], [], [], [])
        idx = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True), name="timestamp")
        return pd.DataFrame({"open": o, "high": h, "low": low, "close": c, "volume": v}, index=idx, dtype=float)

    def close(self) -> None:
        """Nothing held open."""

    def __len__(self) -> int:
        return len(self._tl)

    def ts(self, k: int) -> int:
        return self._tl[k]

    def group(self, k: int) -> list[Bar]:
        """The bars at timeline step k (one per symbol that has a bar then)."""
        t = self._tl[k]
        out = []
        for j, (ts, o, h, low, c, v) in enumerate(self._cols):
            i = int(self._pos[j][k])
            if i < len(ts) and self._ts_lists[j][i] == t:
                out.append(Bar(self.instruments[j].id, t, o[i], h[i], low[i], c[i], v[i], self.timeframe))
        return out

    def delay(self) -> float:
        """Wall seconds to wait between two bars."""
        base = self.timeframe.seconds / self.speed if self.speed > 0 else 0.0
        return base + self.bar_sleep


if TYPE_CHECKING:
    def _is_a_bar_feed(feed: ReplayFeed) -> BarFeed:  # mypy proves ReplayFeed implements the port
        return feed


def make_feed(kind: str, *args: Any, **kwargs: Any) -> BarFeed:
    """`replay` -> ReplayFeed(frames, instruments, timeframe=..., speed=..., bar_sleep=...);
    `exchange` -> quantdesk.paper.exchange_feed.ExchangeFeed(exchange=..., symbol=..., timeframe=..., ...)."""
    if kind == "replay":
        return ReplayFeed(*args, **kwargs)
    if kind == "exchange":
        if kwargs.get("exchange") and kwargs.get("symbol"):
            from quantdesk.paper.exchange_feed import ExchangeFeed

            return ExchangeFeed(kwargs.pop("exchange"), kwargs.pop("symbol"), kwargs.pop("timeframe", "1m"),
                                **kwargs)
        raise ParameterError(
            "an exchange feed needs exchange= and symbol= (e.g. make_feed('exchange', exchange='binance', "
            "symbol='BTC/USDT', timeframe='1m'))"
        )
    raise ParameterError(f"unknown feed {kind!r}; expected 'replay' or 'exchange'")
