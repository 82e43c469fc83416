"""The declared interfaces are what the code really uses: the engine provides every member of `TradingContext`
(strategies) and `RiskContext` (risk), and the built-in strategies and risk modules read nothing else from it.
mypy checks the same statically (`strat._engine = self`, `risk.bind(self)`); this keeps it true without mypy."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import quantdesk
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.ports import TradingContext
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.instrument import Instrument
from quantdesk.risk.context import RiskContext, SizingHost
from quantdesk.strategies import Strategy

SRC = Path(quantdesk.__file__).parent


def _members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))


class _Idle(Strategy):
    def on_bar(self, bar) -> None:  # noqa: D401 - nothing to do
        pass


@pytest.mark.parametrize("protocol", [TradingContext, RiskContext, SizingHost])
def test_the_engine_provides_every_declared_member(protocol: type) -> None:
    engine = TradingEngine(_Idle(), Instrument(InstrumentId("BTC/USDT", "sim"), price_precision=2, size_precision=6), cash=1000)
    missing = sorted(n for n in _members(protocol) if not hasattr(engine, n))
    assert not missing, f"{protocol.__name__} declares what TradingEngine lacks: {missing}"


def _engine_reads(path: Path, receivers: tuple[str, ...]) -> set[str]:
    """Attributes read as `<receiver>.engine.X` / `engine.X` / `ctx.X` in a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            base = node.value
            if isinstance(base, ast.Attribute) and base.attr in receivers:
                found.add(node.attr)
            elif isinstance(base, ast.Name) and base.id in receivers:
                found.add(node.attr)
    return found


def test_strategies_read_only_the_trading_context() -> None:
    declared = _members(TradingContext)
    for path in sorted((SRC / "strategies").glob("*.py")):
        extra = _engine_reads(path, ("engine", "_eng")) - declared
        assert not extra, f"{path.name} reads {sorted(extra)} from the engine, outside TradingContext"


def test_risk_reads_only_the_risk_context() -> None:
    declared = _members(RiskContext)
    for name, receivers in (("engine.py", ("ctx", "_ctx")), ("rules.py", ("ctx",)), ("sizing.py", ("engine",))):
        extra = _engine_reads(SRC / "risk" / name, receivers) - declared  # sizing's own `ctx` is a SizingContext
        assert not extra, f"risk/{name} reads {sorted(extra)} from its context, outside RiskContext"


def test_protocol_signatures_match_the_engine() -> None:
    for name in ("order", "cancel", "modify", "attach_exit", "leg", "open_orders", "has_bar", "risk_flatten"):
        proto = getattr(TradingContext, name, None) or getattr(RiskContext, name)
        declared = list(inspect.signature(proto).parameters)
        actual = list(inspect.signature(getattr(TradingEngine, name)).parameters)
        assert declared == actual, f"{name}: declared {declared}, engine has {actual}"
