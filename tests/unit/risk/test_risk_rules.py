"""Each pre-trade rule on hand-made scenarios: exact numbers in the OrderDenied event."""

from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import denied, frame, off, run

from quantdesk.model.enums import OrderStatus
from quantdesk.risk import RiskEngine

FLAT = frame([100.0] * 6)


def test_no_settings_is_a_pass_through():
    eng, _ = run({1: lambda s: s.buy(80)}, FLAT)
    assert eng.orders[0].status is OrderStatus.FILLED
    assert eng.risk.denial_counts() == {} and eng._risk_bar is None and eng._risk_fill is None


def test_max_position_pct_default_15_percent():
    script = {
        1: [lambda s: s.buy(20), lambda s: s.buy(15)],
        2: [lambda s: s.buy(1), lambda s: s.sell(15)],
    }
    eng, _ = run(script, FLAT, settings=off(max_position_pct=0.15))
    st = [o.status for o in eng.orders]
    assert st == [OrderStatus.DENIED, OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED]
    d = denied(eng)
    assert [x["rule"] for x in d] == ["max_position_pct", "max_position_pct"]
    assert d[0]["limit"] == 0.15 and d[0]["value"] == pytest.approx(0.20)
    assert d[1]["value"] == pytest.approx(0.16)  # 15 held + 1 = 1600 / 10000
    assert d[0]["symbol"] == "AAA/USD@sim" and d[0]["ts"].endswith("Z")
    assert eng.risk.denial_counts() == {"max_position_pct": 2}
    assert eng.risk.denials()[0]["value"] == pytest.approx(0.2)


def test_working_orders_count_in_the_worst_case():
    # a resting limit buy of 10 + a market buy of 10 = 2000 / 10000 > 0.15
    script = {1: [lambda s: s.buy(10, limit=90), lambda s: s.buy(10)]}
    eng, _ = run(script, FLAT, settings=off(max_position_pct=0.15))
    assert [o.status for o in eng.orders][1] is OrderStatus.DENIED
    assert denied(eng)[0]["value"] == pytest.approx(0.20)


def test_default_settings_have_the_issue_defaults():
    eng, _ = run({1: lambda s: s.buy_all_cash()}, FLAT, settings={"fit_to_limits": False})
    d = denied(eng)[0]
    assert d["rule"] == "max_position_pct" and d["limit"] == 0.15 and d["value"] == pytest.approx(1.0)
    # by default the same all-cash order is sized down to the 15% limit instead (test_fit_to_limits)
    eng, _ = run({1: lambda s: s.buy_all_cash()}, FLAT, settings={})
    assert not denied(eng) and eng.orders[0].status is OrderStatus.FILLED
    assert eng.risk.resized_counts() == {"max_position_pct": 1}


def test_max_gross_exposure():
    frames = {"AAA/USD": FLAT, "BBB/USD": frame([50.0] * 6)}
    script = {1: [lambda s: s.buy(20, symbol="AAA/USD"), lambda s: s.sell(30, symbol="BBB/USD")]}
    eng, _ = run(script, frames, settings=off(max_gross_exposure_pct=0.3))
    d = denied(eng)
    assert len(d) == 1 and d[0]["rule"] == "max_gross_exposure_pct"
    assert d[0]["value"] == pytest.approx(0.35) and d[0]["symbol"] == "BBB/USD@sim"


def test_max_open_positions():
    frames = {"AAA/USD": FLAT, "BBB/USD": frame([50.0] * 6)}
    script = {
        1: lambda s: s.buy(1, symbol="AAA/USD"),
        2: [lambda s: s.buy(1, symbol="BBB/USD"), lambda s: s.buy(1, symbol="AAA/USD")],
        3: lambda s: s.close(symbol="AAA/USD"),
        4: lambda s: s.buy(1, symbol="BBB/USD"),
    }
    eng, _ = run(script, frames, settings=off(max_open_positions=1))
    d = denied(eng)
    assert [(x["rule"], x["value"], x["limit"]) for x in d] == [("max_open_positions", 2.0, 1.0)]
    assert eng.portfolio.position_qty(eng.leg("BBB/USD").iid) == 1


def test_max_positions_per_symbol_counts_entries_since_flat():
    script = {
        1: lambda s: s.buy(1),
        2: lambda s: s.buy(1),
        3: lambda s: s.buy(1),
        4: lambda s: s.close(),
        5: lambda s: s.buy(1),
    }
    eng, _ = run(script, frame([100.0] * 7), settings=off(max_positions_per_symbol=2))
    d = denied(eng)
    assert [(x["rule"], x["value"], x["limit"]) for x in d] == [("max_positions_per_symbol", 3.0, 2.0)]
    assert eng.orders[-1].status is OrderStatus.FILLED  # flat again: the count restarted


def test_order_notional_bounds():
    script = {
        1: [
            lambda s: s.buy(0.4),
            lambda s: s.buy(11),
            lambda s: s.buy(notional=2000),
            lambda s: s.buy_all_cash(),
            lambda s: s.buy(5),
        ]
    }
    eng, _ = run(script, FLAT, settings=off(min_order_notional=50, max_order_notional=1000))
    got = [(x["rule"], x["value"], x["limit"]) for x in denied(eng)]
    assert got == [
        ("min_order_notional", pytest.approx(40.0), 50.0),
        ("max_order_notional", pytest.approx(1100.0), 1000.0),
        ("max_order_notional", 2000.0, 1000.0),
        ("max_order_notional", 10000.0, 1000.0),
    ]
    assert eng.orders[-1].status is OrderStatus.FILLED


