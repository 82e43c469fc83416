"""Helpers for the data-layer tests: small hand-made CSV files and an isolated store."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantdesk.data.store import CandleStore

HEADER = "timestamp,open,high,low,close,volume\n"


@pytest.fixture()
def write_csv(tmp_path: Path):
    """write_csv(name, rows, header=HEADER) -> Path; rows are lines without the newline."""

    def _write(name: str, rows: list[str], header: str | None = HEADER) -> Path:
        path = tmp_path / name
        text = (header or "") + "".join(r + "\n" for r in rows)
        path.write_text(text)
        return path

    return _write


@pytest.fixture()
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path / "store")


@pytest.fixture()
def good_rows():
    """good_rows(n) -> n valid hourly CSV rows from 2024-01-01T00:00Z (row i has close 100+i)."""
    return make_rows


def make_rows(n: int = 6, start_hour: int = 0) -> list[str]:
    """n valid hourly rows starting 2024-01-01T00:00Z (row i has close 100+i)."""
    rows = []
    for i in range(n):
        h = start_hour + i
        o, c = 100 + i - 0.5, 100 + i
        rows.append(f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z,{o},{c + 1},{o - 1},{c},{10 + i}")
    return rows
