"""scalping: score-gated entry, take-profit / stop-loss brackets that fill at their prices, maximum holding time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.strategies.scalping import Scalping

P = {
    "rsi_period": 2,
    "roc_period": 1,
    "roc_scale": 1.0,
    "threshold": 0.9,
    "take_profit_pct": 1.0,
    "stop_loss_pct": 1.0,
    "max_bars": 3,
}
FLAT = [(100, 100.2, 99.8, 100)] * 6  # ROC 0: score <= 0.5, never enters
SIGNAL = (100, 102.2, 99.9, 102)  # bar 6: +2 % (roc score 1), RSI(2) 100 (rsi score 1): score 1 >= 0.9
# brackets from the signal close 102: take-profit 103.02, stop-loss 100.98; the entry fills at bar 7's open (102)


def mk(rows):
    o, h, lo, c = map(np.asarray, zip(*rows, strict=True))
    idx = pd.date_range("2024-01-01", periods=len(c), freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": 1.0}, index=idx)


def run(rows, params=P):
    df = mk(rows)
    r = run_backtest(
        BacktestConfig(strategy="scalping", params=params, cash=10_000, fee=0, symbol="T/USD"), df
    )
    return df, r


def trade(df, r):
    assert len(r.trades) == 1
    t = r.trades.iloc[0]
    return df.index.get_loc(t.entry_time), t.entry_price, df.index.get_loc(t.exit_time), t.exit_price


def test_take_profit_fills_at_its_price():
    df, r = run([*FLAT, SIGNAL, (102, 103.5, 101.8, 102.5), (102.5, 102.6, 102.4, 102.5)])
    assert trade(df, r) == (7, 102.0, 7, pytest.approx(103.02))
    o = r.orders.set_index("type")
    assert o.loc["limit", "status"] == "filled" and o.loc["stop", "status"] == "canceled"


def test_stop_loss_fills_at_its_trigger():
    df, r = run([*FLAT, SIGNAL, (102, 102.3, 100.5, 100.8), (100.8, 101, 100.7, 100.8)])
    assert trade(df, r) == (7, 102.0, 7, pytest.approx(100.98))
    o = r.orders.set_index("type")
    assert o.loc["stop", "status"] == "filled" and o.loc["limit", "status"] == "canceled"


def test_stop_gap_fills_at_the_open():
    df, r = run(
        [*FLAT, SIGNAL, (102, 102.3, 101.5, 101.6), (100.0, 100.2, 99.5, 99.8), (99.8, 99.9, 99.7, 99.8)]
    )
    assert trade(df, r) == (7, 102.0, 8, 100.0)  # gapped through 100.98: filled at the open


def test_max_bars_closes_at_the_next_open():
    rows = [
        *FLAT,
        SIGNAL,
        (102, 102.5, 101.5, 102.1),
        (102.1, 102.5, 101.6, 102),
        (102, 102.4, 101.7, 101.9),
        (101.9, 102.3, 101.6, 102.1),
        (102.1, 102.2, 102, 102.1),
    ]
    df, r = run(rows)
    # in the trade on bars 7, 8, 9 -> on the close of bar 9 (3 bars) the brackets are cancelled and the
    # position is sold at the open of bar 10
    assert trade(df, r) == (7, 102.0, 10, 101.9)
    assert r.trades.iloc[0].bars_held == 3
    assert set(r.orders.loc[r.orders["type"] != "market", "status"]) == {"canceled"}


def test_threshold_gates_the_entry():
    _, r = run([*FLAT, SIGNAL, (102, 103.5, 101.8, 102.5)], {**P, "threshold": 1.0})
    assert len(r.trades) == 1  # score exactly 1
    _, r = run([*FLAT, (100, 100.6, 99.9, 100.5), (100.5, 101, 100, 100.5)])  # +0.5 %: score 0.75 < 0.9
    assert len(r.trades) == 0


def test_score_is_in_unit_interval():
    assert Scalping.score_of(100, 5, 1.0, 0.5) == 1.0
    assert Scalping.score_of(0, -5, 1.0, 0.5) == 0.0
    assert Scalping.score_of(75, 0.5, 1.0, 0.5) == pytest.approx(0.5)
    assert Scalping.score_of(75, 0.5, 1.0, 1.0) == pytest.approx(0.5)
    assert Scalping.score_of(50, 0.25, 1.0, 0.0) == pytest.approx(0.25)


def test_brackets_and_holding_time_on_real_data(real_ohlcv):
    df = real_ohlcv["btc_1h"]
    s = Scalping()
    r = run_backtest(BacktestConfig(strategy="scalping", symbol="BTC/USD"), df, strategy=s)
    orders = s.engine.orders
    tps = [o for o in orders if "take_profit" in o.tags and o.filled_qty > 0]
    sls = [o for o in orders if "stop_loss" in o.tags and o.filled_qty > 0]
    assert len(tps) > 10 and len(sls) > 10
    assert all(float(o.avg_price) >= float(o.price) for o in tps)  # at the limit, or better at a gap open
    assert all(float(o.avg_price) <= float(o.trigger_price) for o in sls)
    assert sum(float(o.avg_price) == float(o.price) for o in tps) > 0.5 * len(tps)
    closed = r.trades[~r.trades["is_open"]]
    assert closed["bars_held"].max() <= s.p.max_bars
    # never more than one position / bracket at a time
    assert (r.trades["entry_time"].iloc[1:].to_numpy() >= r.trades["exit_time"].iloc[:-1].to_numpy()).all()
