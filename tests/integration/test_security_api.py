"""Security of the HTTP API from outside: uvicorn on 127.0.0.1 (a free port, a thread), real HTTP clients (httpx and
raw sockets), QD_HOME = a temporary directory. Each test reproduces one attack of issue 13."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api import Server  # the suite's uvicorn-in-a-thread helper


def _app(home: Path, **api: Any) -> tuple[Server, str, str]:
    """A server with its own settings (`api` overrides the [api] section); returns (server, rw key, ro key)."""
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    os.environ["QD_HOME"] = str(home)
    set_settings(None)
    settings = load_settings()
    settings = settings.model_copy(update={"api": settings.api.model_copy(update=api)})
    set_settings(settings)
    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    return Server(create_app(settings, rate=1000.0, burst=2000)), rw, ro


@pytest.fixture()
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QD_HOME", str(tmp_path / "home"))
    servers: list[Server] = []

    def make(**cfg: Any) -> tuple[Server, str, str]:
        srv, rw, ro = _app(tmp_path / f"home{len(servers)}", **cfg)
        servers.append(srv)
        return srv, rw, ro

    yield make
    for srv in servers:
        srv.stop()
    from quantdesk.core.config import set_settings

    set_settings(None)


def _paths(srv: Server) -> list[tuple[str, str]]:
    """Every operation of the schema with its parameters filled in (GETs only: reads are what leaks)."""
    doc = httpx.get(srv.url + "/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            if method == "get":
                out.append((method.upper(), path.replace("{", "").replace("}", "")))
    return out


def test_every_route_but_health_needs_a_key(api) -> None:
    srv, _, ro = api()
    paths = _paths(srv)
    assert len(paths) >= 25
    for method, path in paths:
        r = httpx.request(method, srv.url + path)
        if path in ("/health", "/api/v1/health"):
            assert r.status_code in (200, 503), (path, r.status_code)
        else:
            assert r.status_code == 401, (path, r.status_code, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
    # with a read-only key the same reads are answered (4xx for missing parameters / objects, never 401)
    for method, path in paths:
        r = httpx.request(method, srv.url + path, headers={"X-API-Key": ro})
        assert r.status_code != 401, (path, r.text)
    # the WebSocket too: no key, no data (the first message must be the key)
    import asyncio

    import websockets

    async def go() -> int:
        async with websockets.connect(srv.url.replace("http", "ws") + "/ws") as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["trades"]}))
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.exceptions.ConnectionClosed as exc:
                return exc.rcvd.code
        return 0

    assert asyncio.run(go()) == 4401


def test_public_read_mode_opens_gets_only(api) -> None:
    srv, rw, _ = api(public_read=True)
    assert httpx.get(srv.url + "/api/v1/risk/limits").status_code == 200
    assert httpx.get(srv.url + "/metrics").status_code == 200
    r = httpx.post(srv.url + "/api/v1/risk/halt", json={})
    assert r.status_code == 401  # writing still needs a read-write key
    assert httpx.post(srv.url + "/api/v1/risk/halt", json={}, headers={"X-API-Key": rw}).status_code == 404


def test_metrics_need_a_key_unless_public_metrics(api) -> None:
    srv, _, ro = api()
    assert httpx.get(srv.url + "/metrics").status_code == 401
    assert httpx.get(srv.url + "/metrics", headers={"X-API-Key": ro}).status_code == 200
    srv2, _, _ = api(public_metrics=True)
    assert httpx.get(srv2.url + "/metrics").status_code == 200
    assert httpx.get(srv2.url + "/api/v1/risk/limits").status_code == 401  # only /metrics is opened


def test_dns_rebinding_host_is_refused(api) -> None:
    """A page on evil.example whose name resolves to 127.0.0.1 sends Host: evil.example, with the victim's
    browser. Even with a valid key (say, one the page stole earlier) it gets nothing."""
    srv, _, ro = api()
    port = srv.port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        r = httpx.get(srv.url + "/api/v1/fills", headers={"Host": host, "X-API-Key": ro})
        assert r.status_code == 421, (host, r.status_code)
        assert "allowed host" in r.json()["detail"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}"):
        r = httpx.get(srv.url + "/api/v1/risk/limits", headers={"Host": host, "X-API-Key": ro})
        assert r.status_code == 200, (host, r.status_code)
    # allowed hosts come from the config
    srv2, _, ro2 = api(allowed_hosts=["quantdesk.internal"])
    r = httpx.get(srv2.url + "/api/v1/risk/limits", headers={"Host": "quantdesk.internal", "X-API-Key": ro2})
    assert r.status_code == 200
    assert httpx.get(srv2.url + "/api/v1/risk/limits", headers={"X-API-Key": ro2}).status_code == 421


def _raw(port: int, head: str, body: bytes = b"", read_timeout: float = 5.0) -> tuple[int, str, float]:
    """Send a request head and part of a body on a raw socket; return (status, response text, seconds to the
    answer). The server must answer without waiting for the rest of the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        t0 = time.perf_counter()
        s.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 10:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        elapsed = time.perf_counter() - t0
    status = int(data.split(b" ", 2)[1])
    return status, data.decode(errors="replace"), elapsed


