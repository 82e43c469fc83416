"""The market-data client against the simulator: closed candles equal the file's, in order, none missing and
none twice across WebSocket disconnects (REST gap fill), never a forming candle; the same by REST polling;
trades de-duplicated and gap-filled; books equal to REST after a reconnect; the bar feed of paper bots."""

from __future__ import annotations

import asyncio
import time

import pytest
from adapter_support import START, START_MS, config, market_data, run, sim_settings, until, write_sample
from exsim_support import file_candles

from quantdesk.adapters.ccxt import StreamCandleFeed
from quantdesk.adapters.simulator import ExchangeSimulator

MIN = 60_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("adapter_md"))


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start=START)) as s:
        yield s


def assert_exact(candles, ref, first_ms, sim_now_open):
    times = [c.ts_ms for c in candles]
    assert times == [first_ms + i * MIN for i in range(len(times))], "missing, duplicated or out of order"
    assert all(t < sim_now_open for t in times), "a forming candle was delivered"
    for c in candles:
        assert (c.open, c.high, c.low, c.close, c.volume) == tuple(
            float(ref.loc[c.ts_ms, k]) for k in ("open", "high", "low", "close", "volume"))


async def collect(client, sink, since):
    await client.start()
    async for candle in client.candles("1m", since_ms=since):
        sink.append(candle)


@pytest.mark.parametrize("streams", [True, False])
def test_candles_survive_disconnects_exactly(sim, sample, streams):
    ref = file_candles(sample)
    got: list = []

    async def main():
        client = market_data(sim, streams=streams, poll_s=0.05)
        task = asyncio.ensure_future(collect(client, got, START_MS - 10 * MIN))  # 10 candles of history first
        try:
            await until(lambda: len(got) == 10)
            for step in range(12):
                sim.advance(candles=1)
                if step in (3, 7) and streams:
                    await asyncio.sleep(0.05)
                    await asyncio.to_thread(sim.disconnect, "market")  # lost in the middle of a candle run
                    sim.advance(candles=2)  # two candles close while the stream is down
                await asyncio.sleep(0.05)
            if streams:
                sim.faults("ws_disconnect:scope=market,after=3,count=2")  # dropped after a few messages, twice
                for _ in range(6):
                    sim.advance(ms=20_000)
                    await asyncio.sleep(0.05)
            n = 10 + 12 + (4 if streams else 0) + (2 if streams else 0) - 1
            await until(lambda: len(got) >= n, timeout=15)
            await asyncio.sleep(0.3)  # nothing else may arrive
            return client.stats, sim.state()["candle_open"]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()

    stats, now_open = run(main())
    assert_exact(got, ref, START_MS - 10 * MIN, now_open)
    assert got[-1].ts_ms == now_open - MIN  # caught up: the last closed candle is there
    if streams:
        assert stats["reconnects"] >= 4 and stats["stream_candles"] > 0 and stats["rest_candles"] > 10
    else:
        assert stats["stream_candles"] == 0 and stats["polls"] > 0


def test_trades_once_each_across_a_disconnect(sim):
    async def main():
        # the simulator serves /api/v3/trades (not aggTrades): ccxt's documented option picks it
        client = market_data(sim, config={"options": {"recvWindow": 1000, "fetchTradesMethod": "publicGetTrades"}})
        await client.start()
        got: list = []

        async def consume():
            async for t in client.trades():
                got.append(t)

        task = asyncio.ensure_future(consume())
        try:
            await until(lambda: sim.state()["connections"]["streams"] == 1)
            sim.advance(ms=30_000)
            await until(lambda: len(got) >= 2)
            await asyncio.to_thread(sim.disconnect, "market")
            sim.advance(ms=60_000)  # 4 trades while down
            await asyncio.sleep(0.3)
            sim.advance(ms=30_000)
            await until(lambda: len(got) >= 8, timeout=10)
            await asyncio.sleep(0.2)
            rest = await client.exchange.fetch_trades("BTC/USDT", START_MS, 100)
            return got, rest, client.stats
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()

    got, rest, stats = run(main())
    ids = [t.trade_id for t in got]
    assert len(ids) == len(set(ids)) and stats["trades_filled"] >= 4 and stats["reconnects"] == 1
    truth = [str(t["id"]) for t in rest if t["timestamp"] >= got[0].ts_ms]
    assert ids == truth  # every trade from the first one seen, in order, once


def test_order_book_resyncs_after_a_reconnect(sim):
    async def main():
        client = market_data(sim)
        await client.start()
        books = client.order_books(depth=5)
        try:
            first = await books.__anext__()
            await asyncio.to_thread(sim.disconnect, "market")
            sim.advance(candles=2)
            after = await asyncio.wait_for(books.__anext__(), 10)
            while not after.resynced:
                after = await asyncio.wait_for(books.__anext__(), 10)
            rest = await client.exchange.fetch_order_book("BTC/USDT", 5)
            return first, after, rest
        finally:
            await books.aclose()
            await client.close()

    first, after, rest = run(main())
    assert first.resynced and after.resynced
    assert [list(level) for level in after.bids] == [list(b[:2]) for b in rest["bids"][:5]]
    assert [list(level) for level in after.asks] == [list(a[:2]) for a in rest["asks"][:5]]


def test_the_bar_feed_of_paper_bots_streams_closed_bars(sim, sample):
    ref = file_candles(sample)
    feed = StreamCandleFeed(config(sim), "BTC/USDT", "1m", start="2022-01-01T00:55:00Z", poll_wait_s=0.05)
    try:
        assert feed.start_ns == (START_MS - 5 * MIN) * 1_000_000
        deadline = time.monotonic() + 10
        while len(feed) < 5:
            feed.poll()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sim.disconnect("market")
        sim.advance(candles=3)
        deadline = time.monotonic() + 10
        while len(feed) < 8:
            feed.poll()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        bars = [feed.group(k)[0] for k in range(len(feed))]
        assert feed.delay() >= 0 and not feed.finished
    finally:
        feed.close()
    assert [b.ts_ns // 1_000_000 for b in bars] == [START_MS + (i - 5) * MIN for i in range(8)]
    assert [b.close for b in bars] == [float(ref.loc[b.ts_ns // 1_000_000, "close"]) for b in bars]
    assert list(feed.frame().index.asi8 // 1_000_000) == [b.ts_ns // 1_000_000 for b in bars]
