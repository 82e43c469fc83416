"""Resampling candles to a longer timeframe, vectorised (numpy reduceat over sorted buckets).

Rules:
- the target must be a whole multiple of the source (5m, 15m, 1h, 4h, 1d, 1w from 1m; 1w from 1d; ...);
- buckets are aligned to UTC boundaries counted from the Unix epoch, except weeks (and multiples of a week),
  which start on **Monday 00:00 UTC** (ISO weeks, as most exchanges do);
- open = first open, high = max, low = min, close = last close, volume = sum; a bar is stamped with its
  bucket's start time;
- a bucket with no source bars produces no bar (gaps stay gaps);
- the LAST bucket is left out when it has fewer source bars than a full bucket (e.g. a day still in
  progress) unless `include_partial=True`. Earlier buckets with missing source bars (gaps) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.data.io import OHLCV
from quantdesk.data.validate import frame_from_arrays
from quantdesk.model.timeframe import Timeframe

WEEK_NS = 7 * 86_400 * 10**9
MONDAY_ORIGIN_NS = 4 * 86_400 * 10**9  # 1970-01-05 (a Monday) 00:00 UTC


@dataclass(frozen=True)
class ResampleInfo:
    source_rows: int
    rows: int
    partial_dropped: bool
    partial_bars: int  # source bars in the dropped last bucket (0 when nothing was dropped)
    per_bucket: int


def check_timeframes(from_tf: str | Timeframe, to_tf: str | Timeframe) -> tuple[Timeframe, Timeframe]:
    src, dst = Timeframe.parse(from_tf), Timeframe.parse(to_tf)
    if dst.nanos == src.nanos:
        raise ParameterError(f"--to {dst} is the same as --from {src}: nothing to resample")
    if dst.nanos < src.nanos:
        raise ParameterError(
            f"--to {dst} is shorter than --from {src}: can only resample to a longer timeframe"
        )
    if dst.nanos % src.nanos:
        raise ParameterError(
            f"--to {dst} is not a whole multiple of --from {src} "
            f"({dst} / {src} = {dst.nanos / src.nanos:.4g}); the nearest multiples are "
            f"{Timeframe(src.nanos * max(2, dst.nanos // src.nanos))} and {Timeframe(src.nanos * (dst.nanos // src.nanos + 1))}"
        )
    return src, dst


def bucket_origin(to: Timeframe) -> int:
    return MONDAY_ORIGIN_NS if to.nanos % WEEK_NS == 0 else 0


def resample_detail(
    df: pd.DataFrame, from_tf: str | Timeframe, to_tf: str | Timeframe, include_partial: bool = False
) -> tuple[pd.DataFrame, ResampleInfo]:
    src, dst = check_timeframes(from_tf, to_tf)
    missing = [k for k in OHLCV if k not in df.columns]
    if missing:
        raise DataError(f"resample: the frame lacks column(s) {', '.join(missing)}")
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
        raise DataError("resample: the frame needs a UTC DatetimeIndex")
    ts = np.asarray(df.index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    per = dst.nanos // src.nanos
    if ts.size == 0:
        return frame_from_arrays(ts, {k: np.empty(0) for k in OHLCV}), ResampleInfo(0, 0, False, 0, per)
    if ts.size > 1 and not np.all(ts[1:] > ts[:-1]):
        raise DataError("resample: timestamps must be sorted and unique")
    origin = bucket_origin(dst)
    bucket = (ts - origin) // dst.nanos
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [ts.size])) - 1
    o, h, lo, c, v = (np.asarray(df[k], dtype=np.float64) for k in OHLCV)
    out = {
        "open": o[starts],
        "high": np.maximum.reduceat(h, starts),
        "low": np.minimum.reduceat(lo, starts),
        "close": c[ends],
        "volume": np.add.reduceat(v, starts),
    }
    out_ts = bucket[starts] * dst.nanos + origin
    # completeness of the last bucket: count the source bars in it (time span, robust to gaps inside it)
    last_count = int(ends[-1] - starts[-1] + 1)
    partial = last_count < per
    dropped = partial and not include_partial
    if dropped:
        out_ts = out_ts[:-1]
        out = {k: a[:-1] for k, a in out.items()}
    frame = frame_from_arrays(out_ts, out)
    return frame, ResampleInfo(int(ts.size), len(frame), dropped, last_count if dropped else 0, int(per))


def resample(
    df: pd.DataFrame, from_tf: str | Timeframe, to_tf: str | Timeframe, include_partial: bool = False
) -> pd.DataFrame:
    """Aggregate `df` (UTC DatetimeIndex, OHLCV floats, on `from_tf`) into `to_tf` bars. See module doc."""
    return resample_detail(df, from_tf, to_tf, include_partial)[0]
