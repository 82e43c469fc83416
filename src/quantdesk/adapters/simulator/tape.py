"""The replayed market: candles from a file (or the candle store) and the trade path the simulator walks through.

Each candle is replayed as four trades at fixed fractions of its duration (0, 1/4, 1/2, 3/4) followed by its
close at `open + timeframe`:

    open -> low -> high -> close    when close >= open  (a rising candle visits its low first)
    open -> high -> low -> close    when close <  open

each trade carrying a quarter of the candle's volume (rounded down to 1e-8, the last quarter takes the rest, so
the four add up to the candle's volume exactly). The candle formed by the trades seen so far is what klines show
while it forms; after its close it equals the file's candle. Prices are kept as integers in ticks (`tick_size`),
so matching compares integers and nothing is rounded: a price in the data that is not on the tick grid is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError

TICKS_PER_CANDLE = 4
EVENTS_PER_CANDLE = TICKS_PER_CANDLE + 1  # four trades, then the close
VOLUME_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True)
class Tape:
    """Candles (prices in ticks) and the event schedule: event j is candle j // 5, kind j % 5 (4 = close)."""

    open_ms: np.ndarray  # int64, sorted, unique
    ohlc: np.ndarray  # int64 (n, 4) in ticks
    volume: np.ndarray  # object array of Decimal
    tick_size: Decimal
    tf_ms: int
    path_ticks: np.ndarray  # int64 (n, 4): the four trade prices of each candle, in ticks
    event_ms: np.ndarray  # int64 (n * 5,): time of each event

    def __len__(self) -> int:
        return int(self.open_ms.shape[0])

    @property
    def n_events(self) -> int:
        return int(self.event_ms.shape[0])

    def price(self, ticks: int) -> Decimal:
        """The decimal price of an integer number of ticks."""
        return Decimal(int(ticks)) * self.tick_size

    def price_text(self, ticks: int) -> str:
        return fmt(self.price(ticks))

    def tick_volume(self, candle: int, k: int) -> Decimal:
        """Volume of trade k (0..3) of candle `candle`: a quarter, rounded down; the last one takes the rest."""
        total = self.volume[candle]
        quarter = (total / TICKS_PER_CANDLE).quantize(VOLUME_QUANTUM, rounding=ROUND_DOWN)
        return quarter if k < TICKS_PER_CANDLE - 1 else total - quarter * (TICKS_PER_CANDLE - 1)

    def event_index_at(self, t_ms: int) -> int:
        """Number of events with time <= t_ms (the schedule is sorted; ties keep close-before-next-open)."""
        return int(np.searchsorted(self.event_ms, t_ms, side="right"))

    def candle_at(self, t_ms: int) -> int:
        """Index of the last candle that opened at or before t_ms (-1 before the first)."""
        return int(np.searchsorted(self.open_ms, t_ms, side="right")) - 1

    def start_ms(self, start: str | None) -> int:
        """The first simulated moment: the open of the first candle at or after `start` (default: the first)."""
        if start is None:
            return int(self.open_ms[0])
        from quantdesk.core.timeutil import parse_utc

        t = int(parse_utc(start, name="start").value // 1_000_000)
        i = int(np.searchsorted(self.open_ms, t, side="left"))
        if i >= len(self):
            raise ParameterError(f"start {start!r} is after the last candle of the data "
                                 f"({pd.Timestamp(int(self.open_ms[-1]), unit='ms', tz='UTC').isoformat()})")
        return int(self.open_ms[i])


def fmt(value: Decimal, places: int = 8) -> str:
    """Binance-style fixed-point text (`Decimal('1.5')` -> '1.50000000'); never rounds: a value with more
    decimals than `places` keeps them all."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return format(value.normalize(), "f")
    return f"{value:.{places}f}"


def decimals_needed(values: np.ndarray, max_places: int = 8) -> int:
    """The fewest decimal places that represent every value exactly (vectorised; at most `max_places`)."""
    for places in range(max_places + 1):
        scaled = values * 10.0**places
        if np.all(np.abs(scaled - np.rint(scaled)) <= _tolerance(scaled)):
            return places
    return max_places


def _tolerance(scaled: np.ndarray) -> np.ndarray:
    """How far from an integer a float may be and still be that integer (a few ulps, at least 1e-7)."""
    return np.maximum(1e-7, np.abs(scaled) * 1e-14)


def load_frame(data: Path | None, symbol: str, timeframe: str, exchange: str | None = None) -> pd.DataFrame:
    """Validated candles (float OHLCV, UTC index) from a CSV/Parquet file, or from the candle store if `data` is None."""
    if data is None:
        from quantdesk.data import load

        frame = load(symbol, timeframe, exchange)
        if frame.empty:
            raise DataError(f"no {symbol} {timeframe} candles in the store; pass a data file (--data FILE)")
        return frame
    from quantdesk.data.io import read_file
    from quantdesk.data.validate import ValidationRefused, prepare

    if not Path(data).is_file():
        raise DataError(f"--data {data}: no such file")
    try:
        frame, _report = prepare(read_file(data), timeframe)
    except ValidationRefused as exc:
        issue = exc.report.blocking[0]
        example = f" ({issue.examples[0]})" if issue.examples else ""
        raise DataError(f"{data}: not usable as {timeframe} candles: {issue.title}, {issue.count} rows{example}; "
                        "check --timeframe or fix the file (quantdesk data import explains every line)") from None
    if frame.empty:
        raise DataError(f"{data}: no valid {timeframe} candles")
    return frame


def build_tape(frame: pd.DataFrame, timeframe_ms: int, tick_size: Decimal | None, where: str) -> Tape:
    """Candles on the tick grid plus the event schedule. Refuses prices that are not multiples of `tick_size`."""
    prices = frame[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise DataError(f"{where}: prices must be positive numbers")
    if tick_size is None:
        tick_size = Decimal(1).scaleb(-decimals_needed(prices.ravel()))
    scaled = prices / float(tick_size)
    ticks = np.rint(scaled).astype(np.int64)
    off = np.abs(scaled - ticks) > _tolerance(scaled)
    if off.any():
        row = int(np.argwhere(off)[0][0])
        raise ParameterError(f"tick_size {tick_size}: {where} has prices off that grid (first at "
                             f"{frame.index[row].isoformat()}: {prices[row].tolist()}); use a finer --tick-size")
    o, h, low, c = ticks[:, 0], ticks[:, 1], ticks[:, 2], ticks[:, 3]
    rising = c >= o
    path = np.stack([o, np.where(rising, low, h), np.where(rising, h, low), c], axis=1)
    index = pd.DatetimeIndex(frame.index)
    open_ms = index.as_unit("ms").asi8.astype(np.int64)
    offsets = np.array([k * timeframe_ms // TICKS_PER_CANDLE for k in range(TICKS_PER_CANDLE)] + [timeframe_ms],
                       dtype=np.int64)
    event_ms = (open_ms[:, None] + offsets[None, :]).ravel()
    if np.any(np.diff(open_ms) < timeframe_ms):
        raise DataError(f"{where}: candles are closer together than the timeframe ({timeframe_ms} ms)")
    volume = np.array([Decimal(repr(float(v))) for v in frame["volume"].to_numpy(dtype=np.float64)], dtype=object)
    for arr in (open_ms, ticks, path, event_ms):
        arr.setflags(write=False)
    return Tape(open_ms=open_ms, ohlc=ticks, volume=volume, tick_size=tick_size, tf_ms=timeframe_ms,
                path_ticks=path, event_ms=event_ms)
