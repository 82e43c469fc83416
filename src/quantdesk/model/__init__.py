"""Domain model: frozen, typed value objects shared by backtest, paper and live."""

from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.timeframe import Timeframe

__all__ = ["InstrumentId", "Timeframe"]
