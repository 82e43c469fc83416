"""dca: the ladder (levels and sizes), the rolling 24 h buy cap and the trailing take-profit, by hand and on real
data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.strategies.dca import Dca

HOUR = pd.Timedelta(hours=1)


class Recorder(Dca):
    def on_start(self):
        super().on_start()
        self.fills = []

    def on_fill(self, event):
        self.fills.append((event.ts_event, event.side.value, float(event.price), float(event.quantity)))
        super().on_fill(event)


def hourly(closes):
    closes = np.asarray(closes, float)
    opens = np.r_[closes[0], closes[:-1]]  # gapless: a fill at the next open = the signal close
    idx = pd.date_range("2024-01-01", periods=len(closes), freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + 0.1,
            "low": np.minimum(opens, closes) - 0.1,
            "close": closes,
            "volume": 1.0,
        },
        index=idx,
    )


# ref 100; levels 2/4/8/16 % -> 98, 96, 92, 84; sizes 1000 x 1.5^k; cap 2 buys per 24 h
CLOSES = [100, 99, 97.9] + [95.5] * 22 + [91, 91, 95, 98, 100, 99.5, 98.9, 99.0]


def test_ladder_cap_and_trailing_take_profit_by_hand():
    df = hourly(CLOSES)
    s = Recorder({"base_order": 1000, "max_buys_per_24h": 2, "tp_activate_pct": 3.0, "trail_pct": 1.0})
    r = run_backtest(BacktestConfig(strategy="dca", cash=100_000, fee=0.0, symbol="T/USD"), df, strategy=s)
    bar = {ts: i for i, ts in enumerate(df.index.as_unit("ns").asi8)}
    fills = [(bar[t], side, price, qty) for t, side, price, qty in s.fills]
    # base: signal bar 0 -> fill bar 1 at 100 (reference)
    # level 1 (98): close 97.9 on bar 2 -> fill bar 3
    # level 2 (96): reached on bar 3 (95.5) but bars 0 and 2 already used the 24 h cap; bar 0 leaves the window
    #               at bar 24 -> fill bar 25
    # level 3 (92): reached on bar 25 (91); the window (bar 2, bar 24) is full until bar 26 -> fill bar 27
    # trail: avg entry 94.51, activates at 97.35 (bar 28: 98), peak 100 (bar 29), 99.5 > 99 holds (bar 30),
    #        98.9 <= 99 on bar 31 -> sell at the open of bar 32
    assert [(b, side, price) for b, side, price, _ in fills] == [
        (1, "buy", 100.0),
        (3, "buy", 97.9),
        (25, "buy", 95.5),
        (27, "buy", 91.0),
        (32, "sell", 98.9),
    ]
    notionals = [price * qty for _, side, price, qty in fills if side == "buy"]
    assert notionals == pytest.approx([1000, 1500, 2250, 3375], abs=1e-5)  # qty rounded down to 1e-8
    qty = sum(q for _, side, _, q in fills if side == "buy")
    avg = sum(notionals) / qty
    assert avg == pytest.approx(94.5098, abs=1e-4)
    assert fills[-1][3] == pytest.approx(qty)  # the whole position
    assert len(r.trades) == 1 and not r.trades.iloc[0].is_open
    assert r.trades.iloc[0].pnl == pytest.approx(qty * 98.9 - sum(notionals), abs=1e-6)
    # after the exit on bar 32 the cap (bars 24 and 26 in the window) delays the next base order
    assert len(r.orders) == 5


def test_deepest_level_only_once_and_no_more_levels():
    # a crash through every level: exactly 1 + 4 buys (the cap is not binding), one per bar, then nothing
    closes = [100, 97, 95, 91, 83, 70, 60, 50, 50, 50]
    s = Recorder({"base_order": 100, "max_buys_per_24h": 100})
    run_backtest(
        BacktestConfig(strategy="dca", cash=100_000, fee=0.0, symbol="T/USD"), hourly(closes), strategy=s
    )
    buys = [f for f in s.fills if f[1] == "buy"]
    assert [round(p, 6) for _, _, p, _ in buys] == [100, 97, 95, 91, 83]
    assert [p * q for _, _, p, q in buys] == pytest.approx([100, 150, 225, 337.5, 506.25], abs=1e-5)


def test_cap_and_ladder_on_real_data(real_ohlcv):
    df = real_ohlcv["btc_1h"]
    params = {"first_level_pct": 1.0, "level_scale": 1.6, "max_levels": 6, "max_buys_per_24h": 2}
    s = Dca(params)
    r = run_backtest(BacktestConfig(strategy="dca", params=params, symbol="BTC/USD"), df, strategy=s)
    buys = [o for o in s.engine.orders if o.side.value == "buy"]
    assert len(buys) > 50
    times = np.array([o.ts_init for o in buys], dtype=np.int64)
    day = 86_400 * 10**9
    in_window = np.searchsorted(times, times, side="right") - np.searchsorted(
        times, times - day, side="right"
    )
    assert in_window.max() == 2  # the cap binds and is never exceeded
    levels = Dca.levels_of(s.p)
    close = df["close"]
    ts_index = df.index.as_unit("ns").asi8
    cycle_base = None
    seen_levels = 0
    for o in buys:
        tag = o.tags[0]
        if tag == "dca_base":
            cycle_base, seen_levels, ref = o, 0, None
            if o.filled_qty > 0:
                ref = float(o.avg_price)
            continue
        k = int(tag.rsplit("_", 1)[1])
        assert k == seen_levels + 1  # levels in order, each once per cycle
        seen_levels = k
        # size: base x 1.5^k (unless capped by the remaining cash)
        ratio = float(o.notional) / float(cycle_base.notional)
        assert (
            ratio == pytest.approx(1.5**k, rel=1e-9)
            or float(o.notional) < float(cycle_base.notional) * 1.5**k
        )
        # trigger: the signal close is at or below ref x (1 - level)
        signal_close = close.iloc[int(np.searchsorted(ts_index, o.ts_init))]
        assert signal_close <= ref * (1 - levels[k - 1] / 100) + 1e-9
    assert r.events == []
