"""The reconciler's rules on hand-made snapshots (the venue-built scenarios are in
tests/integration/test_adapter_reconcile.py)."""

from __future__ import annotations

from decimal import Decimal as D

from quantdesk.execution import (
    ActionKind,
    ClientIdRules,
    ClientIdScheme,
    FillBook,
    FillReport,
    OrderReport,
    OrderTracker,
    Reconciler,
    VenueSnapshot,
    Verdict,
    apply_actions,
)
from quantdesk.model.enums import OrderSide, OrderStatus

SYM = "BTC/USDT"
SCHEME = ClientIdScheme("bot", ClientIdRules(36))
RECON = Reconciler("bot", SCHEME.owns)
T = 1_641_168_000_000


def fill(tid, qty, side=OrderSide.BUY, cid=None, ts=T):
    return FillReport(str(tid), SYM, side, D(qty), D("40000"), client_order_id=cid or SCHEME.make(T, tid), ts_ms=ts)


def snap(positions=None, trades=(), open_orders=(), queried=None, seq=None, since=T):
    return VenueSnapshot(taken_at_ms=T + 60_000, since_ms=since, symbols=(SYM,), open_orders=tuple(open_orders),
                         trades=tuple(trades), positions={SYM: D(positions or 0)}, requested_at_seq=seq,
                         queried=queried or {})


def books():
    return OrderTracker(), FillBook(), {}


def test_missed_fills_are_booked_then_the_loop_is_in_sync():
    tracker, fills, positions = books()
    snapshot = snap("0.3", trades=[fill(1, "0.1"), fill(2, "0.2")])
    first = RECON.reconcile(tracker, fills, positions, snapshot)
    assert first.verdict is Verdict.ADJUSTED and len(first.of(ActionKind.BOOK_FILL)) == 2
    assert apply_actions(first, tracker, fills, positions) == 2 and positions[SYM] == D("0.3")
    assert RECON.reconcile(tracker, fills, positions, snapshot).in_sync


def test_a_stale_snapshot_changes_nothing():
    tracker, fills, positions = books()
    result = RECON.reconcile(tracker, fills, positions, snap("0.5", seq=7), activity_seq=8)
    assert result.verdict is Verdict.STALE and result.actions == ()
    assert apply_actions(result, tracker, fills, positions) == 0 and positions == {}


def test_open_orders_are_adopted_and_attributed():
    tracker, fills, positions = books()
    mine = OrderReport(SCHEME.make(T, 9), SYM, OrderSide.SELL, OrderStatus.ACCEPTED, quantity=D("0.1"))
    theirs = OrderReport("web_123", SYM, OrderSide.BUY, OrderStatus.ACCEPTED, quantity=D("0.2"))
    result = RECON.reconcile(tracker, fills, positions, snap(open_orders=[mine, theirs]))
    assert {(a.client_order_id, a.owner) for a in result.of(ActionKind.ADOPT_ORDER)} == {
        (mine.client_order_id, "bot"), ("web_123", "external")}
    apply_actions(result, tracker, fills, positions)
    assert len(tracker.open_orders(SYM)) == 2


def test_believed_open_orders_missing_at_the_venue_are_queried_first():
    tracker, fills, positions = books()
    sent, accepted = SCHEME.make(T, 1), SCHEME.make(T, 2)
    tracker.expect(sent, SYM, OrderSide.BUY, D("0.1"))
    tracker.expect(accepted, SYM, OrderSide.BUY, D("0.1"))
    tracker.apply(OrderReport(accepted, SYM, OrderSide.BUY, OrderStatus.ACCEPTED, venue_order_id="5"))
    first = RECON.reconcile(tracker, fills, positions, snap())
    assert first.verdict is Verdict.INCOMPLETE
    assert {a.client_order_id for a in first.of(ActionKind.QUERY_ORDER)} == {sent, accepted}
    filled = OrderReport(accepted, SYM, OrderSide.BUY, OrderStatus.FILLED, D("0.1"), D("0.1"), "5")
    second = RECON.reconcile(tracker, fills, positions, snap(
        "0.1", trades=[fill(2, "0.1", cid=accepted)], queried={sent: None, accepted: filled}))
    assert second.verdict is Verdict.ADJUSTED
    assert [a.client_order_id for a in second.of(ActionKind.MARK_NOT_PLACED)] == [sent]
    apply_actions(second, tracker, fills, positions)
    assert tracker.get(sent).status is OrderStatus.REJECTED and tracker.get(accepted).status is OrderStatus.FILLED
    assert RECON.reconcile(tracker, fills, positions, snap("0.1", trades=[fill(2, "0.1", cid=accepted)])).in_sync


def test_an_accepted_order_the_venue_forgot_halts():
    tracker, fills, positions = books()
    cid = SCHEME.make(T, 1)
    tracker.apply(OrderReport(cid, SYM, OrderSide.BUY, OrderStatus.ACCEPTED, venue_order_id="5"))
    result = RECON.reconcile(tracker, fills, positions, snap(queried={cid: None}))
    assert result.halted and "no longer knows" in result.reason and result.actions == ()


def test_position_mismatches_adopt_when_explained_and_halt_when_not():
    # older than the window: the node's window fills agree with the venue's, the rest predates it
    tracker, fills, positions = books()
    fills.book(fill(1, "0.1", ts=T + 1))
    positions[SYM] = D("0.1")
    adopt = RECON.reconcile(tracker, fills, positions, snap("0.75", trades=[fill(1, "0.1", ts=T + 1)]))
    assert [(a.quantity, a.previous) for a in adopt.of(ActionKind.ADOPT_POSITION)] == [(D("0.75"), D("0.1"))]
    # unexplained: the node booked a fill inside the window that the venue does not list, venue not flat
    halt = RECON.reconcile(tracker, fills, positions, snap("0.75", trades=[]))
    assert halt.halted and "does not list" in halt.reason


def test_fill_conflicts_halt():
    tracker, fills, positions = books()
    fills.book(fill(1, "0.1"))
    assert RECON.reconcile(tracker, fills, {SYM: D("0.1")}, snap("0.2", trades=[fill(1, "0.2")])).halted


def test_external_trades_move_the_adopted_position():
    tracker, fills, positions = books()
    other = FillReport("8", SYM, OrderSide.BUY, D("0.4"), D("40000"), client_order_id="web_1", ts_ms=T)
    result = RECON.reconcile(tracker, fills, positions, snap("0.4", trades=[other]))
    assert [a.kind for a in result.actions] == [ActionKind.EXTERNAL_FILL, ActionKind.ADOPT_POSITION]
    apply_actions(result, tracker, fills, positions)
    assert positions[SYM] == D("0.4")
    assert RECON.reconcile(tracker, fills, positions, snap("0.4", trades=[other])).in_sync


def test_no_action_can_touch_the_venue():
    assert {k.value for k in ActionKind} == {"book_fill", "external_fill", "update_order", "adopt_order",
                                             "query_order", "mark_not_placed", "adopt_position", "adopt_balances"}
