"""docs/assistant.md's examples, run as written: the shell quick start (a real backtest, ingest, search, ask,
brief, why, status) and the Python snippet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "assistant.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_guides_examples_run(tmp_path: Path) -> None:
    shims = tmp_path / "bin"
    shims.mkdir()
    for name, target in (("quantdesk", f'exec "{sys.executable}" -m quantdesk "$@"'),
                         ("python", f'exec "{sys.executable}" "$@"')):
        shim = shims / name
        shim.write_text(f"#!/bin/sh\n{target}\n")
        shim.chmod(0o755)
    work = tmp_path / "work"
    (work / "notes").mkdir(parents=True)
    (work / "notes" / "plan.md").write_text("# Plan\n\nOnly trade breakouts when ADX is above 25.\n")
    env = {**os.environ, "QD_HOME": str(work / ".quantdesk"), "PATH": f"{shims}:{os.environ['PATH']}"}
    if os.environ.get("PYTHONPATH"):  # the worktree's sources first, as the suite runs them
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in os.environ["PYTHONPATH"].split(os.pathsep))
    shell = _blocks("bash")[0]
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", shell], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "sortino-ratio" in out  # kb search
    assert "lost money" in out and "monthly-" in out  # kb ask about March: the run's monthly passage
    assert '"abstained": false' in out  # the --json ask
    assert "BTC/USDT last closed at" in out  # kb brief
    assert "Why backtest run" in out  # kb why backtest
    python = _blocks("python")[0]
    proc = subprocess.run([sys.executable, "-c", python], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[1]" in proc.stdout and "sortino-ratio" in proc.stdout
