"""Compat mode = the original trainer: its golden output reproduced exactly, each defect behind a flag."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantdesk.intel.powertrader.candles import Candles, read_candle_dir
from quantdesk.intel.powertrader.compat import (
    CompatConfig,
    CompatFlags,
    distances,
    next_threshold,
    prepare_series,
    train_compat,
)
from quantdesk.intel.powertrader.memory_io import MemoryBank, parse_memories, read_bank, write_bank
from quantdesk.intel.powertrader.timeframes import TIMEFRAMES

DATA = Path(__file__).parents[3] / "data" / "powertrader"
GOLDEN = DATA / "golden"
NUMBER = r"-?\d+\.\d+(?:e-?\d+)?"
MEMORY_RE = re.compile(rf"^{NUMBER} {NUMBER}\{{\}}{NUMBER}\{{\}}{NUMBER}$")


@pytest.fixture(scope="module")
def candles() -> dict[str, Candles]:
    return read_candle_dir(DATA / "candles")


@pytest.fixture(scope="module")
def trained(candles, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compat")
    for tf in TIMEFRAMES:
        write_bank(out, tf, train_compat(tf, candles))
    return out


def test_every_golden_file_is_reproduced_byte_for_byte(trained: Path) -> None:
    golden = sorted(p.name for p in GOLDEN.iterdir())
    assert len(golden) == 35
    assert sorted(p.name for p in trained.iterdir()) == golden
    for name in golden:
        assert (trained / name).read_bytes() == (GOLDEN / name).read_bytes(), name


def test_golden_numbers_order_and_count(trained: Path) -> None:
    """The same check as numbers (within 1e-9, same order and count), independent of the text formatting."""
    for tf in TIMEFRAMES:
        want, got = read_bank(GOLDEN, tf), read_bank(trained, tf)
        assert len(want) == len(got) > 300
        for a, b in ((want.patterns, got.patterns), (want.close, got.close), (want.high, got.high),
                     (want.low, got.low), (want.w_close, got.w_close), (want.w_high, got.w_high),
                     (want.w_low, got.w_low)):
            assert np.allclose(a, b, rtol=0, atol=1e-9)
        assert abs(want.threshold - got.threshold) < 1e-9


def test_first_memories_are_the_one_hour_candles_from_index_nine(candles) -> None:
    """An independent reading of the schedule: memory 0 is the 1-hour candle 9's body change (in %) with the
    moves of candle 10 against candle 9's close, and the next 89 follow in order."""
    c = candles["1hour"]
    bank = read_bank(GOLDEN, "1day")
    for i in range(90):
        t = 9 + i
        assert bank.patterns[i, 0] == (c.close[t] - c.open[t]) / c.open[t] * 100
        assert bank.close[i] == (c.close[t + 1] - c.close[t]) / c.close[t] * 100
        assert bank.high[i] == (c.high[t + 1] - c.close[t]) / c.close[t] * 100
        assert bank.low[i] == (c.low[t + 1] - c.close[t]) / c.close[t] * 100


def test_final_threshold_is_one_plus_a_hundredth_per_step_of_the_last_pass(trained: Path) -> None:
    """No step of the last pass had more than 20 matches, so the threshold rose 0.01 per step from 1.0:
    200 steps for the intraday timeframes (older half of 799 candles), 400 for 1day/1week."""
    for tf, steps in [("1hour", 200), ("4hour", 200), ("1day", 400), ("1week", 400)]:
        thr = 1.0
        for _ in range(steps):
            thr += 0.01
        assert read_bank(trained, tf).threshold == thr


def test_compat_is_deterministic_and_keeps_the_format_on_other_candle_sets(tmp_path: Path) -> None:
    """No oracle exists for other seeds: compat must be deterministic and write the original's formats."""
    for n in (600, 1001):
        cdir = tmp_path / f"c{n}"
        cdir.mkdir()
        gen = (DATA / "make_candles.py").read_text().replace(
            'out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "candles")', f'out = {str(cdir)!r}')
        script = tmp_path / "gen.py"
        script.write_text(gen)
        subprocess.run([sys.executable, str(script), str(n)], check=True)
        c = read_candle_dir(cdir)
        a, b = tmp_path / f"a{n}", tmp_path / f"b{n}"
        for tf in TIMEFRAMES:
            write_bank(a, tf, train_compat(tf, c))
            write_bank(b, tf, train_compat(tf, c))
        for p in a.iterdir():
            assert p.read_bytes() == (b / p.name).read_bytes()
        for tf in TIMEFRAMES:
            text = (a / f"memories_{tf}.txt").read_text()
            items = text.split("~")
            assert all(MEMORY_RE.match(m) for m in items), tf
            weights = (a / f"memory_weights_{tf}.txt").read_text().split(" ")
            assert len(weights) == len(items) and set(weights) == {"1.0"}
            float((a / f"neural_perfect_threshold_{tf}.txt").read_text())
            assert not text.endswith("\n")


