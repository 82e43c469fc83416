"""The Strategy API: parameters, indicator views (no future), batch == streaming, orders, error containment,
loading by name."""

from __future__ import annotations

import math
from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import make_instrument, run_backtest
from quantdesk.core.clock import SimulatedClock
from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed, normalize_ohlcv
from quantdesk.model import Bar
from quantdesk.risk import Denial, RiskEngine
from quantdesk.strategies import (
    FloatParam,
    Ind,
    IntParam,
    Strategy,
    builtin_strategies,
    create_strategy,
    load_strategy,
)


def make_df(n=300, seed=1):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    idx = pd.date_range("2023-01-01", periods=n, freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(10, 100, n)},
        index=idx,
    )


CFG = BacktestConfig(strategy="sma_cross", symbol="BTC/USDT", fee=0.001)


class Recorder(Strategy):
    name = ""
    params = {"period": IntParam(14, 2, 100), "band": FloatParam(2.0, 0.5, 5.0)}

    def indicators(self):
        return {
            "rsi": Ind("rsi", period=self.p.period),
            "bb": Ind("bbands", period=20),
            "atr": Ind("atr", period=self.p.period),
        }

    def on_start(self):
        self.seen = []

    def on_bar(self, bar):
        rsi = self.ind.rsi[-1]
        self.seen.append((bar.ts_ns, rsi, self.ind.bb.upper[-1], self.ind.atr[-1], bar.close))
        if not math.isnan(rsi):
            if rsi < 40 and self.is_flat:
                self.buy(1.0)
            elif rsi > 60 and self.is_long:
                self.close()


def test_params_validated_and_exposed():
    s = Recorder({"period": "20"})
    assert s.p.period == 20 and s.p.band == 2.0 and s.p["period"] == 20
    with pytest.raises(ParameterError, match="period"):
        Recorder({"period": 1})
    with pytest.raises(ParameterError, match="unknown"):
        Recorder({"nope": 1})
    with pytest.raises(ParameterError):
        Recorder({"period": 2.5})
    space = Recorder.param_space()
    assert space["period"] == {
        "default": 14,
        "minimum": 2,
        "maximum": 100,
        "step": 1,
        "description": "",
        "type": "int",
    }
    assert space["band"]["type"] == "float"
    with pytest.raises(AttributeError):
        s.p.period = 3


def test_indicator_views_never_show_the_future():
    class Peek(Strategy):
        def indicators(self):
            return {"sma": Ind("sma", period=3)}

        def on_bar(self, bar):
            i = self.bar_index
            assert len(self.ind.sma) == i + 1
            assert self.data.close[-1] == bar.close
            with pytest.raises(IndexError):
                self.ind.sma[i + 1]
            if i >= 1:
                assert self.data.close[-2] == self.data.close[i - 1]
            if i == 10:
                assert len(self.ind.sma.values) == 11

    r = run_backtest(CFG, make_df(30), strategy=Peek())
    assert r.events == []  # no assertion failed inside the callbacks


def _engine(strategy, df, mode):
    frame = normalize_ohlcv(df)
    inst = make_instrument(CFG, frame)
    return (
        TradingEngine(strategy, inst, cash=10_000, clock=SimulatedClock(), indicator_mode=mode),
        inst,
        frame,
    )


def test_batch_and_streaming_indicators_give_the_same_values_and_orders():
    df = make_df(400)
    batch, inst, frame = _engine(Recorder(), df, "batch")
    batch.run(HistoricalFeed(inst.id, frame))
    stream, _, _ = _engine(Recorder(), df, "stream")
    stream.start()
    for ts, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        stream.on_bar(Bar(inst.id, ts.value, row.open, row.high, row.low, row.close, row.volume))
    stream.stop(cancel_working=True)
    a, b = batch.strategy.seen, stream.strategy.seen
    assert len(a) == len(b) == 400
    np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-9, equal_nan=True)
    assert [(o.client_order_id, o.status, o.filled_qty, o.avg_price) for o in batch.orders] == [
        (o.client_order_id, o.status, o.filled_qty, o.avg_price) for o in stream.orders
    ]
    assert len(batch.orders) > 2
    np.testing.assert_array_equal(batch.equity_array(), stream.equity_array())


class Crash(Strategy):
    params = {"at": IntParam(50, 0, 10_000), "where": IntParam(0, 0, 1)}

    def on_bar(self, bar):
        if self.bar_index == 5:
            self.buy(2.0)
        if self.bar_index == 10:
            self.buy(1.0, limit=bar.close * 0.5)  # working order, cancelled when the strategy stops
        if self.p.where == 0 and self.bar_index == self.p.at:
            raise RuntimeError("boom")

    def on_fill(self, event):
        if self.p.where == 1:
            raise ValueError("bad fill handler")


@pytest.mark.parametrize("where", [0, 1])
def test_strategy_error_is_contained(where, caplog):
    df = make_df(100)
    r = run_backtest(CFG, df, strategy=Crash({"where": where}))
    assert len(r.equity) == 100  # the run went to the end
    errs = [e for e in r.events if e["event"] == "StrategyErrored"]
    assert len(errs) == 1
    assert errs[0]["callback"] == ("on_bar" if where == 0 else "on_fill")
    # the position bought before the error is kept and marked to market
    assert r.trades.iloc[0].is_open and r.trades.iloc[0].quantity == 2.0
    last = df["close"].iloc[-1]
    cash = 10_000 - r.trades.iloc[0].entry_price * 2 - r.trades.iloc[0].fees
    assert r.equity.iloc[-1] == pytest.approx(cash + 2 * last)
    statuses = list(r.orders["status"])
    if where == 0:
        assert statuses == ["filled", "canceled"]
        assert r.orders["reason"].iloc[1] == "strategy stopped after an error"
    else:
        assert statuses == ["filled"]  # stopped at the first fill, before the limit order


