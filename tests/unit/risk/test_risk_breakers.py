"""Circuit breakers (daily loss, drawdown), HALTED/REDUCING, resume, kill switch, cooldowns, alerts, backtest."""

from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import T0, denied, frame, off, run, states

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.model.enums import OrderStatus
from quantdesk.risk import RiskEngine, TradingState

# 6-hour bars: 4 per UTC day. Day 1: 100, 100, 100, 90 (-5% of 10 000 when holding 50); day 2: flat 90.
DAY_PATH = [100, 100, 100, 90, 90, 90, 90, 90, 90]


def test_daily_loss_halts_reducing_passes_and_next_day_resumes():
    alerts = []
    script = {
        1: lambda s: s.buy(50),  # fills at bar 2 open (100): 5000 of 10 000
        3: [lambda s: s.buy(1), lambda s: s.sell(10)],  # halted at bar 3 (close 90: equity 9500 = -5%)
        4: lambda s: s.buy(1),  # next UTC day: resumed automatically
    }
    risk = RiskEngine.from_settings(off(daily_loss_pct=0.05), strategy_id="s", alerts=[alerts.append])
    eng, _ = run(script, frame(DAY_PATH, freq="6h"), risk=risk)
    assert states(eng) == [("ACTIVE", "HALTED", "daily_loss_pct"), ("HALTED", "ACTIVE", "daily_loss_pct")]
    halt = [e for e in eng.events if e.get("type") == "TradingStateChanged"][0]
    assert halt["details"]["value"] == pytest.approx(0.05) and halt["details"]["limit"] == 0.05
    assert halt["ts"] == "2024-01-01T18:00:00Z"
    st = [o.status for o in eng.orders]
    assert st == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED, OrderStatus.FILLED]
    d = denied(eng)[0]
    assert d["rule"] == "trading_state" and d["details"]["state"] == "HALTED"
    assert [type(a).__name__ for a in alerts] == ["TradingStateChanged", "TradingStateChanged"]
    assert risk.state is TradingState.ACTIVE


def test_no_auto_resume_when_disabled_then_explicit_resume():
    script = {
        1: lambda s: s.buy(50),
        4: lambda s: s.buy(1),
        5: lambda s: s.engine.risk.resume(),
        6: lambda s: s.buy(1),
    }
    eng, _ = run(
        script, frame(DAY_PATH, freq="6h"), settings=off(daily_loss_pct=0.05, auto_resume_next_day=False)
    )
    assert [o.status for o in eng.orders] == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED]
    assert states(eng) == [("ACTIVE", "HALTED", "daily_loss_pct"), ("HALTED", "ACTIVE", "manual")]


def test_halt_cancels_working_entries_but_keeps_protective_orders():
    script = {
        1: lambda s: s.buy(50),
        2: [lambda s: s.buy(5, limit=50), lambda s: s.attach_stop_loss(40)],
    }
    eng, _ = run(script, frame(DAY_PATH, freq="6h"), settings=off(daily_loss_pct=0.05))
    entry, stop = eng.orders[1], eng.orders[2]
    assert entry.status is OrderStatus.CANCELED and "risk" in entry.reason
    assert stop.status is not OrderStatus.CANCELED or stop.reason == "end of data"


def test_drawdown_from_peak_needs_explicit_resume():
    path = [100, 100, 120, 120, 100, 100, 100, 100, 100]  # peak equity 11 000 (50 units), then 10 000: -9.09%
    script = {
        1: lambda s: s.buy(50),
        5: lambda s: s.buy(1),
        6: lambda s: s.engine.risk.resume(),
        7: lambda s: s.buy(1),
    }
    eng, _ = run(script, frame(path, freq="1D"), settings=off(max_drawdown_pct=0.09))
    assert states(eng)[0] == ("ACTIVE", "HALTED", "max_drawdown_pct")
    ev = [e for e in eng.events if e.get("type") == "TradingStateChanged"][0]
    assert ev["details"]["value"] == pytest.approx(1000 / 11000)
    assert [o.status for o in eng.orders] == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED]


