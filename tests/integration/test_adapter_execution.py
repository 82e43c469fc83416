"""The execution client against the exchange simulator with its faults on: lost answers are UNKNOWN and are
found by client id, nothing is ever submitted twice (the simulator's own `submissions` log), 429/418 back off,
clock errors resync, rejects and duplicates are told apart, and bad requests never leave the process."""

from __future__ import annotations

import time

import pytest
from adapter_support import START, D, execution, run, scheme, sim_settings, submissions, write_sample

from quantdesk.adapters.ccxt import OrderRequest
from quantdesk.adapters.simulator import ExchangeSimulator
from quantdesk.core.errors import ParameterError
from quantdesk.execution import Outcome
from quantdesk.model.enums import OrderSide, OrderStatus

IDS = scheme()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("adapter_exec"))


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start=START)) as s:
        yield s


def limit(seq, price="40000", qty="0.01", side=OrderSide.BUY):
    return OrderRequest(IDS.make(1, seq), "BTC/USDT", side, "limit", D(qty), D(price))


def market(seq, qty="0.01", side=OrderSide.BUY):
    return OrderRequest(IDS.make(1, seq), "BTC/USDT", side, "market", D(qty))


def with_client(sim, body, **kwargs):
    async def main():
        client = execution(sim, **kwargs)
        try:
            await client.start()
            return await body(client)
        finally:
            await client.close()

    return run(main())


def test_orders_reach_the_venue_as_sent(sim):
    async def body(c):
        return await c.submit(market(0)), await c.submit(limit(1)), await c.query(IDS.make(1, 1), "BTC/USDT")

    filled, resting, queried = with_client(sim, body)
    truth = {o["client_order_id"]: o for o in sim.state()["orders"]}
    assert filled.outcome is Outcome.ACCEPTED and filled.report.status is OrderStatus.FILLED
    assert filled.report.filled == D(truth[IDS.make(1, 0)]["executed_qty"])
    assert resting.report.status is OrderStatus.ACCEPTED and resting.report.venue_order_id == str(
        truth[IDS.make(1, 1)]["order_id"])
    assert queried.outcome is Outcome.ACCEPTED and queried.report.price == D("40000")


@pytest.mark.parametrize("fault", ["drop_response:count=1", "drop_response:count=1,mode=timeout,hold_s=2"])
def test_a_lost_answer_is_unknown_and_found_by_client_id_never_resent(sim, fault):
    sim.faults(fault)

    async def body(c):
        first = await c.submit(limit(2))
        found = await c.resolve(first.client_order_id, "BTC/USDT", first.sent_at_ms)
        return first, found

    first, found = with_client(sim, body, config={"timeout_ms": 1_000})
    assert first.outcome is Outcome.UNKNOWN
    assert found.outcome is Outcome.ACCEPTED and found.report.status is OrderStatus.ACCEPTED
    assert len(submissions(sim, IDS.make(1, 2))) == 1


def test_submit_exactly_once_resends_only_what_never_arrived(sim):
    async def body(c):
        sim.faults("drop_response:count=1")  # accepted, answer lost: found, not resent
        lost = await c.submit_exactly_once(limit(4))
        sim.faults("server_error:count=1,status=503,path=/api/v3/order,method=POST")  # refused: resent, same id
        t0 = time.monotonic()
        refused = await c.submit_exactly_once(limit(5))
        return lost, refused, time.monotonic() - t0, dict(c.counters)

    lost, refused, waited, counters = with_client(sim, body)
    assert lost.outcome is Outcome.ACCEPTED and refused.outcome is Outcome.ACCEPTED
    assert [s["outcome"] for s in submissions(sim, IDS.make(1, 4))] == ["accepted"]
    assert [s["outcome"] for s in submissions(sim, IDS.make(1, 5))] == ["accepted"]
    assert counters["resent"] == 1 and counters["resolved"] == 1
    assert 1.0 <= waited < 6  # it waited out the 1 s request window (+1 s grace) before resending


def test_rate_limits_back_off_with_retry_after(sim):
    sim.faults("rate_limit:count=1,retry_after=1,path=/api/v3/order")

    async def body(c):
        t0 = time.monotonic()
        ok = await c.submit(limit(6))
        waited = time.monotonic() - t0
        sim.faults("ban:count=1,retry_after=60,path=/api/v3/order")
        t1 = time.monotonic()
        banned = await c.submit(limit(7))
        return ok, waited, banned, time.monotonic() - t1

    ok, waited, banned, quick = with_client(sim, body, max_rate_wait_s=5)
    assert ok.outcome is Outcome.ACCEPTED and ok.attempts == 2 and 0.9 <= waited < 4
    assert banned.outcome is Outcome.RATE_LIMITED and 55 <= banned.retry_after_s <= 60 and quick < 2
    assert submissions(sim, IDS.make(1, 7)) == [] and len(submissions(sim, IDS.make(1, 6))) == 1


