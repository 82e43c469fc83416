"""sma_cross: exact semantics, by hand on a tiny series and against a direct pandas implementation."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS
from quantdesk.backtest.runner import run_backtest

GOOG = Path(__file__).parents[2] / "data" / "GOOG_1d_2004-08-19_2013-03-01.csv"


def frame(opens, closes):
    opens, closes = np.asarray(opens, float), np.asarray(closes, float)
    idx = pd.date_range("2024-01-01", periods=len(closes), freq="1D", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + 0.5,
            "low": np.minimum(opens, closes) - 0.5,
            "close": closes,
            "volume": 1000.0,
        },
        index=idx,
    )


CLOSES = [10, 9, 8, 9, 11, 12, 11, 9, 8, 10]
OPENS = [10, 10, 9, 8, 9, 11.5, 12, 11, 8.5, 8]


def test_hand_computed_round_trip():
    # SMA2 / SMA3: cross up on bar 4 (10 > 9.33, 8.5 <= 8.67) -> buy at open of bar 5 (11.5);
    # cross down on bar 7 (10 < 10.67, 11.5 >= 11.33) -> sell at open of bar 8 (8.5).
    cfg = BacktestConfig(
        strategy="sma_cross", params={"fast": 2, "slow": 3}, cash=1000, fee=0.01, symbol="TEST/USD"
    )
    r = run_backtest(cfg, frame(OPENS, CLOSES))
    qty = (D(1000) / (D("11.5") * D("1.01"))).quantize(D("1e-8"), rounding=ROUND_DOWN)
    assert qty == D("86.09556607")
    buy_notional = qty * D("11.5")
    fee_in = (buy_notional * D("0.01")).quantize(D("1e-10"), rounding=ROUND_HALF_UP)
    sell_notional = qty * D("8.5")
    fee_out = (sell_notional * D("0.01")).quantize(D("1e-10"), rounding=ROUND_HALF_UP)
    final_cash = D(1000) - buy_notional - fee_in + sell_notional - fee_out

    assert list(r.trades.columns) == list(TRADE_COLUMNS)
    assert len(r.trades) == 1
    t = r.trades.iloc[0]
    assert t.side == "long" and not t.is_open
    assert t.entry_time == pd.Timestamp("2024-01-06", tz="UTC") and t.exit_time == pd.Timestamp(
        "2024-01-09", tz="UTC"
    )
    assert (t.entry_price, t.exit_price) == (11.5, 8.5)
    assert t.quantity == float(qty)
    assert t.fees == pytest.approx(float(fee_in + fee_out), abs=1e-12)
    assert t.pnl == pytest.approx(float(sell_notional - buy_notional - fee_in - fee_out), abs=1e-9)
    assert t.bars_held == 3
    assert t.return_pct == pytest.approx(t.pnl / (11.5 * float(qty)) * 100)

    eq = r.equity
    assert len(eq) == len(CLOSES) and eq.index.equals(frame(OPENS, CLOSES).index)
    assert (eq.iloc[:5] == 1000.0).all()  # flat until the fill at the open of bar 5
    cash_after_buy = float(D(1000) - buy_notional - fee_in)
    assert eq.iloc[5] == pytest.approx(cash_after_buy + float(qty) * 12, abs=1e-9)
    assert eq.iloc[-1] == pytest.approx(float(final_cash), abs=1e-9)

    assert list(r.orders.columns) == list(ORDER_COLUMNS)
    assert list(r.orders["client_order_id"]) == ["sma_cross-4-1", "sma_cross-7-1"]
    assert list(r.orders["status"]) == ["filled", "filled"]
    assert list(r.orders["price"]) == [11.5, 8.5]
    assert r.orders["ts"].iloc[0] == pd.Timestamp("2024-01-05", tz="UTC")


def test_open_position_marked_to_last_close_without_exit_fee():
    closes = [10, 9, 8, 9, 11, 12, 13]
    opens = [10, 10, 9, 8, 9, 11.5, 12]
    cfg = BacktestConfig(
        strategy="sma_cross", params={"fast": 2, "slow": 3}, cash=1000, fee=0.01, symbol="TEST/USD"
    )
    r = run_backtest(cfg, frame(opens, closes))
    assert len(r.trades) == 1
    t = r.trades.iloc[0]
    assert t.is_open and pd.isna(t.exit_time) and t.exit_price == 13.0
    qty = float((D(1000) / (D("11.5") * D("1.01"))).quantize(D("1e-8"), rounding=ROUND_DOWN))
    fee_in = qty * 11.5 * 0.01
    assert t.fees == pytest.approx(fee_in)
    assert t.pnl == pytest.approx(qty * (13 - 11.5) - fee_in)
    assert r.equity.iloc[-1] == pytest.approx(1000 - qty * 11.5 - fee_in + qty * 13)
    assert t.bars_held == 1


def test_signal_on_last_bar_is_not_filled():
    closes = [10, 9, 8, 9, 11]
    opens = [10, 10, 9, 8, 9]
    cfg = BacktestConfig(
        strategy="sma_cross", params={"fast": 2, "slow": 3}, cash=1000, fee=0.0, symbol="TEST/USD"
    )
    r = run_backtest(cfg, frame(opens, closes))
    assert r.trades.empty and list(r.trades.columns) == list(TRADE_COLUMNS)
    assert (r.equity == 1000.0).all()
    assert list(r.orders["status"]) == ["canceled"] and r.orders["reason"].iloc[0] == "end of data"


def reference_trades(df: pd.DataFrame, fast: int, slow: int, cash: float, fee: float) -> tuple[list, float]:
    """A direct pandas/numpy implementation of the sma_cross rules."""
    f = df["close"].rolling(fast).mean().to_numpy()
    s = df["close"].rolling(slow).mean().to_numpy()
    o = df["open"].to_numpy()
    trades, qty, entry, pending = [], 0.0, None, None
    for i in range(len(df)):
        if pending == "buy":
            qty = cash / (o[i] * (1 + fee))
            cash -= qty * o[i] * (1 + fee)
            entry = (df.index[i], o[i])
        elif pending == "sell":
            cash += qty * o[i] * (1 - fee)
            trades.append((entry[0], df.index[i], entry[1], o[i]))
            qty, entry = 0.0, None
        pending = None
        if i >= 1:
            if f[i] > s[i] and f[i - 1] <= s[i - 1] and qty == 0:
                pending = "buy"
            elif f[i] < s[i] and f[i - 1] >= s[i - 1] and qty > 0:
                pending = "sell"
    final = cash + qty * df["close"].iloc[-1]
    if entry is not None:
        trades.append((entry[0], pd.NaT, entry[1], df["close"].iloc[-1]))
    return trades, final


@pytest.mark.parametrize("fast,slow", [(10, 30), (5, 20)])
def test_goog_matches_pandas_reference(fast, slow):
    df = pd.read_csv(GOOG)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": fast, "slow": slow}, symbol="GOOG", fee=0.001)
    r = run_backtest(cfg, df)
    ref, final = reference_trades(df, fast, slow, 10_000.0, 0.001)
    assert len(r.trades) == len(ref) > 10
    got = list(
        zip(r.trades.entry_time, r.trades.exit_time, r.trades.entry_price, r.trades.exit_price, strict=True)
    )
    for (ge, gx, gep, gxp), (re_, rx, rep, rxp) in zip(got, ref, strict=True):
        assert ge == re_
        assert (pd.isna(gx) and pd.isna(rx)) or gx == rx
        assert gep == pytest.approx(rep, abs=1e-9) and gxp == pytest.approx(rxp, abs=1e-9)
    # quantities are rounded down to 1e-8 at each entry: the final equity agrees to a tiny relative error
    assert r.equity.iloc[-1] == pytest.approx(final, rel=1e-6)
    assert r.metrics == {} or "total_return_pct" in r.metrics
