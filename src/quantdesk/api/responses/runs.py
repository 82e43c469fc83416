"""Backtests, alerts and the system routes (routes/backtests.py, alerts.py, system.py)."""

from __future__ import annotations

from quantdesk.api.responses import IsoTime, Json, Nanos, Number, Row


class BacktestRow(Row):
    """A job in flight (running, maybe `queued`) or failed (`error`), or a recorded run with its `metrics`."""

    id: str
    status: str
    strategy: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    metrics: dict[str, Number | None] | None = None
    error: str | None = None


class BacktestTrade(Row):
    symbol: str | None = None
    side: str
    entry_time: IsoTime | None = None
    exit_time: IsoTime | None = None
    entry_price: Number | None = None
    exit_price: Number | None = None
    quantity: Number
    fees: Number | None = None
    pnl: Number | None = None
    return_pct: Number | None = None
    is_open: bool | None = None


class BacktestEquity(Row):
    ts: IsoTime
    equity: Number


class Backtest(Row):
    """A job: running (`progress`, `queued`), failed (`error`) or completed: `config`, `metrics`, and the trades
    and equity curve of a run made through the API (null for a run recorded by the CLI)."""

    id: str
    status: str
    progress: Number
    queued: bool | None = None
    error: str | None = None
    config: Json | None = None
    metrics: dict[str, Number | None] | None = None
    trades: list[BacktestTrade] | None = None
    equity: list[BacktestEquity] | None = None


class Delivery(Row):
    channel: str
    status: str
    attempts: int
    error: str | None = None


class Alert(Row):
    id: str
    ts: IsoTime
    ts_ns: Nanos
    kind: str
    severity: str
    title: str
    text: str
    bot: str | None = None
    symbol: str | None = None
    status: str
    created_at: IsoTime | None = None
    deliveries: list[Delivery] = []
