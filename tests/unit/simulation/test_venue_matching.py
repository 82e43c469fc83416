"""Every fill rule of the simulated venue, on hand-made bars with hand-computed fills."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from simharness import Harness

from quantdesk.model import (
    LiquiditySide,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from quantdesk.simulation import FeeModel, FixedBps, VolumeShare

LIMIT, STOP, STOP_LIMIT, TRAIL = (
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
    OrderType.TRAILING_STOP,
)


def test_market_fills_at_next_open(h):
    o = h.order("buy")
    assert h.submit(o)
    assert h.fills() == []  # nothing until the next bar
    h.bar(101, 105, 99, 104)
    assert h.fills(o) == [(D("101.00"), D("1"))]
    assert o.status is OrderStatus.FILLED
    assert h.pos == 1


def test_limit_buy_fills_at_limit_when_low_touches(h):
    o = h.order("buy", LIMIT, price=D("98"))
    h.submit(o)
    h.bar(100, 101, 98.5, 100)  # low above limit: nothing
    assert h.fills() == []
    h.bar(100, 101, 97, 99)
    assert h.fills(o) == [(D("98.00"), D("1"))]
    ev = [e for e in h.events if isinstance(e, OrderFilled)][0]
    assert ev.liquidity is LiquiditySide.MAKER


def test_limit_buy_gap_through_fills_at_open(h):
    o = h.order("buy", LIMIT, price=D("98"))
    h.submit(o)
    h.bar(100, 101, 99, 100)
    h.bar(95, 97, 94, 96)  # opens below the limit: better price, the open
    assert h.fills(o) == [(D("95.00"), D("1"))]


def test_marketable_limit_on_first_bar_is_taker():
    h = Harness(fees=FeeModel(D("0.001"), D("0.002")))
    o = h.order("buy", LIMIT, price=D("102"))
    h.submit(o)
    h.bar(100, 101, 99, 100)
    fill = [e for e in h.events if isinstance(e, OrderFilled)][0]
    assert (fill.price, fill.liquidity, fill.fee) == (D("100.00"), LiquiditySide.TAKER, D("0.2000000000"))


def test_limit_sell(h):
    h.portfolio.account.adjust("USDT", D(0))
    b = h.order("buy")
    h.submit(b)
    h.bar(100, 100, 100, 100)
    s = h.order("sell", LIMIT, price=D("105"))
    h.submit(s)
    h.bar(101, 104.99, 100, 104)
    assert h.fills(s) == []
    h.bar(104, 106, 103, 105)
    assert h.fills(s) == [(D("105.00"), D("1"))]
    assert h.pos == 0


def test_stop_buy_triggers_at_stop_or_gap_open(h):
    a = h.order("buy", STOP, trigger_price=D("105"))
    b = h.order("buy", STOP, trigger_price=D("103"))
    h.submit(a)
    h.submit(b)
    h.bar(100, 104, 99, 103.5)  # b triggers at 103, a not
    assert h.fills(b) == [(D("103.00"), D("1"))]
    assert h.fills(a) == []
    h.bar(107, 108, 106, 107)  # gaps over 105: fills at the open
    assert h.fills(a) == [(D("107.00"), D("1"))]


def test_stop_sell_with_fixed_bps_slippage():
    h = Harness(slippage=FixedBps(50))
    h.submit(h.order("buy"))
    h.bar(100, 100, 100, 100)  # buys at 100 * 1.005 = 100.5
    assert h.fills()[0] == (D("100.50"), D("1"))
    s = h.order("sell", STOP, trigger_price=D("95"))
    h.submit(s)
    h.bar(99, 99, 94, 96)  # stop at 95, minus 0.5% = 94.525 -> 94.53 (nearest tick, half up)
    assert h.fills(s) == [(D("94.53"), D("1"))]


def test_stop_limit_triggers_then_limit_same_bar(h):
    # buy stop 105 limit 106: triggered at 105 inside the bar, marketable -> fills at 105
    a = h.order("buy", STOP_LIMIT, trigger_price=D("105"), price=D("106"))
    # buy stop 105 limit 104: triggered at 105, limit reachable later in the bar (low 103) -> 104
    b = h.order("buy", STOP_LIMIT, trigger_price=D("105"), price=D("104"))
    # buy stop 105 limit 102: triggered, limit not reachable -> rests as a limit
    c = h.order("buy", STOP_LIMIT, trigger_price=D("105"), price=D("102"))
    for x in (a, b, c):
        h.submit(x)
    h.bar(103.5, 106, 103, 105)
    assert h.fills(a) == [(D("105.00"), D("1"))]
    assert h.fills(b) == [(D("104.00"), D("1"))]
    assert h.fills(c) == [] and c.triggered and c.is_open
    h.bar(104, 104, 101, 102)
    assert h.fills(c) == [(D("102.00"), D("1"))]


def test_stop_limit_gap_over_trigger_and_limit(h):
    a = h.order("buy", STOP_LIMIT, trigger_price=D("105"), price=D("106"))
    h.submit(a)
    h.bar(107, 108, 106.5, 107)  # opens over both: triggered at 107 > limit, low never reaches 106
    assert h.fills(a) == [] and a.triggered
    h.bar(107, 107, 105.5, 106)
    assert h.fills(a) == [(D("106.00"), D("1"))]


def test_trailing_stop_amount_conservative_update():
    h = Harness()
    h.submit(h.order("buy"))
    h.bar(100, 100, 100, 100)
    t = h.order("sell", TRAIL, trailing_offset=D("5"))
    h.submit(t)  # ref = close 100 -> stop 95
    assert t.trigger_price == D("95.00")
    h.bar(100, 110, 96, 108)  # low 96 > 95: no trigger; then ref -> 110, stop 105
    assert h.fills(t) == [] and t.trigger_price == D("105.00")
    h.bar(108, 112, 104, 110)  # checked against 105 first: low 104 -> fills at 105 (not with the 112 high)
    assert h.fills(t) == [(D("105.00"), D("1"))]


def test_trailing_stop_percent_gap():
    h = Harness()
    h.submit(h.order("buy"))
    h.bar(100, 100, 100, 100)
    t = h.order("sell", TRAIL, trailing_offset=D("10"), trailing_offset_type=TrailingOffsetType.PERCENT)
    h.submit(t)  # stop 90
    h.bar(100, 120, 95, 118)  # ref 120 -> stop 108
    assert t.trigger_price == D("108.00")
    h.bar(100, 101, 99, 100)  # gaps below 108: fills at the open
    assert h.fills(t) == [(D("100.00"), D("1"))]


def test_trailing_buy_protects_short():
    h = Harness(margin=True)
    h.submit(h.order("sell"))
    h.bar(100, 100, 100, 100)
    assert h.pos == -1
    t = h.order("buy", TRAIL, trailing_offset=D("2"))
    h.submit(t)  # stop 102
    h.bar(100, 101, 95, 96)  # no trigger; ref -> 95, stop 97
    h.bar(96, 98, 96, 97)
    assert h.fills(t) == [(D("97.00"), D("1"))]
    assert h.pos == 0


def _bracket(h, entry, tp, sl):
    return h.venue.submit_bracket(entry, tp, sl, h.ts, h.close)


def test_bracket_take_profit_fills_and_cancels_stop(h):
    e = h.order("buy")
    tp = h.order("sell", LIMIT, price=D("110"))
    sl = h.order("sell", STOP, trigger_price=D("95"))
    _bracket(h, e, tp, sl)
    h.bar(100, 102, 99, 101)  # entry at 100; neither child reachable
    assert h.pos == 1 and tp.is_open and sl.is_open
    h.bar(101, 111, 100, 109)
    assert h.fills(tp) == [(D("110.00"), D("1"))]
    assert sl.status is OrderStatus.CANCELED
    assert h.pos == 0


def test_bracket_both_reachable_takes_the_stop(h):
    e = h.order("buy")
    tp = h.order("sell", LIMIT, price=D("110"))
    sl = h.order("sell", STOP, trigger_price=D("95"))
    _bracket(h, e, tp, sl)
    h.bar(100, 102, 99, 101)
    h.bar(101, 111, 94, 100)  # both reachable: the worse one (stop) fills
    assert h.fills(sl) == [(D("95.00"), D("1"))]
    assert tp.status is OrderStatus.CANCELED


def test_bracket_children_checked_on_entry_bar(h):
    e = h.order("buy")
    tp = h.order("sell", LIMIT, price=D("110"))
    sl = h.order("sell", STOP, trigger_price=D("95"))
    _bracket(h, e, tp, sl)
    h.bar(100, 101, 90, 92)  # enters at the open 100, then the low hits the stop in the same bar
    assert h.fills(sl) == [(D("95.00"), D("1"))]
    assert h.pos == 0


def test_bracket_limit_entry_does_not_take_profit_on_entry_bar(h):
    e = h.order("buy", LIMIT, price=D("98"))
    tp = h.order("sell", LIMIT, price=D("103"))
    sl = h.order("sell", STOP, trigger_price=D("90"))
    _bracket(h, e, tp, sl)
    h.bar(100, 104, 97, 100)  # entry at 98 intrabar; the 104 high may have come before: no TP
    assert h.fills(e) == [(D("98.00"), D("1"))] and h.fills(tp) == []
    h.bar(100, 104, 99, 103)
    assert h.fills(tp) == [(D("103.00"), D("1"))]


def test_bracket_detail_bars_resolve_order(h):
    e = h.order("buy")
    tp = h.order("sell", LIMIT, price=D("110"))
    sl = h.order("sell", STOP, trigger_price=D("95"))
    _bracket(h, e, tp, sl)
    h.bar(100, 102, 99, 101)
    # main bar (101, 111, 94, 100) would take the stop; its detail shows the high came first
    detail = [(h.ts + 10, 101, 111, 100, 110), (h.ts + 20, 110, 110, 94, 100)]
    h.venue.process_detail(h.inst.id, [(t, o, hi, lo, c, 1e6) for t, o, hi, lo, c in detail])
    assert h.fills(tp) == [(D("110.00"), D("1"))]
    assert sl.status is OrderStatus.CANCELED


def test_bracket_parent_rejected_cancels_children():
    h = Harness(min_quantity=D("5"))
    e = h.order("buy")
    tp = h.order("sell", LIMIT, price=D("110"))
    assert not _bracket(h, e, tp, None)
    assert e.status is OrderStatus.REJECTED and tp.status is OrderStatus.CANCELED


def test_ioc_partial_then_cancel():
    h = Harness(slippage=VolumeShare(cap=0.1, impact=0.0))
    o = h.order("buy", qty="5", tif=TimeInForce.IOC)
    h.submit(o)
    h.bar(100, 100, 100, 100, v=20)  # cap 2 per bar
    assert h.fills(o) == [(D("100.00"), D("2"))]
    assert o.status is OrderStatus.CANCELED


def test_ioc_limit_not_reached_cancels(h):
    o = h.order("buy", LIMIT, price=D("90"), tif=TimeInForce.IOC)
    h.submit(o)
    h.bar(100, 101, 95, 100)
    assert o.status is OrderStatus.CANCELED and h.fills() == []


def test_fok_all_or_nothing():
    h = Harness(slippage=VolumeShare(cap=0.1, impact=0.0))
    o = h.order("buy", qty="5", tif=TimeInForce.FOK)
    h.submit(o)
    h.bar(100, 100, 100, 100, v=20)
    assert h.fills() == [] and o.status is OrderStatus.CANCELED
    o2 = h.order("buy", qty="5", tif=TimeInForce.FOK)
    h.submit(o2)
    h.bar(100, 100, 100, 100, v=100)
    assert h.fills(o2) == [(D("100.00"), D("5"))]


def test_gtd_expires(h):
    o = h.order("buy", LIMIT, price=D("90"), tif=TimeInForce.GTD, expire_ts=120)
    h.submit(o)
    h.bar(100, 101, 95, 100)  # ts 60
    assert o.is_open
    h.bar(100, 101, 80, 100)  # ts 120 >= expire: expires before matching
    assert o.status is OrderStatus.EXPIRED and h.fills() == []
    assert any(isinstance(e, OrderExpired) for e in h.events)


def test_volume_share_partial_fills_and_impact():
    h = Harness(slippage=VolumeShare(cap=0.1, impact=0.5))
    o = h.order("buy", qty="3")
    h.submit(o)
    h.bar(100, 100, 100, 100, v=20)  # 2 fill (share 0.1 -> +5%)
    assert h.fills(o) == [(D("105.00"), D("2"))]
    assert o.status is OrderStatus.PARTIALLY_FILLED
    h.bar(100, 100, 100, 100, v=20)  # 1 more (share 0.05 -> +2.5%)
    assert h.fills(o)[1] == (D("102.50"), D("1"))
    assert o.status is OrderStatus.FILLED


def test_reduce_only_caps_and_rejects(h):
    r = h.order("sell", qty="1", reduce_only=True)
    assert not h.submit(r)  # flat: nothing to reduce
    assert r.status is OrderStatus.REJECTED
    h.submit(h.order("buy", qty="2"))
    h.bar(100, 100, 100, 100)
    r2 = h.order("sell", qty="5", reduce_only=True)
    h.venue.margin = True  # even with margin, reduce-only never flips
    h.submit(r2)
    h.bar(100, 100, 100, 100)
    assert h.fills(r2) == [(D("100.00"), D("2"))] and h.pos == 0


def test_short_needs_margin(h):
    o = h.order("sell")
    assert not h.submit(o)
    rej = [e for e in h.events if isinstance(e, OrderRejected)][0]
    assert "margin" in rej.reason


def test_insufficient_cash_cancelled_at_fill():
    h = Harness(cash="50")
    o = h.order("buy")
    h.submit(o)
    h.bar(100, 100, 100, 100)
    assert o.status is OrderStatus.CANCELED and "insufficient cash" in o.reason
    assert h.portfolio.cash() == D("50")


def test_precision_rounding_and_minimums():
    h = Harness(price_precision=1, size_precision=3, min_quantity=D("0.01"), min_notional=D("10"))
    o = h.order("buy", LIMIT, qty="0.12345", price=D("99.96"))
    assert h.submit(o)
    assert o.quantity == D("0.123") and o.price == D("100.0")
    small = h.order("buy", qty="0.005")
    assert not h.submit(small) and "below minimum" in small.reason
    tiny_notional = h.order("buy", qty="0.05")  # 0.05 x 100 = 5 < 10
    assert not h.submit(tiny_notional) and "notional" in tiny_notional.reason
    zero = h.order("buy", qty="0.0004")
    assert not h.submit(zero) and "rounds to zero" in zero.reason


def test_all_cash_fee_aware():
    h = Harness(cash="1000", fees=FeeModel(D("0.001"), D("0.001")))
    o = h.order("buy", qty=None, all_cash=True)
    h.submit(o)
    h.bar(100, 100, 100, 100)
    # qty = 1000 / (100 * 1.001) = 9.99000999 (8 decimals, rounded down); fee = 0.999000999, 1e-9 of cash left
    assert o.quantity == D("9.99000999")
    price, qty = h.fills(o)[0]
    assert price * qty + o.fees <= D("1000")
    assert h.portfolio.cash() == D("1000") - D("999.000999") - D("0.9990009990")
    assert h.portfolio.cash() >= 0


def test_notional_order():
    h = Harness()
    o = h.order("buy", qty=None, notional=D("250"))
    h.submit(o)
    h.bar(125, 125, 125, 125)
    assert h.fills(o) == [(D("125.00"), D("2"))]


def test_cancel_and_modify(h):
    o = h.order("buy", LIMIT, price=D("90"))
    h.submit(o)
    assert h.venue.modify(o.client_order_id, h.ts, price=D("95"), quantity=D("2"))
    h.bar(100, 101, 94, 100)
    assert h.fills(o) == [(D("95.00"), D("2"))]
    o2 = h.order("buy", LIMIT, price=D("80"))
    h.submit(o2)
    assert h.venue.cancel(o2.client_order_id, h.ts)
    assert o2.status is OrderStatus.CANCELED
    assert any(isinstance(e, OrderCanceled) for e in h.events)
    h.bar(100, 101, 70, 100)
    assert h.fills(o2) == []
    assert not h.venue.cancel(o2.client_order_id, h.ts)  # already terminal


def test_fees_maker_taker():
    h = Harness(fees=FeeModel(D("0.001"), D("0.002")))
    m = h.order("buy")
    h.submit(m)
    h.bar(100, 100, 100, 100)
    lim = h.order("sell", LIMIT, price=D("101"))
    h.submit(lim)
    h.bar(100, 102, 100, 101)
    fills = [e for e in h.events if isinstance(e, OrderFilled)]
    assert [f.fee for f in fills] == [D("0.2000000000"), D("0.1010000000")]
    assert [f.liquidity for f in fills] == [LiquiditySide.TAKER, LiquiditySide.MAKER]
    assert h.portfolio.cash() == D("10000") - D("100") - D("0.2") + D("101") - D("0.101")


@pytest.mark.parametrize("bad", [dict(type_=LIMIT), dict(type_=STOP), dict(type_=TRAIL)])
def test_order_validation(h, bad):
    with pytest.raises(ValueError):
        h.order("buy", **bad)


def test_reduce_only_orders_cancelled_when_position_closes(h):
    e = h.order("buy")
    sl = h.order("sell", STOP, trigger_price=D("90"))
    _bracket(h, e, None, sl)
    h.bar(100, 101, 99, 100)
    assert sl.is_open
    h.submit(h.order("sell", reduce_only=True))  # closed by hand
    h.bar(100, 101, 99, 100)
    assert h.pos == 0 and sl.status is OrderStatus.CANCELED and sl.reason == "position closed"
    h.submit(h.order("buy"))  # a new position is not touched by the old stop
    h.bar(100, 101, 80, 85)
    assert h.pos == 1
