"""Properties of the exchange core under random sequences of orders, cancels and time (Hypothesis).

Whatever is done: balances equal the start plus the signed sum of the fills minus the fees (nothing created or
lost), no free balance goes negative, every order's executed quantity and quote equal the sum of its fills and its
status follows from them, every taker fill is at the touch and every maker fill at the order's limit, trade ids
are unique and increasing, and the execution reports of an order never go back in executed quantity.
"""

from __future__ import annotations

from decimal import Decimal as D

from exsim_helpers import T0, make_exchange
from hypothesis import event, given, settings
from hypothesis import strategies as st

from quantdesk.adapters.simulator.model import ExecReport, NewOrder, SimError, UserBurst

CANDLES = [(100, 103, 99, 102, 4), (102, 104, 101, 101, 8), (101, 102, 97, 98, 2), (98, 99, 96, 99, 6),
           (99, 105, 98, 104, 3), (104, 104, 100, 100, 5)]

prices = st.integers(min_value=190, max_value=212).map(lambda t: D(t) / 2)  # 95 .. 106 in 0.5 steps
qtys = st.integers(min_value=1, max_value=400).map(lambda n: D(n) / 100)
place = st.tuples(st.just("place"), st.sampled_from(["BUY", "SELL"]), st.sampled_from(["MARKET", "LIMIT",
                  "LIMIT_MAKER"]), qtys, prices, st.sampled_from(["GTC", "IOC", "FOK"]))
cancel = st.tuples(st.just("cancel"), st.integers(min_value=1, max_value=30))
wait = st.tuples(st.just("wait"), st.integers(min_value=1, max_value=40_000))
ops = st.lists(st.one_of(place, cancel, wait), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(ops=ops, participation=st.sampled_from([None, D("0.25"), D("0.6")]), splits=st.sampled_from([1, 2, 3]),
       fee_asset=st.sampled_from(["quote", "received"]), spread=st.sampled_from([0, 1, 3]))
def test_random_trading_conserves_value_and_keeps_records_consistent(ops, participation, splits, fee_asset, spread):
    start = {"USDT": D(1000), "BTC": D(3)}
    ex = make_exchange(CANDLES, participation=participation, fee_asset=fee_asset, spread_ticks=spread,
                       balances=dict(start))
    ex.fill_splits = lambda: splits
    now, n = T0, 0
    touches: dict[int, tuple[int, int]] = {}  # trade id of a taker fill -> (bid, ask) when the order came
    reports: list[ExecReport] = []
    for op in ops:
        if op[0] == "place":
            _, side, kind, qty, price, tif = op
            n += 1
            req = NewOrder(side, kind, f"o{n}", quantity=qty, price=None if kind == "MARKET" else price,
                           time_in_force=tif if kind == "LIMIT" else None)
            bid, ask = ex.best_bid_ticks, ex.best_ask_ticks
            try:
                order = ex.place(req)
            except SimError:
                continue
            for fill in order.fills:
                if not fill.maker:
                    touches[fill.trade_id] = (bid, ask)
        elif op[0] == "cancel":
            try:
                ex.cancel(op[1], None, "x")
            except SimError:
                pass
        else:
            now += op[1]
            ex.advance_to(now)
        for produced in ex.drain():
            if isinstance(produced, UserBurst):
                reports.extend(i for i in produced.items if isinstance(i, ExecReport))
        assert ex.free("USDT") >= 0 and ex.free("BTC") >= 0
    base, quote = start["BTC"], start["USDT"]
    for fill in ex.fills:
        sign = 1 if fill.side == "BUY" else -1
        base += sign * fill.qty
        quote -= sign * fill.qty * fill.price
        if fill.commission_asset == "BTC":
            base -= fill.commission
        else:
            quote -= fill.commission
        rate = D("0.001") if fill.maker else D("0.002")
        assert abs(fill.commission - (fill.qty * rate if fill.commission_asset == "BTC" else fill.quote_qty * rate)) \
            <= D("0.000000005")
        order = ex.orders[fill.order_id]
        if fill.maker:
            assert fill.price == order.price
        else:
            bid, ask = touches[fill.trade_id]
            assert fill.price == ex.tape.price(ask if fill.side == "BUY" else bid)
    event(f"fills: {min(len(ex.fills), 5)}+")
    assert ex.totals == {"BTC": base, "USDT": quote}
    ids = [f.trade_id for f in ex.fills]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for order in ex.orders.values():
        assert order.executed_qty == sum((f.qty for f in order.fills), D(0)) <= order.orig_qty
        assert order.cum_quote == sum((f.quote_qty for f in order.fills), D(0))
        assert (order.status == "FILLED") == (order.executed_qty == order.orig_qty)
        assert order.is_open == (order.order_id in ex.open_ids)
    seen: dict[int, D] = {}
    for rep in reports:
        assert rep.order.executed_qty >= seen.get(rep.order.order_id, D(0))
        seen[rep.order.order_id] = rep.order.executed_qty
