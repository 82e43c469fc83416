"""pairs: exact entry/exit on a hand-made pair, sizing, no look-ahead in the z-score, long-only without margin,
and the real ETH/BTC-LTC/BTC pair aligned on common timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.pairs import run_pairs
from quantdesk.strategies.pairs import Pairs, next_state, pair_zscore, window_zscore

MULTI = Path(__file__).parents[2] / "data" / "multi_5m_2018-01"
P = {"lookback": 5, "entry_z": 1.5, "exit_z": 0.5, "hedge": "fixed"}
A = [100, 101, 100, 101, 100, 101, 100, 110, 108, 104, 101, 100, 101, 100]
B = [50.0] * len(A)


def mk(closes, start="2024-01-01"):
    c = np.asarray(closes, float)
    o = c + 0.05
    idx = pd.date_range(start, periods=len(c), freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": o, "high": np.maximum(o, c) + 0.1, "low": np.minimum(o, c) - 0.1, "close": c, "volume": 1.0},
        index=idx,
    )


def read(coin):
    df = pd.read_csv(MULTI / f"{coin}-BTC_5m.csv")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64")


def test_zscore_by_hand():
    # last 5 log(A/B) values: 101, 100, 101, 100, 110 (B constant): one outlier among 5 gives z = 1.985
    y = np.log(np.array([101, 100, 101, 100, 110.0]))
    x = np.log(np.full(5, 50.0))
    e = (y - x) - (y - x).mean()
    z, beta = window_zscore(y, x, "fixed")
    assert beta == 1.0 and z == pytest.approx(e[-1] / e.std()) and z == pytest.approx(1.985, abs=1e-3)
    zs = pair_zscore(mk(A)["close"], mk(B)["close"], 5, "fixed")["z"].to_numpy()
    assert np.isnan(zs[:4]).all() and zs[7] == pytest.approx(z)


def test_rolling_hedge_recovers_beta():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 0.01, 300))
    y = 0.3 + 1.7 * x + rng.normal(0, 1e-4, 300)
    z, beta = window_zscore(y[-100:], x[-100:], "rolling")
    assert beta == pytest.approx(1.7, abs=0.01) and abs(z) < 5


def test_state_machine():
    assert next_state(0, 2.1, 2, 0.5) == -1 and next_state(0, -2.1, 2, 0.5) == 1
    assert next_state(-1, 1.0, 2, 0.5) == -1 and next_state(-1, 0.4, 2, 0.5) == 0
    assert next_state(-1, -2.5, 2, 0.5) == 1  # flip
    assert next_state(1, float("nan"), 2, 0.5) == 1


def test_exact_entry_and_exit_bars_and_sizes():
    # z: bar 7 = 1.985 > 1.5 -> short A / long B at the open of bar 8; bar 8 = 0.985 (hold);
    # bar 9 = -0.137 (|z| < 0.5) -> close both at the open of bar 10
    s = Pairs(P)
    r = run_pairs(mk(A), mk(B), P, symbols=("A/USD", "B/USD"), fee=0.0, strategy=s)
    t = r.trades.set_index("symbol")
    idx = mk(A).index
    assert t.loc["A/USD", "side"] == "short" and t.loc["B/USD", "side"] == "long"
    for sym in ("A/USD", "B/USD"):
        assert idx.get_loc(t.loc[sym, "entry_time"]) == 8 and idx.get_loc(t.loc[sym, "exit_time"]) == 10
    assert t.loc["A/USD", "entry_price"] == 108.05 and t.loc["A/USD", "exit_price"] == 101.05
    assert t.loc["B/USD", "entry_price"] == 50.05
    # each leg 45 % of the equity (10 000) at the signal close
    assert t.loc["A/USD", "quantity"] == pytest.approx(4500 / 110, abs=1e-8)
    assert t.loc["B/USD", "quantity"] == pytest.approx(4500 / 50, abs=1e-8)
    assert float(r.equity.iloc[-1]) == pytest.approx(10_000 + (108.05 - 101.05) * t.loc["A/USD", "quantity"])
    assert [h[2] for h in s.history] == [0, 0, 0, -1, -1, 0, 0, 0, 0, 0]


def test_without_margin_only_the_long_leg_trades():
    r = run_pairs(mk(A), mk(B), P, symbols=("A/USD", "B/USD"), fee=0.0, margin=False)
    assert list(r.trades["symbol"]) == ["B/USD"] and list(r.trades["side"]) == ["long"]
    assert r.events == []


def test_signals_only_on_common_bars():
    # B misses bar 7 (the spike bar): no signal there; the next common bar (8) has z = 1.977 -> enter at bar 9
    b = mk(B).drop(mk(B).index[7])
    s = Pairs(P)
    r = run_pairs(mk(A), b, P, symbols=("A/USD", "B/USD"), fee=0.0, strategy=s)
    idx = mk(A).index
    assert len(s.history) == len(b) - 4
    assert idx[7].value not in [h[0] for h in s.history]
    assert set(r.trades["entry_time"]) == {idx[9]}


def test_zscore_has_no_look_ahead():
    a, b = read("ETH")["close"], read("LTC")["close"]
    full = pair_zscore(a, b, 100)
    for i in (150, 777, 3000, 5000):
        cut = full.index[i]
        part = pair_zscore(a[a.index <= cut], b[b.index <= cut], 100)
        pd.testing.assert_frame_equal(part, full.iloc[: i + 1])


def test_real_eth_ltc_pair():
    eth, ltc = read("ETH"), read("LTC")
    s = Pairs()
    r = run_pairs(eth, ltc, symbols=("ETH/BTC", "LTC/BTC"), cash=1.0, timeframe="5m", strategy=s)
    assert r.events == [] and len(r.trades) >= 20
    # the strategy's own z (bar by bar) equals the vectorised causal z on the common timestamps
    z = pair_zscore(eth["close"], ltc["close"], 100)["z"].dropna()
    got = pd.Series([h[1] for h in s.history], index=pd.to_datetime([h[0] for h in s.history], utc=True))
    np.testing.assert_allclose(got.to_numpy(), z.reindex(got.index).to_numpy(), rtol=1e-9, atol=1e-12)
    # every spread trade: opposite sides opened at the same time
    by_time = r.trades.groupby("entry_time")
    assert all(sorted(g["side"]) == ["long", "short"] for _, g in by_time if len(g) == 2)
    assert float(r.trades["pnl"].sum()) == pytest.approx(float(r.equity.iloc[-1]) - 1.0, rel=1e-7)
