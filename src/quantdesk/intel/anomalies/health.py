"""Feed health checks, one bar at a time (the batch function runs the same object over a frame):

- gap:          the bar arrives more than one timeframe after the previous one; score = missing bars.
- stale:        the price is frozen (open = high = low = close = previous close) for `stale_bars` bars in a row or
                more; every bar of the run from the `stale_bars`-th on is flagged; score = run length.
- zero_volume:  volume == 0.
- price_jump:   |close - previous close| > `jump_atr` x ATR of the previous bars (Wilder, `atr_period`);
                score = the move in ATRs.
- outside_book: the candle's close lies outside [best bid, best ask] widened by `book_tolerance` (a fraction of
                the mid), when an order book snapshot of the same moment is given; score = distance / spread.
The feed_stalled alert (no bar at all for N timeframes) is the alert manager's own rule (monitoring.alerts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd


class FeedHealth:
    def __init__(self, timeframe_ns: int | None = None, *, stale_bars: int = 3, jump_atr: float = 8.0,
                 atr_period: int = 14, book_tolerance: float = 0.0) -> None:
        self.tf = timeframe_ns
        self.stale_bars, self.jump_atr, self.atr_period = stale_bars, jump_atr, atr_period
        self.book_tolerance = book_tolerance
        self.prev_ts: int | None = None
        self.prev_close = math.nan
        self.run = 0
        self.atr = math.nan
        self.n = 0
        self._tr_sum = 0.0

    def update(self, ts_ns: int, o: float, h: float, lo: float, c: float, v: float,
               book: tuple[float, float] | None = None) -> list[tuple[str, float]]:
        """Checks of one bar (call in time order); [(kind, score), ...]."""
        found: list[tuple[str, float]] = []
        if self.prev_ts is not None and self.tf:
            step = ts_ns - self.prev_ts
            if step > self.tf * 1.5:
                found.append(("gap", float(round(step / self.tf) - 1)))
        prev = self.prev_close
        frozen = prev == prev and o == h == lo == c == prev
        self.run = self.run + 1 if frozen else 0
        if self.run >= self.stale_bars:
            found.append(("stale", float(self.run)))
        if v == 0:
            found.append(("zero_volume", 1.0))
        if prev == prev and self.atr == self.atr and self.atr > 0:
            move = abs(c - prev) / self.atr
            if move > self.jump_atr:
                found.append(("price_jump", move))
        if book is not None:
            bid, ask = book
            mid = (bid + ask) / 2.0
            tol = self.book_tolerance * mid
            spread = max(ask - bid, 1e-12)
            if c < bid - tol or c > ask + tol:
                found.append(("outside_book", (bid - c if c < bid else c - ask) / spread))
        # ATR of the bars so far (used for the NEXT bar): Wilder, seeded by the mean true range
        tr = h - lo if prev != prev else max(h - lo, abs(h - prev), abs(lo - prev))
        self.n += 1
        if self.n <= self.atr_period:
            self._tr_sum += tr
            if self.n == self.atr_period:
                self.atr = self._tr_sum / self.atr_period
        else:
            self.atr = (self.atr * (self.atr_period - 1) + tr) / self.atr_period
        self.prev_ts, self.prev_close = ts_ns, c
        return found


def infer_timeframe_ns(index: pd.DatetimeIndex) -> int | None:
    """The most common bar spacing (ns), or None with fewer than two bars."""
    if len(index) < 2:
        return None
    diffs = np.diff(index.as_unit("ns").asi8)
    diffs = diffs[diffs > 0]
    if not len(diffs):
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[np.argmax(counts)])


def health_checks(df: pd.DataFrame, timeframe_ns: int | None = None, books: Iterable[Any] | None = None,
                  **kwargs: Any) -> list[list[tuple[str, float]]]:
    """FeedHealth over every bar of an OHLCV frame (UTC DatetimeIndex); per bar the list of findings."""
    times = cast(pd.DatetimeIndex, df.index)
    tf = timeframe_ns if timeframe_ns is not None else infer_timeframe_ns(times)
    fh = FeedHealth(tf, **kwargs)
    ts = times.as_unit("ns").asi8
    cols = [df[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close", "volume")]
    book_list = list(books) if books is not None else [None] * len(df)
    o, h, lo, c, v = cols
    return [fh.update(int(ts[i]), o[i], h[i], lo[i], c[i], v[i], book=book_list[i]) for i in range(len(df))]
