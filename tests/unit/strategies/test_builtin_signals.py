"""Hand-made price paths where the exact signal bars are known: ema_cross, rsi_reversion, macd, bollinger,
momentum (roc + donchian, incl. no look-ahead) and vwap_flow. Market orders fill at the NEXT bar's open, so
every expected fill price below is `opens[signal_bar + 1]`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.indicators import registry


def frame(closes, opens=None, highs=None, lows=None, volume=1000.0, freq="1D", start="2024-01-01"):
    closes = np.asarray(closes, float)
    if opens is None:  # distinctive opens: previous close + 0.1 (the first: its close)
        opens = np.r_[closes[0], closes[:-1] + 0.1]
    opens = np.asarray(opens, float)
    highs = np.maximum(opens, closes) + 0.5 if highs is None else np.asarray(highs, float)
    lows = np.minimum(opens, closes) - 0.5 if lows is None else np.asarray(lows, float)
    vol = np.broadcast_to(np.asarray(volume, float), closes.shape).copy()
    idx = pd.date_range(start, periods=len(closes), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": opens, "high": highs, "low": lows, "close": closes, "volume": vol}, index=idx
    )


def run(name, df, params=None, *, margin=False, fee=0.0, cash=10_000.0, timeframe="1d"):
    cfg = BacktestConfig(
        strategy=name,
        params=params or {},
        symbol="TEST/USD",
        cash=cash,
        fee=fee,
        margin=margin,
        timeframe=timeframe,
    )
    return run_backtest(cfg, df)


def trips(result, df):
    """[(side, entry bar, entry price, exit bar or None, exit price or None)]"""
    idx = df.index
    out = []
    for t in result.trades.itertuples():
        eb = idx.get_loc(t.entry_time)
        xb = None if t.is_open else idx.get_loc(t.exit_time)
        out.append((t.side, eb, round(t.entry_price, 6), xb, None if t.is_open else round(t.exit_price, 6)))
    return out


# ---- ema_cross ----------------------------------------------------------------------------------------------
EMA_CLOSES = [10.0] * 10 + [12, 14, 16, 8, 6, 14, 15, 16]


def test_ema_cross_exact_bars():
    # fast=2 (alpha 2/3), slow=4 (alpha 0.4), both exactly 10 on the flat start.
    # bar 10: fast 11.333 > slow 10.8 (equal before): cross up -> buy at open of bar 11
    # bar 13: fast 10.346 < slow 11.389 (15.04 > 13.65 before): cross down -> sell at open of bar 14
    # bar 15: fast 11.816 > slow 11.140 (7.45 < 9.23 before): cross up -> buy at open of bar 16 (open at the end)
    df = frame(EMA_CLOSES)
    r = run("ema_cross", df, {"fast": 2, "slow": 4})
    o = df["open"].to_numpy()
    assert trips(r, df) == [("long", 11, o[11], 14, o[14]), ("long", 16, o[16], None, None)]


def test_ema_cross_short_side_with_margin():
    df = frame(EMA_CLOSES)
    r = run("ema_cross", df, {"fast": 2, "slow": 4, "allow_short": True}, margin=True)
    o = df["open"].to_numpy()
    assert trips(r, df) == [
        ("long", 11, o[11], 14, o[14]),
        ("short", 14, o[14], 16, o[16]),
        ("long", 16, o[16], None, None),
    ]
    short = r.trades.iloc[1]
    # short sized at 95 % of the equity at the signal close (bar 13), fee 0
    equity_13 = float(r.equity.iloc[13])
    assert short.quantity == pytest.approx(0.95 * equity_13 / 8.0, rel=1e-7)


def test_ema_cross_allow_short_without_margin_stays_long_only():
    df = frame(EMA_CLOSES)
    r = run("ema_cross", df, {"fast": 2, "slow": 4, "allow_short": True}, margin=False)
    assert set(r.trades["side"]) == {"long"} and len(r.trades) == 2
    assert r.events == []


# ---- rsi_reversion ------------------------------------------------------------------------------------------
RSI_CLOSES = [10, 11, 12, 13, 12, 11, 10, 9, 10, 11, 12, 13, 14]


def test_rsi_reversion_exact_bars():
    # Wilder RSI(2): bar 4 = 50, bar 5 = 25 (< 30: buy at open 6), 6 = 12.5, 7 = 6.25, 8 = 53.1, 9 = 76.6 (> 70:
    # sell at open 10)
    df = frame(RSI_CLOSES)
    rsi = registry.compute("rsi", df, period=2)["rsi"].to_numpy()
    assert rsi[4:10] == pytest.approx([50, 25, 12.5, 6.25, 53.125, 76.5625])
    o = df["open"].to_numpy()
    r = run("rsi_reversion", df, {"period": 2, "lower": 30, "upper": 70})
    assert trips(r, df) == [("long", 6, o[6], 10, o[10])]


def test_rsi_reversion_exit_level():
    df = frame(RSI_CLOSES)
    o = df["open"].to_numpy()
    r = run("rsi_reversion", df, {"period": 2, "lower": 30, "upper": 70, "exit_level": 50})
    assert trips(r, df) == [("long", 6, o[6], 9, o[9])]  # 53.1 > 50 on bar 8


# ---- macd ---------------------------------------------------------------------------------------------------
MACD_CLOSES = [20.0] * 12 + [19, 18, 17, 16, 15, 15.5, 16.5, 18, 19.5, 21, 21.5, 21, 20, 18.5, 17, 16, 16.5]


def macd_cross_bars(df, fast=3, slow=6, signal=3):
    h = registry.compute("macd", df, fast_period=fast, slow_period=slow, signal_period=signal)[
        "hist"
    ].to_numpy()
    ups = [i for i in range(1, len(h)) if h[i - 1] <= 0 < h[i]]
    downs = [i for i in range(1, len(h)) if h[i - 1] >= 0 > h[i]]
    return h, ups, downs


def test_macd_exact_bars():
    df = frame(MACD_CLOSES)
    h, ups, downs = macd_cross_bars(df)
    # the histogram turns up right after the V bottom (bar 16/17) and down after the top (bar 22/23)
    assert ups and 16 <= ups[0] <= 18 and downs and 22 <= downs[-1] <= 24
    o = df["open"].to_numpy()
    r = run("macd", df, {"fast": 3, "slow": 6, "signal": 3})
    entry = ups[0]
    exit_ = next(d for d in downs if d > entry)
    assert trips(r, df)[0] == ("long", entry + 1, o[entry + 1], exit_ + 1, o[exit_ + 1])
    assert len(r.trades) == 1


def test_macd_histogram_filter():
    df = frame(MACD_CLOSES)
    h, ups, _ = macd_cross_bars(df)
    closes = df["close"].to_numpy()
    # a threshold above every histogram/close ratio: never enters
    top = float(np.nanmax(h / closes)) * 100
    assert len(run("macd", df, {"fast": 3, "slow": 6, "signal": 3, "hist_min_pct": top * 1.01}).trades) == 0
    # a threshold between: enters on the first bar where hist crosses above thr% of the close
    thr = top / 2
    k = thr / 100
    first = next(i for i in range(1, len(h)) if h[i - 1] <= k * closes[i - 1] and h[i] > k * closes[i])
    assert first > ups[0]
    r = run("macd", df, {"fast": 3, "slow": 6, "signal": 3, "hist_min_pct": thr})
    assert trips(r, df)[0][1] == first + 1
    # zero-line filter: the MACD line is still below 0 at the first cross, so that entry is skipped
    m = registry.compute("macd", df, fast_period=3, slow_period=6, signal_period=3)["macd"].to_numpy()
    r0 = run("macd", df, {"fast": 3, "slow": 6, "signal": 3, "zero_line": True})
    assert all(m[e - 1] > 0 for e in [t[1] for t in trips(r0, df)])


# ---- bollinger ----------------------------------------------------------------------------------------------
def test_bollinger_mean_reversion_exact_bars():
    # period 3, 1 sd: bar 4 window [10, 10, 7]: mean 9, sd sqrt(2), lower 7.586 > 7 -> buy at open 5;
    # bar 5 window [10, 7, 8]: close 8 < mean 8.33 (hold); bar 6 window [7, 8, 9]: close 9 >= 8 -> sell at open 7
    df = frame([10, 10, 10, 10, 7, 8, 9, 9, 9])
    o = df["open"].to_numpy()
    r = run("bollinger", df, {"period": 3, "nbdev": 1.0})
    assert trips(r, df) == [("long", 5, o[5], 7, o[7])]


def test_bollinger_breakout_exact_bars():
    # bar 4 window [10, 10, 13]: mean 11, upper 12.414 < 13 -> buy at open 5; bar 5 [10, 13, 14] close 14 >= 12.33;
    # bar 6 [13, 14, 12]: close 12 < mean 13 -> sell at open 7
    df = frame([10, 10, 10, 10, 13, 14, 12, 9, 9])
    o = df["open"].to_numpy()
    r = run("bollinger", df, {"period": 3, "nbdev": 1.0, "mode": "breakout"})
    assert trips(r, df) == [("long", 5, o[5], 7, o[7])]


# ---- momentum -----------------------------------------------------------------------------------------------
def test_momentum_roc_exact_bars():
    # ROC(2): bar 4 = +6 % (> 5: buy at open 5), bar 5 = +8 %, bar 6 = +0.94 % (hold), bar 7 = -3.7 % (< 0: sell at 8)
    df = frame([100, 100, 100, 100, 106, 108, 107, 104, 104, 104])
    o = df["open"].to_numpy()
    r = run("momentum", df, {"mode": "roc", "roc_period": 2, "threshold": 5, "exit_threshold": 0})
    assert trips(r, df) == [("long", 5, o[5], 8, o[8])]


def test_momentum_donchian_exact_bars_uses_previous_bars_only():
    # entry channel 3 bars, exit channel 2 bars, both on PREVIOUS bars. Bar 5 closes at 11 > max(high[2..4]) =
    # 10.5 while its own high is 11.2 (a channel including bar 5 itself would never break) -> buy at open 6.
    # Bar 8 closes at 11.4 < min(low[6..7]) = 11.5 -> sell at open 9.
    closes = [10, 10, 10, 10, 10, 11, 12, 12.5, 11.4, 11.4]
    highs = [10.5, 10.5, 10.5, 10.5, 10.5, 11.2, 12.2, 12.7, 12.6, 11.6]
    lows = [9.5, 9.5, 9.5, 9.5, 9.5, 10.0, 11.5, 12.0, 11.3, 11.2]
    opens = [10, 10, 10, 10, 10, 10.1, 11.1, 12.1, 12.4, 11.3]
    df = frame(closes, opens, highs, lows)
    r = run("momentum", df, {"mode": "donchian", "entry_period": 3, "exit_period": 2})
    assert trips(r, df) == [("long", 6, 11.1, 9, 11.3)]


def signals(df, params):
    r = run("momentum", df, params, fee=0.001, timeframe="1h")
    o = r.orders
    return list(zip(o["ts"], o["side"], o["client_order_id"], strict=True))


def test_momentum_donchian_no_look_ahead(real_ohlcv):
    """Truncating the data after bar i never changes the orders submitted up to bar i."""
    df = real_ohlcv["btc_1h"].iloc[:1500]
    params = {"mode": "donchian", "entry_period": 20, "exit_period": 10}
    full = signals(df, params)
    assert len(full) > 20
    for i in (60, 250, 611, 900, 1234, 1499):
        cut = df.index[i]
        part = signals(df.iloc[: i + 1], params)
        assert part == [s for s in full if s[0] <= cut], f"look-ahead at bar {i}"


# ---- vwap_flow ----------------------------------------------------------------------------------------------
def vwap_frame(last_bar):
    # hourly bars within one UTC day; bar 2 dips under VWAP but closes near its high (CLV 0.92)
    rows = [
        (100.0, 101.0, 99.0, 100.0, 100.0),
        (100.0, 101.0, 99.0, 100.0, 100.0),
        (97.0, 97.5, 95.0, 97.4, 100.0),
        (97.5, 98.5, 97.3, 98.4, 100.0),
        last_bar,
        (99.0, 99.5, 98.5, 99.0, 100.0),
        (99.0, 99.5, 98.5, 99.0, 100.0),
    ]
    o, h, lo, c, v = map(np.asarray, zip(*rows, strict=True))
    return frame(c, o, h, lo, v, freq="1h", start="2024-03-04")


def test_vwap_flow_enters_on_pressure_under_vwap_and_exits_at_vwap():
    # bar 2: pressure = 0.92*100/300 = 0.307 > 0.25, VWAP 98.88 x 0.99 = 97.89 > 97.4 -> buy at open 3 (97.5)
    # bar 3: close 98.4 < VWAP 98.68 (hold); bar 4: close 99.5 >= VWAP 98.77 -> sell at open 5 (99.0)
    df = vwap_frame((98.4, 99.6, 98.3, 99.5, 100.0))
    r = run("vwap_flow", df, {"window": 3, "threshold": 0.25, "deviation_pct": 1.0}, timeframe="1h")
    assert trips(r, df) == [("long", 3, 97.5, 5, 99.0)]


def test_vwap_flow_exits_when_pressure_turns_negative():
    # bar 4 closes at its low on heavy volume: still under VWAP, but pressure < 0 -> sell at open 5
    df = vwap_frame((98.4, 98.5, 97.0, 97.0, 1000.0))
    r = run("vwap_flow", df, {"window": 3, "threshold": 0.25, "deviation_pct": 1.0}, timeframe="1h")
    assert trips(r, df) == [("long", 3, 97.5, 5, 99.0)]
    # with a stricter threshold the entry never happens
    r2 = run("vwap_flow", df, {"window": 3, "threshold": 0.35, "deviation_pct": 1.0}, timeframe="1h")
    assert len(r2.trades) == 0


@pytest.mark.parametrize("session", ["1d", "1w", "none"])
def test_vwap_flow_vwap_matches_catalog_vwap(real_ohlcv, session):
    """The strategy's own session VWAP equals the catalog's vwap kernel (given the timestamps)."""
    from quantdesk.strategies.vwap_flow import VwapFlow

    df = real_ohlcv["btc_1h"].iloc[:3000]

    class Probe(VwapFlow):
        def on_start(self):
            super().on_start()
            self.seen = []

        def on_bar(self, bar):
            super().on_bar(bar)
            self.seen.append(self.vwap)

    probe = Probe({"session": session})
    run_backtest(BacktestConfig(strategy="vwap_flow", symbol="TEST/USD"), df, strategy=probe)
    # int ns: a datetime64[us] 'timestamp' column would be read as microseconds by the kernel
    with_ts = df.assign(timestamp=df.index.as_unit("ns").asi8)
    ref = registry.compute("vwap", with_ts, session=session)["vwap"].to_numpy()
    np.testing.assert_allclose(np.asarray(probe.seen), ref, rtol=1e-9, equal_nan=True)