def test_reducing_mode_flattens_the_book():
    frames = {"AAA/USD": frame(DAY_PATH, freq="6h"), "BBB/USD": frame([50.0] * 9, freq="6h")}
    script = {1: [lambda s: s.buy(50, symbol="AAA/USD"), lambda s: s.sell(20, symbol="BBB/USD")]}
    eng, _ = run(script, frames, settings=off(daily_loss_pct=0.05, on_breach="reduce"))
    assert states(eng)[0] == ("ACTIVE", "REDUCING", "daily_loss_pct")
    flat = [o for o in eng.orders if "risk_flatten" in o.tags]
    assert len(flat) == 2 and all(o.status is OrderStatus.FILLED for o in flat)
    assert all(eng.portfolio.position_qty(leg.iid) == 0 for leg in eng.legs)


def test_kill_switch_cancels_everything_and_flattens_a_multi_instrument_book():
    frames = {"AAA/USD": frame([100.0] * 8), "BBB/USD": frame([50.0] * 8)}
    script = {
        1: [lambda s: s.buy(10, symbol="AAA/USD"), lambda s: s.sell(20, symbol="BBB/USD")],
        2: [
            lambda s: s.buy(1, limit=90, symbol="AAA/USD"),
            lambda s: s.attach_stop_loss(80, symbol="AAA/USD"),
            lambda s: s.engine.kill_switch("operator"),
            lambda s: s.buy(1, symbol="AAA/USD"),  # denied: killed
            lambda s: s.close(symbol="BBB/USD"),  # closing still passes
        ],
        4: lambda s: s.buy(1, symbol="BBB/USD"),  # still killed
    }
    eng, _ = run(script, frames, settings=off())
    kinds = [e["type"] for e in eng.events]
    assert "KillSwitchActivated" in kinds
    kill = next(e for e in eng.events if e["type"] == "KillSwitchActivated")
    assert kill["details"] == {"reason": "operator", "canceled": 2, "flatten_orders": 2}
    assert all(eng.portfolio.position_qty(leg.iid) == 0 for leg in eng.legs)
    assert [d["rule"] for d in denied(eng)] == ["trading_state", "trading_state"]
    assert eng.risk.state is TradingState.KILLED
    assert not eng.venue.open_orders()


def test_kill_via_risk_engine_and_manual_halt():
    risk = RiskEngine.from_settings(off(), strategy_id="s")
    script = {
        1: lambda s: s.buy(3),
        2: lambda s: risk.halt("ops"),
        3: [lambda s: s.buy(1), lambda s: s.sell(1)],
        4: lambda s: risk.kill(),
    }
    eng, _ = run(script, frame([100.0] * 7), risk=risk)
    assert [o.status for o in eng.orders][:3] == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED]
    assert eng.portfolio.position_qty(eng.instrument.id) == 0
    assert risk.denial_counts() == {"trading_state": 1}


def test_cooldown_after_stop_loss_in_clock_time():
    path = [100, 100, 100, 85, 85, 85, 85, 85, 85]
    script = {
        1: lambda s: s.buy(10),
        2: lambda s: s.attach_stop_loss(90),  # hit at bar 3 (low 85): fills at 90
        3: lambda s: s.buy(1),  # in cooldown (2 hours)
        4: lambda s: s.buy(1),
        5: lambda s: s.buy(1),  # 2 hours after the stop fill: allowed
    }
    eng, _ = run(script, frame(path), settings=off(cooldown={"after_stop_loss": True, "seconds": 7200}))
    cd = [e for e in eng.events if e["type"] == "CooldownStarted"]
    assert (
        len(cd) == 1
        and cd[0]["rule"] == "cooldown_stop_loss"
        and cd[0]["details"]["until"] == "2024-01-01T05:00:00Z"
    )
    assert [o.status for o in eng.orders][2:] == [OrderStatus.DENIED, OrderStatus.DENIED, OrderStatus.FILLED]
    assert {d["rule"] for d in denied(eng)} == {"cooldown"}


