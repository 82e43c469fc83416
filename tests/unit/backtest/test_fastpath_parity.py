"""Two engines, one semantics: sma_cross through the compiled fast path and through the event engine
(`quantdesk.backtest.runner.run_backtest`) give the same trades and the same equity on the real files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import fastpath
from quantdesk.backtest.config import BacktestConfig

CASES = [
    ("goog_1d", "GOOG", "1d", {"fast": 10, "slow": 30}, 0.001, 0.0),
    ("btc_1h", "BTC/USD", "1h", {"fast": 10, "slow": 30}, 0.001, 0.0),
    ("btc_1h", "BTC/USD", "1h", {"fast": 20, "slow": 50}, 0.002, 5.0),
]


def _runner():
    from quantdesk.backtest.runner import run_backtest  # the parity reference: it must exist

    return run_backtest


@pytest.mark.parametrize(("key", "symbol", "tf", "params", "fee", "slip"), CASES)
def test_fast_path_equals_event_engine(real_ohlcv, key, symbol, tf, params, fee, slip) -> None:
    run_backtest = _runner()
    df = real_ohlcv[key]
    cfg = BacktestConfig(strategy="sma_cross", params=params, symbol=symbol, timeframe=tf, fee=fee,
                         slippage_bps=slip, cash=10_000)
    event = run_backtest(cfg, df)
    fast = fastpath.run_fast(cfg, df)
    et, ft = event.trades.reset_index(drop=True), fast.trades.reset_index(drop=True)
    assert len(ft) > 10
    assert len(et) == len(ft)
    assert (pd.DatetimeIndex(et["entry_time"]) == pd.DatetimeIndex(ft["entry_time"])).all()
    assert et["exit_time"].isna().tolist() == ft["exit_time"].isna().tolist()
    closed = ~ft["is_open"].astype(bool)
    assert (pd.DatetimeIndex(et["exit_time"][closed]) == pd.DatetimeIndex(ft["exit_time"][closed])).all()
    for col in ("entry_price", "exit_price", "quantity", "fees", "pnl"):
        np.testing.assert_allclose(et[col].astype(float), ft[col].astype(float), rtol=1e-9, err_msg=col)
    assert et["side"].tolist() == ft["side"].tolist()
    assert et["is_open"].astype(bool).tolist() == ft["is_open"].astype(bool).tolist()
    assert len(event.equity) == len(fast.equity)
    assert (event.equity.index == fast.equity.index).all()
    np.testing.assert_allclose(event.equity.to_numpy(float), fast.equity.to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(("key", "symbol", "tf"), [("goog_1d", "GOOG", "1d"), ("btc_1h", "BTC/USD", "1h")])
def test_same_fingerprint_indicators_and_orders(real_ohlcv, key, symbol, tf) -> None:
    run_backtest = _runner()
    df = real_ohlcv[key]
    cfg = BacktestConfig(strategy="sma_cross", symbol=symbol, timeframe=tf, fee=0.001)
    event, fast = run_backtest(cfg, df), fastpath.run_fast(cfg, df)
    assert event.data_info["fingerprint"] == fast.data_info["fingerprint"]
    assert event.data_info["rows"] == fast.data_info["rows"] and event.data_info["first"] == fast.data_info["first"]
    for name in ("fast", "slow"):
        np.testing.assert_array_equal(event.indicators[name].to_numpy(), fast.indicators[name].to_numpy())
    eo = event.orders[event.orders["status"] == "filled"].reset_index(drop=True)
    fo = fast.orders
    assert len(eo) == len(fo)
    assert (pd.DatetimeIndex(eo["ts"]) == pd.DatetimeIndex(fo["ts"])).all()
    assert eo["side"].tolist() == fo["side"].tolist() and eo["type"].tolist() == fo["type"].tolist()
    np.testing.assert_allclose(eo["price"], fo["price"], rtol=1e-12)
    np.testing.assert_allclose(eo["quantity"], fo["quantity"], rtol=1e-12)
    for k in ("final_equity", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct", "total_fees"):
        assert event.metrics[k] == pytest.approx(fast.metrics[k], rel=1e-9), k
