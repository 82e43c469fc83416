"""`quantdesk up` as a newcomer runs it: the platform process on embedded defaults, a demo bot trading the bundled
data, a second bot started over the API, fills watched over the WebSocket, then the process SIGKILLed and restarted:
every bot comes back with the same orders and fills, continues, and no order is ever submitted twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import websockets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    """One `quantdesk --json up` process; `info` is the JSON document it prints (links, session key)."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen([sys.executable, "-m", "quantdesk", "--json", "up", "--port", str(port),
                                      "--speed", "600"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "the platform did not come up"
            time.sleep(0.3)
        self.info = json.loads(self._read_json())
        self.key = self.info["api_key"]
        self.client = httpx.Client(base_url=self.url + "/api/v1", timeout=30, headers={"X-API-Key": self.key})

    def _read_json(self) -> str:
        lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, "no JSON document on stdout"
            lines.append(line)
            try:
                json.loads("".join(lines))
                return "".join(lines)
            except json.JSONDecodeError:
                continue

    def running(self) -> dict[str, dict]:
        return {b["bot"]: b for b in self.client.get("/paper-trading/status").json()["running"]}

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.client.close()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        self.client.close()
        return err


def _wait(fn, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return value


@pytest.mark.slow
def test_up_kill_restart_finds_everything_as_it_was(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_") or k in ("QD_DATABASE__URL",
                                                                                  "QD_REDIS__URL",
                                                                                  "QD_REDIS__PREFIX")}
    env.update(QD_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
               QD_PAPER_SUBMISSION_LOG=str(tmp_path / "submissions.log"))
    port = _free_port()
    p = Platform(env, port)
    try:
        assert p.info["demo_bot"] == "demo-sma" and p.info["dashboard"].endswith(f"/#key={p.key}")
        assert "demo-sma" in p.running()
        received: list[dict] = []

        async def watch() -> None:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:  # the key: first message, not the URL
                await ws.send(json.dumps({"op": "auth", "key": p.key}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["op"] == "authenticated"
                await ws.send(json.dumps({"op": "subscribe", "channels": ["trades"]}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["op"] == "subscribed"
                r = await asyncio.to_thread(p.client.post, "/paper-trading/start", json={
                    "name": "mine", "strategy": "ema_cross", "params": {"fast": 5, "slow": 13}, "timeframe": "1m",
                    "speed": 600, "risk": False, "start": "2022-01-10T00:00:00Z"})
                assert r.status_code == 201, r.text
                while sum(1 for m in received if m.get("bot") == "mine" and m.get("type") == "Fill") < 2:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 60)))

        asyncio.run(watch())
        ws_mine = [m["data"]["trade_id"] for m in received if m.get("bot") == "mine" and m.get("type") == "Fill"]
        assert len(ws_mine) >= 2
        _wait(lambda: len(p.client.get("/fills", params={"bot": "demo-sma"}).json()) >= 2, "demo fills")
        before = {b: p.client.get("/fills", params={"bot": b}).json() for b in ("demo-sma", "mine")}
        assert [f["trade_id"] for f in before["mine"]][: len(ws_mine)] == ws_mine  # the WebSocket saw the DB's fills
        p.kill()  # no shutdown at all

        p = Platform(env, port)
        assert set(p.info["recovered_bots"]) == {"demo-sma", "mine"}
        assert p.info["demo_bot"] == "demo-sma"
        after = {b: p.client.get("/fills", params={"bot": b}).json() for b in ("demo-sma", "mine")}
        for b in before:  # every fill persisted before the kill is still there, unchanged, in order
            assert after[b][: len(before[b])] == before[b]
        bars = {b: s["bars"] for b, s in p.running().items()}
        _wait(lambda: all(s["bars"] > bars[b] for b, s in p.running().items()), "bars after the restart")
        acc = p.client.get("/paper-trading/account", params={"bot": "mine"}).json()
        assert acc["live"] and float(acc["equity"]) > 0
        err = p.stop()  # graceful: the bots keep their status, the next start continues them
        assert p.key not in err
        p = Platform(env, port)
        assert set(p.info["recovered_bots"]) == {"demo-sma", "mine"}
        p.stop()
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
    log = (tmp_path / "submissions.log").read_text().splitlines()
    twice = [k for k, n in Counter(log).items() if n > 1]
    assert log and twice == []  # no client order id was ever handed to the venue twice
