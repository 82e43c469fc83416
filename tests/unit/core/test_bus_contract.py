"""One contract, three buses: the in-process `MessageBus`, the `BridgedBus` (in-process + forwarding to Redis)
and the Redis-native `RedisBus` (real Redis server, via the `redis_url`/`redis_prefix` fixtures).

Contract: per-topic order, topic filtering, "*" receives every topic after the topic's own handlers,
unsubscribe, explicit topic overrides `message.topic`, messages without `topic` go to their type name, and the
payload arrives equal (the Redis bus delivers decoded copies)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import quantdesk.model.events as model_events
from quantdesk.core.bus import MessageBus
from quantdesk.model.data import Bar
from quantdesk.model.enums import OrderSide
from quantdesk.model.events import AccountStateChanged, OrderFilled, PositionChanged
from quantdesk.model.identifiers import InstrumentId

IID = InstrumentId("ETH/USDT", "binance")
TS = 1_700_000_000_000_000_000


def _make(cls: type) -> Any:
    """A sample instance of an event class, from its field types."""
    hints = typing.get_type_hints(cls)
    samples: dict[Any, Any] = {
        int: TS + 7,
        str: "text ü",
        Decimal: Decimal("0.0012300"),
        InstrumentId: IID,
        Decimal | None: Decimal("5.10"),
        float | None: 2.5,
    }
    kwargs = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        kwargs[f.name] = samples[hint] if hint in samples else list(hint)[-1]  # enums: last member
    return cls(**kwargs)


MODEL_EVENTS = [
    c
    for c in vars(model_events).values()
    if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == model_events.__name__
]


def fill(i: int) -> OrderFilled:
    return OrderFilled(
        TS + i,
        TS + i,
        f"c{i}",
        IID,
        "s1",
        f"t{i}",
        OrderSide.BUY if i % 2 else OrderSide.SELL,
        price=Decimal("1800.25") + i,
        quantity=Decimal("0.010"),
    )


def account(i: int) -> AccountStateChanged:
    return AccountStateChanged(TS + i, TS + i, "USDT", Decimal("10000.00") - i)


@pytest.fixture(params=["inprocess", "bridged", "redis"])
def bus(request: pytest.FixtureRequest) -> Iterator[Any]:
    kind = request.param
    if kind == "inprocess":
        yield MessageBus()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    from quantdesk.storage.redis_bus import BridgedBus, RedisBus

    b = BridgedBus(url, prefix) if kind == "bridged" else RedisBus(url, prefix, block_ms=50)
    try:
        yield b
    finally:
        b.close()


def settle(bus: Any) -> None:
    """In-process delivery is immediate; Redis delivery is asynchronous: wait until it caught up."""
    flush = getattr(bus, "flush", None)
    if flush is not None:
        assert flush(20.0), "bus did not deliver in time"


def test_order_per_topic_and_filtering(bus: Any) -> None:
    orders: list[Any] = []
    accounts: list[Any] = []
    bus.subscribe("orders", orders.append)
    bus.subscribe("account", accounts.append)
    sent_o = [fill(i) for i in range(300)]
    sent_a = [account(i) for i in range(100)]
    for i, f in enumerate(sent_o):
        bus.publish(f)
        if i % 3 == 0:
            bus.publish(sent_a[i // 3])
    settle(bus)
    assert orders == sent_o
    assert accounts == sent_a
    assert all(isinstance(m, OrderFilled) for m in orders)


def test_wildcard_gets_every_topic_after_the_topic_handlers(bus: Any) -> None:
    calls: list[tuple[str, Any]] = []
    bus.subscribe("*", lambda m: calls.append(("*", m)))
    bus.subscribe("orders", lambda m: calls.append(("orders", m)))
    sent = [fill(0), account(1), fill(2), account(3), fill(4)]
    for m in sent:
        bus.publish(m)
    settle(bus)
    star = [m for who, m in calls if who == "*"]
    assert sorted(star, key=lambda m: m.ts_event) == sent  # every message once
    for topic in ("orders", "account"):  # per-topic order kept
        assert [m for m in star if m.topic == topic] == [m for m in sent if m.topic == topic]
    assert [m for who, m in calls if who == "orders"] == [m for m in sent if m.topic == "orders"]
    for k, (who, m) in enumerate(calls):  # the topic's own handler runs first for each order message
        if who == "orders":
            assert calls[k + 1] == ("*", m)


def test_explicit_topic_type_name_topic_and_unsubscribe(bus: Any) -> None:
    alerts: list[Any] = []
    bars: list[Any] = []
    orders: list[Any] = []
    bus.subscribe("alerts", alerts.append)
    bus.subscribe("Bar", bars.append)
    bus.subscribe("orders", orders.append)
    bus.subscribe("orders", orders.append)  # idempotent
    bar = Bar(IID, TS, 1.0, 2.0, 0.5, 1.5, 10.0)
    bus.publish(fill(1), "alerts")  # explicit topic wins over message.topic
    bus.publish(bar)  # no `topic` attribute: the type name
    bus.publish(fill(2))
    settle(bus)
    assert alerts == [fill(1)] and bars == [bar] and orders == [fill(2)]
    bus.unsubscribe("orders", orders.append)
    bus.publish(fill(3))
    bus.publish(fill(4), "alerts")
    settle(bus)
    assert orders == [fill(2)]
    assert alerts == [fill(1), fill(4)]


def test_payload_round_trip_of_every_event(bus: Any) -> None:
    got: list[Any] = []
    bus.subscribe("*", got.append)
    sent = [_make(cls) for cls in MODEL_EVENTS]
    sent.append(PositionChanged(TS, TS, IID, Decimal("-0.5"), None, Decimal("12.3400"), Decimal("0.01")))
    sent.append({"alert": "drawdown", "pct": Decimal("5.25"), "ok": False})
    for m in sent:
        bus.publish(m, "payloads")
    settle(bus)
    assert got == sent
    for a, b in zip(got, sent, strict=True):
        assert type(a) is type(b)
        if dataclasses.is_dataclass(a):
            for f in dataclasses.fields(a):
                va, vb = getattr(a, f.name), getattr(b, f.name)
                assert type(va) is type(vb)
                if isinstance(va, Decimal):
                    assert str(va) == str(vb)  # exact, exponent kept
