"""The README is a contract: a person following it top to bottom on a fresh clone gets what it says.

Every command of every ```bash block runs in order in a fresh folder (with the clone's `tests/` and `examples/`
reachable, a fresh QD_HOME), every ```python block runs (the strategy block is saved as `my_module.py`, as the
README says), every ```toml block loads as a configuration. Long-running commands (paper bots, servers) run until
they show what the README promises, then get Ctrl-C. The network stays local: `data download` talks to a local
Binance (tests/integration/fake_exchange.py) through `QD_EXCHANGES__BINANCE__BASE_URL`, the paper exchange feed to
the bundled exchange simulator the README starts itself. A command the test does not know how to run fails it,
so the README and the product cannot drift apart silently.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from readme_runner import ROOT, Command, commands, snippets

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from fake_exchange import FakeBinance  # noqa: E402

pytestmark = pytest.mark.slow

# Commands the suite does not run, with the reason (each is exercised elsewhere)
NOT_RUN = {
    ("make", "run"): "it is `quantdesk up`, run below",
    ("make", "test"): "it is this test suite",
    ("make", "bench"): "benchmarks take minutes; tests/unit/... runs each benchmark's scaled-down twin",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Walk:
    """One person's session: a folder, a QD_HOME, the processes left running in the background."""

    def __init__(self, tmp: Path, fake_url: str) -> None:
        self.cwd = tmp / "work"
        self.cwd.mkdir()
        for name in ("tests", "examples"):
            (self.cwd / name).symlink_to(ROOT / name)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QD_") or k.startswith("QD_TEST")}
        self.env.update({"QD_HOME": str(tmp / "home"), "COLUMNS": "160", "PYTHONUNBUFFERED": "1",
                         "QD_EXCHANGES__BINANCE__BASE_URL": fake_url})
        for key in ("QD_DATABASE__URL", "QD_REDIS__URL", "QD_REDIS__PREFIX"):  # the suite's service switch
            if key in os.environ:
                self.env[key] = os.environ[key]
        self.background: list[subprocess.Popen[str]] = []
        self.outputs: dict[int, str] = {}

    def argv(self, cmd: Command) -> list[str]:
        prog, *rest = cmd.argv
        assert prog == "$Q", f"README line {cmd.line}: unknown program {prog!r}"
        return [sys.executable, "-m", "quantdesk", *rest]

    def run(self, cmd: Command, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self.argv(cmd), cwd=self.cwd, env={**self.env, **cmd.env}, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, f"README line {cmd.line}: `{cmd.text}` failed ({proc.returncode}):\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, f"README line {cmd.line}: traceback:\n{proc.stderr}"
        self.outputs[cmd.line] = proc.stdout + proc.stderr
        return proc

    def until(self, cmd: Command, ready: Callable[[str], bool], *, extra: list[str] = (), timeout: float = 180,
              expect_exit: tuple[int, ...] = (0, 130)) -> str:
        """Start a long-running command, wait until its output satisfies `ready`, then Ctrl-C it."""
        log = self.cwd / f"out-{cmd.line}.txt"
        with log.open("w") as fh:
            proc = subprocess.Popen([*self.argv(cmd), *extra], cwd=self.cwd, env={**self.env, **cmd.env},
                                    stdout=fh, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline:
                    if ready(log.read_text()):
                        break
                    assert proc.poll() is None, f"README line {cmd.line}: `{cmd.text}` ended early:\n{log.read_text()}"
                    time.sleep(0.5)
                else:
                    raise AssertionError(f"README line {cmd.line}: `{cmd.text}` did not get there in {timeout} s:\n"
                                         f"{log.read_text()[-3000:]}")
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    code = proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    raise
        out = log.read_text()
        assert code in expect_exit, f"README line {cmd.line}: exit {code} after Ctrl-C:\n{out[-3000:]}"
        assert "Traceback" not in out, f"README line {cmd.line}: traceback:\n{out}"
        self.outputs[cmd.line] = out
        return out

    def start_background(self, cmd: Command, ready_url: str) -> None:
        proc = subprocess.Popen(self.argv(cmd), cwd=self.cwd, env={**self.env, **cmd.env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.background.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(ready_url, timeout=2).read()
                return
            except OSError:
                assert proc.poll() is None, f"README line {cmd.line}: `{cmd.text}` ended: {proc.stderr.read()}"
                time.sleep(0.3)
        raise AssertionError(f"README line {cmd.line}: `{cmd.text}` never answered {ready_url}")

    def close(self) -> None:
        for proc in self.background:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _health(port: int) -> Callable[[str], bool]:
    def ready(_out: str) -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200
        except OSError:
            return False
    return ready


def run_command(walk: Walk, cmd: Command) -> None:
    words = cmd.words
    key = tuple(cmd.argv[:2])
    if key in NOT_RUN or (cmd.argv[0] == ".venv/bin/python" and cmd.argv[1].startswith("benchmarks/")):
        return  # benchmarks: minutes of full-size runs against peers (make bench), not a test
    if cmd.argv[0] == "make":
        raise AssertionError(f"README line {cmd.line}: `{cmd.text}`: add it to NOT_RUN with a reason, or run it")
    head = words[0]
    if head == "exchange-sim" and cmd.background:
        port = words[words.index("--port") + 1]
        walk.start_background(cmd, f"http://127.0.0.1:{port}/api/v3/ping")
    elif head == "paper" and "--feed" in words:
        out = walk.until(cmd, lambda o: "bar 1" in o or "fill" in o)  # it is trading on the streamed candles
        assert "live-candles" in out
    elif head == "paper" and "--resume" in words:
        out = walk.until(cmd, lambda o: "(recovered)" in o and "equity" in o)
        assert "interrupted: state persisted" in out
    elif head == "paper" and len(words) > 1 and words[1] != "status":
        out = walk.until(cmd, lambda o: "fill " in o and "equity" in o)
        assert "interrupted: state persisted" in out
    elif head in ("serve", "up"):
        port = _free_port()  # as written but on a free port: port 8000 may be taken on this machine
        out = walk.until(cmd, _health(port), extra=["--port", str(port)])
        if head == "up":
            assert "QuantDesk is up" in out and "#key=qd_" in out and "demo bot" in out
    else:
        assert not cmd.background, f"README line {cmd.line}: unexpected background command `{cmd.text}`"
        walk.run(cmd)


@pytest.fixture(scope="module")
def fake_binance(tmp_path_factory: pytest.TempPathFactory):
    """A local Binance with 2024-01-01 .. 2024-01-03 1m klines (the real FTX 1m bars moved to those dates)."""
    src = pd.read_csv(ROOT / "tests/data/BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv", dtype=str).iloc[:2 * 1440 + 120]
    shift = pd.Timestamp("2024-01-01T00:00:00Z") - pd.Timestamp(src["timestamp"].iloc[0])
    src["timestamp"] = (pd.to_datetime(src["timestamp"]) + shift).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path_factory.mktemp("fake") / "k.csv"
    src.to_csv(path, index=False)
    with FakeBinance(path) as fake:
        yield fake


@pytest.mark.timeout(1800)  # the whole README in one walk: about 4 min alone, more beside other tests on 2 cores
def test_every_readme_command_and_snippet_works_as_written(tmp_path: Path, fake_binance) -> None:
    walk = Walk(tmp_path, fake_binance.base_url)
    cmds = list(commands())
    assert len(cmds) > 30, "the README lost its commands?"
    try:
        python = list(snippets("python"))
        strategy = next(s for s in python if "class SmaCross" in s.text)
        (walk.cwd / "my_module.py").write_text(strategy.text)  # "Save this as my_module.py"
        for snip in python:
            if snip is strategy:
                continue
            proc = subprocess.run([sys.executable, "-c", snip.text], cwd=walk.cwd, env=walk.env,
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, f"README python block at line {snip.line} failed:\n{proc.stderr}"
        for cmd in cmds:
            run_command(walk, cmd)
    finally:
        walk.close()
    # what the README says the commands show
    by_text = {c.text: walk.outputs.get(c.line, "") for c in cmds}
    risk_run = next(v for k, v in by_text.items() if "--risk --out runs/risk" in k)
    assert "order(s) sized down to fit max_position_pct" in risk_run
    messy = next(v for k, v in by_text.items() if "messy_btc_1h.csv" in k)
    assert "dropped 2 rows, lines 51, 101" in messy
    home = Path(walk.env["QD_HOME"])
    assert (home / "strategies" / "my_first.py").is_file()
    first = json.loads((walk.cwd / "runs/first/summary.json").read_text())
    mine = json.loads((walk.cwd / "runs/mine/summary.json").read_text())
    assert first["metrics"]["num_trades"] > 0 and mine["metrics"]["num_trades"] > 0
    # the intelligence tour: scores next to their baseline, answers with citations, a run explained from its records
    ml = next(v for k, v in by_text.items() if k.startswith("$Q ml train"))
    assert "no-skill baseline" in ml and "AUC" in ml
    answer = next(v for k, v in by_text.items() if k.startswith("$Q kb ask"))
    assert "[1]" in answer and "risk.md#sortino-ratio" in answer
    why = next(v for k, v in by_text.items() if k.startswith("$Q kb why backtest latest"))
    assert "Why backtest run" in why and "equity.csv" in why
    scores = next(v for k, v in by_text.items() if k.startswith("$Q sentiment score"))
    assert "positive" in scores and "negative" in scores and "hack" in scores


def test_every_toml_snippet_is_a_valid_configuration(tmp_path: Path) -> None:
    from quantdesk.core.config import load_settings

    blocks = list(snippets("toml"))
    assert blocks
    for snip in blocks:
        data = tomllib.loads(snip.text)  # a syntax error fails here, naming the line below
        path = tmp_path / f"readme-{snip.line}.toml"
        path.write_text(snip.text)
        settings = load_settings(path)
        assert settings is not None, f"README toml block at line {snip.line}"
        if "alerts" in data:
            assert [c.name for c in settings.alerts.channels] == [c["name"] for c in data["alerts"]["channels"]]
