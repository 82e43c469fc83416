"""Redis bus against the real Redis server (127.0.0.1:6379): a publisher here and subscribers in OTHER
processes, consumer groups with a killed consumer and XAUTOCLAIM, MAXLEN trimming, the price/state cache,
reconnect after CLIENT KILL, the non-blocking bridge, and its throughput. Keys live under the per-test prefix
(`redis_prefix`), deleted afterwards; every loop is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
import redis

from quantdesk.core import serialization
from quantdesk.core.bus import MessageBus
from quantdesk.core.config import RedisSettings
from quantdesk.model.commands import SubmitOrder
from quantdesk.model.data import Bar, BarView
from quantdesk.model.enums import OrderSide, OrderStatus, OrderType
from quantdesk.model.events import OrderFilled
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.orders import Order
from quantdesk.settings import Settings
from quantdesk.storage.redis_bus import (
    BridgedBus,
    RedisBridge,
    RedisBus,
    RedisCache,
    RedisSubscriber,
    StreamPublisher,
    make_bus,
    stream_key,
)

pytestmark = pytest.mark.redis

IID = InstrumentId("BTC/USDT", "binance")
TS = 1_700_000_000_000_000_000


def fill(i: int) -> OrderFilled:
    return OrderFilled(
        TS + i,
        TS + i,
        f"c{i}",
        IID,
        "paper-1",
        f"t{i}",
        OrderSide.BUY if i % 2 else OrderSide.SELL,
        price=Decimal("42000.10") + i,
        quantity=Decimal("0.00100"),
        fee=Decimal("0.0420"),
        fee_currency="USDT",
    )


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


FANOUT_SUBSCRIBER = """
    import sys
    from quantdesk.core import serialization
    from quantdesk.storage.redis_bus import RedisSubscriber
    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with RedisSubscriber(["orders"], url=url, prefix=prefix, start_id="0", block_ms=200) as sub:
        for d in sub.iter(timeout=30, limit=n):
            sys.stdout.write(serialization.encode(d.message).decode() + "\\n")
    sys.stdout.flush()
"""


def test_other_processes_receive_the_same_events_in_order(redis_url: str, redis_prefix: str) -> None:
    n = 1000
    subs = [
        _spawn(FANOUT_SUBSCRIBER, redis_url, redis_prefix, str(n)) for _ in range(2)
    ]  # fan-out: both get all
    bus = make_bus(Settings(redis=RedisSettings(url=redis_url)), prefix=redis_prefix)
    assert isinstance(bus, BridgedBus)
    local: list[Any] = []
    bus.subscribe("orders", local.append)  # the engine's in-process handlers still run synchronously
    sent = [fill(i) for i in range(n)]
    try:
        for e in sent:
            bus.publish(e)
        assert local == sent
        assert bus.flush(30)
    finally:
        bus.close()
    for p in subs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        received = [serialization.decode(line) for line in out.splitlines()]
        assert received == sent  # same events, same order, exact Decimals


GROUP_CONSUMER_THAT_DIES = """
    import sys, time
    from quantdesk.storage.redis_bus import RedisSubscriber
    url, prefix = sys.argv[1], sys.argv[2]
    sub = RedisSubscriber(["orders"], group="workers", consumer="A", url=url, prefix=prefix, count=30)
    batch = sub.read(block_ms=5000)
    print(" ".join(d.id for d in batch), flush=True)  # took them ... and dies before XACK
    time.sleep(120)
