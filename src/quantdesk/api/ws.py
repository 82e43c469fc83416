"""WebSocket /ws: {"op": "subscribe", "channels": [...]} / "unsubscribe" / "ping"; events pushed as they happen.

Engine events arrive on the paper node's thread (the service's listeners); they are handed to the asyncio loop
with `loop.call_soon_threadsafe` into a bounded per-client queue (a slow client loses its oldest messages, it
never blocks the node).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from quantdesk.api.deps import presented_key
from quantdesk.service.facade import CHANNELS

router = APIRouter()
QUEUE_MAX = 10_000


@router.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    app = websocket.app
    rec = None
    key = presented_key(websocket.headers, websocket.query_params.get("api_key"))
    if key is not None:
        rec = app.state.keys.verify(key)
    if rec is None:
        await websocket.close(code=4401, reason="an API key is required")
        return
    await websocket.accept()
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
            raw = await websocket.receive_text()
            try:
                msg = json.loads(raw)
                op = msg.get("op")
                chans = msg.get("channels", [])
                if not isinstance(chans, list):
                    raise ValueError
            except (ValueError, AttributeError):
                await websocket.send_text(json.dumps({"op": "error", "error": "expected a JSON object with op"}))
                continue
            bad = [c for c in chans if c not in CHANNELS]
            if op in ("subscribe", "unsubscribe") and bad:
                await websocket.send_text(json.dumps({"op": "error", "error": f"unknown channels {bad}",
                                                      "channels": list(CHANNELS)}))
            elif op == "subscribe":
                subs.update(chans)
                await websocket.send_text(json.dumps({"op": "subscribed", "channels": sorted(subs)}))
            elif op == "unsubscribe":
                subs.difference_update(chans)
                await websocket.send_text(json.dumps({"op": "subscribed", "channels": sorted(subs)}))
            elif op == "ping":
                await websocket.send_text(json.dumps({"op": "pong"}))
            else:
                await websocket.send_text(json.dumps({"op": "error", "error": f"unknown op {op!r}"}))
    except WebSocketDisconnect:
        pass
    finally:
        task.cancel()
        if listener in svc.listeners:
            svc.listeners.remove(listener)
        app.state.metrics.ws_clients.dec()
