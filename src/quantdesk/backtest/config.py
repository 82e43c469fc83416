"""The frozen, validated config of one backtest run; stored with its results so the run can be reproduced."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class BacktestConfig(BaseModel):
    """Everything that determines a backtest's result (with the data fingerprint stored beside it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: str = Field(description="Built-in name (e.g. 'sma_cross') or 'module:Class'.")
    params: dict[str, Any] = Field(default_factory=dict)
    symbol: str = "BTC/USDT"
    timeframe: str = "1h"
    timeframe_detail: str | None = Field(
        default=None, description="Lower timeframe whose bars resolve intrabar order (stop-loss vs take-profit)."
    )
    exchange: str | None = None
    data_file: str | None = Field(default=None, description="Backtest a file directly instead of the store.")
    start: str | None = None  # UTC ISO-8601
    end: str | None = None
    cash: float = Field(default=10_000.0, gt=0)
    fee: float = Field(default=0.001, ge=0, lt=0.1, description="Fraction of notional, charged per fill.")
    maker_fee: float | None = Field(default=None, ge=0, lt=0.1, description="Limit-order fee; default = fee.")
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)
    margin: bool = Field(default=False, description="Allow short positions.")
    risk: dict[str, Any] | None = Field(
        default=None,
        description="Pre-trade risk rules / breakers / sizing for this run (quantdesk.risk.config.RiskSettings; "
        "None = no risk rules in backtests).",
    )

    def run_spec(self, symbols: list[str] | None = None, price_precisions: dict[str, int] | None = None) -> Any:
        """The run this backtest is: its `RunSpec` (quantdesk.engine.spec), for `symbols` (default: `symbol`
        split on commas)."""
        from quantdesk.engine.spec import RunSpec

        syms = symbols if symbols is not None else [s.strip() for s in self.symbol.split(",") if s.strip()]
        return RunSpec(strategy=self.strategy, params=dict(self.params), symbols=tuple(syms or [self.symbol]),
                       exchange=self.exchange, timeframe=self.timeframe, cash=self.cash, fee=self.fee,
                       maker_fee=self.maker_fee, slippage_bps=self.slippage_bps, margin=self.margin,
                       risk=self.risk, price_precisions=dict(price_precisions or {}))

    @classmethod
    def from_run(cls, run: Any, **window: Any) -> BacktestConfig:
        """The backtest of a `RunSpec` over a data window (`start`, `end`, `data_file`, `timeframe_detail`)."""
        return cls(strategy=run.strategy, params=dict(run.params), symbol=",".join(run.symbols),
                   timeframe=run.timeframe, exchange=run.exchange, cash=run.cash, fee=run.fee,
                   maker_fee=run.maker_fee, slippage_bps=run.slippage_bps, margin=run.margin,
                   risk=dict(run.risk) if run.risk is not None else None, **window)

    @field_validator("strategy")
    @classmethod
    def _strategy_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("strategy must not be empty")
        return value.strip()
