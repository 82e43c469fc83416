"""Portfolio accounting invariants on random order streams and price paths (exact Decimal)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.engine.portfolio import Portfolio
from quantdesk.model import Instrument, InstrumentId, LiquiditySide, Order, OrderSide, OrderType
from quantdesk.model.events import PositionClosed, PositionOpened
from quantdesk.simulation import FeeModel, SimulatedVenue

A = Instrument(InstrumentId("AAA/USD", "sim"), price_precision=2, size_precision=4)
B = Instrument(InstrumentId("BBB/USD", "sim"), price_precision=3, size_precision=2, tick_size=D("0.005"))

step = st.tuples(
    st.sampled_from([A, B]),
    st.sampled_from(["buy", "sell"]),
    st.decimals(min_value=D("0.01"), max_value=D("50"), places=3),
    st.floats(min_value=1.0, max_value=500.0, allow_nan=False),
    st.floats(min_value=1.0, max_value=500.0, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(step, min_size=1, max_size=40),
    margin=st.booleans(),
    fee=st.sampled_from(["0", "0.001", "0.0025"]),
)
def test_money_is_conserved(steps, margin, fee):
    events = []
    pf = Portfolio([A, B], D("100000"), margin=margin)

    def emit(e):
        pf.on_event(e)
        events.append(e)

    venue = SimulatedVenue([A, B], pf, emit, fees=FeeModel(D(fee), D(fee)), margin=margin)
    marks = {A.id: D("100"), B.id: D("100")}
    ts = 0
    for n, (inst, side, qty, open_px, close_px) in enumerate(steps):
        ts += 1
        order = Order(f"h-{n}", inst.id, OrderSide(side), OrderType.MARKET, quantity=qty)
        venue.submit(order, ts, float(marks[inst.id]))
        lo, hi = min(open_px, close_px), max(open_px, close_px)
        venue.process_bar(inst.id, ts, open_px, hi, lo, close_px, 1e9)
        marks[inst.id] = inst.make_price(close_px)
        # invariant 1: equity == cash + sum(qty x mark), exactly
        eq = pf.equity(marks)
        assert eq == pf.cash() + sum(pf.position_qty(i) * marks[i] for i in marks)
        assert eq == pf.cash() + pf.cost_basis + pf.unrealized_pnl(marks)
        # invariant 2: change of (cash + positions at cost) == realised pnl - fees, exactly
        assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
        if not margin:
            assert all(pf.position_qty(i) >= 0 for i in marks)
            assert pf.cash() >= 0
    # round trips add up to the realised pnl of closed quantity
    assert sum((t.realized for t in pf.trips), D(0)) == pf.realized_pnl
    assert sum((t.fees for t in pf.trips), D(0)) == pf.total_fees


def test_position_events_and_exposure():
    events = []
    pf = Portfolio([A], D("1000"), margin=True, emit=events.append)
    from quantdesk.model import Fill

    pf.apply_fill(
        Fill("o1", "t1", A.id, OrderSide.BUY, D("10"), D("5"), D("0.05"), "USD", LiquiditySide.TAKER, 1)
    )
    pf.apply_fill(
        Fill("o2", "t2", A.id, OrderSide.SELL, D("12"), D("8"), D("0"), "USD", LiquiditySide.TAKER, 2)
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "PositionOpened",
        "AccountStateChanged",
        "PositionClosed",
        "PositionOpened",
        "AccountStateChanged",
    ]
    assert isinstance(events[2], PositionClosed) and isinstance(events[3], PositionOpened)
    assert pf.position_qty(A.id) == D("-3")
    gross, net = pf.exposure({A.id: D("11")})
    assert (gross, net) == (D("33"), D("-33"))
    assert pf.realized_pnl == D("10")  # 5 x (12 - 10)
    assert pf.cash() == D("1000") - D("50") - D("0.05") + D("96")
    assert [t.side for t in pf.trips] == ["long", "short"] and not pf.trips[0].is_open
