"""docs/adapters.md runs as written: its Python examples print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def run(code: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    return out.getvalue().splitlines()


def test_the_capability_example():
    first, second = run(blocks("python")[0])
    assert first == "32 False ['FOK', 'GTC', 'IOC'] True" and second == "False"


def test_the_exactly_once_example(qd_home):
    lines = run(blocks("python")[1])
    assert lines[0] == "accepted" and lines[1] == "unknown" and lines[2] == "accepted accepted"
    assert lines[3] == "adjusted ['adopt_balances', 'adopt_order', 'book_fill']"
    assert lines[4] == "0.01 True" and lines[5] == "1"


def test_the_candles_example(qd_home):
    assert run(blocks("python")[2]) == ["11 True True"]


def test_the_table_matches_the_capabilities():
    from quantdesk.adapters.ccxt import NAMED, capabilities_for

    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in DOC.read_text().splitlines() if line.startswith("| ") and line.split("|")[1].strip() in NAMED}
    assert set(rows) == set(NAMED)
    for name, cells in rows.items():
        caps = capabilities_for(name)
        assert cells[4].startswith(f"{caps.client_id.max_length} of "), name
        assert ("received" in cells[5]) == (caps.fee_currency == "received"), name
        window = caps.request_expiry_ms
        assert cells[6].startswith("none") if window is None else cells[6].startswith(f"{window // 1000} s"), name
