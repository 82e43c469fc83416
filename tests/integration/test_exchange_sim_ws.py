"""The exchange simulator's WebSocket side through the real `ccxt.pro.binance`, plus raw clients for what ccxt
hides: market streams against the file, the order book against REST, the user-data stream against
`/_sim/state`, and the stream faults (duplicate and reordered execution reports, disconnects) on the wire."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal as D

import ccxt
import httpx
import pytest
from exsim_support import file_candles, sim_settings, write_sample
from websockets.asyncio.client import connect

from quantdesk.adapters.simulator import ExchangeSimulator
from quantdesk.adapters.simulator.auth import sign

START = 1_640_998_800_000  # 2022-01-01T01:00:00Z


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("exsim_ws"))


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start="2022-01-01T01:00:00Z")) as s:
        yield s


async def until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def streams(sim):
    return sim.state()["connections"]["streams"]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def path_of(ref, t):
    """The documented replay of the candle opening at t: (open, low, high, close) if rising, else (o, h, l, c)."""
    o, h, low, c = (ref.loc[t, k] for k in ("open", "high", "low", "close"))
    return [o, low, h, c] if c >= o else [o, h, low, c]


def test_candles_and_trades_streams_replay_the_file(sim, sample):
    ref = file_candles(sample)

    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            candles = asyncio.ensure_future(ex.watch_ohlcv("BTC/USDT", "1m"))
            trades = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))
            await until(lambda: streams(sim) == 2)
            sim.advance(candles=5)
            await candles
            await trades
            await until(lambda: len(ex.ohlcvs["BTC/USDT"]["1m"]) == 6 and len(ex.trades["BTC/USDT"]) == 20)
            return list(ex.ohlcvs["BTC/USDT"]["1m"]), list(ex.trades["BTC/USDT"])
        finally:
            await ex.close()

    ohlcv, trades = run(main())
    assert [c[0] for c in ohlcv] == [START + i * 60_000 for i in range(6)]
    for t, o, h, low, c, v in ohlcv[:5]:  # closed: exactly the file's candles
        assert [D(str(x)) for x in (o, h, low, c, v)] == [ref.loc[t, k] for k in ("open", "high", "low", "close",
                                                                                  "volume")]
    expected = [(START + i * 60_000 + k * 15_000, p) for i in range(5) for k, p in enumerate(path_of(ref,
                                                                                            START + i * 60_000))]
    expected.append((START + 5 * 60_000, ref.loc[START + 5 * 60_000, "open"]))
    # the first trade (the open at START) happened before the subscription
    assert [(t["timestamp"], D(str(t["price"]))) for t in trades] == expected[1:]
    quarter = (ref.loc[START, "volume"] / 4).quantize(D("0.00000001"), rounding="ROUND_DOWN")
    assert D(str(trades[0]["amount"])) == quarter


def test_order_book_stream_stays_equal_to_the_rest_snapshot(sim):
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            await ex.watch_order_book("BTC/USDT")  # REST snapshot + buffered diffs
            last = (await ex.fetch_ticker("BTC/USDT"))["last"]
            await ex.create_order("BTC/USDT", "limit", "buy", 0.1, round(last - 0.05, 2))  # in the book too
            for _ in range(3):
                sim.advance(candles=1)
                await ex.watch_order_book("BTC/USDT")
            rest = await ex.fetch_order_book("BTC/USDT", 1000)
            await until(lambda: ex.orderbooks["BTC/USDT"]["nonce"] == rest["nonce"])
            book = ex.orderbooks["BTC/USDT"]
            return [list(b) for b in book["bids"]], [list(a) for a in book["asks"]], rest
        finally:
            await ex.close()

    bids, asks, rest = run(main())
    assert (bids, asks) == (rest["bids"], rest["asks"]) and len(bids) == 20


def test_user_data_streams_agree_with_the_exchange_truth(sim):
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            orders = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
            await until(lambda: sim.state()["connections"]["user"] == 1)
            last = (await ex.fetch_ticker("BTC/USDT"))["last"]
            await ex.create_order("BTC/USDT", "market", "buy", 0.05, params={"newClientOrderId": "mkt-1"})
            resting = await ex.create_order("BTC/USDT", "limit", "sell", 0.02, last + 30,
                                            params={"newClientOrderId": "rest-1"})
            await orders
            balance = asyncio.ensure_future(ex.watch_balance())
            mine = asyncio.ensure_future(ex.watch_my_trades("BTC/USDT"))
            await asyncio.sleep(0.1)
            for _ in range(60):  # until the replayed market reaches the sell
                sim.advance(candles=1)
                if (await ex.fetch_order(resting["id"], "BTC/USDT"))["status"] == "closed":
                    break
            await balance
            await mine
            state = sim.state()
            await until(lambda: len(ex.myTrades) == len(sim.state()["fills"]) and all(
                o["status"] == "closed" for o in ex.orders))
            await asyncio.sleep(0.2)  # the last balance update
            return ex.orders, ex.myTrades, ex.balance["spot"], state
        finally:
            await ex.close()

    orders, my_trades, balance, state = run(main())
    assert {o["clientOrderId"]: (o["status"], o["filled"]) for o in orders} == {
        "rest-1": ("closed", 0.02), "mkt-1": ("closed", 0.05)}
    assert sorted(int(t["id"]) for t in my_trades) == sorted(f["trade_id"] for f in state["fills"])
    for trade in my_trades:
        fill = next(f for f in state["fills"] if f["trade_id"] == int(trade["id"]))
        assert (D(str(trade["price"])), D(str(trade["amount"])), D(str(trade["fee"]["cost"]))) == (
            D(fill["price"]), D(fill["qty"]), D(fill["commission"]))
    assert {a: D(str(balance[a]["total"])) for a in ("BTC", "USDT")} == {
        a: D(v) for a, v in state["balances"].items()}


async def _ws_api_user_stream(sim):
    ws = await connect(sim.ws_api_url)
    params = {"apiKey": sim.api_key, "timestamp": int(time.time() * 1000)}
    params["signature"] = sign(sim.api_secret, f"apiKey={params['apiKey']}&timestamp={params['timestamp']}")
    await ws.send(json.dumps({"id": "s1", "method": "userDataStream.subscribe.signature", "params": params}))
    reply = json.loads(await ws.recv())
    assert reply["status"] == 200 and reply["result"] == {"subscriptionId": 0}
    return ws


async def _events(ws, n):
    out = []
    for _ in range(n):
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["subscriptionId"] == 0
        out.append(message["event"])
    return out


def test_duplicate_reordered_and_delayed_execution_reports_on_the_wire(sim):
    rest = sim.ccxt()
    rest.load_markets()

    async def main():
        ws = await _ws_api_user_stream(sim)
        try:
            sim.faults("duplicate_reports:count=1")
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "market", "buy", 0.01, None,
                                    {"newClientOrderId": "dup"})
            doubled = await _events(ws, 5)
            sim.faults("reorder_reports:count=1")
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "market", "buy", 0.01, None,
                                    {"newClientOrderId": "rev"})
            reversed_ = await _events(ws, 3)
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "market", "buy", 0.01, None,
                                    {"newClientOrderId": "ok"})
            normal = await _events(ws, 3)
            sim.faults("delay_reports:count=2,max_ms=300")
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "limit", "buy", 0.01, 40_000,
                                    {"newClientOrderId": "held"})
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "market", "buy", 0.01, None,
                                    {"newClientOrderId": "next"})
            early = await _events(ws, 3)
            t0 = time.monotonic()
            late = await _events(ws, 2)  # the second burst was held too: its timer releases it
            return doubled, reversed_, normal, early + late, time.monotonic() - t0
        finally:
            await ws.close()

    doubled, reversed_, normal, delayed, waited = run(main())
    # balances first; the resting order's NEW comes after the next order's burst, whose reports come last
    assert [(e["e"], e.get("c"), e.get("x")) for e in delayed] == [
        ("outboundAccountPosition", None, None), ("outboundAccountPosition", None, None),
        ("executionReport", "held", "NEW"), ("executionReport", "next", "NEW"), ("executionReport", "next", "TRADE")]
    assert 0.1 < waited < 5
    kinds = [(e["e"], e.get("c"), e.get("x")) for e in doubled]
    assert kinds == [("executionReport", "dup", "NEW"), ("executionReport", "dup", "NEW"),
                     ("executionReport", "dup", "TRADE"), ("executionReport", "dup", "TRADE"),
                     ("outboundAccountPosition", None, None)]
    assert doubled[2] == doubled[3] and doubled[2]["t"] == sim.state()["fills"][0]["trade_id"]
    assert [(e.get("x"), e.get("X")) for e in reversed_] == [("TRADE", "FILLED"), ("NEW", "NEW"), (None, None)]
    assert [(e.get("x"), e.get("X")) for e in normal] == [("NEW", "NEW"), ("TRADE", "FILLED"), (None, None)]


def test_disconnects_reach_ccxt_and_it_can_reconnect(sim):
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            watch = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))
            await until(lambda: streams(sim) == 1)
            assert await asyncio.to_thread(sim.disconnect, "market") == 1
            with pytest.raises(ccxt.NetworkError):
                await watch
            sim.faults("ws_disconnect:scope=market,after=2,count=1")  # the next connection lasts 2 messages
            watch = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))
            await until(lambda: streams(sim) == 1)
            sim.advance(ms=15_000)  # one trade
            assert len(await watch) == 1
            sim.advance(ms=30_000)  # two more: the fault closes the connection after the second message
            got = 0
            with pytest.raises(ccxt.NetworkError):
                while True:
                    got += len(await ex.watch_trades("BTC/USDT"))
            again = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))  # reconnects; the fault is used up
            await until(lambda: streams(sim) == 1)
            sim.advance(ms=15_000)
            return got, len(await again), sim.state()["faults"]
        finally:
            await ex.close()

    got, after, faults = run(main())
    assert got == 1 and after == 1 and faults == []


def test_listen_key_user_stream_and_combined_market_streams(sim):
    rest = sim.ccxt()
    rest.load_markets()
    key_header = {"X-MBX-APIKEY": sim.api_key}
    listen_key = httpx.post(f"{sim.rest_url}/api/v3/userDataStream", headers=key_header).json()["listenKey"]
    assert len(listen_key) == 60
    assert httpx.post(f"{sim.rest_url}/api/v3/userDataStream").json()["code"] == -2014

    async def main():
        user = await connect(f"ws://127.0.0.1:{sim.port}/ws/{listen_key}")
        market = await connect(f"ws://127.0.0.1:{sim.port}/stream?streams=btcusdt@trade/btcusdt@kline_1m")
        try:
            await until(lambda: sim.state()["connections"]["user"] == 1 and streams(sim) == 2)
            await asyncio.to_thread(rest.create_order, "BTC/USDT", "market", "buy", 0.01)
            user_events = [json.loads(await asyncio.wait_for(user.recv(), 5)) for _ in range(3)]
            sim.advance(ms=15_000)
            wrapped = [json.loads(await asyncio.wait_for(market.recv(), 5)) for _ in range(3)]
            return user_events, wrapped
        finally:
            await user.close()
            await market.close()

    user_events, wrapped = run(main())
    assert [e["e"] for e in user_events] == ["executionReport", "executionReport", "outboundAccountPosition"]
    assert {w["stream"] for w in wrapped} == {"btcusdt@trade", "btcusdt@kline_1m"}
    assert all(w["data"]["s"] == "BTCUSDT" for w in wrapped)
    assert httpx.put(f"{sim.rest_url}/api/v3/userDataStream", params={"listenKey": listen_key},
                     headers=key_header).json() == {}
    assert httpx.delete(f"{sim.rest_url}/api/v3/userDataStream", params={"listenKey": listen_key},
                        headers=key_header).json() == {}
    gone = httpx.put(f"{sim.rest_url}/api/v3/userDataStream", params={"listenKey": listen_key}, headers=key_header)
    assert (gone.status_code, gone.json()["code"]) == (400, -1125)


def test_websocket_requests_with_errors(sim):
    async def main():
        async with connect(f"ws://127.0.0.1:{sim.port}/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}))
            ok = json.loads(await ws.recv())
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["not a stream"], "id": 2}))
            bad = json.loads(await ws.recv())
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
            listed = json.loads(await ws.recv())
            await ws.send("{nope")
            broken = json.loads(await ws.recv())
        async with connect(sim.ws_api_url) as api:
            await api.send(json.dumps({"id": 9, "method": "userDataStream.subscribe.signature",
                                       "params": {"apiKey": sim.api_key, "timestamp": 1, "signature": "00"}}))
            unsigned = json.loads(await api.recv())
            await api.send(json.dumps({"id": 10, "method": "order.place", "params": {}}))
            unknown = json.loads(await api.recv())
        return ok, bad, listed, broken, unsigned, unknown

    ok, bad, listed, broken, unsigned, unknown = run(main())
    assert ok == {"result": None, "id": 1}
    assert bad["id"] == 2 and bad["error"]["code"] == 2
    assert listed == {"result": ["btcusdt@bookTicker"], "id": 3}
    assert broken["error"]["code"] == 3
    assert (unsigned["status"], unsigned["error"]["code"]) == (400, -1022)
    assert unknown["status"] == 400 and "order.place" in unknown["error"]["msg"]


def test_ticker_and_best_bid_ask_streams(sim):
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            ticker = asyncio.ensure_future(ex.watch_ticker("BTC/USDT"))
            best = asyncio.ensure_future(ex.watch_bids_asks(["BTC/USDT"]))
            await until(lambda: streams(sim) == 2)
            sim.advance(candles=1)  # (the next trade is at the same price: the book changes later on)
            await ticker
            await best
            await until(lambda: ex.tickers["BTC/USDT"]["timestamp"] == sim.now_ms())
            await asyncio.sleep(0.1)
            return ex.tickers["BTC/USDT"], ex.bidsasks["BTC/USDT"], await ex.fetch_ticker("BTC/USDT")
        finally:
            await ex.close()

    ticker, best, rest = run(main())
    assert (ticker["last"], ticker["open"], ticker["high"], ticker["low"]) == (
        rest["last"], rest["open"], rest["high"], rest["low"])
    assert best["bid"] == best["ask"] == rest["last"]  # spread 0


def test_the_clock_runs_by_itself_at_speed(sample):
    ref = file_candles(sample)
    with ExchangeSimulator(data=sample, **sim_settings(speed=1200, start="2022-01-01T01:00:00Z")) as sim:
        async def main():
            ex = sim.ccxt_pro()
            try:
                await ex.load_markets()
                t0 = time.monotonic()
                while len(ex.ohlcvs.get("BTC/USDT", {}).get("1m", [])) < 12:  # 20 candles per second
                    await ex.watch_ohlcv("BTC/USDT", "1m")
                return list(ex.ohlcvs["BTC/USDT"]["1m"]), time.monotonic() - t0
            finally:
                await ex.close()

        candles, wall = run(main())
    assert wall < 20
    for t, o, h, low, c, v in candles[1:-1]:  # the first may have been joined mid-way, the last is forming
        assert [D(str(x)) for x in (o, h, low, c, v)] == [ref.loc[t, k] for k in ("open", "high", "low", "close",
                                                                                  "volume")]
    times = [c[0] for c in candles]
    assert times == sorted(times) and all(b - a == 60_000 for a, b in zip(times, times[1:], strict=False))


def test_a_lost_response_is_a_network_error_for_the_async_client_too(sim):
    """ccxt.pro's REST side (aiohttp) sees the hang-up as ExchangeNotAvailable, a NetworkError: ambiguous."""
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            sim.faults("drop_response:count=1")
            with pytest.raises(ccxt.NetworkError):
                await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000, params={"newClientOrderId": "a-1"})
            return await ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "a-1"})
        finally:
            await ex.close()

    assert run(main())["status"] == "open"


def test_a_user_stream_disconnect_reaches_watch_orders(sim):
    async def main():
        ex = sim.ccxt_pro()
        try:
            await ex.load_markets()
            watch = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
            await until(lambda: sim.state()["connections"]["user"] == 1)
            sim.faults("ws_disconnect:scope=user,after=0,count=1")  # closes instead of the next user message
            await ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "u-1"})
            with pytest.raises(ccxt.NetworkError):
                await watch
            again = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))  # resubscribes on a new connection
            await until(lambda: sim.state()["connections"]["user"] == 1)
            await ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "u-2"})
            return [o["clientOrderId"] for o in await again]
        finally:
            await ex.close()

    assert "u-2" in run(main())  # u-1's reports were lost with the connection: a REST query must close the gap
