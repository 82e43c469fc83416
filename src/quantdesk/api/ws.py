"""WebSocket /ws: {"op": "subscribe", "channels": [...]} / "unsubscribe" / "ping"; events pushed as they happen.

Authentication never puts the key in the URL (URLs are what servers and proxies log):
- a header (X-API-Key or Authorization: Bearer), checked before the upgrade (`security.Guard`), or
- the FIRST message `{"op": "auth", "key": "qd_..."}` within `api.ws_auth_timeout_s` (what the dashboard does:
  browsers cannot set headers on a WebSocket), answered `{"op": "authenticated", ...}`, or
- a one-time ticket from POST /api/v1/auth/ws-ticket in `/ws?ticket=...` (valid 30 s, spent on use).
A refused key closes with code 4401; a key in the URL (`?api_key=`) is refused.

Every message is bounded: at most `api.ws_max_message_bytes` and `api.ws_max_depth` levels of nesting, answered
with an error frame otherwise (the connection stays open). Binary frames are refused the same way.

Engine events arrive on the paper node's thread (the service's listeners); they are handed to the asyncio loop
with `loop.call_soon_threadsafe` into a bounded per-client queue (a slow client loses its oldest messages, it
never blocks the node).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from quantdesk.api.security import Auth
from quantdesk.service.facade import CHANNELS

router = APIRouter()
QUEUE_MAX = 10_000


class BadMessage(ValueError):
    pass


def nesting_depth(text: str, limit: int) -> int:
    """Deepest [ / { nesting of a JSON text (strings skipped), counting stops past `limit`. Checked BEFORE
    json.loads, whose recursion a deeply nested message would exhaust."""
    depth = deepest = 0
    in_str = escaped = False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_message(message: Mapping[str, Any], max_bytes: int, max_depth: int) -> dict[str, Any]:
    """One received ASGI message -> a JSON object, or BadMessage saying why not."""
    text = message.get("text")
    if text is None:
        raise BadMessage("binary frames are not accepted: send JSON text")
    if len(text) > max_bytes or len(text.encode()) > max_bytes:
        raise BadMessage(f"message over {max_bytes} bytes")
    if nesting_depth(text, max_depth) > max_depth:
        raise BadMessage(f"message nested deeper than {max_depth} levels")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        raise BadMessage("expected a JSON object with op") from None
    if not isinstance(msg, dict):
        raise BadMessage("expected a JSON object with op")
    return msg


async def _error(websocket: WebSocket, text: str, **extra: Any) -> None:
    await websocket.send_text(json.dumps({"op": "error", "error": text, **extra}))


async def _first_message_auth(websocket: WebSocket, cfg: Any) -> dict[str, Any] | None:
    """Wait for {"op": "auth", "key": ...}; the key's record, or None after closing the socket (4401)."""
    guard = websocket.app.state.auth
    client = websocket.client.host if websocket.client else "-"
    try:
        message = await asyncio.wait_for(websocket.receive(), cfg.ws_auth_timeout_s)
    except TimeoutError:
        await websocket.close(code=4401, reason="no authentication message in time")
        return None
    if message.get("type") == "websocket.disconnect":
        return None
    try:
        msg = parse_message(message, cfg.ws_max_message_bytes, cfg.ws_max_depth)
    except BadMessage as exc:
        await websocket.close(code=4401, reason=f"authenticate first: {exc}"[:120])
        return None
    if msg.get("op") != "auth" or not isinstance(msg.get("key"), str):
        await websocket.close(code=4401, reason='authenticate first: {"op": "auth", "key": "qd_..."}')
        return None
    res = guard.authenticate(msg["key"], client)
    if isinstance(res, tuple):
        await websocket.close(code=4429 if res[0] == 429 else 4401, reason=res[1])
        return None
    return res


@router.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    app = websocket.app
    cfg = app.state.api_settings
    auth = websocket.scope.get("qd_auth")
    rec = auth.record if isinstance(auth, Auth) else None
    ticket = websocket.query_params.get("ticket")
    if rec is None and ticket is not None:
        rec = app.state.tickets.redeem(ticket)
        if rec is None:
            await websocket.accept()
            await websocket.close(code=4401, reason="invalid or expired ticket")
            return
    await websocket.accept()
    if rec is None:
        rec = await _first_message_auth(websocket, cfg)
        if rec is None:
            return
        await websocket.send_text(json.dumps({"op": "authenticated", "key": {
            "id": rec["id"], "name": rec["name"], "read_only": bool(rec["read_only"])}}))
    svc = app.state.service
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_MAX)
    subs: set[str] = set()

    def put(item: dict[str, Any]) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)

    def listener(channel: str, payload: dict[str, Any]) -> None:  # node thread
        if channel in subs:
            loop.call_soon_threadsafe(put, {"channel": channel, **payload})

    svc.listeners.append(listener)
    app.state.metrics.ws_clients.inc()

    async def sender() -> None:
        while True:
            item = await queue.get()
            await websocket.send_text(json.dumps(item, default=str))

    task = asyncio.create_task(sender())
    try:
        while True:
            message = await websocket.receive()
            if message.get("type") == "websocket.disconnect":
                break
            try:
                msg = parse_message(message, cfg.ws_max_message_bytes, cfg.ws_max_depth)
                op = msg.get("op")
                chans = msg.get("channels", [])
                if not isinstance(chans, list) or not all(isinstance(c, str) for c in chans):
                    raise BadMessage("channels: expected a list of channel names")
            except BadMessage as exc:
                await _error(websocket, str(exc))
                continue
            bad = [c for c in chans if c not in CHANNELS]
            if op in ("subscribe", "unsubscribe") and bad:
                await _error(websocket, f"unknown channels {bad[:10]}", channels=list(CHANNELS))
            elif op == "subscribe":
                subs.update(chans)
                await websocket.send_text(json.dumps({"op": "subscribed", "channels": sorted(subs)}))
            elif op == "unsubscribe":
                subs.difference_update(chans)
                await websocket.send_text(json.dumps({"op": "subscribed", "channels": sorted(subs)}))
            elif op == "ping":
                await websocket.send_text(json.dumps({"op": "pong"}))
            elif op == "auth":
                await websocket.send_text(json.dumps({"op": "authenticated"}))
            else:
                await _error(websocket, f"unknown op {str(op)[:40]!r}")
    except WebSocketDisconnect:
        pass
    finally:
        task.cancel()
        if listener in svc.listeners:
            svc.listeners.remove(listener)
        app.state.metrics.ws_clients.dec()
