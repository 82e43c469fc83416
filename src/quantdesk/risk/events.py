"""Risk events (frozen, UTC ns timestamps, like quantdesk.model.events).

`RiskDenied` IS an `OrderDenied` (same topic, handled everywhere an OrderDenied is) that also carries the rule
and its numbers. `to_report()` gives the dict stored in `BacktestResult.events`:
    {"ts": UTC ISO, "type": ..., "rule": ..., "symbol": ..., "details": {...}} (+ the event's own fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantdesk.core.timeutil import iso
from quantdesk.model.events import Event, OrderDenied


def _report(event: Event, type_: str, rule: str, symbol: str, details: dict[str, Any]) -> dict[str, Any]:
    out = Event.to_dict(event)
    out["event"] = type_
    out.update({"ts": iso(int(event.ts_event)), "type": type_, "rule": rule, "symbol": symbol})
    out["details"] = dict(details)
    return out


@dataclass(frozen=True, slots=True)
class RiskDenied(OrderDenied):
    """An order refused by a pre-trade rule or a breaker: `rule`, `limit`, `value` (what the order would
    have made it), plus free `details`."""

    rule: str = ""
    limit: float | None = None
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {"limit": self.limit, "value": self.value, "reason": self.reason, **self.details}
        return _report(self, "OrderDenied", self.rule, str(self.instrument), d)


@dataclass(frozen=True, slots=True)
class TradingStateChanged(Event):
    """The trading state moved (ACTIVE / HALTED / REDUCING / KILLED), with the breaker or command that moved it."""

    old: str
    new: str
    rule: str
    reason: str
    limit: float | None = None
    value: float | None = None

    topic = "risk"

    def to_dict(self) -> dict[str, Any]:
        d = {
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
            "limit": self.limit,
            "value": self.value,
        }
        return _report(self, "TradingStateChanged", self.rule, "", d)


@dataclass(frozen=True, slots=True)
class KillSwitchActivated(Event):
    reason: str
    canceled: int = 0
    flatten_orders: int = 0

    topic = "risk"

    def to_dict(self) -> dict[str, Any]:
        d = {"reason": self.reason, "canceled": self.canceled, "flatten_orders": self.flatten_orders}
        return _report(self, "KillSwitchActivated", "kill_switch", "", d)


@dataclass(frozen=True, slots=True)
class CooldownStarted(Event):
    symbol: str
    rule: str
    until_ns: int | None
    until_bar: int | None
    reason: str = ""

    topic = "risk"

    def to_dict(self) -> dict[str, Any]:
        d = {
            "until": iso(int(self.until_ns)) if self.until_ns is not None else None,
            "until_bar": self.until_bar,
            "reason": self.reason,
        }
        return _report(self, "CooldownStarted", self.rule, self.symbol, d)


@dataclass(frozen=True, slots=True)
class OrderResized(Event):
    """An order the risk engine sized down to fit a limit instead of denying it (`risk.fit_to_limits`):
    `requested` is the quantity the order asked for (estimated at the last price for notional and all-cash
    orders), `quantity` what it was sized to."""

    client_order_id: str
    symbol: str
    rule: str
    limit: float
    requested: float
    quantity: float

    topic = "risk"

    def to_dict(self) -> dict[str, Any]:
        d = {"client_order_id": self.client_order_id, "limit": self.limit, "requested": self.requested,
             "quantity": self.quantity,
             "reason": f"{self.rule}: sized {self.requested:.6g} -> {self.quantity:.6g} to fit limit {self.limit:.6g}"}
        return _report(self, "OrderResized", self.rule, self.symbol, d)
