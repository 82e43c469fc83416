"""No secret in any log, from outside: `quantdesk serve` and `quantdesk up` in subprocesses with a config full of
secrets (webhook URL token, HMAC secret and Authorization header, Telegram bot token, e-mail password, database
password, exchange keys) and several API keys; every route and the WebSocket exercised with each key (also wrong,
revoked and URL-borne keys); alerts delivered for real to a loopback receiver. Then none of the secrets may be
found in stdout, stderr or the JSON log lines, and with --log-json every line on stderr is one JSON object (the
web server's included). `config show` redacts the same secrets.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

SECRETS = {
    "webhook_token": "whTok3nQueryValue81",
    "webhook_secret": "hmacS3cretValue7",
    "webhook_auth": "BearerHeaderS3cret55",
    "telegram": "987654321:AAHtelegramS3cretTokenValue_xyz0",
    "email_password": "EmailPassw0rdValue",
    "db_password": "DbPassw0rdValue42",
    "exchange_key": "ExchKeyValue0123456",
    "exchange_secret": "ExchSecretValue98765",
}


class Receiver:
    """A loopback HTTP server standing in for Telegram and a webhook endpoint: 200 to everything, records what
    it got (to prove the secrets were used, so their absence from the logs means something)."""

    def __init__(self) -> None:
        rec = self
        self.requests: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(path: Path, receiver: str) -> Path:
    s = SECRETS
    path.write_text(f"""
