"""One scenario per NautilusTrader reconciliation issue cited by issue 15, with the venue state made by the
real simulator (real orders, fills and balances) and read back by the execution client's REST snapshot:
#3104 position older than the lookback, #5000 working orders kept and attributed, #3046 no double booking after
a restart, #4517 a stale snapshot never creates an order, #3622 a flat venue ends the loop; plus the fail-closed
halt on an unexplained mismatch."""

from __future__ import annotations

import pytest
from adapter_support import START, D, execution, run, scheme, sim_settings, write_sample

from quantdesk.adapters.ccxt import OrderRequest
from quantdesk.adapters.simulator import ExchangeSimulator
from quantdesk.execution import (
    ActionKind,
    FillBook,
    FillReport,
    OrderTracker,
    Outcome,
    Reconciler,
    Verdict,
    apply_actions,
)
from quantdesk.model.enums import OrderSide

SYM = "BTC/USDT"
IDS = scheme("recon")
HOUR = 3_600_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("adapter_recon"))


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start=START, balances={"USDT": D(10_000)})) as s:
        yield s


class Node:
    """The books of a (re)started node and its reconciliation loop."""

    def __init__(self, client, fills=None, positions=None, tracker=None):
        self.client = client
        self.tracker, self.fills = tracker or OrderTracker(), fills or FillBook()
        self.positions = dict(positions or {SYM: D(0)})
        self.recon = Reconciler("recon", IDS.owns)
        self.seq = 0
        self.results = []

    async def snapshot(self, since, query=()):
        return await self.client.snapshot([SYM], since, requested_at_seq=self.seq, query_ids=query)

    async def reconcile_until_stable(self, since, max_rounds=5):
        for _ in range(max_rounds):
            snap = await self.snapshot(since)
            result = self.recon.reconcile(self.tracker, self.fills, self.positions, snap, self.seq)
            if result.verdict is Verdict.INCOMPLETE:
                ids = [(a.client_order_id, a.symbol) for a in result.of(ActionKind.QUERY_ORDER)]
                snap = await self.snapshot(since, ids)
                result = self.recon.reconcile(self.tracker, self.fills, self.positions, snap, self.seq)
            self.results.append(result)
            if result.verdict in (Verdict.IN_SYNC, Verdict.HALT):
                return result
            self.seq += apply_actions(result, self.tracker, self.fills, self.positions)
        return result


async def trade(client, seq, kind, qty, side=OrderSide.BUY, price=None, cid=None):
    cid = cid or IDS.make(7, seq)
    result = await client.submit(OrderRequest(cid, SYM, side, kind, D(qty), None if price is None else D(price)))
    assert result.outcome is Outcome.ACCEPTED, result.reason
    return result


def scenario(sim, body):
    async def main():
        client = execution(sim)
        try:
            await client.start()
            return await body(client)
        finally:
            await client.close()

    return run(main())


def test_nt3104_a_position_older_than_the_lookback_is_adopted(sim):
    async def body(client):
        await trade(client, 0, "market", "0.05")
        sim.advance(ms=2 * HOUR)
        since = sim.now_ms() - HOUR // 2  # the restarted node looks back 30 minutes
        fresh = Node(client)  # lost its memory
        stale = Node(client, positions={SYM: D("0.075")})  # or remembers a wrong figure (NT: 75 vs -65)
        return await fresh.reconcile_until_stable(since), fresh, await stale.reconcile_until_stable(since), stale

    r1, fresh, r2, stale = scenario(sim, body)
    venue = D(sim.state()["balances"]["BTC"])
    assert venue == D("0.05")
    for node, result in ((fresh, r1), (stale, r2)):
        assert result.in_sync and node.positions[SYM] == venue
        adopted = node.results[0].of(ActionKind.ADOPT_POSITION)
        assert [a.quantity for a in adopted] == [venue] and "older than the lookback" in adopted[0].reason


def test_nt5000_every_working_order_is_kept_and_attributed(sim):
    async def body(client):
        await trade(client, 0, "market", "0.05")
        last = D(sim.state()["last_price"])
        for k in range(5):
            await trade(client, 1 + k, "limit", "0.005", OrderSide.SELL, last + 500 + 10 * k)
        for k in range(2):
            await trade(client, 6 + k, "limit", "0.005", OrderSide.BUY, last - 500 - 10 * k)
        await trade(client, 0, "limit", "0.002", OrderSide.BUY, last - 900, cid="web_manual_1")  # the user's
        sim.advance(ms=HOUR)
        node = Node(client)  # SIGKILLed and restarted without its books
        return await node.reconcile_until_stable(sim.now_ms() - 10 * 60_000), node

    result, node = scenario(sim, body)
    venue_open = {o["client_order_id"] for o in sim.state()["orders"] if o["status"] == "NEW"}
    assert result.in_sync and len(venue_open) == 8
    assert {o.client_order_id for o in node.tracker.open_orders(SYM)} == venue_open
    owners = {a.client_order_id: a.owner for a in node.results[0].of(ActionKind.ADOPT_ORDER)}
    assert owners == {**{IDS.make(7, k): "recon" for k in range(1, 8)}, "web_manual_1": "external"}
    assert node.positions[SYM] == D(sim.state()["balances"]["BTC"]) == D("0.05")


