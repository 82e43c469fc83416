"""Helpers for the exchange-simulator unit tests: an exchange core on a few hand-made candles (imported by
the tests; conftest.py makes `exchange` a fixture)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.engine import Exchange
from quantdesk.adapters.simulator.tape import build_tape

#: three 1m candles, tick 0.5: c0 rises (path 100, 99, 103, 102), c1 and c2 fall (102, 104, 101, 101) and
#: (101, 102, 97, 98)
CANDLES = [(100, 103, 99, 102, 4), (102, 104, 101, 101, 8), (101, 102, 97, 98, 2)]
T0 = 1_640_995_200_000  # 2022-01-01T00:00:00Z


def make_exchange(candles=CANDLES, tick: str = "0.5", **settings) -> Exchange:
    idx = pd.date_range("2022-01-01", periods=len(candles), freq="1min", tz="UTC")
    frame = pd.DataFrame(candles, columns=["open", "high", "low", "close", "volume"], index=idx, dtype=float)
    base = {"symbol": "BTC/USDT", "min_notional": Decimal(0), "maker_fee": Decimal("0.001"),
            "taker_fee": Decimal("0.002"), "balances": {"USDT": Decimal(1000)}}
    base.update(settings)
    cfg = SimConfig(**base).validated()
    tape = build_tape(frame, 60_000, Decimal(tick), "test candles")
    return Exchange(cfg, tape, int(tape.open_ms[0]))


@pytest.fixture()
def exchange() -> Exchange:
    return make_exchange()
