"""The order tracker under duplicate and out-of-order execution reports (Hypothesis over interleavings)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.execution.models import OrderReport
from quantdesk.execution.order_state import TERMINAL, OrderTracker
from quantdesk.model.enums import OrderSide, OrderStatus

RANK = {OrderStatus.SUBMITTED: 1, OrderStatus.ACCEPTED: 2, OrderStatus.PARTIALLY_FILLED: 3}


def report(status, filled, qty=D("1.0"), cid="o-1", ts=0):
    return OrderReport(cid, "BTC/USDT", OrderSide.BUY, status, D(filled), D(qty), venue_order_id="77", ts_ms=ts)


@st.composite
def life_cycles(draw):
    """A true order life: NEW, partial fills (cumulative), then FILLED, CANCELED or EXPIRED; as reports."""
    qty = D(draw(st.integers(1, 50))) / 10
    units = int(qty * 10)
    cuts = sorted(draw(st.lists(st.integers(1, units), max_size=5, unique=True)))
    end = draw(st.sampled_from([OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED]))
    if end is OrderStatus.FILLED:
        cuts = sorted(set(cuts) | {units})
    else:
        cuts = [c for c in cuts if c < units]
    reports = [report(OrderStatus.ACCEPTED, 0, qty, ts=1)]
    for i, c in enumerate(cuts):
        status = OrderStatus.FILLED if c == units else OrderStatus.PARTIALLY_FILLED
        reports.append(report(status, D(c) / 10, qty, ts=2 + i))
    if end is not OrderStatus.FILLED:
        reports.append(report(end, D(cuts[-1]) / 10 if cuts else 0, qty, ts=99))
    final_filled = D(cuts[-1]) / 10 if cuts else D(0)
    return reports, end, final_filled


@st.composite
def deliveries(draw):
    """Every true report at least once, some repeated, in any order (what streams + REST snapshots do)."""
    reports, end, filled = draw(life_cycles())
    extra = draw(st.lists(st.sampled_from(reports), max_size=8))
    delivered = draw(st.permutations(reports + extra))
    return reports, delivered, end, filled


@settings(max_examples=400, deadline=None)
@given(deliveries())
def test_any_interleaving_ends_in_the_true_state_without_regressing(case):
    reports, delivered, end, filled = case
    tracker = OrderTracker()
    tracker.expect("o-1", "BTC/USDT", OrderSide.BUY, reports[0].quantity)
    last_rank, last_filled, was_terminal, changes = 0, D(0), False, 0
    for r in delivered:
        changes += tracker.apply(r) is not None
        state = tracker.get("o-1")
        rank = 4 if state.status in TERMINAL else RANK[state.status]
        assert rank >= last_rank and state.filled >= last_filled  # never regresses
        assert not (was_terminal and state.status not in TERMINAL)
        last_rank, last_filled, was_terminal = rank, state.filled, state.status in TERMINAL
    final = tracker.get("o-1")
    assert (final.status, final.filled) == (end, filled)
    assert final.venue_order_id == "77"
    assert changes <= len(reports)  # duplicates and stale reports change nothing
    assert tracker.duplicates == len(delivered) - changes


def test_the_specific_reorders_the_issue_names():
    tracker = OrderTracker()
    tracker.expect("o-1", "BTC/USDT", OrderSide.BUY, D("1.0"))
    assert tracker.apply(report(OrderStatus.FILLED, "1.0")).status is OrderStatus.FILLED
    assert tracker.apply(report(OrderStatus.ACCEPTED, "0")) is None  # NEW after FILLED: ignored
    assert tracker.get("o-1").status is OrderStatus.FILLED
    t2 = OrderTracker()
    t2.apply(report(OrderStatus.PARTIALLY_FILLED, "0.6"))
    assert t2.apply(report(OrderStatus.PARTIALLY_FILLED, "0.3")) is None  # an earlier partial after a later one
    assert t2.get("o-1").filled == D("0.6") and t2.get("o-1").status is OrderStatus.PARTIALLY_FILLED


def test_a_fill_in_a_cancel_race_and_conflicting_terminals_are_counted():
    tracker = OrderTracker()
    tracker.apply(report(OrderStatus.CANCELED, "0.2"))
    merged = tracker.apply(report(OrderStatus.FILLED, "1.0"))  # the venue filled it before the cancel landed
    assert merged.status is OrderStatus.FILLED and merged.filled == D("1.0") and merged.conflicts == 1


def test_unknown_orders_are_adopted_and_unsent_orders_rejected():
    tracker = OrderTracker()
    adopted = tracker.apply(report(OrderStatus.ACCEPTED, "0", cid="manual"))
    assert adopted.status is OrderStatus.ACCEPTED and [o.client_order_id for o in tracker.open_orders()] == ["manual"]
    tracker.expect("o-2", "BTC/USDT", OrderSide.SELL, D("0.5"))
    assert tracker.reject_unsent("o-2").status is OrderStatus.REJECTED
    assert tracker.reject_unsent("o-2") is None and tracker.reject_unsent("nope") is None