[alerts]
retries = 0
[[alerts.channels]]
type = "webhook"
name = "hook"
url = "{receiver}/hook?token={s['webhook_token']}"
secret = "{s['webhook_secret']}"
headers = {{ Authorization = "Bearer {s['webhook_auth']}" }}
burst = 10000
rate_per_min = 1000000
[[alerts.channels]]
type = "telegram"
name = "tg"
token = "{s['telegram']}"
chat_id = "42"
base_url = "{receiver}"
burst = 10000
rate_per_min = 1000000
[[alerts.channels]]
type = "email"
name = "mail"
enabled = false
host = "127.0.0.1"
username = "ops"
password = "{s['email_password']}"
sender = "qd@example.com"
recipients = ["ops@example.com"]
[[alerts.rules]]
kind = "fill"
[[alerts.rules]]
kind = "risk_halt"
""")
    return path


@pytest.fixture()
def setup(tmp_path: Path, postgres_url: str):
    receiver = Receiver()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_")}
    env["QD_HOME"] = str(home)
    env["QD_DATABASE__URL"] = postgres_url.replace("postgres@", f"postgres:{SECRETS['db_password']}@", 1)
    assert SECRETS["db_password"] in env["QD_DATABASE__URL"]  # trust auth: the password is accepted and unused
    env["QD_EXCHANGES__BINANCE__API_KEY"] = SECRETS["exchange_key"]
    env["QD_EXCHANGES__BINANCE__SECRET"] = SECRETS["exchange_secret"]
    env["QD_API_RATE"], env["QD_API_BURST"] = "1000", "2000"
    cfg = _config(tmp_path / "quantdesk.toml", receiver.base)
    exe = [sys.executable, "-m", "quantdesk", "--config", str(cfg)]

    from quantdesk.api.keys import KeyStore  # the keys file the servers read (created here: the CLI is not
                                             # what this module tests)

    store = KeyStore(home)
    keys = {"rw": store.create_key("rw")[0], "ro": store.create_key("ro", read_only=True)[0],
            "revoked": store.create_key("gone")[0]}
    assert store.revoke(name="gone") == 1
    yield {"env": env, "exe": exe, "keys": keys, "receiver": receiver, "tmp": tmp_path, "cfg": cfg}
    receiver.close()


def _start(cmd: list[str], env: dict[str, str], port: int, out: Path, err: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=open(out, "w"), stderr=open(err, "w"))  # noqa: SIM115
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503):
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, err.read_text()[-2000:]
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _query_for(param: dict[str, Any]) -> Any:
    name = param["name"]
    return {"symbol": "BTC/USDT", "symbols": "BTC/USDT", "timeframe": "1h", "bot": "logbot"}.get(name)


def _exercise(base: str, keys: dict[str, str], every_route: bool = True) -> None:
    """Every GET of the schema (or a few) with several keys (read-write, read-only as a bearer token, revoked,
    a wrong secret of a real id, none), the mutations with the read-write key, the WebSocket with a header, a
    first message, a ticket and a URL key."""
    doc = httpx.get(base + "/openapi.json").json()
    key_id = keys["rw"].split("_")[1]
    presented = [keys["rw"], keys["revoked"], f"qd_{key_id}_{'w' * 43}", None]
    paths = {p: ops for p, ops in doc["paths"].items()
             if every_route or p in ("/api/v1/bots", "/api/v1/fills", "/api/v1/alerts", "/metrics")}
    with httpx.Client(base_url=base, timeout=60) as c:
        r = c.post("/api/v1/paper-trading/start", headers={"X-API-Key": keys["rw"]}, json={
            "name": "logbot", "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "timeframe": "1m",
            "speed": "max", "risk": True, "start": "2022-01-05T00:00:00Z", "end": "2022-01-05T03:00:00Z"})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 90
        while c.get("/api/v1/bots/logbot", headers={"X-API-Key": keys["ro"]}).json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        for path, ops in paths.items():
            if "get" not in ops:
                continue
            url = path.replace("{name}", "logbot").replace("{run_id}", "none").replace("{order_id}", "x")
            params = {p["name"]: _query_for(p) for p in ops["get"].get("parameters", []) if p.get("required")}
            for k in presented:
                headers = {"X-API-Key": k} if k else {}
                r = c.get(url, params={**params, "token": "t"}, headers=headers)
                assert r.status_code < 500, (url, r.status_code, r.text)
            r = c.get(url, params=params, headers={"Authorization": f"Bearer {keys['ro']}"})
            assert r.status_code < 500, (url, r.status_code)
        rw = {"X-API-Key": keys["rw"]}
        for path, body in [("/api/v1/risk/halt", {"bot": "logbot", "reason": "log test"}),
                           ("/api/v1/backtests", {"strategy": "sma_cross", "start": "2018-01-01", "end": "2018-02-01"}),
                           ("/api/v1/orders", {"bot": "logbot", "side": "buy", "notional": 10}),
                           ("/api/v1/bots/logbot/start", None)]:
            assert c.post(path, headers=rw, json=body).status_code < 500
    ws = base.replace("http", "ws") + "/ws"
    ticket = httpx.post(base + "/api/v1/auth/ws-ticket", headers={"X-API-Key": keys["ro"]}).json()["ticket"]

    async def go() -> None:
        async with websockets.connect(ws, additional_headers={"X-API-Key": keys["ro"]}) as s:
            await s.send(json.dumps({"op": "subscribe", "channels": ["events"]}))
            await asyncio.wait_for(s.recv(), 5)
        async with websockets.connect(ws) as s:
            await s.send(json.dumps({"op": "auth", "key": keys["rw"]}))
            await asyncio.wait_for(s.recv(), 5)
            await s.send("[" * 10_000)
            await asyncio.wait_for(s.recv(), 5)
        async with websockets.connect(f"{ws}?ticket={ticket}") as s:
            await s.send(json.dumps({"op": "ping"}))
            await asyncio.wait_for(s.recv(), 5)
        for bad in (f"{ws}?api_key={keys['rw']}", f"{ws}?key={keys['ro']}"):
            async with websockets.connect(bad) as s:
                with pytest.raises(websockets.exceptions.ConnectionClosed):
                    await asyncio.wait_for(s.recv(), 5)
        async with websockets.connect(ws) as s:
            await s.send(json.dumps({"op": "auth", "key": keys["revoked"]}))
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(s.recv(), 5)

    asyncio.run(go())


def _secrets(keys: dict[str, str]) -> dict[str, str]:
    out = dict(SECRETS)
    for name, key in keys.items():
        out[f"api key {name}"] = key
        out[f"api key {name} (secret part)"] = key.split("_", 2)[2]
    return out


def _assert_json_lines(text: str, where: str) -> int:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        doc = json.loads(ln)  # every line: one JSON object
        assert isinstance(doc, dict) and {"ts", "level", "logger", "msg"} <= set(doc), (where, ln)
    return len(lines)


def test_serve_logs_no_secret_and_every_line_is_json(setup) -> None:
    port = _port()
    out, err = setup["tmp"] / "serve.out", setup["tmp"] / "serve.err"
    proc = _start(setup["exe"] + ["--log-json", "-v", "serve", "--port", str(port)], setup["env"], port, out, err)
    try:
        _exercise(f"http://127.0.0.1:{port}", setup["keys"])
        time.sleep(1.0)  # the last alert deliveries
    finally:
        _stop(proc)
    stdout, stderr = out.read_text(), err.read_text()
    got = setup["receiver"].requests
    # the secrets were really used: the webhook got its header and token, Telegram its token (so their absence
    # from the logs is not an absence of use)
    assert any(r["path"].startswith("/hook?token=" + SECRETS["webhook_token"]) and
               r["headers"].get("Authorization") == f"Bearer {SECRETS['webhook_auth']}" for r in got), got[:3]
    assert any(r["path"] == f"/bot{SECRETS['telegram']}/sendMessage" for r in got)
    for name, secret in _secrets(setup["keys"]).items():
        assert secret not in stdout and secret not in stderr, f"{name} leaked"
    n = _assert_json_lines(stderr, "serve")
    access = [json.loads(ln) for ln in stderr.splitlines() if '"uvicorn.access"' in ln]
    assert n > 100 and len(access) > 50  # the access log is on, and redacted
    assert any("/ws?api_key=***" in json.loads(ln)["msg"] for ln in stderr.splitlines() if "WebSocket" in ln)
    assert all("token=***" in a["msg"] for a in access if "token=" in a["msg"])


def test_up_logs_no_secret(setup) -> None:
    """`up` prints its own session key on purpose (in its --json document on stdout): that one key may appear
    there and nowhere else; every other secret nowhere."""
    port = _port()
    out, err = setup["tmp"] / "up.out", setup["tmp"] / "up.err"
    proc = _start(setup["exe"] + ["--json", "--log-json", "up", "--port", str(port), "--no-demo"], setup["env"],
                  port, out, err)
    try:
        info = json.loads(out.read_text())
        session = info["api_key"]
        keys = {**setup["keys"], "session": session}
        _exercise(f"http://127.0.0.1:{port}", keys, every_route=False)
        time.sleep(1.0)
    finally:
        _stop(proc)
    stdout, stderr = out.read_text(), err.read_text()
    for name, secret in _secrets(setup["keys"]).items():
        assert secret not in stdout and secret not in stderr, f"{name} leaked"
    assert session not in stderr and stdout.count(session) == 2  # api_key and the dashboard link, nothing else
    _assert_json_lines(stderr, "up")


def test_config_show_redacts_every_secret(setup) -> None:
    for fmt in (["--json"], []):
        r = subprocess.run(setup["exe"] + [*fmt, "config", "show"], env=setup["env"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        for name, secret in SECRETS.items():
            assert secret not in r.stdout + r.stderr, f"config show: {name}"
    doc = json.loads(subprocess.run(setup["exe"] + ["--json", "config", "show"], env=setup["env"],
                                    capture_output=True, text=True, timeout=60).stdout)
    hook = next(c for c in doc["alerts"]["channels"] if c["name"] == "hook")
    assert hook["headers"] == {"Authorization": "***"} and hook["secret"] == "***"
    assert ":***@" in doc["database"]["url"] and doc["database"]["url"].startswith("postgresql+psycopg://postgres")
    assert doc["exchanges"]["binance"]["api_key"] == "***"
    assert next(c for c in doc["alerts"]["channels"] if c["name"] == "mail")["password"] == "***"
