"""fit_to_limits: an order that would breach a size-bearing limit is sized down to fit it instead of denied.
Expected quantities are computed by hand from the bars (zero fees: instruments of risk_helpers)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from risk_helpers import denied, frame, off, run

from quantdesk.model.enums import OrderStatus

CLOSES = [100.0, 100.0, 110.0, 120.0, 120.0]


def resized(eng, rule=None):
    return [e for e in eng.events if e.get("type") == "OrderResized" and (rule is None or e["rule"] == rule)]


def test_all_cash_buy_is_sized_to_the_position_limit():
    # bar 1: equity 10,000 at close 100; 15% -> 1,500 / 100 = 15 units (rounded down to the 1e-6 lot after the
    # 1e-9 safety margin: 14.999999)
    eng, s = run({1: lambda st: st.buy_all_cash()}, frame(CLOSES), settings=off(max_position_pct=0.15, fit_to_limits=True))
    (order,) = s.results[1]
    assert order.status is OrderStatus.FILLED
    assert order.quantity == D("14.999999") and order.filled_qty == order.quantity and not order.all_cash
    (ev,) = resized(eng, "max_position_pct")
    assert ev["details"]["requested"] == pytest.approx(100.0)  # all 10,000 of cash at 100
    assert ev["details"]["quantity"] == pytest.approx(14.999999)
    assert eng.risk.resized_counts() == {"max_position_pct": 1} and not denied(eng)
    # the position it leaves is within the limit at the close the check used
    assert float(order.filled_qty) * 100 / 10_000 <= 0.15


def test_with_fit_off_the_same_order_is_denied_with_its_numbers():
    eng, s = run({1: lambda st: st.buy_all_cash()}, frame(CLOSES),
                 settings=off(max_position_pct=0.15, fit_to_limits=False))
    (order,) = s.results[1]
    assert order.status is OrderStatus.DENIED and not resized(eng)
    (d,) = denied(eng, "max_position_pct")
    assert d["details"]["limit"] == 0.15 and d["details"]["value"] == pytest.approx(1.0)


def test_adding_to_a_position_fits_the_remaining_room():
    # bar 1: buy 10 at 100 (10% of 10,000); bar 3: close 120 -> equity 10,200, position 1,200 (11.76%);
    # a buy of 50 more is fitted to 0.15 x 10,200 / 120 - 10 = 2.75 units
    script = {1: lambda st: st.buy(10), 3: lambda st: st.buy(50)}
    eng, s = run(script, frame(CLOSES), settings=off(max_position_pct=0.15, fit_to_limits=True))
    (second,) = s.results[3]
    assert second.quantity == D("2.749999")
    assert resized(eng)[0]["details"]["requested"] == pytest.approx(50.0)


def test_the_gross_limit_binds_across_symbols():
    frames = {"AAA/USD": frame([100.0] * 5), "BBB/USD": frame([50.0] * 5)}
    # 60% of 10,000 in AAA; then BBB gets at most 80% - 60% = 20% -> 2,000 / 50 = 40 units
    script = {1: [lambda st: st.buy(60, symbol="AAA/USD")], 2: [lambda st: st.buy(100, symbol="BBB/USD")]}
    eng, s = run(script, frames, settings=off(max_gross_exposure_pct=0.8, fit_to_limits=True))
    (bbb,) = s.results[2]
    assert bbb.quantity == D("39.999999") and resized(eng, "max_gross_exposure_pct")


def test_max_order_notional_fits_the_order_and_reducing_orders_are_untouched():
    # bar 3: selling the 9.999999 held is reducing (untouched); selling 30 would flip to a 20-unit short, an
    # increasing order, fitted to 1,000 / 120 = 8.333333
    script = {1: lambda st: st.buy(30), 3: lambda st: st.sell(9.999999), 4: lambda st: st.sell(30)}
    eng, s = run(script, frame(CLOSES), settings=off(max_order_notional=1_000.0, fit_to_limits=True))
    (buy,) = s.results[1]
    (close,) = s.results[3]
    (flip,) = s.results[4]
    assert buy.quantity == D("9.999999")  # 1,000 / 100
    assert close.quantity == D("9.999999") and close.status is OrderStatus.FILLED
    assert flip.quantity == D("8.333333")
    assert len(resized(eng)) == 2


def test_no_room_left_is_still_a_denial():
    # bar 1 takes 15%; bar 2 (close 110) another buy: the position is already 16.2% of equity -> nothing fits
    script = {1: lambda st: st.buy(15), 2: lambda st: st.buy(1)}
    eng, s = run(script, frame(CLOSES), settings=off(max_position_pct=0.15, fit_to_limits=True))
    (late,) = s.results[2]
    assert late.status is OrderStatus.DENIED and denied(eng, "max_position_pct")


def test_an_order_against_the_position_keeps_its_reducing_part():
    # hold 20 (bought at 100 without limits in force: max_order_notional 5,000); then sell 30 with a 1,000 cap:
    # the increasing part cannot fit (flip of 10 x 100 = 1,000 is the cap, but the sale is 30 x 100 = 3,000),
    # so the order shrinks to what only reduces the position: 20
    script = {1: lambda st: st.buy(20), 2: lambda st: st.sell(30)}
    eng, s = run(script, frame([100.0] * 5), settings=off(max_order_notional=2_000.0, fit_to_limits=True))
    (sell,) = s.results[2]
    assert sell.quantity == D("20") and sell.status is OrderStatus.FILLED
    assert float(eng.portfolio.position_qty(sell.instrument)) == 0.0


def test_the_defaults_trade_an_all_in_strategy_at_15_percent():
    eng, s = run({1: lambda st: st.buy_all_cash()}, frame(CLOSES), settings={})
    (order,) = s.results[1]
    assert order.status is OrderStatus.FILLED and order.quantity == D("14.999999")
    assert resized(eng, "max_position_pct") and not denied(eng)