def test_no_body_is_read_before_the_key_is_checked(api) -> None:
    """A 50 MB body without a key: 401 at once, from the headers alone (the server does not wait for the
    50 MB, let alone parse them)."""
    srv, rw, _ = api()
    head = (f"POST /api/v1/backtests HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 2**20}\r\n\r\n")
    status, text, secs = _raw(srv.port, head, b'{"strategy": "sma_cross", "params": {' + b" " * 1000)
    assert status == 401 and "API key" in text and secs < 2.0
    # with a key, a body over the cap (1 MiB by default) is 413 from its Content-Length, also without reading it
    head_k = head.replace("Content-Type", f"X-API-Key: {rw}\r\nContent-Type")
    status, text, secs = _raw(srv.port, head_k, b"{" + b" " * 1000)
    assert status == 413 and "limit" in text and secs < 2.0
    # a chunked body is cut off as soon as it passes the cap
    big = b" " * (2 * 2**20)
    r = httpx.post(srv.url + "/api/v1/backtests", content=iter([b'{"strategy": "sma_cross"', big, b"}"]),
                   headers={"X-API-Key": rw, "Content-Type": "application/json"})
    assert r.status_code == 413
    # and a normal body still works
    r = httpx.post(srv.url + "/api/v1/risk/halt", json={"reason": "x" * 100}, headers={"X-API-Key": rw})
    assert r.status_code == 404  # authorised, validated; no bot running


