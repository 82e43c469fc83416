"""The simulator's matching rules, against hand computations on three hand-made candles (see conftest.CANDLES).

Tick 0.5, maker fee 0.001, taker fee 0.002, 1000 USDT unless a test says otherwise. c0 (00:00) is replayed as
trades 100 @0s, 99 @15s, 103 @30s, 102 @45s; c1 (00:01) as 102, 104, 101, 101; c2 (00:02) as 101, 102, 97, 98.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from exsim_helpers import T0, make_exchange

from quantdesk.adapters.simulator.model import AccountEvent, ExecReport, NewOrder, SimError, UserBurst


def limit(side, qty, price, cid="c1", tif="GTC", kind="LIMIT"):
    return NewOrder(side, kind, cid, quantity=D(str(qty)), price=D(str(price)),
                    time_in_force=tif if kind == "LIMIT" else None)


def market(side, qty=None, cid="m1", quote=None):
    return NewOrder(side, "MARKET", cid, quantity=None if qty is None else D(str(qty)),
                    quote_order_qty=None if quote is None else D(str(quote)))


def test_market_orders_fill_at_the_last_replayed_trade_as_taker(exchange):
    buy = exchange.place(market("BUY", 1))
    assert (buy.status, buy.executed_qty, buy.cum_quote) == ("FILLED", D(1), D(100))
    assert buy.fills[0].commission == D("0.2") and buy.fills[0].maker is False  # 100 x 0.002
    assert exchange.totals == {"BTC": D(1), "USDT": D("899.8")}
    exchange.advance_to(T0 + 15_000)  # the trade at 99
    sell = exchange.place(market("SELL", 1, "m2"))
    assert sell.fills[0].price == D(99) and sell.fills[0].commission == D("0.198")
    assert exchange.totals == {"BTC": D(0), "USDT": D("998.602")}  # 899.8 + 99 - 0.198


def test_spread_puts_the_ask_above_the_last_trade():
    ex = make_exchange(spread_ticks=2, balances={"USDT": D(1000), "BTC": D(1)})
    assert (ex.best_bid_ticks, ex.best_ask_ticks) == (200, 202)  # 100 and 101 in 0.5 ticks
    assert ex.place(market("BUY", 1)).fills[0].price == D(101)
    assert ex.place(market("SELL", 1, "m2")).fills[0].price == D(100)
    rest = ex.place(limit("BUY", 1, "100.5", "l1"))  # below the ask: rests although above the last trade
    assert rest.status == "NEW"
    ex.advance_to(T0 + 15_000)  # trade at 99 <= 100.5
    assert rest.status == "FILLED" and rest.fills[0].price == D("100.5") and rest.fills[0].maker


def test_resting_limit_buy_fills_at_its_price_when_a_trade_reaches_it(exchange):
    order = exchange.place(limit("BUY", 1, "99.5"))
    assert order.status == "NEW"
    assert exchange.locked("USDT") == D("99.699")  # 99.5 x (1 + 0.002), the largest fee is held too
    assert exchange.free("USDT") == D("900.301")
    exchange.advance_to(T0 + 14_999)
    assert order.status == "NEW"
    exchange.advance_to(T0 + 15_000)
    assert order.status == "FILLED"
    fill = order.fills[0]
    assert (fill.price, fill.qty, fill.commission, fill.maker, fill.time) == (D("99.5"), D(1), D("0.0995"), True,
                                                                            T0 + 15_000)
    assert exchange.totals["USDT"] == D("900.4005") and exchange.locked("USDT") == 0


def test_a_trade_exactly_at_the_limit_fills_and_a_lower_limit_waits_for_a_lower_trade(exchange):
    touch = exchange.place(limit("BUY", 1, 99, "touch"))
    deep = exchange.place(limit("BUY", 1, "98.5", "deep"))
    exchange.advance_to(T0 + 15_000)
    assert touch.status == "FILLED" and deep.status == "NEW"
    exchange.advance_to(T0 + 120_000 + 29_999)  # through c1 (low 101) and c2's 101, 102
    assert deep.status == "NEW"
    exchange.advance_to(T0 + 120_000 + 30_000)  # c2's trade at 97
    assert deep.status == "FILLED" and deep.fills[0].price == D("98.5")


def test_resting_sells_fill_when_trades_reach_them():
    ex = make_exchange(balances={"USDT": D(0), "BTC": D(2)})
    first = ex.place(limit("SELL", 1, 103, "s1"))
    second = ex.place(limit("SELL", 1, "103.5", "s2"))
    assert ex.locked("BTC") == D(2) and ex.free("BTC") == 0
    ex.advance_to(T0 + 30_000)  # 103
    assert first.status == "FILLED" and second.status == "NEW"
    ex.advance_to(T0 + 75_000)  # c1's 104
    assert second.fills[0].price == D("103.5")
    # 103 - 0.103 + 103.5 - 0.1035 (maker fees in the quote asset)
    assert ex.totals == {"BTC": D(0), "USDT": D("206.2935")}


def test_marketable_limits_fill_at_the_touch_as_taker():
    ex = make_exchange(balances={"USDT": D(1000), "BTC": D(1)})
    buy = ex.place(limit("BUY", 1, 105, "b"))
    sell = ex.place(limit("SELL", 1, 95, "s"))
    assert buy.fills[0].price == D(100) and not buy.fills[0].maker and buy.fills[0].commission == D("0.2")
    assert sell.fills[0].price == D(100) and sell.status == "FILLED"


def test_ioc_fok_and_limit_maker():
    ex = make_exchange(participation=D("0.25"))  # c0's trades carry 1 BTC each: at most 0.25 per trade
    ioc_rest = ex.place(limit("BUY", 1, "99.5", "i1", tif="IOC"))
    assert (ioc_rest.status, ioc_rest.executed_qty) == ("EXPIRED", D(0)) and ex.open_orders() == []
    fok = ex.place(limit("BUY", 1, 105, "f1", tif="FOK"))
    assert (fok.status, fok.executed_qty, fok.fills) == ("EXPIRED", D(0), [])
    ioc = ex.place(limit("BUY", 1, 105, "i2", tif="IOC"))
    assert (ioc.status, ioc.executed_qty) == ("EXPIRED", D("0.25"))
    with pytest.raises(SimError) as err:
        ex.place(limit("BUY", 1, 105, "lm", kind="LIMIT_MAKER"))
    assert (err.value.code, err.value.msg) == (-2010, "Order would immediately match and take.")
    maker = ex.place(limit("BUY", D("0.1"), "99.5", "lm2", kind="LIMIT_MAKER"))
    assert maker.status == "NEW"


def test_participation_fills_a_resting_order_over_several_trades():
    ex = make_exchange(participation=D("0.25"))
    order = ex.place(limit("BUY", 1, "99.5"))
    ex.advance_to(T0 + 180_000)  # all three candles
    # c0's 99 (volume 1 -> 0.25); c2's 97 and 98 (volume 0.5 each -> 0.125 each); nothing else is <= 99.5
    assert [(f.qty, f.price, f.time) for f in order.fills] == [
        (D("0.25"), D("99.5"), T0 + 15_000), (D("0.125"), D("99.5"), T0 + 150_000),
        (D("0.125"), D("99.5"), T0 + 165_000)]
    assert (order.status, order.executed_qty) == ("PARTIALLY_FILLED", D("0.5"))
    exhausted = ex.place(market("BUY", 1, "m9"))  # the last trade's 0.125 went to the resting order
    assert (exhausted.status, exhausted.executed_qty) == ("EXPIRED", D(0))


def test_orders_share_one_replayed_trades_participation_budget():
    ex = make_exchange(participation=D("0.25"))  # the opening trade of c0 carries 1: 0.25 for everybody
    first = ex.place(market("BUY", "0.1", "a"))
    second = ex.place(market("BUY", "0.2", "b"))
    fok = ex.place(limit("BUY", "0.1", 105, "c", tif="FOK"))  # nothing is left: all or nothing -> nothing
    assert [o.executed_qty for o in (first, second, fok)] == [D("0.1"), D("0.15"), D(0)]
    assert (second.status, fok.status) == ("EXPIRED", "EXPIRED")
    ex.advance_to(T0 + 15_000)  # a new trade, a new budget
    assert ex.place(limit("BUY", "0.2", 105, "e", tif="FOK")).executed_qty == D("0.2")
    assert ex.place(market("BUY", 1, "d")).executed_qty == D("0.05")


def test_split_fills_have_their_own_trade_ids_reports_and_rounded_fees(exchange):
    exchange.fill_splits = lambda: 3
    exchange.drain()
    order = exchange.place(market("BUY", 1))
    assert [f.qty for f in order.fills] == [D("0.33333"), D("0.33333"), D("0.33334")]
    assert [f.commission for f in order.fills] == [D("0.06666600"), D("0.06666600"), D("0.06666800")]
    ids = [f.trade_id for f in order.fills]
    assert ids == sorted(set(ids)) and len(ids) == 3
    bursts = [e for e in exchange.drain() if isinstance(e, UserBurst)]
    kinds = [(i.exec_type, i.order.status) for i in bursts[0].items if isinstance(i, ExecReport)]
    assert kinds == [("NEW", "NEW"), ("TRADE", "PARTIALLY_FILLED"), ("TRADE", "PARTIALLY_FILLED"),
                     ("TRADE", "FILLED")]
    assert isinstance(bursts[0].items[-1], AccountEvent)
    assert exchange.totals == {"BTC": D(1), "USDT": D("899.8")}


def test_cancel_release_and_client_id_rules(exchange):
    first = exchange.place(limit("BUY", 1, "99.5", "same"))
    with pytest.raises(SimError) as dup:
        exchange.place(limit("BUY", 1, 99, "same"))
    assert (dup.value.code, dup.value.msg) == (-2010, "Duplicate order sent.")
    canceled = exchange.cancel(None, "same", "cxl1")
    assert canceled is first and first.status == "CANCELED" and exchange.locked("USDT") == 0
    with pytest.raises(SimError) as again:
        exchange.cancel(first.order_id, None, "cxl2")
    assert again.value.code == -2011
    reused = exchange.place(limit("BUY", 1, 99, "same"))  # a closed order's id may be used again
    assert exchange.find(None, "same") is reused and exchange.find(first.order_id, "same") is first
    assert exchange.find(first.order_id, "other") is None
    outcomes = [(s["client_order_id"], s["outcome"], s["code"]) for s in exchange.submissions]
    assert outcomes == [("same", "accepted", None), ("same", "rejected", -2010), ("same", "accepted", None)]


@pytest.mark.parametrize(("order", "message"), [
    (limit("BUY", 1, "100.3"), "Filter failure: PRICE_FILTER"),
    (limit("BUY", "0.000001", "99.5"), "Filter failure: LOT_SIZE"),
    (limit("BUY", 9001, "99.5"), "Filter failure: LOT_SIZE"),
    (limit("BUY", "0.01", "99.5"), "Filter failure: NOTIONAL"),  # 0.995 < 5
    (market("BUY", "0.01"), "Filter failure: NOTIONAL"),
])
def test_filters(order, message):
    ex = make_exchange(min_notional=D(5))
    with pytest.raises(SimError) as err:
        ex.place(order)
    assert (err.value.code, err.value.msg) == (-1013, message)
    assert ex.orders == {} and ex.submissions[-1]["outcome"] == "rejected"


def test_balance_checks(exchange):
    assert exchange.place(limit("BUY", 10, "99.5", "ok")).status == "NEW"  # 995 x 1.002 = 996.99 <= 1000
    with pytest.raises(SimError) as err:
        exchange.place(limit("BUY", "0.1", "99.5", "more"))  # only 3.01 free
    assert err.value.msg == "Account has insufficient balance for requested action."
    with pytest.raises(SimError):
        exchange.place(market("SELL", "0.1", "nobtc"))


def test_fees_in_the_received_asset_like_binance():
    ex = make_exchange(fee_asset="received")
    buy = ex.place(market("BUY", 1))
    assert (buy.fills[0].commission, buy.fills[0].commission_asset) == (D("0.002"), "BTC")
    assert ex.totals == {"BTC": D("0.998"), "USDT": D(900)}
    ex.place(market("SELL", "0.998", "m2"))
    assert ex.totals == {"BTC": D(0), "USDT": D("999.6004")}  # 900 + 99.8 - 0.1996


def test_quote_order_qty_buys_what_the_amount_pays_for_at_the_ask():
    ex = make_exchange(spread_ticks=2)
    order = ex.place(market("BUY", quote=250))
    assert order.executed_qty == D("2.47524")  # 250 / 101 rounded down to the 0.00001 step
    assert order.cum_quote == D("2.47524") * 101


def test_book_diffs_rebuild_every_snapshot_and_ids_are_consecutive(exchange):
    from quantdesk.adapters.simulator.model import BookEvent

    last_id, bids, asks = exchange.depth(1000)
    book = [dict(bids), dict(asks)]
    step = exchange.cfg.step_size
    exchange.place(limit("BUY", 2, "99.5", "b1"))
    events = exchange.drain() + exchange.advance_to(T0 + 180_000)
    diffs = [e for e in events if isinstance(e, BookEvent)]
    assert [d.first_id for d in diffs] == list(range(last_id + 1, last_id + 1 + len(diffs)))
    for diff in diffs:
        for side, changes in zip(book, (diff.bids, diff.asks), strict=True):
            for price, lots in changes:
                side.pop(price) if lots == 0 else side.__setitem__(price, lots * step)
    final_id, bids, asks = exchange.depth(1000)
    assert final_id == diffs[-1].last_id and book == [dict(bids), dict(asks)]


def test_own_resting_orders_show_in_the_book(exchange):
    exchange.place(limit("BUY", 2, "99.5"))
    _id, bids, asks = exchange.depth(3)
    assert bids == [(200, D(1)), (199, D(3)), (198, D(1))]  # 100, 99.5 (1 + our 2), 99
    assert asks[0] == (200, D(1))  # spread 0: the best ask is the last trade too


def test_forming_and_closed_candles(exchange):
    exchange.advance_to(T0 + 30_000)
    assert exchange.kline(0) == (200, 206, 198, 206, D(3), 3, False)  # trades 100, 99, 103 (in ticks), 1 each
    exchange.advance_to(T0 + 60_000)  # c0 closes and c1's first trade happens
    assert exchange.kline(0) == (200, 206, 198, 204, D(4), 4, True)
    assert exchange.kline(1)[:4] == (204, 204, 204, 204) and exchange.candle == 1


def test_book_without_diff_subscribers_is_rebuilt_when_read():
    from quantdesk.adapters.simulator.model import BookEvent

    full, lazy = make_exchange(), make_exchange()
    lazy.set_book_diffs(False)
    for ex in (full, lazy):
        ex.place(limit("BUY", 2, "99.5", "b1"))
    lazy_events = lazy.drain() + lazy.advance_to(T0 + 75_000)
    full.advance_to(T0 + 75_000)
    assert full.depth(50)[1:] == lazy.depth(50)[1:]
    ids = [e.first_id for e in lazy_events if isinstance(e, BookEvent)]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # consecutive, so a later subscriber sees no gap
    lazy.set_book_diffs(True)  # a @depth subscriber arrives: snapshot, then diffs from there
    last_id, bids, asks = lazy.depth(1000)
    book, step = [dict(bids), dict(asks)], lazy.cfg.step_size
    for diff in [e for e in lazy.advance_to(T0 + 180_000) if isinstance(e, BookEvent)]:
        assert diff.first_id == last_id + 1
        last_id = diff.last_id
        for side, changes in zip(book, (diff.bids, diff.asks), strict=True):
            for price, lots in changes:
                side.pop(price) if lots == 0 else side.__setitem__(price, lots * step)
    full.advance_to(T0 + 180_000)
    assert book == [dict(full.depth(1000)[1]), dict(full.depth(1000)[2])]
