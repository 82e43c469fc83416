"""The original's memory files: errors name file and place; writes are all-or-nothing per timeframe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quantdesk.core.errors import DataError
from quantdesk.intel.powertrader.candles import read_candle_csv
from quantdesk.intel.powertrader.memory_io import (
    MemoryBank,
    parse_memories,
    read_bank,
    recover_bank,
    write_bank,
)


def _bank(n: int) -> MemoryBank:
    rng = np.random.default_rng(n)
    b = MemoryBank(rng.normal(size=(n, 1)), rng.normal(size=n), rng.normal(size=n), rng.normal(size=n))
    b.threshold = 2.5
    return b


def test_write_then_read_gives_the_same_numbers(tmp_path: Path) -> None:
    b = _bank(5)
    b.w_high[2] = 1.75
    write_bank(tmp_path, "1hour", b)
    r = read_bank(tmp_path, "1hour")
    assert np.array_equal(r.patterns, b.patterns) and np.array_equal(r.low, b.low)
    assert r.w_high[2] == 1.75 and r.threshold == 2.5
    assert not list(tmp_path.glob(".staging-*"))


@pytest.mark.parametrize("text, where", [
    ("1.0 2.0{}3.0", "memory #1"),
    ("1.0 2.0{}3.0{}4.0~abc 1{}2{}3", "memory #2"),
    ("1.0 2.0{}3.0{}4.0~1.0 2.0 5.0{}3.0{}4.0", "memory #2 has a pattern of 2 numbers"),
    ("1.0 2.0{}inf{}4.0", "non-finite"),
])
def test_bad_memories_are_named(text: str, where: str) -> None:
    with pytest.raises(DataError, match=where):
        parse_memories(text, "memories_1hour.txt")


def test_weights_of_another_length_are_refused(tmp_path: Path) -> None:
    write_bank(tmp_path, "1day", _bank(4))
    (tmp_path / "memory_weights_high_1day.txt").write_text("1.0 1.0")
    with pytest.raises(DataError, match="2 weights for 4 memories"):
        read_bank(tmp_path, "1day")


def test_missing_memory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="memories_1week.txt does not exist"):
        read_bank(tmp_path, "1week")


def test_an_interrupted_write_is_finished_or_discarded(tmp_path: Path) -> None:
    """A crash between the staged files and the marker leaves the old files; after the marker, the new ones."""
    old, new = _bank(3), _bank(6)
    write_bank(tmp_path, "4hour", old)
    stage = tmp_path / ".staging-4hour"
    stage.mkdir()
    (stage / "memories_4hour.txt").write_text("garbage")  # crashed before the marker
    recover_bank(tmp_path, "4hour")
    assert len(read_bank(tmp_path, "4hour")) == 3 and not stage.exists()
    # crashed after the marker, before every file was moved: finishing the move gives the new bank
    write_bank(tmp_path / "other", "4hour", new)
    stage.mkdir()
    names = []
    for p in sorted((tmp_path / "other").glob("*4hour.txt")):
        (stage / p.name).write_bytes(p.read_bytes())
        names.append(p.name)
    (stage / "COMMITTED").write_text("\n".join(names))
    (stage / names[0]).replace(tmp_path / names[0])  # one file already moved
    r = read_bank(tmp_path, "4hour")
    assert len(r) == 6 and np.array_equal(r.patterns, new.patterns)


def test_candle_csv_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "1hour.csv"
    p.write_text("timestamp,open,high,low,close\n1,1,2,0.5,1\n2,1,x,0.5,1\n")
    with pytest.raises(DataError, match=r"line 3: high 'x' is not a number"):
        read_candle_csv(p)
    p.write_text("timestamp,open,high,low,close\n1,1,2,0.5,1\n1,1,2,0.5,1\n")
    with pytest.raises(DataError, match="timestamps must increase"):
        read_candle_csv(p)
    p.write_text("time,open,high,low\n1,1,2,0.5\n")
    with pytest.raises(DataError, match="missing column"):
        read_candle_csv(p)