def test_failed_authentication_is_rate_limited_and_cheap(api) -> None:
    """Guessing secrets of a REAL key id: each wrong try costs microseconds (not 71 ms of PBKDF2), and after the
    budget (10 by default) the address gets 429 without any verification, while a key verified before still
    works."""
    srv, rw, _ = api()
    key_id = rw.split("_")[1]
    with httpx.Client(base_url=srv.url + "/api/v1") as c:
        assert c.get("/risk/limits", headers={"X-API-Key": rw}).status_code == 200  # a known good key
        codes, times = [], []
        for i in range(14):
            t0 = time.perf_counter()
            r = c.get("/risk/limits", headers={"X-API-Key": f"qd_{key_id}_{'x' * 40}{i:03d}"})
            times.append(time.perf_counter() - t0)
            codes.append(r.status_code)
        assert codes[:10] == [401] * 10 and codes[10:] == [429] * 4, codes
        assert int(r.headers["Retry-After"]) >= 1
        assert sorted(times)[len(times) // 2] < 0.05, times  # median round trip, PBKDF2 alone was 0.07 s
        assert c.get("/risk/limits", headers={"X-API-Key": rw}).status_code == 200  # the good key still works
        # the WebSocket shares the budget: a wrong key there is refused (4429) without verification
        import asyncio

        import websockets

        async def ws_try() -> int:
            async with websockets.connect(srv.url.replace("http", "ws") + "/ws") as ws:
                await ws.send(json.dumps({"op": "auth", "key": f"qd_{key_id}_{'y' * 43}"}))
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except websockets.exceptions.ConnectionClosed as exc:
                    return exc.rcvd.code
            return 0

        assert asyncio.run(ws_try()) == 4429


def test_fast_hash_at_rest_and_older_pbkdf2_keys_still_verify(tmp_path: Path) -> None:
    """Keys are stored as salted SHA-256 (256-bit random secrets: a slow hash adds nothing but an attacker's
    lever); a key file of the older PBKDF2 format keeps working and is rewritten at its first use."""
    import hashlib

    from quantdesk.api.keys import KeyStore

    ks = KeyStore(tmp_path)
    key, rec = ks.create_key("new")
    stored = json.loads((tmp_path / "api_keys.json").read_text())["keys"][0]
    assert stored["algorithm"] == "sha256" and key.split("_", 2)[2] not in json.dumps(stored)
    assert stored["hash"] == hashlib.sha256(bytes.fromhex(stored["salt"]) + key.split("_", 2)[2].encode()).hexdigest()
    # an old-format record (as created before this change)
    secret, salt = "s" * 43, b"0123456789abcdef"
    old = {"id": "00aa11bb22cc", "name": "old", "read_only": False, "created_at": 1, "algorithm": "pbkdf2_sha256",
           "iterations": 1000, "salt": salt.hex(), "hash": hashlib.pbkdf2_hmac("sha256", secret.encode(), salt,
                                                                                1000).hex()}
    doc = json.loads((tmp_path / "api_keys.json").read_text())
    doc["keys"].append(old)
    (tmp_path / "api_keys.json").write_text(json.dumps(doc))
    fresh = KeyStore(tmp_path)
    assert fresh.verify(f"qd_00aa11bb22cc_{'t' * 43}") is None
    assert fresh.verify(f"qd_00aa11bb22cc_{secret}")["name"] == "old"
    upgraded = next(r for r in json.loads((tmp_path / "api_keys.json").read_text())["keys"] if r["name"] == "old")
    assert upgraded["algorithm"] == "sha256" and "iterations" not in upgraded
    assert KeyStore(tmp_path).verify(f"qd_00aa11bb22cc_{secret}")["name"] == "old"
    assert KeyStore(tmp_path).verify(key)["name"] == "new"


def test_per_key_rate_limit_still_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    monkeypatch.setenv("QD_HOME", str(tmp_path / "h"))
    set_settings(None)
    settings = load_settings()
    ro, _ = KeyStore(settings.home).create_key("ro", read_only=True)
    srv = Server(create_app(settings, rate=1.0, burst=3))
    try:
        codes = [httpx.get(srv.url + "/api/v1/risk/limits", headers={"X-API-Key": ro}).status_code
                 for _ in range(5)]
        assert codes[:3] == [200] * 3 and codes[3:] == [429, 429]
        # a scraper is not throttled by it (one scrape per 15 s is no load, and a gap in metrics is worse)
        assert all(httpx.get(srv.url + "/metrics", headers={"X-API-Key": ro}).status_code == 200
                   for _ in range(5))
    finally:
        srv.stop()
        set_settings(None)


def test_docs_are_served_without_any_external_request(api) -> None:
    srv, _, _ = api()
    html = httpx.get(srv.url + "/docs").text
    assert "swagger-ui" in html.lower()
    refs = [u for u in __import__("re").findall(r"""(?:src|href)=["']([^"']+)""", html)]
    assert refs and all(u.startswith("/") for u in refs), refs  # same origin only: no CDN
    for ref in refs:
        r = httpx.get(srv.url + ref)
        assert r.status_code == 200 and len(r.content) > 100, ref
    assert "https://" not in html and "http://" not in html.replace(srv.url, "")
    assert httpx.get(srv.url + "/redoc").status_code in (401, 404)  # the CDN-only ReDoc page is gone


def test_the_compose_stack_lets_prometheus_scrape(api) -> None:
    """deploy/docker-compose.yml: Prometheus reaches the platform as `platform:8000` without a key; the same
    settings still refuse other names and keyless reads."""
    import yaml

    deploy = Path(__file__).parents[2] / "deploy"
    env = yaml.safe_load((deploy / "docker-compose.yml").read_text())["services"]["platform"]["environment"]
    target = yaml.safe_load((deploy / "prometheus.yml").read_text())["scrape_configs"][0]["static_configs"][0]
    srv, _, _ = api(allowed_hosts=json.loads(env["QD_API__ALLOWED_HOSTS"]),
                    public_metrics=env["QD_API__PUBLIC_METRICS"] == "true")
    host = target["targets"][0]
    assert httpx.get(srv.url + "/metrics", headers={"Host": host}).status_code == 200
    assert httpx.get(srv.url + "/api/v1/bots", headers={"Host": host}).status_code == 401
    assert httpx.get(srv.url + "/metrics", headers={"Host": "evil.example"}).status_code == 421
