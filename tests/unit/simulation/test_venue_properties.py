"""Random order streams (all types, TIFs, brackets, cancels) over random bars: accounting stays exact and the
venue's guarantees hold."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.engine.portfolio import Portfolio
from quantdesk.model import (
    Instrument,
    InstrumentId,
    Order,
    OrderFilled,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from quantdesk.simulation import FeeModel, SimulatedVenue, VolumeShare

INST = Instrument(InstrumentId("XYZ/USD", "sim"), price_precision=2, size_precision=3)

bar_st = st.tuples(
    st.floats(50, 150), st.floats(0, 10), st.floats(0, 10), st.floats(0, 1), st.floats(1, 200)
)  # open, up, down, close position in range, volume
action_st = st.tuples(
    st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing", "bracket", "cancel", "none"]),
    st.sampled_from(["buy", "sell"]),
    st.decimals(D("0.001"), D("20"), places=3),
    st.floats(-0.1, 0.1),  # price offset from the last close (fraction)
    st.sampled_from(list(TimeInForce)),
    st.booleans(),  # reduce_only
)


@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(st.tuples(action_st, bar_st), min_size=1, max_size=30),
    margin=st.booleans(),
    capped=st.booleans(),
)
def test_random_order_streams_keep_the_books_exact(steps, margin, capped):
    pf = Portfolio([INST], D("5000"), margin=margin)
    fills = []

    def emit(event):
        before = pf.position_qty(INST.id)
        pf.on_event(event)
        if isinstance(event, OrderFilled):
            fills.append((venue.orders[event.client_order_id], before, pf.position_qty(INST.id)))

    venue = SimulatedVenue(
        [INST],
        pf,
        emit,
        fees=FeeModel(D("0.001"), D("0.002")),
        margin=margin,
        slippage=VolumeShare(cap=0.2, impact=0.05) if capped else None,
    )
    close, ts, n = 100.0, 0, 0
    for (kind, side, qty, off, tif, reduce_only), (o, up, down, pos, vol) in steps:
        ts += 60
        n += 1
        px = D(repr(round(close * (1 + off), 2)))
        if px <= 0:
            px = D("1")
        s = OrderSide(side)
        kw = dict(
            quantity=qty,
            tif=tif,
            expire_ts=ts + 120 if tif is TimeInForce.GTD else None,
            reduce_only=reduce_only,
        )
        oid = f"o{n}"
        if kind == "market":
            venue.submit(Order(oid, INST.id, s, OrderType.MARKET, **kw), ts, close)
        elif kind == "limit":
            venue.submit(Order(oid, INST.id, s, OrderType.LIMIT, price=px, **kw), ts, close)
        elif kind == "stop":
            venue.submit(Order(oid, INST.id, s, OrderType.STOP, trigger_price=px, **kw), ts, close)
        elif kind == "stop_limit":
            venue.submit(
                Order(oid, INST.id, s, OrderType.STOP_LIMIT, trigger_price=px, price=px, **kw), ts, close
            )
        elif kind == "trailing":
            venue.submit(
                Order(
                    oid,
                    INST.id,
                    s,
                    OrderType.TRAILING_STOP,
                    trailing_offset=D("2"),
                    trailing_offset_type=TrailingOffsetType.PERCENT,
                    **kw,
                ),
                ts,
                close,
            )
        elif kind == "bracket":
            sign = 1 if s is OrderSide.BUY else -1
            entry = Order(oid, INST.id, s, OrderType.MARKET, quantity=qty)
            tp = Order(
                oid + "tp",
                INST.id,
                s.opposite,
                OrderType.LIMIT,
                quantity=qty,
                price=D(repr(round(close * (1 + 0.05 * sign), 2))),
            )
            sl = Order(
                oid + "sl",
                INST.id,
                s.opposite,
                OrderType.STOP,
                quantity=qty,
                trigger_price=D(repr(round(close * (1 - 0.05 * sign), 2))),
            )
            venue.submit_bracket(entry, tp, sl, ts, close)
        elif kind == "cancel":
            open_ = venue.open_orders(INST.id)
            if open_:
                venue.cancel(open_[n % len(open_)].client_order_id, ts)
        c = (o - down) + pos * (up + down)
        venue.process_bar(INST.id, ts, o, o + up, max(o - down, 0.01), c, vol)
        close = c

        mark = {INST.id: INST.make_price(close)}
        q = pf.position_qty(INST.id)
        assert pf.equity(mark) == pf.cash() + q * mark[INST.id]
        assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
        if not margin:
            assert q >= 0 and pf.cash() >= 0
        for order in venue.working[INST.id]:
            assert not order.is_terminal
        for order in venue.orders.values():
            if order.quantity is not None:
                assert order.filled_qty <= order.quantity
    for order, before, after in fills:
        if order.reduce_only:
            assert abs(after) < abs(before) and (after == 0 or (after > 0) == (before > 0))
    assert sum((t.fees for t in pf.trips), D(0)) == pf.total_fees
