"""Risk: the pre-trade hook every order goes through (rules, circuit breakers and analytics come later)."""

from quantdesk.risk.engine import Denial, RiskEngine, RiskRule

__all__ = ["Denial", "RiskEngine", "RiskRule"]
