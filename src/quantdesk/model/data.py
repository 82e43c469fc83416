"""Market data value objects: Bar, QuoteTick, TradeTick (UTC int-ns timestamps).

Bars carry floats (research data). Prices become Decimals only at the fill boundary.
The engine's hot loop hands strategies a `BarView` (a cursor over column arrays, read-only, valid during the
callback): it has the same attributes as `Bar`; call `.freeze()` to keep an immutable `Bar`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from quantdesk.model.enums import OrderSide
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.timeframe import Timeframe


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; `ts_ns` is the bar's open time (UTC ns)."""

    instrument: InstrumentId
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    timeframe: Timeframe | None = None

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(
                f"inconsistent bar at {self.ts_ns}: o={self.open} h={self.high} l={self.low} c={self.close}"
            )


@dataclass(frozen=True, slots=True)
class QuoteTick:
    instrument: InstrumentId
    ts_ns: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class TradeTick:
    """A print on the tape; `aggressor` is the side that crossed the spread."""

    instrument: InstrumentId
    ts_ns: int
    price: float
    size: float
    aggressor: OrderSide
    trade_id: str = ""


Tick = TradeTick


class BarView:
    """Read-only cursor over column lists: `view.close` is `close[view.index]`. Same attributes as `Bar`.

    The engine moves `index` every bar instead of allocating a Bar (the hot path of a 1M-bar backtest).
    Do not keep a view beyond the callback; keep `view.freeze()` instead.
    """

    __slots__ = ("instrument", "timeframe", "index", "_ts", "_o", "_h", "_l", "_c", "_v")

    def __init__(
        self,
        instrument: InstrumentId,
        ts: Sequence[int],
        o: Sequence[float],
        h: Sequence[float],
        l: Sequence[float],  # noqa: E741
        c: Sequence[float],
        v: Sequence[float],
        timeframe: Timeframe | None = None,
    ) -> None:
        self.instrument = instrument
        self.timeframe = timeframe
        self.index = 0
        self._ts, self._o, self._h, self._l, self._c, self._v = ts, o, h, l, c, v

    @property
    def ts_ns(self) -> int:
        return self._ts[self.index]

    @property
    def bars_total(self) -> int:
        """How many bars the series behind this view holds (progress = (index + 1) / bars_total)."""
        return len(self._ts)

    @property
    def open(self) -> float:
        return self._o[self.index]

    @property
    def high(self) -> float:
        return self._h[self.index]

    @property
    def low(self) -> float:
        return self._l[self.index]

    @property
    def close(self) -> float:
        return self._c[self.index]

    @property
    def volume(self) -> float:
        return self._v[self.index]

    def freeze(self) -> Bar:
        i = self.index
        return Bar(
            self.instrument,
            self._ts[i],
            self._o[i],
            self._h[i],
            self._l[i],
            self._c[i],
            self._v[i],
            self.timeframe,
        )

    def __getitem__(self, key: str) -> Any:  # Mapping-style access for indicator inputs
        return getattr(self, key)

    def __repr__(self) -> str:
        return (
            f"BarView({self.instrument}, ts={self.ts_ns}, o={self.open}, h={self.high}, l={self.low}, "
            f"c={self.close}, v={self.volume})"
        )