def test_cooldown_after_losing_streak_in_bars():
    path = [100, 100, 99, 99, 98, 98, 97, 97, 97, 97, 97]
    script = {
        1: lambda s: s.buy(1),
        2: lambda s: s.close(),  # buy 100 sell 99: loss
        3: lambda s: s.buy(1),
        4: lambda s: s.close(),  # 99 -> 98: loss -> 2 in a row: cooldown 3 bars
        5: lambda s: s.buy(1),
        7: lambda s: s.buy(1),
        8: lambda s: s.buy(1),
    }
    eng, _ = run(script, frame(path), settings=off(cooldown={"after_losing_trades": 2, "bars": 3}))
    cd = [e for e in eng.events if e["type"] == "CooldownStarted"]
    assert len(cd) == 1 and cd[0]["rule"] == "cooldown_losing_streak" and cd[0]["details"]["until_bar"] == 8
    assert [o.status for o in eng.orders][4:] == [OrderStatus.DENIED, OrderStatus.DENIED, OrderStatus.FILLED]


def test_backtest_with_daily_loss_limit_reports_the_halt():
    n = 48
    close = np.r_[np.full(10, 100.0), np.full(n - 10, 80.0)]  # -20% on the 11th hour of day 1
    df = frame(close)
    cfg = BacktestConfig(
        strategy="sma_cross",
        params={"fast": 2, "slow": 3},
        symbol="AAA/USD",
        fee=0.0,
        risk={"max_position_pct": None, "daily_loss_pct": 0.05, "auto_resume_next_day": False},
    )

    from quantdesk.strategies.base import Strategy

    class AllIn(Strategy):
        def on_bar(self, bar):
            if self.bar_index in (1, 12):
                self.buy_all_cash()

    r = run_backtest(cfg, df, strategy=AllIn())
    halts = [e for e in r.events if e["type"] == "TradingStateChanged"]
    assert len(halts) == 1 and halts[0]["rule"] == "daily_loss_pct" and halts[0]["details"]["new"] == "HALTED"
    assert halts[0]["ts"] == "2024-01-01T10:00:00Z"
    denials = [e for e in r.events if e["type"] == "OrderDenied"]
    assert len(denials) == 1 and denials[0]["rule"] == "trading_state"
    assert r.metrics.get("orders_denied") == 1
    assert list(r.orders.status) == ["filled", "denied"]


def test_backtests_have_no_risk_rules_by_default():
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": 2, "slow": 3}, symbol="AAA/USD")
    from quantdesk.strategies.base import Strategy

    class AllIn(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 1:
                self.buy_all_cash()

    r = run_backtest(cfg, frame([100.0] * 5), strategy=AllIn())
    assert list(r.orders.status) == ["filled"] and "orders_denied" not in r.metrics
    assert T0.isoformat()


def test_paper_mode_on_bar_path_uses_the_same_breakers_and_alert_errors_are_contained():
    from risk_helpers import Script, inst

    from quantdesk.core.clock import SimulatedClock
    from quantdesk.engine.engine import TradingEngine
    from quantdesk.model import Bar

    def bad_alert(event):
        raise RuntimeError("pager down")

    got = []
    risk = RiskEngine.from_settings(
        off(max_drawdown_pct=0.04), strategy_id="s", alerts=[bad_alert, got.append]
    )
    i = inst()
    strat = Script({1: lambda s: s.buy(50), 4: lambda s: s.buy(1), 5: lambda s: s.sell(50)}, strategy_id="s")
    eng = TradingEngine(strat, i, cash=10_000, clock=SimulatedClock(), risk=risk)
    eng.start()
    hour = 3_600_000_000_000
    t0 = int(T0.value)
    for k, c in enumerate([100, 100, 100, 90, 90, 90, 90]):
        eng.on_bar(Bar(i.id, t0 + k * hour, c if k != 3 else 100, max(c, 100), min(c, 90), c, 1e6))
    assert risk.state is TradingState.HALTED and risk.halt_rule == "max_drawdown_pct"
    assert [o.status for o in eng.orders] == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED]
    assert [type(e).__name__ for e in got] == ["TradingStateChanged"]
    risk.resume("operator")
    assert risk.state is TradingState.ACTIVE and risk.breakers.peak == pytest.approx(eng.equity_f)
