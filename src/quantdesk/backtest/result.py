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
# `tags`: the order's tags joined by ";" (e.g. "entry", "manual", "force_exit"; empty when none)
ORDER_COLUMNS = ("ts", "client_order_id", "symbol", "side", "type", "quantity", "price", "status", "reason", "tags")


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


def event_summary(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run events grouped by kind and rule (orders denied or resized by a risk rule, halts, cooldowns, strategy
    errors): how many, the first and last time, and the last one's reason with its numbers."""
    from quantdesk.core.timeutil import iso

    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for ev in events:
        if ev.get("ts") is None and ev.get("ts_event") is not None:
            ev = {**ev, "ts": iso(int(ev["ts_event"]))}
        kind = str(ev.get("type") or ev.get("event") or "event")
        rule = str(ev.get("rule") or ev.get("callback") or "")
        g = groups.setdefault((kind, rule), {"kind": kind, "rule": rule, "count": 0, "first": ev.get("ts"),
                                             "last": None, "example": ""})
        g["count"] += 1
        g["last"] = ev.get("ts")
        details = ev.get("details") or {}
        g["example"] = str(details.get("reason") or ev.get("reason") or ev.get("error") or "")
    return sorted(groups.values(), key=lambda g: (-g["count"], g["kind"], g["rule"]))


def strategy_errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `StrategyErrored` events of a run (user code that raised; the engine stopped the strategy)."""
    return [e for e in events if e.get("event") == "StrategyErrored"]
