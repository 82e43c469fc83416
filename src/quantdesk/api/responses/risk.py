"""Risk: limits, per-bot state, VaR, correlation, stress (routes/risk.py)."""

from __future__ import annotations

from typing import Any

from quantdesk.api.responses import Json, Money, Number, Row


class RiskLimits(Row):
    """The configured [risk] section (see docs): limits, breakers, cooldowns, sizing."""

    enabled: bool
    max_position_pct: Number | None = None
    max_gross_exposure_pct: Number | None = None
    daily_loss_pct: Number | None = None
    max_drawdown_pct: Number | None = None
    on_breach: str


class RiskUsage(Row):
    value: Number | None = None
    limit: Number | None = None
    used_pct: Number | None = None


class BotRisk(Row):
    bot: str
    state: str
    active: bool
    halted_reason: str | None = None
    equity: Money | None = None
    denials: dict[str, int]
    limits: dict[str, Any]
    usage: dict[str, RiskUsage]


class VarFigures(Row):
    historical_var: Number | None = None
    historical_cvar: Number | None = None
    parametric_var: Number | None = None


class RiskVar(Row):
    """Per symbol and for the equal-weight `portfolio`: VaR and CVaR as fractions of value."""

    alpha: Number
    timeframe: str
    observations: int
    var: dict[str, VarFigures]


class Correlation(Row):
    symbols: list[str]
    timeframe: str
    observations: int
    matrix: list[list[Number | None]]


class StressScenario(Row):
    name: str
    kind: str
    total_pnl: Number | None = None
    total_pct: Number | None = None
    positions: list[Json] = []
    status: str | None = None


class Stress(Row):
    book: dict[str, Number]
    value: Number
    timeframe: str
    scenarios: list[StressScenario]