def test_clock_errors_resync_once_then_report_unknown(sim):
    sim.faults("timestamp:count=1,path=/api/v3/order,method=POST")

    async def body(c):
        ok = await c.submit(limit(8))
        sim.faults("timestamp:count=2,path=/api/v3/order,method=POST")
        twice = await c.submit(limit(9))
        return ok, twice, dict(c.counters)

    ok, twice, counters = with_client(sim, body)
    assert ok.outcome is Outcome.ACCEPTED and ok.attempts == 2
    assert twice.outcome is Outcome.UNKNOWN and "after a resync" in twice.reason
    assert counters["clock_resyncs"] == 2 and submissions(sim, IDS.make(1, 9)) == []


def test_rejects_duplicates_and_cancels(sim):
    sim.faults("reject:count=1,code=-2010,msg=Account has insufficient balance for requested action.")

    async def body(c):
        rejected = await c.submit(limit(10))
        resting = await c.submit(limit(11))
        duplicate = await c.submit(limit(11))
        canceled = await c.cancel(IDS.make(1, 11), "BTC/USDT")
        unknown = await c.cancel(IDS.make(1, 99), "BTC/USDT")
        return rejected, resting, duplicate, canceled, unknown

    rejected, resting, duplicate, canceled, unknown = with_client(sim, body)
    assert rejected.outcome is Outcome.REJECTED and "insufficient" in rejected.reason
    assert resting.outcome is Outcome.ACCEPTED
    assert duplicate.outcome is Outcome.DUPLICATE and duplicate.report.venue_order_id == resting.report.venue_order_id
    assert canceled.outcome is Outcome.CANCELED and canceled.report.status is OrderStatus.CANCELED
    assert unknown.outcome is Outcome.NOT_FOUND
    assert {o["client_order_id"]: o["status"] for o in sim.state()["orders"]}[IDS.make(1, 11)] == "CANCELED"


def test_bad_requests_never_leave_the_process_and_secrets_stay_out(sim, caplog):
    async def body(c):
        errors = []
        for req in (limit(12, price="40000.005"), limit(12, qty="0.000001"), limit(12, qty="0.0001"),
                    OrderRequest("x" * 37, "BTC/USDT", OrderSide.BUY, "market", D("0.01")),
                    OrderRequest("bad id!", "BTC/USDT", OrderSide.BUY, "market", D("0.01"))):
            with pytest.raises(ParameterError) as info:
                await c.submit(req)
            errors.append(str(info.value))
        sim.faults("server_error:count=1,path=/api/v3/order")
        unknown = await c.submit(limit(13))
        return errors, unknown

    errors, unknown = with_client(sim, body)
    assert ["tick" in errors[0], "step" in errors[1], "notional" in errors[2], "at most 36" in errors[3],
            "refuses" in errors[4]] == [True] * 5
    assert [s for s in sim.state()["submissions"] if s["client_order_id"] == IDS.make(1, 12)] == []
    text = " ".join([unknown.reason, caplog.text])
    assert sim.api_secret not in text and sim.api_key not in text


@pytest.mark.parametrize("by_id", [True, False])
def test_my_trades_pages_through_many_trades_in_one_millisecond(sim, by_id):
    """The manual clock stamps every trade with the same millisecond: paging by time alone would stop at one
    page; Binance pages by trade id, other venues get a bigger page (or a clear error, never a short list)."""
    from dataclasses import replace

    async def body(c):
        if not by_id:
            c.caps = replace(c.caps, trades_from_id=None)
        t0 = sim.now_ms()
        sim.faults("partial_fills:parts=3")
        for k in range(7):
            assert (await c.submit(market(40 + k, qty="0.002"))).outcome is Outcome.ACCEPTED
        sim.clear_faults("partial_fills")
        return await c.my_trades("BTC/USDT", t0, page=5)

    fills = with_client(sim, body)
    truth = sim.state()["fills"]
    assert len(truth) == 21 and [int(f.trade_id) for f in fills] == [f["trade_id"] for f in truth]
    assert {f.client_order_id for f in fills} == {IDS.make(1, 40 + k) for k in range(7)}