def test_price_band_fat_finger():
    script = {
        1: [
            lambda s: s.buy(1, limit=106),
            lambda s: s.buy(1, limit=95),
            lambda s: s.sell(1, stop=80),
        ]
    }
    eng, _ = run(script, FLAT, settings=off(price_band_pct=0.05))
    got = [(x["rule"], x["value"], x["limit"]) for x in denied(eng)]
    assert got == [
        ("price_band_pct", pytest.approx(0.06), 0.05),
        ("price_band_pct", pytest.approx(0.2), 0.05),
    ]
    assert eng.orders[1].status is not OrderStatus.DENIED


def test_rate_limit_uses_the_injected_clock():
    script = {
        1: [lambda s: s.buy(1), lambda s: s.buy(1), lambda s: s.buy(1)],
        2: [lambda s: s.sell(1), lambda s: s.buy(1), lambda s: s.buy(1), lambda s: s.buy(1)],
    }
    eng, _ = run(script, FLAT, settings=off(max_orders_per_window=2, rate_window_s=3600))
    st = [o.status is OrderStatus.DENIED for o in eng.orders]
    # bar 1: third buy denied; bar 2 (one hour later): the sell reduces -> passes uncounted; the window slid
    assert st == [False, False, True, False, False, False, True]
    d = denied(eng)
    assert all(x["rule"] == "max_orders_per_window" and x["value"] == 3 and x["limit"] == 2 for x in d)


def test_reducing_orders_always_pass():
    # position share way over the limit after a price spike: closing/reducing still passes, adding doesn't
    eng, _ = run(
        {1: lambda s: s.buy(15), 3: [lambda s: s.buy(0.1), lambda s: s.sell(5), lambda s: s.close()]},
        frame([100, 100, 100, 200, 200, 200]),
        settings=off(max_position_pct=0.15),
    )
    assert [o.status for o in eng.orders] == [
        OrderStatus.FILLED,
        OrderStatus.DENIED,
        OrderStatus.FILLED,
        OrderStatus.FILLED,
    ]


def test_strategy_specific_limits_and_global_both_apply():
    settings = off(
        max_position_pct=0.5, strategies={"s": {"max_position_pct": 0.1}, "other": {"max_position_pct": 0.9}}
    )
    eng, _ = run({1: [lambda s: s.buy(20), lambda s: s.buy(10)]}, FLAT, settings=settings)
    d = denied(eng)
    assert len(d) == 1 and d[0]["limit"] == 0.1 and d[0]["details"]["scope"] == "strategy:s"
    assert eng.orders[1].status is OrderStatus.FILLED


def test_custom_callable_rules_still_work_and_are_counted():
    from quantdesk.risk import Denial

    risk = RiskEngine([lambda o, c: Denial("no sells", "no_sells") if o.side.value == "sell" else None])
    eng, _ = run({1: [lambda s: s.buy(1), lambda s: s.sell(1)]}, FLAT, risk=risk)
    assert risk.denial_counts() == {"no_sells": 1}
    assert denied(eng)[0]["reason"] == "no sells"


def correlated_frames(n=80, seed=3):
    rng = np.random.default_rng(seed)
    ra = rng.normal(0, 0.01, n)
    a = 100 * np.cumprod(1 + ra)
    b = 50 * np.cumprod(1 + 0.9 * ra + rng.normal(0, 0.002, n))  # corr ~ 0.98
    c = 80 * np.cumprod(1 + rng.normal(0, 0.01, n))  # independent
    return {"AAA/USD": frame(a), "BBB/USD": frame(b), "CCC/USD": frame(c)}


def test_correlation_guard():
    frames = correlated_frames()
    script = {
        60: lambda s: s.buy(1, symbol="AAA/USD"),
        62: [
            lambda s: s.buy(1, symbol="BBB/USD"),
            lambda s: s.buy(1, symbol="CCC/USD"),
            lambda s: s.sell(1, symbol="BBB/USD"),  # a short of B hedges the long A: correlation ~ -0.98
        ],
    }
    eng, _ = run(script, frames, settings=off(correlation={"max_correlation": 0.7, "window": 50}))
    d = denied(eng)
    assert len(d) == 1 and d[0]["rule"] == "max_correlation" and d[0]["symbol"] == "BBB/USD@sim"
    assert d[0]["value"] > 0.95 and d[0]["limit"] == 0.7
    statuses = [o.status for o in eng.orders]
    assert statuses == [OrderStatus.FILLED, OrderStatus.DENIED, OrderStatus.FILLED, OrderStatus.FILLED]


def test_modify_goes_through_the_risk_check():
    out = {}

    def step(s):
        o = s.buy(10, limit=90)
        out["big"] = s.modify(o, quantity=20)
        out["ok"] = s.modify(o, quantity=12)
        return o

    eng, _ = run({1: step}, FLAT, settings=off(max_position_pct=0.15))
    assert out == {"big": False, "ok": True}
    d = denied(eng)
    assert len(d) == 1 and d[0]["rule"] == "max_position_pct" and d[0]["details"]["modify"] is True
    assert d[0]["value"] == pytest.approx(0.20)
    assert float(eng.orders[0].quantity) == 12