"""


def test_consumer_group_at_least_once_with_xautoclaim(redis_url: str, redis_prefix: str) -> None:
    pub = StreamPublisher(redis_url, redis_prefix)
    ids = pub.publish_many(("orders", fill(i)) for i in range(100))
    assert len(ids) == 100
    worker = _spawn(GROUP_CONSUMER_THAT_DIES, redis_url, redis_prefix)
    try:
        line = worker.stdout.readline()  # bounded by the child's 5 s block + startup
        taken = line.split()
        assert len(taken) == 30, worker.stderr.read() if not taken else taken
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert taken == ids[:30]

    b = RedisSubscriber(["orders"], group="workers", consumer="B", url=redis_url, prefix=redis_prefix)
    try:
        rest = list(b.iter(timeout=0.5, limit=1000))
        assert [d.id for d in rest] == ids[30:]  # new entries go to the live consumer
        b.ack(*rest)
        assert b.pending_count("orders") == 30  # A's, never acknowledged
        assert b.claim_stale(min_idle_ms=60_000) == []  # not idle long enough yet
        time.sleep(0.3)
        claimed = b.claim_stale(min_idle_ms=200)
        assert [d.id for d in claimed] == taken
        assert [d.message for d in claimed] == [fill(i) for i in range(30)]
        assert b.ack(*claimed) == 30
        assert b.pending_count("orders") == 0
    finally:
        b.close()
        pub.close()


def test_restarted_consumer_gets_its_own_pending_first(redis_url: str, redis_prefix: str) -> None:
    pub = StreamPublisher(redis_url, redis_prefix)
    pub.publish_many(("signals", {"n": i}) for i in range(10))
    first = RedisSubscriber("signals", group="g", consumer="A", url=redis_url, prefix=redis_prefix, count=4)
    got = first.read()
    assert [d.message["n"] for d in got] == [0, 1, 2, 3]
    first.ack(got[0])
    first.close()  # "crash" with 3 unacknowledged
    again = RedisSubscriber(
        "signals", group="g", consumer="A", url=redis_url, prefix=redis_prefix, auto_ack=True
    )
    try:
        seen = [d.message["n"] for d in again.iter(timeout=0.5, limit=100)]
        assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # pending re-delivered first, then the new ones
        assert again.pending_count("signals") == 0
    finally:
        again.close()
        pub.close()


def test_undecodable_entries_are_dead_lettered_not_fatal(redis_url: str, redis_prefix: str) -> None:
    pub = StreamPublisher(redis_url, redis_prefix)
    client = redis.Redis.from_url(redis_url)
    key = stream_key(redis_prefix, "orders")
    try:
        pub.publish(fill(1))
        client.xadd(key, {"type": "FromTheFuture", "data": '{"v":1,"type":"FromTheFuture","data":{}}'})
        client.xadd(key, {"type": "?", "data": "not json"})
        pub.publish(fill(2))
        for group in (None, "g"):
            with RedisSubscriber("orders", group=group, url=redis_url, prefix=redis_prefix) as sub:
                got = [d.message for d in sub.iter(timeout=0.3, limit=100)]
                assert got == [fill(1), fill(2)]
                assert sub.undecodable == 2
                if group:
                    assert sub.pending_count("orders") == 2  # the two good ones, not yet acknowledged
        assert client.xlen(f"{redis_prefix}deadletter") == 4
    finally:
        client.close()
        pub.close()


def test_maxlen_approximate_trimming(redis_url: str, redis_prefix: str) -> None:
    pub = StreamPublisher(redis_url, redis_prefix, maxlen=100)
    client = redis.Redis.from_url(redis_url)
    try:
        for start in range(0, 3000, 500):
            pub.publish_many(("orders", fill(i)) for i in range(start, start + 500))
        length = client.xlen(stream_key(redis_prefix, "orders"))
        assert 100 <= length <= 300, length  # "~": whole macro-nodes are trimmed, so a bit above 100
        with RedisSubscriber("orders", url=redis_url, prefix=redis_prefix) as sub:
            tail = [d.message for d in sub.iter(timeout=0.3, limit=10_000)]
        assert tail == [fill(i) for i in range(3000 - length, 3000)]
    finally:
        client.close()
        pub.close()


def test_cache_latest_prices_and_bot_state(redis_url: str, redis_prefix: str) -> None:
    cache = RedisCache(redis_url, redis_prefix)
    other = RedisCache(redis_url, redis_prefix)  # a second writer/reader (e.g. the dashboard)
    eth = InstrumentId("ETH/USDT", "binance")
    try:
        assert cache.get_price(IID) is None
        for k in range(50):
            assert cache.set_price(IID, Decimal("42000.00") + k, TS + k)
        assert cache.set_price(eth, 1800.5, TS)
        assert other.get_price(IID) == (Decimal("42049.00"), TS + 49)
        assert str(other.get_price(IID)[0]) == "42049.00"  # exact
        # a late (older) update never overwrites a newer price; equal-length ns compared exactly (> 2**53)
        assert not other.set_price(IID, Decimal("1"), TS + 48)
        assert other.set_price(IID, Decimal("42100.5"), TS + 50)
        assert cache.prices() == {str(IID): (Decimal("42100.5"), TS + 50), str(eth): (1800.5, TS)}

        state = {"bot": "paper-1", "status": "running", "equity": Decimal("10250.75"), "last_fill": fill(3)}
        cache.set_state("paper-1", state)
        cache.set_state("paper-2", {"status": "stopped"}, ttl_s=0.2)
        assert other.get_state("paper-1") == state
        assert other.scan_states() == ["paper-1", "paper-2"]
        assert other.scan_states("paper-2*") == ["paper-2"]
        time.sleep(0.4)
        assert other.get_state("paper-2") is None  # TTL expired
        assert other.scan_states() == ["paper-1"]
        assert cache.delete_state("paper-1") and cache.get_state("paper-1") is None
    finally:
        cache.close()
        other.close()


def _kill_clients(client: redis.Redis, name: str) -> int:
    killed = 0
    for info in client.client_list():
        if info.get("name") == name:
            killed += int(client.execute_command("CLIENT", "KILL", "ID", info["id"]))
    return killed


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_reconnect_after_client_kill(redis_url: str, redis_prefix: str) -> None:
    tag = uuid.uuid4().hex[:8]
    sub_name, bus_name, pub_name = f"qd-sub-{tag}", f"qd-bus-{tag}", f"qd-pub-{tag}"
    admin = redis.Redis.from_url(redis_url)
    bridge = BridgedBus(redis_url, redis_prefix, client_name=pub_name)
    sub = RedisSubscriber("orders", url=redis_url, prefix=redis_prefix, block_ms=2000, client_name=sub_name)
    rbus = RedisBus(redis_url, redis_prefix, block_ms=2000, client_name=bus_name)
    via_bus: list[Any] = []
    rbus.subscribe("orders", via_bus.append)
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.extend(d.message for d in sub.iter(timeout=20, limit=200)))
    reader.start()
    try:
        for i in range(100):
            bridge.publish(fill(i))
        assert bridge.flush(20)
        assert _wait(lambda: len(got) == 100 and len(via_bus) == 100, 20)
        time.sleep(0.2)  # both readers are now blocked in XREAD
        assert _kill_clients(admin, sub_name) >= 1
        assert _kill_clients(admin, bus_name) >= 1
        assert _kill_clients(admin, pub_name) >= 1
        for i in range(100, 200):
            bridge.publish(fill(i))
        assert bridge.flush(20)
        reader.join(30)
        assert not reader.is_alive()
        assert got == [fill(i) for i in range(200)]  # resumed from the last id: nothing lost, no duplicate
        assert _wait(lambda: len(via_bus) == 200, 20)
        assert via_bus == got
        assert sub.reconnects >= 1 and rbus.reconnects >= 1
    finally:
        sub.close()
        reader.join(5)
        rbus.close()
        bridge.close()
        admin.close()


def test_bridge_never_blocks_the_publisher_when_redis_is_down() -> None:
    bus = MessageBus()
    bridge = RedisBridge("redis://127.0.0.1:1/0", "qdtest:down:", max_queue=100).attach(bus)
    local: list[Any] = []
    bus.subscribe("orders", local.append)
    t0 = time.perf_counter()
    for i in range(1000):
        bus.publish(fill(i))
    elapsed = time.perf_counter() - t0
    assert len(local) == 1000  # in-process delivery unaffected
    assert elapsed < 1.0, elapsed  # no network wait on the hot path
    # bounded memory (queue + the one batch in flight): the oldest are dropped and counted
    assert bridge.pending <= 100 and bridge.dropped >= 1000 - 100 - bridge.batch_size
    assert bridge.published == 0
    bridge._stop.set()
    bridge._thread.join(10)
    assert not bridge._thread.is_alive()


def test_bridge_captures_mutable_messages_at_publish_time_and_filters_topics(
    redis_url: str, redis_prefix: str
) -> None:
    bus = BridgedBus(redis_url, redis_prefix, topics=["commands", "bars"])  # only these go to Redis
    ts = [TS, TS + 60_000_000_000]
    view = BarView(IID, ts, [1.0, 2.0], [1.5, 2.5], [0.5, 1.5], [1.2, 2.2], [10.0, 20.0])
    order = Order("o1", IID, OrderSide.BUY, OrderType.MARKET, quantity=Decimal("0.5"), strategy_id="s")
    try:
        bus.publish(view, "bars")  # the engine's cursor...
        bus.publish(SubmitOrder("s", order, TS), "commands")
        bus.publish(fill(1))  # "orders": not forwarded
        view.index = 1  # ... moves on, and the order changes state, before the worker runs
        order.transition(OrderStatus.SUBMITTED, TS + 1)
        assert bus.flush(20)
    finally:
        bus.close()
    with RedisSubscriber(["bars", "commands", "orders"], url=redis_url, prefix=redis_prefix) as sub:
        got = {d.topic: d.message for d in sub.iter(timeout=0.3, limit=10)}
    assert set(got) == {"bars", "commands"}
    assert got["bars"] == Bar(IID, TS, 1.0, 1.5, 0.5, 1.2, 10.0)
    assert got["commands"].order.status is OrderStatus.INITIALIZED  # as published


def test_make_bus_default_is_in_process() -> None:
    bus = make_bus(Settings(redis=RedisSettings(url=None)))
    assert type(bus) is MessageBus


@pytest.mark.slow
def test_bridge_throughput(redis_url: str, redis_prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    n = int(os.environ.get("QD_BENCH_EVENTS", "20000"))
    events = [fill(i) for i in range(n)]
    plain = MessageBus()
    plain.subscribe("orders", lambda m: None)
    t0 = time.perf_counter()
    for e in events:
        plain.publish(e)
    t_plain = time.perf_counter() - t0

    bus = BridgedBus(redis_url, redis_prefix, maxlen=None)
    bus.subscribe("orders", lambda m: None)
    try:
        t0 = time.perf_counter()
        for e in events:
            bus.publish(e)
        t_hot = time.perf_counter() - t0
        assert bus.flush(120)
        t_all = time.perf_counter() - t0
        client = redis.Redis.from_url(redis_url)
        assert client.xlen(stream_key(redis_prefix, "orders")) == n
        client.close()
    finally:
        bus.close()
    rate = n / t_all
    result = {
        "events": n,
        "published_events_per_s": round(rate),
        "hot_path_us_per_event": round(t_hot / n * 1e6, 2),
        "in_process_only_us_per_event": round(t_plain / n * 1e6, 2),
    }
    with capsys.disabled():
        print("\nredis bridge throughput:", json.dumps(result))
    assert rate > 1000, result
