"""Binance's WebSocket side: market streams, the listenKey user-data stream and the WebSocket API user stream.

Paths (as on Binance, plus `/stream/ws` because ccxt tells spot from futures streams by "/stream" in the URL):
- `/ws`, `/ws/<stream>[/<stream>...]`, `/stream/ws[/<n>]`: raw streams; `SUBSCRIBE` / `UNSUBSCRIBE` /
  `LIST_SUBSCRIPTIONS` requests; `/ws/<listenKey>` is a user-data stream;
- `/stream?streams=a/b`: combined streams (`{"stream": ..., "data": ...}`);
- `/ws-api/v3`: the WebSocket API (`userDataStream.subscribe.signature`, `userDataStream.unsubscribe`, `ping`,
  `time`); user events then arrive as `{"subscriptionId": n, "event": {...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from quantdesk.adapters.simulator import auth
from quantdesk.adapters.simulator.hub import STREAM_NAME, Connection
from quantdesk.adapters.simulator.model import SimError
from quantdesk.adapters.simulator.runtime import SimRuntime

MAX_STREAMS = 1024
CLOSE_GOING_AWAY = 1001


async def _sender(ws: WebSocket, conn: Connection) -> None:
    """The only writer of a connection: sends queued messages; None closes the connection."""
    try:
        while True:
            text = await conn.queue.get()
            if text is None:
                await ws.close(code=CLOSE_GOING_AWAY)
                return
            await ws.send_text(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


def _reply(conn: Connection, body: dict[str, Any]) -> None:
    if not conn.closing:
        conn.queue.put_nowait(json.dumps(body, separators=(",", ":")))


async def _serve(rt: SimRuntime, ws: WebSocket, conn: Connection, handle: Any) -> None:
    await ws.accept()
    rt.hub.add(conn)
    sender = asyncio.create_task(_sender(ws, conn))
    try:
        while True:
            text = await ws.receive_text()
            handle(conn, text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        rt.hub.remove(conn)
        if not sender.done():
            conn.queue.put_nowait(None)
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(sender, timeout=1.0)


def _market_request(rt: SimRuntime, conn: Connection, text: str) -> None:
    try:
        msg = json.loads(text)
    except ValueError:
        _reply(conn, {"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}})
        return
    if not isinstance(msg, dict):
        _reply(conn, {"error": {"code": 3, "msg": "Invalid JSON: expected an object"}})
        return
    rid, method, params = msg.get("id"), msg.get("method"), msg.get("params") or []
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(s, str) and STREAM_NAME.match(s) for s in params):
            _reply(conn, {"error": {"code": 2, "msg": "Invalid request: invalid stream name"}, "id": rid})
            return
        if method == "SUBSCRIBE":
            if len(set(conn.streams) | set(params)) > MAX_STREAMS:
                _reply(conn, {"error": {"code": 2, "msg": "Invalid request: too many streams"}, "id": rid})
                return
            conn.streams.extend(s for s in params if s not in conn.streams)
        else:
            conn.streams[:] = [s for s in conn.streams if s not in params]
        rt.hub.streams_changed()
        _reply(conn, {"result": None, "id": rid})
    elif method == "LIST_SUBSCRIPTIONS":
        _reply(conn, {"result": list(conn.streams), "id": rid})
    elif method in ("SET_PROPERTY", "GET_PROPERTY"):
        _reply(conn, {"result": None if method == "SET_PROPERTY" else conn.combined, "id": rid})
    else:
        _reply(conn, {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": rid})


def _streams_and_key(rt: SimRuntime, names: list[str]) -> tuple[list[str], str | None]:
    streams = [n for n in names if STREAM_NAME.match(n)]
    keys = [n for n in names if n and "@" not in n and rt.listen_key_valid(n)]
    return streams, keys[0] if keys else None


def market_endpoint(rt: SimRuntime, combined: bool) -> Any:
    async def run(ws: WebSocket) -> None:
        if combined:
            names = [n for n in ws.query_params.get("streams", "").split("/") if n]
        else:
            names = [n for n in ws.path_params.get("path", "").split("/") if n]
        streams, key = _streams_and_key(rt, names)
        conn = Connection(kind="user" if key else "market", queue=asyncio.Queue(), streams=streams,
                          combined=combined, user=key is not None, listen_key=key)
        await _serve(rt, ws, conn, lambda c, text: _market_request(rt, c, text))

    return run


def api_endpoint(rt: SimRuntime) -> Any:
    def handle(conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            _reply(conn, {"id": None, "status": 400, "error": {"code": -1100, "msg": "Malformed JSON."}})
            return
        rid = msg.get("id") if isinstance(msg, dict) else None
        method = msg.get("method") if isinstance(msg, dict) else None
        params = msg.get("params") if isinstance(msg, dict) else None
        params = params if isinstance(params, dict) else {}
        try:
            result = _api_call(rt, conn, str(method), params)
        except SimError as exc:
            _reply(conn, {"id": rid, "status": exc.status, "error": exc.body(), "rateLimits": []})
            return
        _reply(conn, {"id": rid, "status": 200, "result": result, "rateLimits": []})

    async def run(ws: WebSocket) -> None:
        await _serve(rt, ws, Connection(kind="api", queue=asyncio.Queue()), handle)

    return run


def _api_call(rt: SimRuntime, conn: Connection, method: str, params: dict[str, Any]) -> Any:
    """One WebSocket API request. A connection holds at most one user-data subscription (id 0, as Binance
    numbers them per connection)."""
    wall = int(time.time() * 1000)
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": wall}
    if method == "userDataStream.subscribe.signature":
        auth.check_ws_signature(params, rt.cfg.api_key, rt.cfg.api_secret, wall)
        if rt.faults.take("timestamp", "WS", "/ws-api/v3") is not None:
            raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")
        conn.subscription_id = 0
        conn.user = True
        return {"subscriptionId": conn.subscription_id}
    if method == "userDataStream.unsubscribe":
        conn.user, conn.subscription_id = False, None
        return {}
    raise SimError(-1020, f"Unsupported operation: {method}")


def routes(rt: SimRuntime) -> list[WebSocketRoute]:
    raw, combined = market_endpoint(rt, False), market_endpoint(rt, True)
    return [
        WebSocketRoute("/ws", raw),
        WebSocketRoute("/ws/{path:path}", raw),
        WebSocketRoute("/stream/ws", raw),
        WebSocketRoute("/stream/ws/{path:path}", raw),
        WebSocketRoute("/stream", combined),
        WebSocketRoute("/ws-api/v3", api_endpoint(rt)),
    ]
