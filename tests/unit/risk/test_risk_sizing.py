"""Sizing formulas by hand, the Strategy API helper and configuration-driven sizing."""

from __future__ import annotations

import numpy as np
import pytest
from risk_helpers import frame, off, run

from quantdesk.model.enums import OrderStatus
from quantdesk.risk.sizing import (
    FixedFraction,
    FixedNotional,
    Kelly,
    RiskPerTrade,
    SizingContext,
    VolTarget,
    atr_pct,
    kelly_fraction,
    kelly_from_pnls,
    realized_vol,
    risk_per_trade_qty,
)


def ctx(**kw):
    base = {"equity": 10_000.0, "price": 50.0}
    base.update(kw)
    return SizingContext(**base)


def test_fixed_fraction_and_notional():
    assert FixedFraction(0.1).quantity(ctx()) == pytest.approx(20.0)  # 10 000 x 0.1 / 50
    assert FixedNotional(1234).quantity(ctx()) == pytest.approx(24.68)
    assert FixedFraction(2.0, max_fraction=0.5).quantity(ctx()) == pytest.approx(100.0)  # capped: 5000 / 50


def test_kelly_by_hand():
    assert kelly_fraction(0.6, 2.0) == pytest.approx(0.6 - 0.4 / 2)  # 0.4
    assert Kelly(0.6, 2.0, cap=0.25).quantity(ctx()) == pytest.approx(10_000 * 0.25 / 50)  # capped
    assert Kelly(0.6, 2.0, scale=0.5, cap=1.0).quantity(ctx()) == pytest.approx(10_000 * 0.2 / 50)
    assert Kelly(0.3, 1.0).quantity(ctx()) == 0.0  # negative edge: no trade
    pnls = [100, 100, 100, -50, -50]  # W = 0.6, R = 2
    assert kelly_from_pnls(pnls) == (0.6, 2.0)
    assert Kelly(cap=1.0, min_trades=5).quantity(ctx(trade_pnls=pnls)) == pytest.approx(10_000 * 0.4 / 50)
    assert Kelly(cap=1.0, min_trades=6).quantity(ctx(trade_pnls=pnls)) == 0.0  # not enough history


def test_vol_target_by_hand():
    closes = np.array([100, 102, 100, 102, 100, 102], dtype=float)
    r = np.diff(closes) / closes[:-1]
    vol = np.std(r, ddof=1)
    assert realized_vol(closes, 5) == pytest.approx(vol)
    q = VolTarget(0.01, window=5).quantity(ctx(price=102.0, closes=closes))
    assert q == pytest.approx(10_000 * (0.01 / vol) / 102)
    high, low = closes + 1, closes - 1
    tr = np.maximum.reduce(
        [high[1:] - low[1:], np.abs(high[1:] - closes[:-1]), np.abs(low[1:] - closes[:-1])]
    )
    assert atr_pct(high, low, closes, 5) == pytest.approx(tr.mean() / 102)
    q = VolTarget(0.01, method="atr", window=5).quantity(
        ctx(price=102.0, closes=closes, highs=high, lows=low)
    )
    assert q == pytest.approx(10_000 * 0.01 / (tr.mean() / 102) / 102)


def test_risk_per_trade_by_hand():
    assert risk_per_trade_qty(10_000, 0.01, 50, 45) == pytest.approx(20.0)  # 100 risked / 5 per unit
    assert RiskPerTrade(0.01).quantity(ctx(stop=45.0)) == pytest.approx(20.0)
    assert RiskPerTrade(0.01, stop_pct=0.1).quantity(ctx()) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="stop"):
        RiskPerTrade(0.01).quantity(ctx())


def test_strategy_api_sizer_and_size():
    seen = {}

    def step(s):
        seen["q"] = s.size(RiskPerTrade(0.02), stop=s.price() - 4)
        return s.buy(sizer=FixedFraction(0.1))

    eng, _ = run({1: step, 2: lambda s: s.buy(sizer=RiskPerTrade(0.01), stop_loss=90)}, frame([100.0] * 5))
    assert seen["q"] == pytest.approx(10_000 * 0.02 / 4)
    assert float(eng.orders[0].quantity) == pytest.approx(10.0)  # 10% of 10 000 at 100
    assert eng.orders[0].status is OrderStatus.FILLED
    assert float(eng.orders[1].quantity) == pytest.approx(10.0)  # 100 risked / 10


def test_configured_sizing_caps_all_cash_and_sizes_notional_orders():
    settings = off(sizing={"method": "fixed_fraction", "fraction": 0.1})
    script = {
        1: lambda s: s.buy_all_cash(),
        2: lambda s: s.buy(notional=5000),
        3: lambda s: s.buy(3),  # explicit quantity: never resized
        4: lambda s: s.sell(notional=100_000),  # reduces the long: not sized (a notional order)
    }
    eng, _ = run(script, frame([100.0] * 6), settings=settings)
    q = [float(o.quantity) for o in eng.orders]
    assert q[:3] == [pytest.approx(10.0), pytest.approx(10.0), 3.0]
    assert eng.orders[0].all_cash is False and eng.orders[3].notional is not None


def test_configured_sizing_with_little_cash_is_capped_by_the_cash():
    settings = off(sizing={"method": "fixed_fraction", "fraction": 5.0})
    eng, _ = run({1: lambda s: s.buy_all_cash()}, frame([100.0] * 4), settings=settings, cash=1000)
    assert float(eng.orders[0].quantity) == pytest.approx(10.0)  # cash buys 10, the sizer says 50
    assert eng.orders[0].status is OrderStatus.FILLED
