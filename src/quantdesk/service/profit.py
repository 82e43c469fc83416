"""Profit of closed trades by day, week or month and by pair (FreqUI's daily/weekly/monthly bars and
per-pair table). Net of fees, in the quote currency, grouped by the trade's exit time (UTC; weeks start on
Monday). Pure functions of the stored round trips."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

import pandas as pd

from quantdesk.model.money import plain

Period = Literal["day", "week", "month"]


def _net(t: Mapping[str, Any]) -> Decimal:
    return Decimal(str(t["realized_pnl"])) - Decimal(str(t["fees"]))


def _closed(trades: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [t for t in trades if t.get("status") == "closed" and t.get("exit_ts") is not None]


def period_start(ts_ns: int, period: Period) -> str:
    """The UTC day, the Monday of the week or the first of the month that contains `ts_ns` (YYYY-MM-DD)."""
    t = pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").normalize()
    if period == "week":
        t = t - pd.Timedelta(days=t.weekday())
    elif period == "month":
        t = t.replace(day=1)
    return t.strftime("%Y-%m-%d")


def profit_by_period(trades: Iterable[Mapping[str, Any]], period: Period = "day") -> list[dict[str, Any]]:
    """[{period, pnl, trades, wins}] in time order; periods without a closed trade are left out."""
    if period not in ("day", "week", "month"):
        raise ValueError(f"period must be day, week or month, got {period!r}")
    groups: dict[str, list[Decimal]] = {}
    for t in _closed(trades):
        groups.setdefault(period_start(int(t["exit_ts"]), period), []).append(_net(t))
    return [{"period": k, "pnl": plain(sum(v, Decimal(0))), "trades": len(v), "wins": sum(1 for x in v if x > 0)}
            for k, v in sorted(groups.items())]


def profit_by_pair(trades: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """[{symbol, pnl, trades, wins, win_rate_pct}], most profitable first."""
    groups: dict[str, list[Decimal]] = {}
    for t in _closed(trades):
        groups.setdefault(str(t["symbol"]), []).append(_net(t))
    rows: list[dict[str, Any]] = [
        {"symbol": k, "pnl": sum(v, Decimal(0)), "trades": len(v), "wins": sum(1 for x in v if x > 0)}
            for k, v in groups.items()]
    rows.sort(key=lambda r: r["pnl"], reverse=True)
    return [{**r, "pnl": plain(r["pnl"]), "win_rate_pct": r["wins"] / r["trades"] * 100} for r in rows]
