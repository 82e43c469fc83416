"""The WebSocket from outside (uvicorn on 127.0.0.1, the `websockets` client): authentication without the key in
the URL, one-time tickets, and bounded messages (size, depth, binary) answered with error frames."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from test_api import Server


@pytest.fixture(scope="module")
def ws_env(tmp_path_factory):
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    home: Path = tmp_path_factory.mktemp("ws") / "qdhome"
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)
    set_settings(None)
    settings = load_settings()
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"ws_auth_timeout_s": 1.5})})
    set_settings(settings)
    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    srv = Server(create_app(settings, rate=1000.0, burst=2000))
    yield {"url": srv.url, "ws": srv.url.replace("http", "ws") + "/ws", "rw": rw, "ro": ro, "settings": settings}
    srv.stop()
    set_settings(None)
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old


async def _recv(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _closed(ws: Any, timeout: float = 5.0) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.exceptions.ConnectionClosed as exc:
        return exc.rcvd.code, exc.rcvd.reason


def test_first_message_authentication(ws_env) -> None:
    async def go() -> None:
        async with websockets.connect(ws_env["ws"]) as ws:
            await ws.send(json.dumps({"op": "auth", "key": ws_env["ro"]}))
            msg = await _recv(ws)
            assert msg["op"] == "authenticated" and msg["key"]["name"] == "ro" and msg["key"]["read_only"]
            assert ws_env["ro"] not in json.dumps(msg)  # the key is never echoed
            await ws.send(json.dumps({"op": "subscribe", "channels": ["trades", "alerts"]}))
            assert (await _recv(ws)) == {"op": "subscribed", "channels": ["alerts", "trades"]}
            await ws.send(json.dumps({"op": "ping"}))
            assert (await _recv(ws))["op"] == "pong"
        # a wrong key: closed with 4401 and a reason
        async with websockets.connect(ws_env["ws"]) as ws:
            await ws.send(json.dumps({"op": "auth", "key": "qd_000000000000_" + "x" * 43}))
            assert (await _closed(ws))[0] == 4401
        # anything else first: closed 4401, nothing subscribed
        async with websockets.connect(ws_env["ws"]) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["trades"]}))
            code, reason = await _closed(ws)
            assert code == 4401 and "auth" in reason
        # silence: closed after the auth timeout (1.5 s here), not held open
        t0 = time.monotonic()
        async with websockets.connect(ws_env["ws"]) as ws:
            assert (await _closed(ws))[0] == 4401
        assert time.monotonic() - t0 < 5

    asyncio.run(go())


def test_header_authentication_and_no_key_in_the_url(ws_env) -> None:
    async def go() -> None:
        async with websockets.connect(ws_env["ws"], additional_headers={"Authorization": f"Bearer {ws_env['rw']}"}) \
                as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["events"]}))
            assert (await _recv(ws))["op"] == "subscribed"
        # the old way, a key in the URL (servers and proxies log URLs): refused even for a valid key
        for param in ("api_key", "key"):
            async with websockets.connect(f"{ws_env['ws']}?{param}={ws_env['rw']}") as ws:
                code, reason = await _closed(ws)
                assert code == 4401 and "URL" in reason

    asyncio.run(go())


def test_one_time_ticket(ws_env) -> None:
    r = httpx.post(ws_env["url"] + "/api/v1/auth/ws-ticket", headers={"X-API-Key": ws_env["ro"]})
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    assert r.json()["expires_in"] == 30 and ws_env["ro"] not in r.text
    assert httpx.post(ws_env["url"] + "/api/v1/auth/ws-ticket").status_code == 401

    async def go() -> None:
        async with websockets.connect(f"{ws_env['ws']}?ticket={ticket}") as ws:
            await ws.send(json.dumps({"op": "ping"}))
            assert (await _recv(ws))["op"] == "pong"
        async with websockets.connect(f"{ws_env['ws']}?ticket={ticket}") as ws:  # spent
            assert (await _closed(ws))[0] == 4401
        async with websockets.connect(f"{ws_env['ws']}?ticket=made-up") as ws:
            assert (await _closed(ws))[0] == 4401

    asyncio.run(go())


def test_messages_are_bounded_and_answered_with_error_frames(ws_env) -> None:
    """A deeply nested message used to drop the connection with a traceback (json recursion): now an error frame,
    and the connection keeps working. The same for a huge message, a binary frame, non-object JSON."""
    limit = ws_env["settings"].api.ws_max_message_bytes

    async def go() -> None:
        async with websockets.connect(ws_env["ws"], additional_headers={"X-API-Key": ws_env["ro"]}) as ws:
            for bad, why in [
                ("[" * 100_000 + "]" * 100_000, "bytes"),  # also over the size bound
                ('{"op": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
                ('{"op": "subscribe", "channels": [[[[[[[[["trades"]]]]]]]]]}', "nested"),
                ("x" * (limit + 1), "bytes"),
                ("[1, 2, 3]", "JSON object"),
                ("not json", "JSON object"),
                ('{"op": "subscribe", "channels": "trades"}', "channels"),
                ('{"op": "subscribe", "channels": [1, 2]}', "channels"),
            ]:
                await ws.send(bad)
                msg = await _recv(ws)
                assert msg["op"] == "error" and why in msg["error"], (bad[:40], msg)
            await ws.send(b"\x00\x01binary")
            msg = await _recv(ws)
            assert msg["op"] == "error" and "binary" in msg["error"]
            # still open and working
            await ws.send(json.dumps({"op": "subscribe", "channels": ["orders"]}))
            assert (await _recv(ws)) == {"op": "subscribed", "channels": ["orders"]}
            await ws.send(json.dumps({"op": "subscribe", "channels": ["nope"]}))
            assert "unknown channels" in (await _recv(ws))["error"]

    asyncio.run(go())
    # nesting inside strings is not nesting
    from quantdesk.api.ws import nesting_depth

    assert nesting_depth('{"a": "[[[[[[[[[[[[[["}', 8) == 1
    assert nesting_depth('{"a": "\\"[[[", "b": [[1]]}', 8) == 3
