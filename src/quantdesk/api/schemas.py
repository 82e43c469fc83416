"""Request bodies (validated: a bad field gives 422 naming it) and a few response models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[A-Za-z0-9_.:\-]{1,64}$"
SYMBOL = r"^[A-Za-z0-9]{1,20}(/[A-Za-z0-9]{1,20})?(:[A-Za-z0-9]{1,20})?$"
TIMEFRAME = r"^[0-9]{1,4}[smhdwM]$"
# built-in strategies only: the API never imports user code ('module:Class' stays a CLI/library feature)
STRATEGY = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartPaper(_Body):
    name: str | None = Field(default=None, pattern=NAME, description="Bot name (default: strategy + random).")
    strategy: str = Field(pattern=STRATEGY, examples=["sma_cross"], description="A built-in strategy name.")
    params: dict[str, float | int | str | bool] = Field(default_factory=dict, examples=[{"fast": 5, "slow": 20}])
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT"], min_length=1, max_length=20)
    timeframe: str = Field(default="1m", pattern=TIMEFRAME)
    speed: float | Literal["max"] = Field(default="max", description="x real time; 'max' = no wait.")
    cash: float = Field(default=10_000.0, gt=0, le=1e12)
    risk: bool | dict[str, Any] = Field(
        default=True, examples=[True, {"sizing": {"method": "fixed_fraction", "fraction": 0.1}}],
        description="true = the configured [risk] limits, false = none, an object = the configured limits with "
                    "these keys replaced (e.g. a sizer so that all-cash strategies fit the position limit).")
    start: str | None = Field(default=None, max_length=40)
    end: str | None = Field(default=None, max_length=40)
    fee: float = Field(default=0.001, ge=0, lt=0.1)

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        import re

        for s in v:
            if not re.match(SYMBOL, s):
                raise ValueError(f"invalid symbol {s!r}")
        return v

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: Any) -> Any:
        if isinstance(v, float) and not (0 <= v < 1e9):
            raise ValueError("speed must be >= 0 or 'max'")
        return v


class StopPaper(_Body):
    bot: str | None = Field(default=None, pattern=NAME)


class ManualTrade(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    side: Literal["buy", "sell"]
    quantity: float | None = Field(default=None, gt=0, le=1e12)
    notional: float | None = Field(default=None, gt=0, le=1e15)
    confidence: float | None = Field(default=None, gt=0, le=1)
    symbol: str | None = Field(default=None, pattern=SYMBOL)
    reason: str = Field(default="api", max_length=500)


class SimulateSignals(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    n: int = Field(default=5, ge=1, le=100)
    seed: int = Field(default=0, ge=0, le=2**31)


class NewOrder(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop"] = Field(
        default="market", description="market: fills at the next bar's open; limit/stop: work at `price`.")
    price: float | None = Field(default=None, gt=0, le=1e12, description="Limit or stop price (not for market).")
    quantity: float | None = Field(default=None, gt=0, le=1e12)
    notional: float | None = Field(default=None, gt=0, le=1e15)
    symbol: str | None = Field(default=None, pattern=SYMBOL)
    reason: str = Field(default="api order", max_length=500)

    @model_validator(mode="after")
    def _price(self) -> NewOrder:
        if self.type == "market" and self.price is not None:
            raise ValueError("price: a market order takes no price")
        if self.type != "market" and self.price is None:
            raise ValueError(f"price: a {self.type} order needs a price")
        return self


class BacktestRequest(_Body):
    strategy: str = Field(pattern=STRATEGY, examples=["sma_cross"], description="A built-in strategy name.")
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    symbol: str = Field(default="BTC/USDT", pattern=SYMBOL)
    timeframe: str = Field(default="1h", pattern=TIMEFRAME)
    exchange: str | None = Field(default=None, pattern=NAME)
    start: str | None = Field(default=None, max_length=40)
    end: str | None = Field(default=None, max_length=40)
    cash: float = Field(default=10_000.0, gt=0, le=1e12)
    fee: float = Field(default=0.001, ge=0, lt=0.1)
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)
    margin: bool = False


class RiskAction(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    reason: str = Field(default="", max_length=500)


class WhoAmI(BaseModel):
    id: str
    name: str
    read_only: bool


class WsTicket(BaseModel):
    ticket: str = Field(description="Open /ws?ticket=... with it: one use.")
    expires_in: float = Field(description="Seconds it stays valid.")


class Accepted(BaseModel):
    id: str
    status: str


class Health(BaseModel):
    status: str = Field(description="ok | degraded | down (down: the database does not answer).")
    components: dict[str, dict[str, Any]]
    degraded: list[str] = Field(default_factory=list, description="Why: one reason per component that is not ok.")
    uptime_s: float


class Message(BaseModel):
    detail: Any
