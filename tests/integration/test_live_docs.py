"""docs/live.md runs as written: the simulator (port 0 instead of 18123, a slice of the real BTC file as
candles.csv), the node with the page's keys and opt-in, a SIGKILL, the --resume restart, the kill switch, stop,
and `live status --json` agreeing with `/_sim/state`; the refusal without the opt-in exits with code 2."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live_support import disagreements, doc, live_env, write_sample

DOC = Path(__file__).resolve().parents[2] / "docs" / "live.md"
pytestmark = pytest.mark.slow


def commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def _argv(command: str, port: int, data: Path) -> list[str]:
    words = shlex.split(command.replace("18123", str(port)))
    assert words[0] == "quantdesk", command
    return [sys.executable, "-m", "quantdesk", *[str(data) if w == "candles.csv" else w for w in words[1:]]]


def _wait(check, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def test_the_page_runs_as_written(tmp_path):
    cmds = commands()
    sim_cmd = next(c for c in cmds if c.startswith("quantdesk exchange-sim"))
    exports = dict(c.removeprefix("export ").split("=", 1) for c in cmds if c.startswith("export "))
    live_cmds = [c for c in cmds if c.startswith("quantdesk live --exchange")]
    assert len(live_cmds) == 2 and "--resume" in live_cmds[1] and "--confirm-live" in live_cmds[0]
    assert set(exports) == {"QD_EXCHANGES__BINANCE__API_KEY", "QD_EXCHANGES__BINANCE__SECRET"}
    data = write_sample(tmp_path, rows=400)
    env = {**live_env(tmp_path / "home"), **exports}
    sim = subprocess.Popen([*_argv(sim_cmd.replace("--port 18123", "--port 0"), 0, data)[:3], "--json",
                            *_argv(sim_cmd.replace("--port 18123", "--port 0"), 0, data)[3:]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = json.loads(sim.stdout.readline())["port"]
        url = f"http://127.0.0.1:{port}"
        state = lambda: httpx.get(f"{url}/_sim/state").json()  # noqa: E731

        refused = subprocess.run(_argv(live_cmds[0].replace(" --confirm-live", ""), port, data), env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "--confirm-live" in refused.stderr

        node = subprocess.Popen(_argv(live_cmds[0], port, data), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        _wait(lambda: len(state()["fills"]) >= 1)
        node.send_signal(signal.SIGKILL)  # "kill it however you like"
        node.wait(timeout=30)

        node = subprocess.Popen(_argv(live_cmds[1], port, data), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        status_cmd = _argv(next(c for c in cmds if c.startswith("quantdesk live status")), port, data)
        cursor = lambda: doc(subprocess.run(status_cmd, env=env, capture_output=True, text=True).stdout)  # noqa: E731
        first = cursor()["cursor"]
        _wait(lambda: cursor()["cursor"] >= first + 3)
        for verb in ("kill", "stop"):
            done = subprocess.run(_argv(next(c for c in cmds if c.startswith(f"quantdesk live {verb}")), port, data),
                                  env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            time.sleep(3 if verb == "kill" else 0)
        assert node.wait(timeout=60) == 0, node.stderr.read()
        httpx.post(f"{url}/_sim/clock", json={"speed": 0})
        believed = cursor()
        truth = state()
        assert disagreements(believed, truth) == []
        assert believed["reconciliation"]["verdict"] in ("in_sync", "adjusted")
        assert {"orders", "fills", "positions", "balances"} <= set(believed)
        assert all({"client_order_id", "venue_order_id", "status"} <= set(o) for o in believed["orders"])
        assert all({"trade_id", "side", "qty", "price"} <= set(f) for f in believed["fills"])
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sim.kill()
