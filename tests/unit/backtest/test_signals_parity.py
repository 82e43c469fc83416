"""Every vectorised built-in (quantdesk.backtest.signals) gives the same trades, orders and equity through the
compiled fast path (`fastpath.run_fast`) as through the event engine (`runner.run_backtest`), on the real files,
at the defaults and at two other parameter sets, with fees and slippage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest import fastpath, signals
from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError

BARS = 5000
FILES = [("goog_1d", "GOOG", "1d"), ("btc_1h", "BTC/USD", "1h")]
# (strategy, [params at defaults, two other sets]); each set runs with its own fee / slippage
PARAMS: dict[str, list[dict]] = {
    "sma_cross": [{}, {"fast": 5, "slow": 20}, {"fast": 20, "slow": 50}],
    "ema_cross": [{}, {"fast": 5, "slow": 20}, {"fast": 20, "slow": 60, "allow_short": True}],
    "rsi_reversion": [{}, {"period": 7, "lower": 25, "upper": 75}, {"period": 21, "lower": 40, "exit_level": 55}],
    "macd": [{}, {"fast": 8, "slow": 21, "signal": 5, "zero_line": True},
             {"fast": 12, "slow": 26, "signal": 9, "hist_min_pct": 0.05}],
    "bollinger": [{}, {"period": 10, "nbdev": 1.5}, {"period": 30, "nbdev": 2.0, "mode": "breakout"}],
    "momentum": [{}, {"roc_period": 20, "threshold": 3.0, "exit_threshold": -1.0},
                 {"mode": "donchian", "entry_period": 20, "exit_period": 10}],
    "vwap_flow": [{}, {"window": 10, "threshold": 0.05, "deviation_pct": 0.2, "session": "1w"},
                  {"window": 50, "threshold": 0.1, "exit_pressure": -0.1, "deviation_pct": 0.3, "session": "1w"}],
    "buy_and_hold": [{}, {}, {}],
}
COSTS = [(0.001, 0.0), (0.002, 5.0), (0.0, 0.0)]
EXTRA = [  # the other modes at their defaults too
    ("bollinger", {"mode": "breakout"}, 0.001, 2.0),
    ("momentum", {"mode": "donchian", "entry_period": 55, "exit_period": 20}, 0.001, 2.0),
]

CASES = [
    pytest.param(key, sym, tf, name, params, *COSTS[k], id=f"{key}-{name}-{k}")
    for key, sym, tf in FILES
    for name, sets in PARAMS.items()
    for k, params in enumerate(sets)
] + [
    pytest.param(key, sym, tf, name, params, fee, slip, id=f"{key}-{name}-{params.get('mode')}")
    for key, sym, tf in FILES
    for name, params, fee, slip in EXTRA
]


def _runner():
    from quantdesk.backtest.runner import run_backtest  # the parity reference: it must exist

    return run_backtest


def test_every_builtin_with_signals_is_registered() -> None:
    assert set(PARAMS) == set(signals.vectorised_strategies())


@pytest.mark.parametrize(("key", "symbol", "tf", "name", "params", "fee", "slip"), CASES)
def test_fast_equals_event(real_ohlcv, key, symbol, tf, name, params, fee, slip) -> None:
    run_backtest = _runner()
    df = real_ohlcv[key].iloc[:BARS]
    cfg = BacktestConfig(strategy=name, params=params, symbol=symbol, timeframe=tf, fee=fee,
                         slippage_bps=slip, cash=10_000)
    event = run_backtest(cfg, df)
    fast = fastpath.run_fast(cfg, df)

    et, ft = event.trades.reset_index(drop=True), fast.trades.reset_index(drop=True)
    assert len(et) == len(ft)
    if name != "buy_and_hold":
        assert len(ft) >= 2, "parameter set should trade"
    assert (pd.DatetimeIndex(et["entry_time"]) == pd.DatetimeIndex(ft["entry_time"])).all()
    assert et["exit_time"].isna().tolist() == ft["exit_time"].isna().tolist()
    closed = ~ft["is_open"].astype(bool)
    assert (pd.DatetimeIndex(et["exit_time"][closed]) == pd.DatetimeIndex(ft["exit_time"][closed])).all()
    for col in ("entry_price", "exit_price", "quantity", "fees", "pnl"):
        np.testing.assert_allclose(et[col].astype(float), ft[col].astype(float), rtol=1e-9, atol=1e-9,
                                   err_msg=col)
    assert et["side"].tolist() == ft["side"].tolist()
    assert et["is_open"].astype(bool).tolist() == ft["is_open"].astype(bool).tolist()

    eo = event.orders[event.orders["status"] == "filled"].reset_index(drop=True)
    fo = fast.orders
    assert len(eo) == len(fo)
    assert (pd.DatetimeIndex(eo["ts"]) == pd.DatetimeIndex(fo["ts"])).all()
    assert eo["side"].tolist() == fo["side"].tolist() and eo["type"].tolist() == fo["type"].tolist()
    np.testing.assert_allclose(eo["price"].astype(float), fo["price"].astype(float), rtol=1e-9)
    np.testing.assert_allclose(eo["quantity"].astype(float), fo["quantity"].astype(float), rtol=1e-9)

    assert (event.equity.index == fast.equity.index).all()
    np.testing.assert_allclose(event.equity.to_numpy(float), fast.equity.to_numpy(float), rtol=1e-9)
    for k in ("final_equity", "total_return_pct", "max_drawdown_pct", "num_trades", "total_fees"):
        assert event.metrics[k] == pytest.approx(fast.metrics[k], rel=1e-9, abs=1e-9), k

    # the same indicator values (same catalog kernels)
    for nm, series in fast.indicators.items():
        np.testing.assert_array_equal(event.indicators[nm].to_numpy(), series.to_numpy(), err_msg=nm)


def test_signals_many_equals_single_columns(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"].iloc[:2000]
    sets = [{"period": 10, "nbdev": 1.5}, {"period": 10, "nbdev": 2.5}, {"period": 30, "mode": "breakout"}]
    ent, ext = signals.signals_many("bollinger", df, sets)
    assert ent.shape == (len(df), 3)
    for j, p in enumerate(sets):
        e, x = signals.signals("bollinger", df, p)
        np.testing.assert_array_equal(ent[:, j], e)
        np.testing.assert_array_equal(ext[:, j], x)


def test_invalid_params_and_unsupported(real_ohlcv) -> None:
    df = real_ohlcv["goog_1d"].iloc[:300]
    with pytest.raises(ParameterError, match="must be < 'slow'"):
        fastpath.run_fast(BacktestConfig(strategy="ema_cross", params={"fast": 30, "slow": 10}, symbol="GOOG",
                                         timeframe="1d"), df)
    with pytest.raises(ParameterError, match="vectorised built-ins"):
        fastpath.run_fast(BacktestConfig(strategy="scalping", symbol="GOOG", timeframe="1d"), df)
    with pytest.raises(ParameterError, match="margin"):
        fastpath.run_fast(BacktestConfig(strategy="ema_cross", margin=True, symbol="GOOG", timeframe="1d"), df)
    with pytest.raises(ParameterError, match="risk"):
        fastpath.run_fast(BacktestConfig(strategy="rsi_reversion", risk={"max_position_pct": 50},
                                         symbol="GOOG", timeframe="1d"), df)
