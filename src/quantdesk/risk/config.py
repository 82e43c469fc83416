"""Risk configuration: pre-trade limits, circuit breakers, cooldowns, correlation guard and sizing.

One pydantic model, `RiskSettings`, used in two places:

- `Settings.risk` (the `[risk]` section of quantdesk.toml / `QD_RISK__*`): the GLOBAL limits of paper and live
  trading. Its defaults are the protective ones of the issue: max position 15% of equity, max gross exposure
  100% of equity, daily loss limit 5% of start-of-day equity, max drawdown 20% from peak.
- `BacktestConfig.risk` (a plain dict, validated here with `parse_risk_config`): the risk of ONE backtest run.
  Backtests run WITHOUT any rule unless `risk` is given (so that `sma_cross`'s all-cash semantics and every
  stored result stay as they were); when it is given, it is validated against `RiskSettings`, i.e. unspecified
  keys get the defaults above (set a key to null/None to switch that rule off). The dict is self-contained (not
  merged with quantdesk.toml), so that a stored config reproduces its run.

Every percentage is a FRACTION (0.15 = 15%). `None` switches a rule off. Example (TOML)::

    [risk]
    max_position_pct = 0.15          # |worst-case position| x last price / equity, per symbol
    max_gross_exposure_pct = 1.0     # sum of |worst-case positions| x last price / equity
    max_open_positions = 5           # symbols with a position or a working entry order
    max_positions_per_symbol = 2     # entries (pyramiding) per symbol: entry fills since flat + working entries
    min_order_notional = 10
    max_order_notional = 5000
    price_band_pct = 0.05            # limit/stop prices within 5% of the last price
    max_orders_per_window = 10       # exposure-increasing orders ...
    rate_window_s = 60               # ... per rolling 60 s of CLOCK time
    daily_loss_pct = 0.05            # breaker: loss vs start-of-day (UTC) equity
    max_drawdown_pct = 0.20          # breaker: loss vs peak equity
    on_breach = "halt"               # "halt" | "reduce"
    auto_resume_next_day = true      # a daily-loss halt lifts at the next UTC day

    [risk.cooldown]
    after_stop_loss = true
    after_losing_trades = 3          # N losing round trips in a row on a symbol
    seconds = 3600                   # duration in clock time ...
    bars = 0                         # ... and/or in bars (both: the later end wins)

    [risk.correlation]
    max_correlation = 0.8
    window = 50                      # bar returns

    [risk.sizing]                    # applied to orders WITHOUT an explicit quantity
    method = "fixed_fraction"
    fraction = 0.1

    [risk.sentiment_block]            # no new exposure on an asset for 24 h after a text names a hack on it
    events = ["hack", "exploit", "rug_pull", "depeg", "delisting"]
    hours = 24
    [risk.regime]                    # cap exposure by market regime (quantdesk.intel.regimes.risk_settings)
    method = "hmm"
    max_exposure = { volatile = 0.5 }

    [risk.strategies.my_strategy]    # extra limits for one strategy id (the global ones still apply)
    max_position_pct = 0.05
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from quantdesk.core.errors import ConfigError
from quantdesk.intel.regimes.risk_settings import RegimeRiskSettings

_STRICT = ConfigDict(extra="forbid", frozen=True)

Fraction = float  # documented: a share of equity, 0.15 = 15%


class RuleLimits(BaseModel):
    """Pre-trade limits (each None = off). Checked for every order that INCREASES exposure; orders that only
    reduce or close a position always pass."""

    model_config = _STRICT

    max_position_pct: float | None = Field(default=None, gt=0, description="share of equity per symbol")
    max_gross_exposure_pct: float | None = Field(default=None, gt=0, description="gross share of equity")
    max_open_positions: int | None = Field(default=None, ge=1)
    max_positions_per_symbol: int | None = Field(default=None, ge=1, description="entries per symbol")
    min_order_notional: float | None = Field(default=None, ge=0)
    max_order_notional: float | None = Field(default=None, gt=0)
    price_band_pct: float | None = Field(default=None, gt=0, lt=1)
    max_orders_per_window: int | None = Field(default=None, ge=1)
    rate_window_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> RuleLimits:
        lo, hi = self.min_order_notional, self.max_order_notional
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_order_notional ({lo}) is above max_order_notional ({hi})")
        return self


class CooldownSettings(BaseModel):
    """Per-symbol pause of new entries after a stop-loss fill or after N losing round trips in a row."""

    model_config = _STRICT

    after_stop_loss: bool = False
    after_losing_trades: int | None = Field(default=None, ge=1)
    seconds: float = Field(default=0.0, ge=0)
    bars: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _duration(self) -> CooldownSettings:
        if (self.after_stop_loss or self.after_losing_trades) and not (self.seconds or self.bars):
            raise ValueError("cooldown: give a duration (seconds and/or bars > 0)")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.after_stop_loss or self.after_losing_trades)


class CorrelationSettings(BaseModel):
    """Deny opening a position whose bar-return correlation with the open book exceeds `max_correlation`."""

    model_config = _STRICT

    max_correlation: float | None = Field(default=None, gt=-1, le=1)
    window: int = Field(default=50, ge=3)
    min_periods: int = Field(default=10, ge=3)


class SentimentBlockSettings(BaseModel):
    """Block new exposure on an asset for `hours` after a text names one of `events` about it (the rule lives
    in quantdesk.intel.sentiment.risk; `attach_sentiment_rule(risk_engine)` adds it from these settings)."""

    model_config = _STRICT

    events: list[str] = Field(default_factory=lambda: ["hack", "exploit", "rug_pull", "depeg", "delisting"],
                              min_length=1)
    hours: float = Field(default=24.0, gt=0, le=24 * 365)


SizingMethod = Literal["fixed_fraction", "fixed_notional", "kelly", "vol_target", "risk_per_trade"]


class SizingSettings(BaseModel):
    """A sizer applied by the engine to strategy orders that give no quantity (see quantdesk.risk.sizing)."""

    model_config = _STRICT

    method: SizingMethod
    fraction: float | None = Field(default=None, gt=0, le=10, description="fixed_fraction")
    notional: float | None = Field(default=None, gt=0, description="fixed_notional")
    win_rate: float | None = Field(default=None, gt=0, lt=1, description="kelly (else from trade history)")
    payoff: float | None = Field(default=None, gt=0, description="kelly: average win / average loss")
    kelly_scale: float = Field(default=1.0, gt=0, le=1, description="kelly: fraction of full Kelly")
    cap: float = Field(default=0.25, gt=0, le=10, description="kelly: max share of equity")
    min_trades: int = Field(default=10, ge=1, description="kelly from history: trades needed")
    target_vol: float | None = Field(default=None, gt=0, description="vol_target: per-bar vol as a fraction")
    vol_method: Literal["stdev", "atr"] = "stdev"
    window: int = Field(default=20, ge=2, description="vol_target lookback (bars)")
    risk_pct: float | None = Field(default=None, gt=0, lt=1, description="risk_per_trade")
    stop_pct: float | None = Field(default=None, gt=0, lt=1, description="risk_per_trade: stop distance")
    max_fraction: float | None = Field(default=None, gt=0, description="cap of any sizer, share of equity")

    @model_validator(mode="after")
    def _required(self) -> SizingSettings:
        need = {
            "fixed_fraction": ("fraction",),
            "fixed_notional": ("notional",),
            "vol_target": ("target_vol",),
            "risk_per_trade": ("risk_pct", "stop_pct"),
            "kelly": (),
        }[self.method]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"sizing method {self.method!r} needs {', '.join(missing)}")
        if self.method == "kelly" and (self.win_rate is None) != (self.payoff is None):
            raise ValueError("kelly: give both win_rate and payoff, or neither (history)")
        return self


class RiskSettings(RuleLimits):
    """The whole `risk` section. Field defaults are the protective values of paper/live trading."""

    enabled: bool = True
    max_position_pct: float | None = Field(default=0.15, gt=0)
    max_gross_exposure_pct: float | None = Field(default=1.0, gt=0)
    daily_loss_pct: float | None = Field(default=0.05, gt=0, lt=1)
    max_drawdown_pct: float | None = Field(default=0.20, gt=0, lt=1)
    on_breach: Literal["halt", "reduce"] = "halt"
    auto_resume_next_day: bool = True
    cooldown: CooldownSettings = CooldownSettings()
    correlation: CorrelationSettings = CorrelationSettings()
    sizing: SizingSettings | None = None
    fit_to_limits: bool = Field(
        default=True,
        description="size an order that would breach max_position_pct, max_gross_exposure_pct or "
        "max_order_notional down to the largest quantity that fits (denied only when that is below the "
        "instrument's minimum); false: deny it",
    )
    sentiment_block: SentimentBlockSettings | None = None  # news-event entry block (quantdesk.intel.sentiment)
    regime: RegimeRiskSettings | None = None  # scale / block exposure by regime (quantdesk.intel.regimes)
    strategies: dict[str, RuleLimits] = Field(default_factory=dict)

    def limits(self) -> RuleLimits:
        """The global pre-trade limits alone."""
        return RuleLimits(**{k: getattr(self, k) for k in RuleLimits.model_fields})


def parse_risk_config(data: RiskSettings | dict[str, Any] | None, *, where: str = "risk") -> RiskSettings:
    """Validate a risk dict (e.g. `BacktestConfig.risk`); raises ConfigError naming the first bad key."""
    if isinstance(data, RiskSettings):
        return data
    try:
        return RiskSettings.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        key = f"{where}.{loc}" if loc else where
        n = exc.error_count()
        raise ConfigError(
            f"invalid setting {key}: {first['msg']} ({n} problem{'s' if n > 1 else ''} in all)"
        ) from None
