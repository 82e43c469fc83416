"""Risk: limits, per-bot state, VaR, correlation, stress (routes/risk.py)."""

from __future__ import annotations

from typing import Any

from quantdesk.api.responses import Json, Money, Row


class RiskLimits(Row):
    """The configured [risk] section (see docs): limits, breakers, cooldowns, sizing."""

    enabled: bool
    max_position_pct: float | None = None
    max_gross_exposure_pct: float | None = None
    daily_loss_pct: float | None = None
    max_drawdown_pct: float | None = None
    on_breach: str


class RiskUsage(Row):
    value: float | None = None
    limit: float | None = None
    used_pct: float | None = None


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
    historical_var: float | None = None
    historical_cvar: float | None = None
    parametric_var: float | None = None


class RiskVar(Row):
    """Per symbol and for the equal-weight `portfolio`: VaR and CVaR as fractions of value."""

    alpha: float
    timeframe: str
    observations: int
    var: dict[str, VarFigures]


class Correlation(Row):
    symbols: list[str]
    timeframe: str
    observations: int
    matrix: list[list[float | None]]


class StressScenario(Row):
    name: str
    kind: str
    total_pnl: float | None = None
    total_pct: float | None = None
    positions: list[Json] = []
    status: str | None = None


class Stress(Row):
    book: dict[str, float]
    value: float
    timeframe: str
    scenarios: list[StressScenario]