def test_bracket_target_and_weight_helpers():
    class Helpers(Strategy):
        def on_bar(self, bar):
            i = self.bar_index
            if i == 1:
                self.entry = self.buy(1.0, stop_loss=bar.close * 0.5, take_profit=bar.close * 10)
            if i == 3:
                assert self.position_size == 1.0
                assert len(self.open_orders) == 2
                self.target_position(3)
            if i == 5:
                assert self.position_size == 3.0
                self.target_weight(0.0)

    r = run_backtest(CFG, make_df(10), strategy=Helpers())
    st = dict(zip(r.orders.client_order_id, r.orders.status, strict=True))
    assert st["helpers-1-1"] == "filled"  # entry
    assert st["helpers-1-2"] == "canceled" and st["helpers-1-3"] == "canceled"  # OCO children, end of data
    assert st["helpers-3-1"] == "filled" and st["helpers-5-1"] == "filled"
    assert r.trades.iloc[0].quantity == 3.0 and not r.trades.iloc[0].is_open


def test_short_needs_margin_and_attached_exits():
    class Shorty(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 1:
                self.sell(1.0)
            if self.bar_index == 3 and self.is_short:
                self.attach_stop_loss(bar.close * 2)
                self.attach_take_profit(bar.close * 0.1)

    r = run_backtest(CFG, make_df(10), strategy=Shorty())
    assert list(r.orders.status) == ["rejected"] and "margin" in r.orders.reason.iloc[0]
    r2 = run_backtest(CFG.model_copy(update={"margin": True}), make_df(10), strategy=Shorty())
    assert r2.trades.iloc[0].side == "short"
    assert list(r2.orders.status) == ["filled", "canceled", "canceled"]


def test_risk_hook_denies():
    def no_big_orders(order, ctx):
        if order.quantity is not None and order.quantity > D(1):
            return Denial("max order size 1", rule="max_qty")
        return None

    class Big(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 1:
                self.buy(5.0)
            if self.bar_index == 2:
                self.buy(1.0)

    r = run_backtest(CFG, make_df(10), strategy=Big(), risk=RiskEngine([no_big_orders]))
    assert list(r.orders.status) == ["denied", "filled"]
    denied = [e for e in r.events if e["event"] == "OrderDenied"]
    assert denied and denied[0]["reason"] == "max order size 1"


def test_deterministic_client_order_ids():
    df = make_df(300)
    a = run_backtest(CFG.model_copy(update={"params": {"fast": 5, "slow": 12}}), df)
    b = run_backtest(CFG.model_copy(update={"params": {"fast": 5, "slow": 12}}), df)
    assert list(a.orders.client_order_id) == list(b.orders.client_order_id)
    assert a.orders.client_order_id.is_unique


def test_loader():
    assert {"sma_cross", "buy_and_hold"} <= set(builtin_strategies())
    assert load_strategy("sma_cross").name == "sma_cross"
    with pytest.raises(NotFoundError, match="buy_and_hold.*sma_cross|sma_cross"):
        load_strategy("nope")
    with pytest.raises(NotFoundError, match="built-in strategies"):
        load_strategy("nope")
    assert load_strategy("quantdesk.strategies.sma_cross:SmaCross").name == "sma_cross"
    with pytest.raises(NotFoundError):
        load_strategy("quantdesk.strategies.sma_cross:Missing")
    with pytest.raises(NotFoundError):
        load_strategy("no_such_module_xyz:Thing")
    with pytest.raises(NotFoundError, match="not a quantdesk Strategy"):
        load_strategy("quantdesk.strategies.base:Ind")
    with pytest.raises(ParameterError, match="fast"):
        create_strategy("sma_cross", {"fast": 0})


def test_buy_and_hold():
    df = make_df(50)
    r = run_backtest(CFG.model_copy(update={"strategy": "buy_and_hold"}), df)
    t = r.trades.iloc[0]
    assert (
        t.is_open
        and t.entry_time == df.index[1]
        and t.entry_price == pytest.approx(df.open.iloc[1], abs=1e-8)
    )
    assert r.equity.iloc[-1] == pytest.approx(10_000 / (1.001 * t.entry_price) * df.close.iloc[-1], rel=1e-6)


def test_detail_data_resolves_intrabar_order():
    # one 1h bar hits both the stop (95) and the take-profit (110); 15-minute detail says the high came first
    idx = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    df = pd.DataFrame(
        {
            "open": [100, 100, 101, 100],
            "high": [100, 101, 111, 100],
            "low": [100, 99, 94, 100],
            "close": [100, 100, 100, 100],
            "volume": 1.0,
        },
        index=idx,
    )
    didx = pd.date_range("2024-01-01 02:00", periods=4, freq="15min", tz="UTC")
    detail = pd.DataFrame(
        {
            "open": [101, 105, 110, 100],
            "high": [105, 111, 110, 100],
            "low": [100, 104, 100, 94],
            "close": [105, 110, 100, 95],
            "volume": 1.0,
        },
        index=didx,
    )

    class Br(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 0:
                self.buy(1.0, stop_loss=95, take_profit=110)

    cfg = CFG.model_copy(update={"fee": 0.0})
    coarse = run_backtest(cfg, df, strategy=Br())
    fine = run_backtest(cfg, df, detail=detail, strategy=Br())
    assert coarse.trades.iloc[0].exit_price == 95.0
    assert fine.trades.iloc[0].exit_price == 110.0
    assert fine.trades.iloc[0].exit_time == didx[1]
