"""Risk: the pre-trade risk engine every order goes through (rules, circuit breakers, cooldowns, kill switch),
position sizing; portfolio risk analytics (VaR, stress, optimisation) live apart in `risk.portfolio`."""

from quantdesk.risk.config import RiskSettings, RuleLimits, SizingSettings, parse_risk_config
from quantdesk.risk.engine import Denial, RiskEngine, RiskRule, TradingState
from quantdesk.risk.events import CooldownStarted, KillSwitchActivated, RiskDenied, TradingStateChanged

__all__ = [
    "CooldownStarted",
    "Denial",
    "KillSwitchActivated",
    "RiskDenied",
    "RiskEngine",
    "RiskRule",
    "RiskSettings",
    "RuleLimits",
    "SizingSettings",
    "TradingState",
    "TradingStateChanged",
    "parse_risk_config",
]
