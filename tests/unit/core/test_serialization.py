"""Versioned JSON serialisation: every event of quantdesk.model.events (found programmatically), risk events,
commands with nested orders, Bar and ticks round-trip exactly; unknown types and versions fail clearly."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import math
import typing
from decimal import Decimal
from typing import Any

import pytest

import quantdesk.model.events as model_events
import quantdesk.risk.events as risk_events
from quantdesk.core import serialization as ser
from quantdesk.model.commands import CancelOrder, ModifyOrder, SubmitBracket, SubmitOrder
from quantdesk.model.data import Bar, QuoteTick, TradeTick
from quantdesk.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.orders import Fill, Order
from quantdesk.model.timeframe import Timeframe

IID = InstrumentId("BTC/USDT:USDT", "binance")
TS = 1_700_000_000_123_456_789  # > 2**53: must stay an exact int


def _sample(hint: Any, k: int) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {"nested": Decimal("1.50"), "list": [1, "two", None], "f": 0.1}
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _sample(args[0], k)
    if origin is dict:
        return {"limit": Decimal("0.25"), "value": 3.5, "tags": ["a", "b"], "none": None}
    if origin is tuple:
        return ("a", "b")
    if hint is int:
        return TS + k
    if hint is float:
        return 0.1 + k
    if hint is str:
        return f"text-{k} ü"
    if hint is bool:
        return True
    if hint is Decimal:
        return Decimal("42000.1234567800") + k
    if hint is InstrumentId:
        return IID
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    raise AssertionError(f"no sample for {hint}")


def _make(cls: type) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _sample(hints[f.name], i) for i, f in enumerate(dataclasses.fields(cls)) if f.init}
    return cls(**kwargs)


def _event_classes(module: Any) -> list[type]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if obj.__module__ == module.__name__
        and dataclasses.is_dataclass(obj)
        and issubclass(obj, model_events.Event)
    ]


MODEL_EVENTS = _event_classes(model_events)
RISK_EVENTS = _event_classes(risk_events)


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def _assert_exact(a: Any, b: Any) -> None:
    """Equal values AND equal types (Decimal stays Decimal with its exponent, enums stay enums)."""
    assert type(a) is type(b), (a, b)
    if dataclasses.is_dataclass(a):
        for name, value in _fields(a).items():
            _assert_exact(value, getattr(b, name))
    elif isinstance(a, Decimal):
        assert a.as_tuple() == b.as_tuple()
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_exact(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_exact(a[key], b[key])
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_discovers_every_event_class() -> None:
    names = {c.__name__ for c in MODEL_EVENTS}
    assert {
        "OrderFilled",
        "OrderSubmitted",
        "PositionClosed",
        "AccountStateChanged",
        "StrategyErrored",
    } <= names
    assert len(MODEL_EVENTS) >= 15
    registered = ser.registered_types()
    for cls in MODEL_EVENTS + RISK_EVENTS:
        assert registered[cls.__name__] is cls


@pytest.mark.parametrize("cls", MODEL_EVENTS + RISK_EVENTS, ids=lambda c: c.__name__)
def test_event_round_trip(cls: type) -> None:
    event = _make(cls)
    payload = ser.encode(event)
    back = ser.decode(payload)
    _assert_exact(event, back)
    assert back == event
    assert back.topic == event.topic
    env = json.loads(payload)  # plain, readable JSON
    assert env["v"] == ser.FORMAT_VERSION and env["type"] == cls.__name__
    assert env["data"]["ts_event"] == event.ts_event  # ns int, not a float
    # decoding the same bytes twice gives equal objects (no shared mutable state)
    assert ser.decode(payload) == back


def test_order_filled_wire_format_is_interoperable() -> None:
    e = model_events.OrderFilled(
        TS,
        TS + 1,
        "c-1",
        IID,
        "s1",
        "t-9",
        OrderSide.SELL,
        OrderType.LIMIT,
        Decimal("42000.50"),
        Decimal("0.0010"),
        Decimal("0.042"),
        "USDT",
    )
    data = json.loads(ser.encode(e))["data"]
    assert data["price"] == "42000.50" and data["quantity"] == "0.0010"
    assert data["side"] == "sell" and data["order_type"] == "limit" and data["liquidity"] == "taker"
    assert data["instrument"] == "BTC/USDT:USDT@binance"
    assert ser.decode(ser.encode(e)).signed_qty == Decimal("-0.0010")


def test_bar_and_ticks_round_trip() -> None:
    bars = [
        Bar(IID, TS, 0.1, 0.30000000000000004, 0.1, 0.2, 1e-12, Timeframe.parse("1m")),
        Bar(IID, TS, 100.0, 101.5, 99.25, 100.75, 0.0, None),
        Bar(IID, TS, 1.0, 1.0, 1.0, 1.0, math.inf),
    ]
    for bar in bars:
        _assert_exact(bar, ser.decode(ser.encode(bar)))
    q = QuoteTick(IID, TS, 1.1, 1.2, 3.0, 4.0)
    t = TradeTick(IID, TS, 1.15, 0.5, OrderSide.BUY, "x1")
    _assert_exact(q, ser.decode(ser.encode(q)))
    _assert_exact(t, ser.decode(ser.encode(t)))


def test_commands_with_nested_orders_round_trip() -> None:
    entry = Order(
        "e1",
        IID,
        OrderSide.BUY,
        OrderType.LIMIT,
        quantity=Decimal("0.5"),
        price=Decimal("100.10"),
        tif=TimeInForce.GTD,
        expire_ts=TS,
        linked_ids=("a", "b"),
        tags=("t",),
        strategy_id="s",
    )
    entry.status = OrderStatus.ACCEPTED
    tp = Order(
        "tp",
        IID,
        OrderSide.SELL,
        OrderType.LIMIT,
        quantity=Decimal("0.5"),
        price=Decimal("110"),
        parent_id="e1",
    )
    for cmd in (
        SubmitOrder("s", entry, TS),
        SubmitBracket("s", entry, tp, None, TS),
        CancelOrder("s", IID, "e1", TS),
        ModifyOrder("s", IID, "e1", TS, quantity=Decimal("0.25")),
    ):
        back = ser.decode(ser.encode(cmd))
        _assert_exact(cmd, back)  # Order has eq=False: compared field by field
    fill = Fill(
        "e1",
        "t1",
        IID,
        OrderSide.BUY,
        Decimal("100.10"),
        Decimal("0.5"),
        Decimal("0.05"),
        "USDT",
        model_events.LiquiditySide.MAKER,
        TS,
    )
    assert ser.decode(ser.encode(fill)) == fill


def test_plain_json_payloads() -> None:
    alert = {
        "level": "warning",
        "text": "drawdown 5%",
        "value": Decimal("5.00"),
        "bar": Bar(IID, TS, 1.0, 2.0, 0.5, 1.5, 3.0),
    }
    back = ser.decode(ser.encode(alert))
    _assert_exact(alert, back)
    assert ser.decode(ser.encode([1, "a", None])) == [1, "a", None]


def test_unknown_type_and_bad_payloads_fail_clearly() -> None:
    with pytest.raises(ser.SerializationError, match="unknown message type 'Nope'"):
        ser.decode(b'{"v":1,"type":"Nope","data":{}}')
    with pytest.raises(ser.SerializationError, match="version"):
        ser.decode(b'{"v":99,"type":"OrderFilled","data":{}}')
    with pytest.raises(ser.SerializationError, match="not valid JSON"):
        ser.decode(b"\x00garbage")
    with pytest.raises(ser.SerializationError, match="envelope"):
        ser.decode(b'{"x":1}')
    with pytest.raises(ser.SerializationError, match="unknown field"):
        ser.decode(
            b'{"v":1,"type":"AccountStateChanged","data":{"ts_event":1,"ts_init":1,"currency":"USD",'
            b'"balance":"1","bogus":2}}'
        )
    with pytest.raises(ser.SerializationError, match="malformed"):
        ser.decode(
            b'{"v":1,"type":"AccountStateChanged","data":{"ts_event":1,"ts_init":1,"currency":"USD",'
            b'"balance":"not-a-number"}}'
        )

    @dataclasses.dataclass(frozen=True)
    class NotRegistered:
        x: int

    with pytest.raises(ser.SerializationError, match="not registered"):
        ser.encode(NotRegistered(1))
    with pytest.raises(ser.SerializationError, match="cannot serialise"):
        ser.encode({"x": object()})


def test_register_custom_type() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class SignalForTest:
        ts_event: int
        instrument: InstrumentId
        strength: Decimal
        side: OrderSide

    ser.register(SignalForTest, "SignalForTest")
    s = SignalForTest(TS, IID, Decimal("0.75"), OrderSide.SELL)
    assert ser.decode(ser.encode(s)) == s
    with pytest.raises(ser.SerializationError, match="already registered"):
        ser.register(Bar, "SignalForTest")
