"""The replayed tape on real candles: closed candles equal the file's text exactly, forming candles equal the
aggregate of the trades replayed so far (an independent pandas computation of the documented path), and the
simulated clock drives it."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.adapters.simulator.clock import SimClock
from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.engine import Exchange
from quantdesk.adapters.simulator.tape import build_tape, decimals_needed, load_frame
from quantdesk.core.errors import DataError, ParameterError

DATA = Path(__file__).resolve().parents[2] / "data" / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """Rows 17,500-17,800 of the real 1m file (they include the file's only prices in 0.125 steps)."""
    lines = DATA.read_text().splitlines()
    path = tmp_path_factory.mktemp("tape") / "btc_1m.csv"
    path.write_text("\n".join([lines[0], *lines[17_500:17_800]]) + "\n")
    return path


def test_closed_candles_are_the_files_text_and_forming_candles_the_replayed_trades(sample):
    text = pd.read_csv(sample, dtype=str)
    cfg = SimConfig(data=sample, min_notional=D(0)).validated()
    tape = build_tape(load_frame(sample, "BTC/USDT", "1m"), 60_000, None, str(sample))
    assert tape.tick_size == D("0.001")  # the file has prices like 43613.875
    ex = Exchange(cfg, tape, int(tape.open_ms[0]))
    # the documented path, computed independently: open, low, high, close for rising candles, else open, high,
    # low, close; a quarter of the volume each
    o, h, lo, c = (text[k].map(D) for k in ("open", "high", "low", "close"))
    rising = c >= o
    paths = [(o[i], lo[i], h[i], c[i]) if rising[i] else (o[i], h[i], lo[i], c[i]) for i in range(len(text))]
    for i in range(0, 60):
        for k in range(4):
            ex.advance_to(int(tape.open_ms[i]) + k * 15_000)
            po, ph, pl, pc, _vol, trades, closed = ex.kline(i)
            seen = paths[i][: k + 1]
            assert not closed and trades == k + 1
            assert (tape.price(po), tape.price(ph), tape.price(pl), tape.price(pc)) == (
                seen[0], max(seen), min(seen), seen[-1])
    ex.advance_to(int(tape.open_ms[-1]) + 60_000)
    assert ex.finished
    for i in range(len(text)):
        po, ph, pl, pc, vol, _trades, closed = ex.kline(i)
        assert closed
        assert [tape.price(x) for x in (po, ph, pl, pc)] == [o[i], h[i], lo[i], c[i]]
        assert vol == D(text["volume"][i])
        assert sum(tape.tick_volume(i, k) for k in range(4)) == D(text["volume"][i])


def test_events_are_replayed_in_time_order_with_close_before_the_next_open(sample):
    from quantdesk.adapters.simulator.model import KlineEvent, TradeEvent

    cfg = SimConfig(data=sample).validated()
    tape = build_tape(load_frame(sample, "BTC/USDT", "1m"), 60_000, None, "x")
    ex = Exchange(cfg, tape, int(tape.open_ms[5]))
    events = ex.advance_to(int(tape.open_ms[8]))
    times = [e.time for e in events]
    assert times == sorted(times)
    kinds = [("close" if e.closed else "k") if isinstance(e, KlineEvent) else "t" for e in events
             if isinstance(e, (KlineEvent, TradeEvent))]
    assert kinds[-3:] == ["close", "t", "k"]  # candle 7 closes, then candle 8's first trade at the same time
    assert sum(1 for e in events if isinstance(e, TradeEvent)) == 3 * 4  # candles 5 (3 more), 6, 7, 8 (1)


def test_start_and_tick_size_checks(sample):
    frame = load_frame(sample, "BTC/USDT", "1m")
    with pytest.raises(ParameterError, match="tick_size 0.01: .* off that grid"):
        build_tape(frame, 60_000, D("0.01"), "the file")
    tape = build_tape(frame, 60_000, None, "the file")
    assert tape.start_ms("2022-01-13T03:00:30Z") == int(tape.open_ms[tape.candle_at(
        int(pd.Timestamp("2022-01-13T03:00:30Z").value // 1_000_000)) + 1])
    with pytest.raises(ParameterError, match="after the last candle"):
        tape.start_ms("2030-01-01")
    with pytest.raises(DataError, match="no such file"):
        load_frame(sample.parent / "missing.csv", "BTC/USDT", "1m")
    with pytest.raises(DataError, match="not usable as 5m candles"):
        load_frame(sample, "BTC/USDT", "5m")


def test_decimals_needed():
    assert decimals_needed(np.array([46319.0, 46385.0])) == 0
    assert decimals_needed(np.array([43613.875, 1.5])) == 3
    assert decimals_needed(np.array([0.00012345, 0.1])) == 8
    assert decimals_needed(np.array([0.1 + 0.2])) == 1  # 0.30000000000000004 is 0.3


def test_clock_speed_manual_jumps_and_never_goes_back(monkeypatch):
    import quantdesk.adapters.simulator.clock as clock_mod

    wall = {"t": 100.0}
    monkeypatch.setattr(clock_mod.time, "monotonic", lambda: wall["t"])
    clock = SimClock(1_000_000, 60)
    wall["t"] += 2.5
    assert clock.now_ms() == 1_000_000 + 150_000  # 2.5 s x 60
    assert clock.wall_seconds_until(1_000_000 + 210_000) == pytest.approx(1.0)
    clock.set_speed(0)
    wall["t"] += 10
    assert clock.now_ms() == 1_150_000 and clock.wall_seconds_until(2_000_000) is None
    assert clock.jump_to(1_100_000) == 1_150_000  # not back
    assert clock.jump_to(1_200_000) == 1_200_000
    clock.set_speed(1)
    wall["t"] += 1
    assert clock.now_ms() == 1_201_000
