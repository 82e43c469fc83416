"""Feed health checks on hand-made bars, and whale trades planted in a synthetic trade stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.intel.anomalies.health import FeedHealth, health_checks
from quantdesk.intel.anomalies.whales import WhaleWatcher, detect_whales, read_trades

MIN = 60 * 10**9


def _bars(closes, times=None, volume=None) -> pd.DataFrame:
    c = np.asarray(closes, dtype=float)
    idx = pd.DatetimeIndex(times if times is not None else pd.date_range("2024-01-01", periods=len(c), freq="1min",
                                                                          tz="UTC"))
    o = np.r_[c[0], c[:-1]]
    return pd.DataFrame({"open": o, "high": np.maximum(o, c) + 0.5, "low": np.minimum(o, c) - 0.5, "close": c,
                         "volume": np.ones(len(c)) if volume is None else volume}, index=idx)


def test_gap_zero_volume_stale_and_jump() -> None:
    c = 100 + np.sin(np.arange(40) / 3.0)
    df = _bars(c, volume=np.r_[np.ones(20), 0.0, np.ones(19)])
    # a frozen feed: bars 25..29 = previous close, no range
    for k in range(25, 30):
        df.iloc[k, :4] = df["close"].iat[24]
    df.iloc[35, 3] = df["close"].iat[34] + 30.0  # a jump of ~30 ATRs (true range ~1.1)
    df.iloc[35, 1] = df.iloc[35, 3]
    df = df.drop(index=df.index[[10, 11]])  # two missing minutes before the old bar 12
    found = health_checks(df, MIN)
    by_bar = {df.index[i]: dict(f) for i, f in enumerate(found) if f}
    ts = pd.Timestamp("2024-01-01", tz="UTC")
    assert by_bar[ts + pd.Timedelta(minutes=12)] == {"gap": 2.0}
    assert by_bar[ts + pd.Timedelta(minutes=20)] == {"zero_volume": 1.0}
    stale = sorted(t for t, f in by_bar.items() if "stale" in f)
    assert stale == [ts + pd.Timedelta(minutes=m) for m in (27, 28, 29)]  # from the 3rd frozen bar on
    assert by_bar[ts + pd.Timedelta(minutes=29)]["stale"] == 5.0
    jump = by_bar[ts + pd.Timedelta(minutes=35)]["price_jump"]
    assert jump > 25.0  # a 30-point move against a true range of ~1.1
    # the next bar falls back 30 points: a jump too, measured against the ATR the spike itself inflated
    assert 8.0 < by_bar[ts + pd.Timedelta(minutes=36)]["price_jump"] < jump
    assert len(by_bar) == 7, by_bar


def test_candle_outside_the_order_book() -> None:
    fh = FeedHealth(MIN, book_tolerance=0.0)
    assert fh.update(0, 100, 101, 99, 100.5, 5, book=(100.4, 100.6)) == []
    found = fh.update(MIN, 100.5, 103, 100, 102.0, 5, book=(100.4, 100.6))
    assert found == [("outside_book", pytest.approx((102.0 - 100.6) / 0.2))]


def test_whales_far_beyond_the_size_distribution(tmp_path) -> None:
    rng = np.random.default_rng(9)
    n = 5000
    amount = np.exp(rng.normal(-2.0, 0.8, n))
    price = 30_000 + np.cumsum(rng.normal(0, 5, n))
    planted = np.sort(rng.choice(np.arange(600, n), size=15, replace=False))
    amount[planted] *= 400.0  # ~ +6 log units: far beyond the rolling distribution
    side = np.where(rng.random(n) < 0.5, "buy", "sell")
    ts = pd.date_range("2024-03-01", periods=n, freq="250ms", tz="UTC")
    trades = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "price": price, "size": amount,
                           "side": side})
    path = tmp_path / "trades.csv"
    trades.to_csv(path, index=False)
    found = detect_whales(read_trades(path), window=500, z=6.0)
    got = set(found["timestamp"])
    want = set(ts[planted])
    assert len(got & want) >= 14 and len(got - want) <= 1, (len(got & want), len(got - want))
    row = found[found["timestamp"] == ts[planted[0]]].iloc[0]
    assert row["side"] == side[planted[0]]
    assert row["notional"] == pytest.approx(price[planted[0]] * amount[planted[0]])


def test_whale_watcher_min_notional_and_bad_parameters() -> None:
    w = WhaleWatcher(window=10, z=3.0, min_notional=1e9)
    for _ in range(20):
        w.update(100.0, 1.0 + 0.01 * _)
    assert w.update(100.0, 1e4) is None  # far beyond, but below min_notional
    with pytest.raises(Exception, match="window"):
        WhaleWatcher(window=2)