def test_nt3046_fills_are_never_booked_twice_after_a_restart(sim):
    async def body(client):
        t0 = sim.now_ms()
        sim.faults("partial_fills:parts=3,count=2")
        await trade(client, 0, "market", "0.03")
        await trade(client, 1, "market", "0.02", OrderSide.SELL)
        before = Node(client)
        first = await before.reconcile_until_stable(t0)  # books the 6 fills once
        saved_fills, saved_positions, saved_orders = before.fills.records(), dict(before.positions), before.tracker
        after = Node(client, fills=FillBook.from_records(saved_fills), positions=saved_positions,
                     tracker=saved_orders)  # restarted from what it persisted
        replay = await client.my_trades(SYM, t0)  # the venue's fills, replayed into the restored book
        rebooked = after.fills.book_all(replay)
        second = await after.reconcile_until_stable(t0)
        return first, before, after, rebooked, second

    first, before, after, rebooked, second = scenario(sim, body)
    truth = sim.state()
    assert len(before.fills) == len(truth["fills"]) == 6 and len(first_fills(before)) == 6
    assert rebooked == [] and after.fills.duplicates == 6
    assert second.in_sync and second.actions[-1].kind is ActionKind.ADOPT_BALANCES and len(second.actions) == 1
    assert after.positions[SYM] == after.fills.position(SYM) == D(truth["balances"]["BTC"]) == D("0.01")


def first_fills(node):
    return [a for r in node.results for a in r.of(ActionKind.BOOK_FILL)]


def test_nt4517_a_stale_snapshot_never_creates_an_order(sim):
    async def body(client):
        t0 = sim.now_ms()
        node = Node(client)
        await trade(client, 0, "market", "0.05")
        await node.reconcile_until_stable(t0)  # in sync, holding 0.05
        stale = await node.snapshot(t0)  # requested now ...
        sold = await trade(client, 1, "market", "0.05", OrderSide.SELL)  # ... while a fill closes the position
        for fill in await client.my_trades(SYM, t0):
            if fill.client_order_id == sold.client_order_id and node.fills.book(fill):
                node.positions[SYM] += fill.base_delta
                node.seq += 1
        submissions = len(sim.state()["submissions"])
        result = node.recon.reconcile(node.tracker, node.fills, node.positions, stale, node.seq)
        unguarded = node.recon.reconcile(node.tracker, node.fills, node.positions, stale, None)
        fresh = await node.reconcile_until_stable(t0)
        return node, result, unguarded, submissions, fresh

    node, result, unguarded, submissions, fresh = scenario(sim, body)
    assert result.verdict is Verdict.STALE and result.actions == ()
    # without the guard the stale snapshot (0.05 at the venue, the sell not yet listed) looks like an
    # unexplained mismatch: it would halt the bot for nothing; it never adopts 0.05 back nor sends an order
    assert unguarded.halted and unguarded.of(ActionKind.ADOPT_POSITION) == []
    assert len(sim.state()["submissions"]) == submissions == 2  # reconciliation never placed an order
    assert fresh.in_sync and node.positions[SYM] == D(0) == D(sim.state()["balances"].get("BTC", "0"))


def test_nt3622_a_flat_venue_ends_the_loop(sim):
    async def body(client):
        t0 = sim.now_ms()
        node = Node(client)
        await trade(client, 0, "market", "0.15")
        await node.reconcile_until_stable(t0)
        # the position is closed outside the node (the user, another tool), long before the next lookback
        await trade(client, 0, "market", "0.15", OrderSide.SELL, cid="web_close_all")
        sim.advance(ms=2 * HOUR)
        node.results.clear()
        return node, await node.reconcile_until_stable(sim.now_ms() - HOUR // 2)

    node, result = scenario(sim, body)
    assert result.in_sync and len(node.results) == 2  # one adjustment, then in sync: the loop ends
    adopted = node.results[0].of(ActionKind.ADOPT_POSITION)
    assert [(a.quantity, a.previous) for a in adopted] == [(D(0), D("0.15"))] and "flat venue" in adopted[0].reason
    assert node.positions[SYM] == D(0)


def test_an_unexplained_mismatch_halts_and_changes_nothing(sim):
    async def body(client):
        t0 = sim.now_ms()
        await trade(client, 0, "market", "0.05")
        node = Node(client)
        await node.reconcile_until_stable(t0)
        ghost = FillReport("999999", SYM, OrderSide.BUY, D("0.02"), D("47000"), client_order_id=IDS.make(7, 9),
                           ts_ms=sim.now_ms())  # a fill the venue never made (a bug, a bad import...)
        node.fills.book(ghost)
        node.positions[SYM] += ghost.base_delta
        books = (dict(node.positions), len(node.fills))
        return node, books, await node.reconcile_until_stable(t0)

    node, books, result = scenario(sim, body)
    assert result.halted and "999999" in result.reason and result.actions == ()
    assert (dict(node.positions), len(node.fills)) == books
