"""Candles per PowerTrader timeframe: from a folder of CSV files (`<tf>.csv`, the golden run's layout) or
resampled from stored candles of one symbol.

A `Candles` holds oldest-first float64 arrays. Prices are parsed with Python's `float` (round-trip exact), so a
compat training sees exactly the numbers the original saw.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, NotFoundError
from quantdesk.intel.powertrader.timeframes import TF_SECONDS, TIMEFRAMES


@dataclass(frozen=True)
class Candles:
    """One timeframe's candles, oldest first; `ts` = open time, UTC epoch seconds."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def head(self, n: int) -> Candles:
        return Candles(self.ts[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n])

    def until(self, ts_limit: float) -> Candles:
        """Candles that opened at or before `ts_limit` (epoch seconds)."""
        return self.head(int(np.searchsorted(self.ts, ts_limit, side="right")))

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Candles:
        idx = df.index if isinstance(df.index, pd.DatetimeIndex) else pd.DatetimeIndex(df["timestamp"])
        idx = idx.tz_convert("UTC") if idx.tz is not None else idx.tz_localize("UTC")
        ts = idx.as_unit("ns").asi8 / 1e9
        cols = {c.lower(): c for c in df.columns}
        arr = {k: df[cols[k]].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close")}
        return cls(ts.astype(np.float64), arr["open"], arr["high"], arr["low"], arr["close"])

    def to_frame(self) -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.to_datetime(self.ts, unit="s", utc=True), name="timestamp")
        return pd.DataFrame({"open": self.open, "high": self.high, "low": self.low, "close": self.close},
                            index=index)


def _parse_time(text: str, where: str) -> float:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise DataError(f"{where}: timestamp {text!r} is neither epoch seconds/ms nor ISO-8601") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.timestamp()
    return value / 1000.0 if value > 1e11 else value  # epoch milliseconds (ccxt) or seconds


def read_candle_csv(path: Path | str) -> Candles:
    """`timestamp,open,high,low,close[,volume]`, header required, oldest first (newest-first files, as the
    original fetched them, are accepted and reversed). Errors name the file and line."""
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"candle file not found: {p}")
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise DataError(f"{p}: empty file")
    header = [h.strip().lower() for h in rows[0]]
    need = ("timestamp", "open", "high", "low", "close")
    alias = {"time": "timestamp", "date": "timestamp", "datetime": "timestamp"}
    header = [alias.get(h, h) for h in header]
    missing = [n for n in need if n not in header]
    if missing:
        raise DataError(f"{p}: missing column(s) {', '.join(missing)}; expected a header "
                        "timestamp,open,high,low,close[,volume]")
    pos = [header.index(n) for n in need]
    out = np.empty((len(rows) - 1, 5))
    for i, row in enumerate(rows[1:]):
        where = f"{p}: line {i + 2}"
        if len(row) < len(header):
            raise DataError(f"{where}: {len(row)} fields, the header has {len(header)}")
        out[i, 0] = _parse_time(row[pos[0]], where)
        for j in range(1, 5):
            try:
                out[i, j] = float(row[pos[j]])
            except ValueError:
                raise DataError(f"{where}: {need[j]} {row[pos[j]]!r} is not a number") from None
            if not (np.isfinite(out[i, j]) and out[i, j] > 0):
                raise DataError(f"{where}: {need[j]} must be a positive number, got {row[pos[j]]!r}")
    if len(out) >= 2 and np.all(np.diff(out[:, 0]) < 0):
        out = out[::-1]
    if len(out) >= 2 and not np.all(np.diff(out[:, 0]) > 0):
        k = int(np.argmax(np.diff(out[:, 0]) <= 0))
        raise DataError(f"{p}: timestamps must increase (row {k + 2} -> {k + 3} does not)")
    return Candles(out[:, 0].copy(), out[:, 1].copy(), out[:, 2].copy(), out[:, 3].copy(), out[:, 4].copy())


def read_candle_dir(directory: Path | str, timeframes: tuple[str, ...] = TIMEFRAMES) -> dict[str, Candles]:
    """`<dir>/<tf>.csv` for each timeframe (the 1-hour file is always read: the original mixes it in)."""
    d = Path(directory)
    if not d.is_dir():
        raise NotFoundError(f"candle folder not found: {d}")
    wanted = dict.fromkeys(("1hour", *timeframes))
    found = {}
    for tf in wanted:
        path = d / f"{tf}.csv"
        if not path.is_file():
            raise NotFoundError(f"{d}: no {tf}.csv (expected one CSV per timeframe: {', '.join(wanted)})")
        found[tf] = read_candle_csv(path)
    return found


def resample_candles(base: pd.DataFrame, tf: str) -> Candles:
    """Complete `tf` candles aggregated from a finer OHLC frame (UTC DatetimeIndex); buckets start at the Unix
    epoch (weeks on Thursdays, as epoch-aligned exchanges do); a bucket still open at the end is dropped."""
    if base.empty:
        raise DataError("no candles to resample")
    sec = TF_SECONDS[tf]
    times = cast(pd.DatetimeIndex, base.index)  # candles are indexed by time
    idx = times.tz_convert("UTC") if times.tz is not None else times.tz_localize("UTC")
    ts = idx.as_unit("ns").asi8 // 1_000_000_000
    step = int(np.median(np.diff(ts))) if len(ts) > 1 else sec
    if step > sec:
        raise DataError(f"cannot build {tf} candles from {step} s bars (need bars of {sec} s or finer)")
    bucket = ts - ts % sec
    frame = pd.DataFrame({"b": bucket, "o": base["open"].to_numpy(), "h": base["high"].to_numpy(),
                          "l": base["low"].to_numpy(), "c": base["close"].to_numpy(), "t": ts})
    agg = frame.groupby("b", sort=True).agg(o=("o", "first"), h=("h", "max"), l=("l", "min"), c=("c", "last"),
                                            last=("t", "max"))
    complete = agg["last"].to_numpy() + step >= agg.index.to_numpy() + sec
    agg = agg[complete]
    return Candles(agg.index.to_numpy(dtype=np.float64), agg["o"].to_numpy(), agg["h"].to_numpy(),
                   agg["l"].to_numpy(), agg["c"].to_numpy())


def candles_from_frame(base: pd.DataFrame, timeframes: tuple[str, ...] = TIMEFRAMES) -> dict[str, Candles]:
    """Every timeframe (and the 1-hour one) resampled from one finer frame."""
    return {tf: resample_candles(base, tf) for tf in dict.fromkeys(("1hour", *timeframes))}
