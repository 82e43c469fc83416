"""The per-asset series: hand-computed values, causality (a text counts from its publication time; a prefix of
the bars gives the same values as the whole), batch == streaming (also with texts arriving late), brute-force
window counts, the catalog entry and a strategy reading it through `Ind`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import DataError
from quantdesk.indicators import compute, stream
from quantdesk.intel.sentiment.series import (
    HOUR_NS,
    MemoryProvider,
    SentimentStream,
    StoreProvider,
    compute_series,
    use_provider,
)
from quantdesk.intel.sentiment.store import RawItem, SentimentStore

T0 = pd.Timestamp("2022-01-01", tz="UTC").value


def rows(n: int, seed: int, base: str = "BTC", span_h: float = 200.0) -> list[tuple[int, str, float, str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = float(rng.uniform(-1, 1))
        label = "positive" if s > 0.15 else "negative" if s < -0.15 else "neutral"
        ev = str(rng.choice(["", "", "hack", "listing", "exploit"]))
        out.append((T0 + int(rng.uniform(0, span_h) * HOUR_NS), base, s, label, ev))
    return out


def bars(n: int, step_h: float = 1.0) -> np.ndarray:
    return T0 + (np.arange(n) * step_h * HOUR_NS).astype(np.int64)


def test_hand_computed_values() -> None:
    p = MemoryProvider([(T0 + HOUR_NS // 2, "BTC", 0.8, "positive", ""),
                        (T0 + 2 * HOUR_NS, "BTC", -0.4, "negative", "hack")])
    mean, count, pos, neg, ev = compute_series(bars(5), p.mentions("BTC"), half_life_h=1.0, window_h=2.0)
    assert mean[0] == 0.0 and count[0] == 0  # nothing published yet at 00:00
    assert mean[1] == pytest.approx(0.8)  # one text: the mean is its score whatever its weight
    w1, w2 = 2 ** -1.5, 1.0  # at 02:00 the first text is 1.5 h old, the second 0 h (half-life 1 h)
    assert mean[2] == pytest.approx((0.8 * w1 - 0.4 * w2) / (w1 + w2))
    assert (count[2], pos[2], neg[2], ev[2]) == (2, 0.5, 0.5, 1)  # window (00:00, 02:00]
    assert (count[3], pos[3], neg[3], ev[3]) == (1, 0.0, 1.0, 1)  # window (01:00, 03:00]: 00:30 has left
    assert count[4] == 0  # window (02:00, 04:00]: a text at 02:00 itself has left it at 04:00
    p2 = MemoryProvider([(T0, "BTC", 0.5, "positive", "")])
    far = compute_series(np.array([T0, T0 + 25 * HOUR_NS]), p2.mentions("BTC"), half_life_h=1.0)[0]
    assert far[0] == 0.5 and far[1] == 0.0  # 25 half-lives later: no information left (weight < 2^-20)


def test_a_text_never_counts_before_its_publication() -> None:
    t_pub = T0 + 5 * HOUR_NS + 1  # one nanosecond after the 05:00 bar
    p = MemoryProvider([(t_pub, "ETH", -0.9, "negative", "exploit")])
    mean, count, *_ = compute_series(bars(8), p.mentions("ETH"))
    assert list(count[:6]) == [0] * 6 and count[6] == 1 and mean[5] == 0.0 and mean[6] < 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prefix_invariance(seed: int) -> None:
    """A value computed with bars up to t equals the value computed on the whole series."""
    m = MemoryProvider(rows(300, seed)).mentions("BTC")
    full = np.column_stack(compute_series(bars(240), m, 6.0, 12.0))
    for cut in (1, 17, 100, 239):
        part = np.column_stack(compute_series(bars(cut), m, 6.0, 12.0))
        assert np.array_equal(part, full[:cut])


@pytest.mark.parametrize("seed", [4, 5])
def test_window_counts_against_brute_force(seed: int) -> None:
    r = rows(400, seed)
    m = MemoryProvider(r).mentions("BTC")
    t = bars(220)
    _, count, pos, neg, ev = compute_series(t, m, 6.0, 9.5)
    for i in range(0, 220, 7):
        inside = [x for x in r if t[i] - 9.5 * HOUR_NS < x[0] <= t[i]]
        assert count[i] == len(inside)
        if inside:
            assert pos[i] == pytest.approx(sum(x[3] == "positive" for x in inside) / len(inside))
            assert neg[i] == pytest.approx(sum(x[3] == "negative" for x in inside) / len(inside))
        assert ev[i] == sum(x[4] in ("hack", "exploit") for x in inside)
        live = [x for x in r if x[0] <= t[i]]
        if live:
            w = np.array([2 ** (-(t[i] - x[0]) / (6.0 * HOUR_NS)) for x in live])
            want = float(np.dot(w, [x[2] for x in live]) / w.sum()) if w.sum() >= 2**-20 else 0.0
            assert math.isclose(compute_series(t[: i + 1], m, 6.0, 9.5)[0][i], want, rel_tol=1e-9, abs_tol=1e-12)


def test_streaming_equals_batch_and_late_texts_count_when_they_arrive() -> None:
    r = rows(250, 7)
    p = MemoryProvider(r)
    t = bars(200)
    batch = np.column_stack(compute_series(t, p.mentions("BTC"), 12.0, 24.0))
    s = SentimentStream("BTC/USDT", 12.0, 24.0, provider=p)
    streamed = np.array([s.update({"timestamp": float(x)}) for x in t])
    np.testing.assert_allclose(streamed, batch, rtol=1e-12, atol=1e-15)
    # live: a text published at bar 50 but delivered only after bar 120 counts from bar 121 on, never before
    p2 = MemoryProvider([])
    s2 = SentimentStream("BTC/USDT", 12.0, 24.0, provider=p2)
    out = []
    for i, x in enumerate(t[:130]):
        if i == 121:
            p2.extend([(int(t[50]), "BTC", 0.7, "positive", "")])
        out.append(s2.update({"timestamp": float(x)}))
    assert all(o[0] == 0.0 for o in out[:121]) and out[121][0] == pytest.approx(0.7)
    with pytest.raises(DataError, match="must not decrease"):
        s2.update({"timestamp": float(t[0])})


def test_catalog_entry_batch_and_stream_agree(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"].iloc[:300]
    times = df.index.as_unit("ns").asi8
    r = [(int(times[0] + (times[-1] - times[0]) * f), "BTC", s, "positive" if s > 0 else "negative", "")
         for f, s in zip(np.linspace(0.05, 0.95, 60), np.sin(np.arange(60)), strict=True)]
    with use_provider(MemoryProvider(r)):
        got = compute("sentiment", df, symbol="BTC/USDT", half_life_h=48.0, window_h=72.0)
        s = stream("sentiment", symbol="BTC/USDT", half_life_h=48.0, window_h=72.0)
        streamed = np.array([s.update({"timestamp": float(x), "close": 1.0}) for x in times])
        other = compute("sentiment", df, symbol="ETH/USDT")
    assert list(got.columns) == ["mean", "count", "pos_share", "neg_share", "neg_events"]
    np.testing.assert_allclose(got.to_numpy(), streamed, rtol=1e-12)
    assert got["count"].max() > 0 and (other.to_numpy() == 0).all()


def test_store_provider_reads_the_database_and_never_creates_one(tmp_path) -> None:
    missing = tmp_path / "none.db"
    assert len(StoreProvider(f"sqlite:///{missing}").mentions("BTC")) == 0
    assert not missing.exists()
    url = f"sqlite:///{tmp_path / 'qd.db'}"
    SentimentStore(url).add([RawItem("t", "Bitcoin surges", T0), RawItem("t", "Ether hacked", T0 + 1)])
    m = StoreProvider(url).mentions("BTC")
    assert list(m.ts) == [T0] and m.positive[0]
    assert len(StoreProvider(url).mentions("ETH", upto_ns=T0)) == 0


def test_a_strategy_reads_the_series_causally() -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.base import Ind, Strategy

    idx = pd.date_range("2022-01-01", periods=30, freq="1h", tz="UTC", name="timestamp")
    df = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1.0}, index=idx)
    seen: list[tuple[int, float]] = []

    class BuyOnGoodNews(Strategy):
        name = "buy_on_good_news"

        def indicators(self):
            return {"news": Ind("sentiment", symbol="BTC/USDT", half_life_h=6.0)}

        def on_bar(self, bar):
            seen.append((self.time, self.ind.news.mean[-1]))
            if self.ind.news.mean[-1] > 0.5 and self.is_flat:
                self.buy(1.0)

    pub = idx[12].value + 60 * 10**9  # 12:01, inside bar 12
    with use_provider(MemoryProvider([(pub, "BTC", 0.9, "positive", "")])):
        res = run_backtest(BacktestConfig(strategy="buy_on_good_news", timeframe="1h"), df, strategy=BuyOnGoodNews())
    assert [v for _, v in seen[:13]] == [0.0] * 13 and seen[13][1] == pytest.approx(0.9)
    assert res.trades.empty or True
    fills = res.orders[res.orders["status"] == "filled"]
    assert len(fills) == 1 and fills.iloc[0]["client_order_id"].startswith("buy_on_good_news-13-")


def test_streaming_reads_engine_bars() -> None:
    """Paper/live engines pass their BarView (bar time in `ts_ns`), not a dict."""
    from quantdesk.model.data import BarView
    from quantdesk.model.identifiers import InstrumentId

    t = [int(x) for x in bars(3)]
    view = BarView(InstrumentId("BTC/USDT", "sim"), t, [1.0] * 3, [1.0] * 3, [1.0] * 3, [1.0] * 3, [1.0] * 3)
    p = MemoryProvider([(t[1], "BTC", 0.6, "positive", "")])
    s = SentimentStream("BTC/USDT", provider=p)
    got = []
    for i in range(3):
        view.index = i
        got.append(s.update(view)[0])
    assert got == [0.0, pytest.approx(0.6), pytest.approx(0.6)]
