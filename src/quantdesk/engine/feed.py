"""Data feeds. A historical feed turns an OHLCV DataFrame into plain column lists (the backtest hot loop reads
Python floats, never the DataFrame); paper/live feeds push `Bar`s into `TradingEngine.on_bar` one at a time."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.timeframe import Timeframe

OHLCV = ("open", "high", "low", "close", "volume")
# ts (int64 ns) then open, high, low, close, volume (float64)
# (a string: array.array is subscriptable at run time only from Python 3.12)
Columns: TypeAlias = "tuple[array[int], array[float], array[float], array[float], array[float], array[float]]"


def normalize_ohlcv(df: pd.DataFrame, *, what: str = "data") -> pd.DataFrame:
    """A float64 frame with columns open..volume and a UTC DatetimeIndex (from the index or a time column)."""
    if df is None or len(df) == 0:
        raise DataError(f"{what}: no bars")
    columns = {str(c).lower(): c for c in df.columns}
    frame = df
    if not isinstance(frame.index, pd.DatetimeIndex):
        for key in ("timestamp", "time", "date", "datetime", "ts"):
            if key in columns:
                col = frame[columns[key]]
                if pd.api.types.is_integer_dtype(col):
                    idx = pd.to_datetime(col, unit="ns", utc=True)
                else:
                    idx = pd.to_datetime(col, utc=True)
                frame = frame.drop(columns=[columns[key]])
                frame.index = pd.DatetimeIndex(idx, name="timestamp")
                break
        else:
            raise DataError(f"{what}: needs a DatetimeIndex or a 'timestamp' column")
    missing = [c for c in OHLCV if c not in columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing} (have {list(df.columns)})")
    out = pd.DataFrame({c: frame[columns[c]].to_numpy(dtype=np.float64) for c in OHLCV}, index=frame.index)
    index = cast(pd.DatetimeIndex, out.index)  # made a DatetimeIndex above
    out.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if not out.index.is_monotonic_increasing or out.index.has_duplicates:
        raise DataError(f"{what}: timestamps must be strictly increasing")
    values = out[["open", "high", "low", "close"]].to_numpy()
    bad = ~np.isfinite(values).all(axis=1) | (values <= 0).any(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise DataError(
            f"{what}: {int(bad.sum())} bar(s) with a missing, infinite or non-positive price, "
            f"first at {out.index[first]} ({dict(out.iloc[first])})"
        )
    return out


def as_array(values: np.ndarray, typecode: str) -> array[Any]:
    out = array(typecode)
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64 if typecode == "q" else np.float64).tobytes())
    return out


def index_ns(index: pd.Index[Any]) -> np.ndarray:
    """Epoch nanoseconds of a DatetimeIndex (the frames here went through `normalize_ohlcv`)."""
    return np.asarray(cast(pd.DatetimeIndex, index).as_unit("ns").asi8, dtype=np.int64)


@dataclass
class HistoricalFeed:
    """Bars of one instrument for a backtest, optionally with lower-timeframe `detail` bars of the same period."""

    instrument: InstrumentId
    frame: pd.DataFrame
    timeframe: Timeframe | None = None
    detail: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.frame = normalize_ohlcv(self.frame)
        if self.detail is not None:
            self.detail = normalize_ohlcv(self.detail, what="detail data")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ts(self) -> np.ndarray:
        return index_ns(self.frame.index)

    def columns(self) -> Columns:
        """ts (int64) and open..volume (float64) as `array.array`s: 8 bytes per value (a list of floats costs
        32), and indexing returns plain Python numbers, as fast as a list."""
        f = self.frame
        return (
            as_array(self.ts, "q"),
            as_array(f["open"].to_numpy(), "d"),
            as_array(f["high"].to_numpy(), "d"),
            as_array(f["low"].to_numpy(), "d"),
            as_array(f["close"].to_numpy(), "d"),
            as_array(f["volume"].to_numpy(), "d"),
        )

    def detail_rows(self) -> tuple[list[tuple[Any, ...]], np.ndarray, np.ndarray] | None:
        """(rows, start, end): rows[start[i]:end[i]] are the detail bars inside main bar i."""
        if self.detail is None:
            return None
        d = self.detail
        dts = index_ns(d.index)
        rows = list(
            zip(
                dts.tolist(),
                d["open"].tolist(),
                d["high"].tolist(),
                d["low"].tolist(),
                d["close"].tolist(),
                d["volume"].tolist(),
                strict=True,
            )
        )
        ts = self.ts
        start = np.searchsorted(dts, ts, side="left")
        end = np.append(start[1:], len(dts))
        return rows, start, end
