"""docs/reports.md as a user follows it: every shell command and the Python snippet run as written (fresh QD_HOME,
the bundled sample), and the pages they write hold what the guide says."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tests.unit.backtest.report_parse import figures, table_rows, visible_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "reports.md"
SRC = Path(__file__).resolve().parents[3] / "src"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


def test_the_guide_runs_as_written(qd_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "QD_HOME": str(qd_home), "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "COLUMNS": "160"}
    commands = [line.strip() for block in blocks("bash") for line in block.splitlines() if line.strip()]
    assert [c.split()[1] for c in commands] == ["backtest", "monte-carlo", "walk-forward"]
    for cmd in commands:
        argv = shlex.split(cmd)
        assert argv[0] == "quantdesk"
        proc = subprocess.run([sys.executable, "-m", "quantdesk", *argv[1:]], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    # backtest: RSI in its own pane, units on the axes
    page = (work / "runs/rsi/report.html").read_text()
    chart = figures(page)["chart"]
    rsi = next(t for t in chart["data"] if str(t.get("name", "")).startswith("RSI"))
    assert rsi.get("yaxis", "y") != "y"
    assert "Price (USDT)" in page and "Equity (USDT)" in page
    # monte carlo: the original run next to the backtest
    mc = (work / "runs/rsi-mc/montecarlo.html").read_text()
    rows = {r[0]: r for r in table_rows(mc, "backtest")[1:]}
    assert set(rows) == {"Final return (%)", "Max drawdown (%)", "Sharpe ratio (annualised)"}
    # walk-forward: per-window returns, not annualised
    wf = (work / "runs/wf/report.html").read_text()
    assert "not annualised" in visible_text(wf) and "window-returns" in figures(wf)

    monkeypatch.chdir(work)
    (snippet,) = blocks("python")
    exec(compile(snippet, str(DOC), "exec"), {"__name__": "docs_reports"})
    macd = figures((work / "runs/macd/report.html").read_text())["chart"]
    parts = [t for t in macd["data"] if str(t.get("name", "")).startswith("MACD")]
    assert len(parts) == 3 and len({t.get("yaxis") for t in parts}) == 1 and parts[0].get("yaxis") != "y"
