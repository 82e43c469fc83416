"""The bar grid of exchange candles: where bars of a timeframe open (weekly bars on Monday 00:00 UTC), rounding
to it, and which half-open ranges of bars a store lacks (holes in the middle included).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from quantdesk.core.errors import ParameterError

DAY_NS = 86_400 * 1_000_000_000
#: Weekly bars open on Monday 00:00 UTC on ccxt exchanges (the epoch, 1970-01-01, was a Thursday).
WEEK_ORIGIN_NS = 4 * DAY_NS


def grid_origin(tf_ns: int) -> int:
    """Where the bar grid of a timeframe is anchored (epoch, or Monday for weeks)."""
    return WEEK_ORIGIN_NS if tf_ns % (7 * DAY_NS) == 0 else 0


def floor_to_grid(ts_ns: int, tf_ns: int, origin_ns: int = 0) -> int:
    return ts_ns - (ts_ns - origin_ns) % tf_ns


def ceil_to_grid(ts_ns: int, tf_ns: int, origin_ns: int = 0) -> int:
    floored = floor_to_grid(ts_ns, tf_ns, origin_ns)
    return floored if floored == ts_ns else floored + tf_ns


def missing_ranges(
    existing_ns: np.ndarray | Sequence[int], since_ns: int, until_ns: int, tf_ns: int, *, origin_ns: int = 0
) -> list[tuple[int, int]]:
    """Half-open ranges `[start, end)` of grid bars in `[since, until)` that are not in `existing_ns`.

    The grid is `origin + k * tf`; `since` is rounded up to it. Existing timestamps outside the range or off
    the grid are ignored. Adjacent missing bars form one range; every hole (start, middle, end) is a range.
    """
    if tf_ns <= 0:
        raise ParameterError(f"timeframe length must be positive, got {tf_ns} ns")
    start = ceil_to_grid(int(since_ns), tf_ns, origin_ns)
    end = int(until_ns)
    if end <= start:
        return []
    ts = np.asarray(existing_ns, dtype=np.int64)
    if ts.size:
        if np.any(ts[1:] < ts[:-1]):
            ts = np.sort(ts, kind="stable")
        if np.any(ts[1:] == ts[:-1]):
            ts = ts[np.concatenate(([True], ts[1:] != ts[:-1]))]
        ts = ts[(ts >= start) & (ts < end) & ((ts - origin_ns) % tf_ns == 0)]
    if ts.size == 0:
        return [(start, end)]
    ranges: list[tuple[int, int]] = []
    if ts[0] > start:
        ranges.append((start, int(ts[0])))
    gaps = np.nonzero(np.diff(ts) > tf_ns)[0]
    for i in gaps:
        ranges.append((int(ts[i]) + tf_ns, int(ts[i + 1])))
    last = int(ts[-1]) + tf_ns
    if last < end:
        ranges.append((last, end))
    return ranges


def bars_in(ranges: Sequence[tuple[int, int]], tf_ns: int) -> int:
    """How many grid bars the half-open ranges hold (each range starts on the grid)."""
    return sum(-(-(b - a) // tf_ns) for a, b in ranges)
