from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import make_instrument, run_backtest
from quantdesk.core.bus import MessageBus
from quantdesk.core.clock import SimulatedClock, WallClock
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed, normalize_ohlcv
from quantdesk.model import OrderAccepted, OrderFilled, OrderSubmitted, PositionOpened
from quantdesk.simulation import VolumeShare
from quantdesk.strategies import Strategy

CFG = BacktestConfig(strategy="sma_cross", symbol="BTC/USDT", fee=0.001)


def df(n=60, seed=3):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[100.0, close[:-1]]
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    return pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, close) + 0.1,
            "low": np.minimum(o, close) - 0.1,
            "close": close,
            "volume": 50.0,
        },
        index=idx,
    )


def test_bus_is_synchronous_and_ordered():
    bus = MessageBus()
    seen = []
    bus.subscribe("t", lambda m: seen.append(("a", m)))
    bus.subscribe("t", lambda m: seen.append(("b", m)))
    bus.subscribe("*", lambda m: seen.append(("all", m)))
    bus.publish(1, "t")
    bus.publish(2, "other")
    assert seen == [("a", 1), ("b", 1), ("all", 1), ("all", 2)]
    assert bus.has_subscribers("t") and bus.has_subscribers("zzz")  # "*" listens to everything


class Listener(Strategy):
    def on_start(self):
        self.events = []

    def on_bar(self, bar):
        if self.bar_index == 2:
            self.buy(1.0)
        if self.bar_index == 8:
            self.close()

    def on_order_event(self, event):
        self.events.append(type(event).__name__)


def test_order_events_reach_the_strategy_in_order():
    s = Listener()
    run_backtest(CFG, df(), strategy=s)
    assert s.events == ["OrderSubmitted", "OrderAccepted", "OrderFilled"] * 2


def test_other_subscribers_get_position_events():
    frame = normalize_ohlcv(df())
    inst = make_instrument(CFG, frame)
    bus = MessageBus()
    got = []
    bus.subscribe("positions", got.append)
    bus.subscribe("orders", got.append)
    eng = TradingEngine(Listener(), inst, cash=10_000, bus=bus)
    eng.run(HistoricalFeed(inst.id, frame))
    kinds = [type(e) for e in got]
    assert (
        OrderSubmitted in kinds
        and OrderAccepted in kinds
        and OrderFilled in kinds
        and PositionOpened in kinds
    )


def test_equity_curve_matches_exact_portfolio():
    frame = normalize_ohlcv(df(200))
    inst = make_instrument(CFG, frame)
    strat = __import__("quantdesk.strategies.loader", fromlist=["x"]).create_strategy(
        "sma_cross", {"fast": 3, "slow": 8}
    )
    eng = TradingEngine(strat, inst, cash=10_000, clock=SimulatedClock())
    eng.run(HistoricalFeed(inst.id, frame))
    exact = eng.portfolio.equity(eng.marks())
    assert eng.equity_array()[-1] == pytest.approx(float(exact), rel=1e-12)
    pf = eng.portfolio
    assert pf.cash() - pf.starting_cash + pf.cost_basis == pf.realized_pnl - pf.total_fees
    assert len(pf.trips) > 3


def test_volume_share_partial_fills_through_the_engine():
    class Big(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 0:
                self.buy(12.0)

    r = run_backtest(CFG, df(10), strategy=Big(), slippage=VolumeShare(cap=0.1, impact=0.0))
    # 5 per bar (10% of 50): 5 + 5 + 2
    assert r.orders.status.iloc[0] == "filled" and r.orders.quantity.iloc[0] == 12.0
    assert r.trades.iloc[0].quantity == 12.0
    eq = r.equity.to_numpy()
    assert eq[0] == 10_000.0


def test_backtest_requires_simulated_clock():
    frame = normalize_ohlcv(df())
    inst = make_instrument(CFG, frame)
    eng = TradingEngine(Listener(), inst, clock=WallClock())
    with pytest.raises(TypeError):
        eng.run(HistoricalFeed(inst.id, frame))


def test_result_contract():
    r = run_backtest(CFG.model_copy(update={"params": {"fast": 3, "slow": 8}}), df(200))
    assert str(r.trades.entry_time.dtype) == "datetime64[ns, UTC]"
    assert str(r.trades.exit_time.dtype) == "datetime64[ns, UTC]"
    assert r.trades.bars_held.dtype == np.int64 and r.trades.is_open.dtype == bool
    assert str(r.orders.ts.dtype) == "datetime64[ns, UTC]"
    assert r.equity.dtype == np.float64 and r.equity.index.tz is not None
    assert set(r.data_info) >= {"symbol", "timeframe", "exchange", "first", "last", "rows", "fingerprint"}
    assert set(r.indicators) == {"fast", "slow"}
    # closed trades: pnl sums to the equity change when flat at the end
    if not r.trades.is_open.any():
        assert r.trades.pnl.sum() == pytest.approx(r.equity.iloc[-1] - 10_000, abs=1e-6)


def test_commands_are_published_when_someone_listens():
    from quantdesk.model import SubmitOrder

    frame = normalize_ohlcv(df())
    inst = make_instrument(CFG, frame)
    bus = MessageBus()
    cmds = []
    bus.subscribe("commands", cmds.append)

    class NumpyQty(Strategy):
        def on_bar(self, bar):
            if self.bar_index == 1:
                self.buy(np.float64(0.5))

    eng = TradingEngine(NumpyQty(), inst, cash=10_000, bus=bus)
    eng.run(HistoricalFeed(inst.id, frame))
    assert len(cmds) == 1 and isinstance(cmds[0], SubmitOrder)
    assert cmds[0].order.client_order_id == "numpyqty-1-1" and cmds[0].order.filled_qty == 0.5


def test_run_backtest_loads_data_file_and_store(qd_home):
    from pathlib import Path

    goog = Path(__file__).parents[2] / "data" / "GOOG_1d_2004-08-19_2013-03-01.csv"
    cfg = BacktestConfig(
        strategy="sma_cross", symbol="GOOG", timeframe="1d", data_file=str(goog), start="2010-01-01"
    )
    r = run_backtest(cfg)
    assert r.data_info["first"].startswith("2010-01-04") and r.data_info["rows"] > 700
    r2 = run_backtest(
        BacktestConfig(strategy="buy_and_hold", symbol="BTC/USDT", timeframe="1h")
    )  # bundled sample
    assert r2.data_info["rows"] > 1000 and len(r2.trades) == 1


def test_bad_prices_are_refused_with_a_clear_error():
    from quantdesk.core.errors import DataError

    bad = df(20)
    bad.iloc[7, bad.columns.get_loc("close")] = np.nan
    with pytest.raises(DataError, match="1 bar.*2024-01-01 07:00"):
        run_backtest(CFG, bad)
    with pytest.raises(DataError, match="missing column"):
        run_backtest(CFG, df(20).drop(columns=["volume"]))
