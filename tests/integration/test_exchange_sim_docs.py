"""docs/exchange-simulator.md runs as written: its Python example, its shell commands (the server started with
--port 0 instead of 18123, `curl` calls made with httpx) and its JSON example's keys."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from exsim_support import write_sample

DOC = Path(__file__).resolve().parents[2] / "docs" / "exchange-simulator.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_python_example_runs_and_prints_what_it_says(qd_home, capsys):
    code = "\n".join(blocks("python"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    lines = out.getvalue().splitlines()
    status, price = lines[0].split()
    assert status == "closed" and float(price) > 0
    assert lines[1] in ("open", "closed")
    assert lines[2] == "recovered by client id: closed"  # a market order: accepted and filled, answer lost
    balances = eval(lines[3].split("} ")[0] + "}")  # the printed dict of balances
    assert float(balances["USDT"]) < 10_000 and float(balances["BTC"]) >= 0.02


def test_shell_examples_run(tmp_path):
    commands = [line.strip() for block in blocks("bash") for line in block.splitlines() if line.strip()]
    server = [c for c in commands if c.startswith("quantdesk exchange-sim")]
    curls = [c for c in commands if c.startswith("curl ")]
    assert len(server) == 1 and len(curls) == 3
    data = write_sample(tmp_path, rows=200)
    args = shlex.split(server[0])[1:]
    args = [str(data) if a == "candles.csv" else ("0" if a == "18123" else a) for a in args]
    proc = subprocess.Popen([sys.executable, "-m", "quantdesk", "--json", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        port = json.loads(line)["port"]
        for command in curls:
            words = shlex.split(command.replace("18123", str(port)))
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            body = words[words.index("-d") + 1] if "-d" in words else None
            url = next(w for w in words if w.startswith("http://"))
            answer = httpx.request(method, url, content=body, timeout=30)
            assert answer.status_code == 200, (command, answer.text)
            if "/clock" in url:
                assert answer.json()["speed"] == 600
            if "/faults" in url:
                assert answer.json()[0]["kind"] == "rate_limit"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_state_example_has_the_real_keys(tmp_path):
    from quantdesk.adapters.simulator import ExchangeSimulator

    example = json.loads(blocks("json")[0])
    with ExchangeSimulator(data=write_sample(tmp_path, rows=50), speed=0) as sim:
        sim.ccxt().create_order("BTC/USDT", "market", "buy", 0.01)
        real = sim.state()
    assert set(example) <= set(real)
    for key in ("orders", "fills", "submissions"):
        assert set(example[key][0]) - {"..."} <= set(real[key][0])


@pytest.mark.parametrize("name", ["exchange-simulator.md"])
def test_every_fault_kind_is_documented(name):
    from quantdesk.adapters.simulator.faults import KINDS

    text = (DOC.parent / name).read_text()
    assert all(f"`{kind}" in text for kind in KINDS)
