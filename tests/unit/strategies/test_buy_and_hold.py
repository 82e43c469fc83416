"""buy_and_hold enters on the first bar where an order is possible, including walk-forward test windows."""

from __future__ import annotations

import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.research.walkforward import walk_forward


def test_buys_at_second_bar_open_and_holds(real_ohlcv: dict[str, pd.DataFrame]) -> None:
    df = real_ohlcv["goog_1d"].iloc[:300]
    result = run_backtest(BacktestConfig(strategy="buy_and_hold", fee=0.0), df)
    assert len(result.trades) == 1
    trade = result.trades.iloc[0]
    assert trade["entry_time"] == df.index[1] and trade["entry_price"] == df["open"].iloc[1]
    assert bool(trade["is_open"])
    assert abs(result.equity.iloc[-1] - 10_000 * df["close"].iloc[-1] / df["open"].iloc[1]) < 1e-3


def test_enters_in_every_walk_forward_test_window(real_ohlcv: dict[str, pd.DataFrame]) -> None:
    df = real_ohlcv["goog_1d"].iloc[:900]
    wf = walk_forward("buy_and_hold", df, train="300b", test="200b", space={})
    assert len(wf.windows) >= 2
    entries = pd.to_datetime(wf.oos_trades["entry_time"], utc=True)
    starts = pd.to_datetime(wf.windows["test_start"], utc=True)
    for start in starts:
        assert ((entries >= start) & (entries < start + pd.Timedelta(days=10))).any(), start
