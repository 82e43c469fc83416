"""Engine: the event loop shared by all modes (data -> strategy -> risk -> venue -> portfolio)."""

from typing import Any

from quantdesk.engine.bar_buffer import ClosedBarBuffer
from quantdesk.engine.feed import HistoricalFeed, normalize_ohlcv
from quantdesk.engine.portfolio import Portfolio, RoundTrip
from quantdesk.engine.ports import BarFeed, ExecutionVenue

__all__ = [
    "BarFeed",
    "ClosedBarBuffer",
    "ExecutionVenue",
    "HistoricalFeed",
    "Portfolio",
    "RoundTrip",
    "TradingEngine",
    "normalize_ohlcv",
]


def __getattr__(name: str) -> Any:  # lazy: the engine module imports the strategy views
    if name == "TradingEngine":
        from quantdesk.engine.engine import TradingEngine

        return TradingEngine
    raise AttributeError(name)
