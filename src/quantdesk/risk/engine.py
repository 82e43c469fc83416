"""Pre-trade risk hook: every order of every mode goes through `RiskEngine.check` before the venue.

For now a pass-through with pluggable rules: a rule is a callable `(order, context) -> Denial | None`; the
first denial wins and becomes an `OrderDenied` event with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quantdesk.model.orders import Order


@dataclass(frozen=True, slots=True)
class Denial:
    reason: str
    rule: str = ""


RiskRule = Callable[[Order, Any], "Denial | None"]


class RiskEngine:
    """`check(order, context)`: None = allowed, `Denial` = refused. `context` is the engine (portfolio, clock,
    current prices via `context.portfolio`, `context.clock`, `context.last_price(instrument)`)."""

    def __init__(self, rules: list[RiskRule] | None = None) -> None:
        self.rules: list[RiskRule] = list(rules or [])

    def add_rule(self, rule: RiskRule) -> None:
        self.rules.append(rule)

    def check(self, order: Order, context: Any) -> Denial | None:
        for rule in self.rules:
            denial = rule(order, context)
            if denial is not None:
                return denial
        return None
