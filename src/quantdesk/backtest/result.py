"""What a backtest returns, whichever engine ran it (event engine or compiled fast path).

`trades` columns (one row per closed or open round trip):
    symbol, side ('long'|'short'), entry_time, exit_time (NaT if still open), entry_price, exit_price
    (last close if open), quantity, fees, pnl, return_pct, bars_held, is_open
`orders` columns: ts, client_order_id, symbol, side, type, quantity, price, status, reason
`equity`: float Series indexed by bar time (UTC), cash + marked-to-market positions after each bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quantdesk.backtest.config import BacktestConfig

TRADE_COLUMNS = (
    "symbol",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "return_pct",
    "bars_held",
    "is_open",
)
ORDER_COLUMNS = ("ts", "client_order_id", "symbol", "side", "type", "quantity", "price", "status", "reason")


@dataclass
class BacktestResult:
    config: BacktestConfig
    data_info: dict[str, Any]  # symbol, timeframe, exchange, first, last, rows, fingerprint (sha256 of OHLCV)
    trades: pd.DataFrame
    equity: pd.Series
    orders: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ORDER_COLUMNS)))
    metrics: dict[str, float] = field(default_factory=dict)
    indicators: dict[str, pd.Series] = field(default_factory=dict)  # for the report's plots
    events: list[dict[str, Any]] = field(default_factory=list)  # denials, halts, strategy errors