# ---- the defects, one flag each ----------------------------------------------------------------------------
def test_zero_sum_distance_is_a_perfect_match_only_with_the_defect() -> None:
    mem = np.array([-1.5, 1.5, 3.0, 0.0])
    d_orig = distances(1.5, mem, zero_sum_perfect_match=True)
    d_fixed = distances(1.5, mem, zero_sum_perfect_match=False)
    assert d_orig[0] == 0.0 and d_fixed[0] == np.inf  # opposite moves of equal size
    assert d_orig[1] == d_fixed[1] == 0.0
    assert d_orig[2] == pytest.approx(abs(1.5 - 3.0) / ((1.5 + 3.0) / 2) * 100)
    assert distances(0.0, np.array([0.0]), zero_sum_perfect_match=False)[0] == 0.0  # equal patterns do match


def test_threshold_schedule_steps_and_bounds() -> None:
    cfg = CompatConfig()
    assert next_threshold(1.0, 21, cfg) == pytest.approx(0.99)
    assert next_threshold(1.0, 20, cfg) == pytest.approx(1.01)
    assert next_threshold(0.05, 21, cfg) == pytest.approx(0.049)  # 0.001 steps below 0.1
    assert next_threshold(0.0005, 30, cfg) == 0.0
    assert next_threshold(100.0, 0, cfg) == 100.0


def test_weights_reach_the_files_only_without_the_defect(candles) -> None:
    orig = train_compat("1day", candles)
    fixed = train_compat("1day", candles, flags=CompatFlags.from_names(off=["weights_not_persisted"]))
    assert set(orig.w_close) == {1.0} and set(orig.w_high) == {1.0}
    assert len(fixed) == len(orig)  # memories do not depend on the weights
    moved = np.concatenate([fixed.w_close, fixed.w_high, fixed.w_low]) != 1.0
    assert moved.any()
    assert fixed.w_close.min() >= -2 and fixed.w_close.max() <= 2
    assert fixed.w_high.min() >= 0 and fixed.w_low.max() <= 2


def test_unit_slip_changes_the_close_weights_only(candles) -> None:
    base = CompatFlags.from_names(off=["weights_not_persisted"])
    slip = train_compat("1day", candles, flags=base)
    fixed = train_compat("1day", candles, flags=CompatFlags.from_names(off=["close_weight_unit_slip"], base=base))
    assert np.array_equal(slip.w_high, fixed.w_high) and np.array_equal(slip.w_low, fixed.w_low)
    assert not np.array_equal(slip.w_close, fixed.w_close)


def test_stale_match_set_lets_new_memories_pile_up(candles) -> None:
    """With the flush defect, new memories are invisible until the next flush, so the repeated 1-hour pass of
    the 1hour timeframe stores every candle twice; fixed, the second pass matches the first pass's memories."""
    orig = train_compat("1hour", candles)
    fixed = train_compat("1hour", candles, flags=CompatFlags.from_names(off=["stale_until_flush"]))
    assert np.array_equal(orig.patterns[:90], orig.patterns[90:180])
    assert len(fixed) < len(orig)


def test_schedule_flags_change_which_candles_are_learnt(candles) -> None:
    no_mix = train_compat("1day", candles, flags=CompatFlags.from_names(off=["mix_1hour_patterns"]))
    c = candles["1day"]
    assert no_mix.patterns[0, 0] == (c.close[9] - c.open[9]) / c.open[9] * 100
    full = CompatFlags.from_names(off=["partial_schedule", "intraday_older_half", "drop_newest_candle"])
    s = prepare_series(candles["4hour"], "4hour", full)
    assert len(s) == 800
    assert len(prepare_series(candles["4hour"], "4hour", CompatFlags())) == 400
    fixed = train_compat("4hour", candles, flags=CompatFlags.fixed())
    assert fixed.patterns[0, 0] == s.pattern[0]  # the whole history, from its first candle


def test_unknown_flag_is_named() -> None:
    from quantdesk.core.errors import ParameterError

    with pytest.raises(ParameterError, match="no_such_flag"):
        CompatFlags.from_names(off=["no_such_flag"])


def test_incremental_compat_continues_from_the_files(candles, tmp_path: Path) -> None:
    first = train_compat("1day", candles)
    again = train_compat("1day", candles, bank=first)
    assert len(again) >= len(first)
    assert np.array_equal(again.patterns[: len(first)], first.patterns)


def test_parse_format_round_trip_is_exact() -> None:
    text = (GOLDEN / "memories_1week.txt").read_text()
    from quantdesk.intel.powertrader.memory_io import format_memories

    assert format_memories(parse_memories(text)) == text
    assert len(MemoryBank.empty()) == 0
