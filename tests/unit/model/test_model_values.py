from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from quantdesk.model import (
    Bar,
    Fill,
    Instrument,
    InstrumentId,
    InvalidOrderTransition,
    LiquiditySide,
    Order,
    OrderFilled,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from quantdesk.model.money import round_down, round_nearest, to_decimal

IID = InstrumentId("BTC/USDT", "binance")


def test_bar_is_frozen_and_validated():
    bar = Bar(IID, 1, 10.0, 12.0, 9.0, 11.0, 5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bar.close = 3.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        Bar(IID, 1, 10.0, 9.0, 9.5, 11.0, 5.0)


def test_order_state_machine():
    o = Order("s-0-1", IID, OrderSide.BUY, OrderType.MARKET, quantity=D("2"))
    assert o.status is OrderStatus.INITIALIZED
    with pytest.raises(InvalidOrderTransition):
        o.transition(OrderStatus.FILLED)
    o.transition(OrderStatus.SUBMITTED)
    o.transition(OrderStatus.ACCEPTED)
    o.apply_fill(D("1"), D("100"), D("0.1"), 5)
    assert o.status is OrderStatus.PARTIALLY_FILLED and o.leaves_qty == D("1")
    o.apply_fill(D("1"), D("102"), D("0.1"), 6)
    assert o.status is OrderStatus.FILLED and o.avg_price == D("101") and o.fees == D("0.2")
    with pytest.raises(InvalidOrderTransition):
        o.transition(OrderStatus.CANCELED)
    assert OrderStatus.INITIALIZED.can_transition_to(OrderStatus.DENIED)
    assert not OrderStatus.ACCEPTED.can_transition_to(OrderStatus.REJECTED)
    assert OrderStatus.FILLED.is_terminal and OrderStatus.PARTIALLY_FILLED.is_open


def test_order_requires_fields():
    with pytest.raises(ValueError):
        Order("x", IID, OrderSide.BUY, OrderType.MARKET)
    with pytest.raises(ValueError):
        Order("x", IID, OrderSide.BUY, OrderType.MARKET, quantity=D(1), tif=TimeInForce.GTD)
    with pytest.raises(ValueError):
        Order("x", IID, OrderSide.BUY, OrderType.STOP_LIMIT, quantity=D(1), price=D(1))


def test_instrument_rounding():
    inst = Instrument(IID, price_precision=2, size_precision=3, tick_size=D("0.05"))
    assert inst.make_price(100.024) == D("100.00")
    assert inst.make_price(100.026) == D("100.05")
    assert inst.make_qty(1.23999) == D("1.239")
    assert inst.make_qty(D("-0.0009")) == D("-0.000")
    assert round_down(D("7"), D("2")) == D("6")
    assert round_nearest(D("7"), D("2")) == D("8")
    assert to_decimal(0.1) == D("0.1")


def _fill(side, qty, price, fee="0", ts=0):
    return Fill("o", "t", IID, OrderSide(side), D(price), D(qty), D(fee), "USDT", LiquiditySide.TAKER, ts)


def test_position_long_partial_close_and_flip():
    p = Position(IID)
    p.apply(_fill("buy", "3", "100"))
    p.apply(_fill("buy", "1", "104"))
    assert p.quantity == 4 and p.cost == D("404") and p.avg_price == D("101")
    r = p.apply(_fill("sell", "2", "110"))
    assert r == D("220") - D("202") and p.quantity == 2 and p.cost == D("202")
    r = p.apply(_fill("sell", "5", "100"))  # closes 2 (pnl -2), opens short 3 at 100
    assert r == D("-2") and p.quantity == -3 and p.cost == D("-300")
    r = p.apply(_fill("buy", "3", "90"))
    assert r == D("30") and p.is_flat and p.cost == 0
    assert p.realized_pnl == D("18") + D("-2") + D("30")


def test_events_have_timestamps_and_are_frozen():
    e = OrderFilled(1, 2, "a", IID, "s", price=D("1"), quantity=D("2"))
    assert e.ts_event == 1 and e.ts_init == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.price = D(3)  # type: ignore[misc]
    assert e.to_dict()["instrument"] == "BTC/USDT@binance"


def test_to_decimal_accepts_numpy_and_refuses_nan():
    import numpy as np

    assert to_decimal(np.float64(0.1)) == D("0.1")
    assert to_decimal(np.int64(7)) == D(7)
    with pytest.raises(ValueError):
        to_decimal(float("nan"))
    with pytest.raises(ValueError):
        to_decimal(float("inf"))
