"""The private streams (orders, fills, balances) into the exactly-once books, against the simulator with its
report faults on (duplicates, reordering, delays, partial fills) and a user-stream disconnect during which
orders fill: after the reconnect snapshot and the reconciler, the node's books equal the venue's truth."""

from __future__ import annotations

import asyncio

import pytest
from adapter_support import START, D, execution, run, scheme, sim_settings, until, write_sample

from quantdesk.adapters.ccxt import OrderRequest, private_events
from quantdesk.adapters.simulator import ExchangeSimulator
from quantdesk.execution import FillBook, OrderTracker, Reconciler, Verdict, apply_actions
from quantdesk.model.enums import OrderSide, OrderStatus

SYM = "BTC/USDT"
IDS = scheme("streams")
STATUS = {"NEW": OrderStatus.ACCEPTED, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
          "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELED, "EXPIRED": OrderStatus.EXPIRED}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("adapter_private"))


class Books:
    """What a live node keeps: the tracker, the fill book and positions, fed by events and reconciliations."""

    def __init__(self, client):
        self.client, self.tracker, self.fills, self.positions = client, OrderTracker(), FillBook(), {SYM: D(0)}
        self.recon = Reconciler("streams", IDS.owns)
        self.seq = 0
        self.verdicts: list[Verdict] = []

    async def on_snapshot(self, snapshot):
        result = self.recon.reconcile(self.tracker, self.fills, self.positions, snapshot, self.seq)
        if result.verdict is Verdict.INCOMPLETE:  # closed while we were away: ask by client id
            ids = [(a.client_order_id, a.symbol) for a in result.actions if a.kind == "query_order"]
            snapshot = await self.client.snapshot([SYM], snapshot.since_ms, requested_at_seq=self.seq, query_ids=ids)
            result = self.recon.reconcile(self.tracker, self.fills, self.positions, snapshot, self.seq)
        self.verdicts.append(result.verdict)
        self.seq += apply_actions(result, self.tracker, self.fills, self.positions)

    def on_fill(self, fill):
        if self.fills.book(fill):
            self.positions[SYM] += fill.base_delta
            self.seq += 1

    def on_order(self, report):
        self.seq += self.tracker.apply(report) is not None


def test_books_equal_the_venue_after_faulty_reports_and_a_disconnect(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start=START)) as sim:
        async def main():
            client = execution(sim)
            await client.start()
            books = Books(client)
            stats: dict = {}
            events = private_events(client, [SYM], since_ms=0, settle_s=0.2, seq=lambda: books.seq, stats=stats)

            async def consume():
                async for ev in events:
                    if ev.kind == "snapshot":
                        await books.on_snapshot(ev.snapshot)
                    elif ev.kind == "fill":
                        books.on_fill(ev.fill)
                    elif ev.kind == "order":
                        books.on_order(ev.order)

            task = asyncio.ensure_future(consume())
            try:
                await until(lambda: stats.get("snapshots", 0) == 1 and sim.state()["connections"]["user"] >= 1)
                await asyncio.sleep(0.2)

                async def send(seq, kind, qty, side=OrderSide.BUY, price=None):
                    books.tracker.expect(IDS.make(1, seq), SYM, side, D(qty))
                    r = await client.submit(OrderRequest(IDS.make(1, seq), SYM, side, kind, D(qty),
                                                         None if price is None else D(price)))
                    books.on_order(r.report)
                    return r

                sim.faults("duplicate_reports:count=2")
                await send(0, "market", "0.01")
                sim.faults("reorder_reports:count=1")
                await send(1, "market", "0.01")
                sim.faults("partial_fills:parts=3,count=1")
                await send(2, "market", "0.02")
                sim.faults("delay_reports:count=2,max_ms=300")
                last = D(sim.state()["last_price"])
                await send(3, "limit", "0.02", OrderSide.SELL, last + 40)
                await send(4, "limit", "0.01", OrderSide.BUY, last - 40)
                await asyncio.sleep(0.5)
                sim.faults("ws_disconnect:scope=user,after=0,count=1")  # the next user message closes the stream
                for _ in range(120):  # the market moves through both limits while the stream is down
                    sim.advance(candles=1)
                    orders = {o["client_order_id"]: o["status"] for o in sim.state()["orders"]}
                    if orders[IDS.make(1, 3)] == "FILLED" and orders[IDS.make(1, 4)] == "FILLED":
                        break
                truth = sim.state()
                want = {o["client_order_id"]: STATUS[o["status"]] for o in truth["orders"]}
                await until(lambda: {o.client_order_id: o.status for o in books.tracker} == want
                            and len(books.fills) == len(truth["fills"]), timeout=15)
                return truth, books, stats
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await events.aclose()
                await client.close()

        truth, books, stats = run(main())
    assert stats["disconnects"] >= 1 and stats["snapshots"] >= 2
    assert {int(f.trade_id) for f in books.fills} == {f["trade_id"] for f in truth["fills"]}
    for fill in books.fills:  # each booked once, with the venue's numbers and its client id
        venue = next(f for f in truth["fills"] if f["trade_id"] == int(fill.trade_id))
        assert (fill.quantity, fill.price, fill.client_order_id) == (D(venue["qty"]), D(venue["price"]),
                                                                     venue["client_order_id"])
    assert books.positions[SYM] == D(truth["balances"]["BTC"]) == books.fills.position(SYM)
    assert books.fills.duplicates > 0 or books.tracker.duplicates > 0  # the duplicated reports did arrive
    assert Verdict.HALT not in books.verdicts
    assert all(books.tracker.get(IDS.make(1, k)).filled == D(q) for k, q in enumerate(
        ["0.01", "0.01", "0.02", "0.02", "0.01"]))
