"""Market data and indicators (routes/market.py)."""

from __future__ import annotations

from typing import Any

from quantdesk.api.responses import IsoTime, Number, Row


class Candle(Row):
    timestamp: IsoTime
    open: Number
    high: Number
    low: Number
    close: Number
    volume: Number | None = None


class StoredSeries(Row):
    exchange: str
    symbol: str
    timeframe: str
    first: IsoTime | None = None
    last: IsoTime | None = None
    rows: int


class IndicatorInfo(Row):
    """A catalog entry: inputs, parameters (with their ranges), output columns, TA-Lib twin, streaming support."""

    name: str
    group: str
    inputs: list[str]
    params: list[dict[str, Any]]
    outputs: list[str]
    overlay: bool
    description: str


class IndicatorValues(Row):
    """`values`: one row per bar, `timestamp` and the indicator's output columns (null during the warm-up)."""

    indicator: str
    symbol: str
    timeframe: str
    params: dict[str, Any]
    values: list[dict[str, Number | str | None]]
