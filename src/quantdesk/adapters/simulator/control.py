"""The simulator's own control routes under `/_sim` (not Binance's): truth, faults, clock, disconnects.

    GET    /_sim/state                        orders, fills, balances, submissions, faults (JSON)
    GET    /_sim/faults                       active faults
    POST   /_sim/faults      {"kind": ...}    add one fault (or a list of them)
    DELETE /_sim/faults[?kind=K]              clear all faults (or those of one kind)
    POST   /_sim/advance     {"ms"|"candles"|"to": ...}   move the simulated clock forward
    GET    /_sim/clock / POST {"speed": x}    read the clock / change its speed (0 = manual)
    POST   /_sim/disconnect  {"scope": "all"|"market"|"user"}   close WebSocket connections now

Bad input answers 400 with `{"error": "..."}` naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quantdesk.adapters.simulator.faults import fault_from_json
from quantdesk.adapters.simulator.runtime import SimRuntime
from quantdesk.core.errors import QuantDeskError
from quantdesk.core.timeutil import iso


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _BadRequest(f"the body is not JSON ({exc})") from None


class _BadRequest(Exception):
    pass


def _guard(fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            return JSONResponse(await fn(request))
        except (_BadRequest, QuantDeskError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return run


def routes(rt: SimRuntime) -> list[Route]:
    async def state(request: Request) -> Any:
        return rt.state()

    async def faults_get(request: Request) -> Any:
        return rt.faults.active()

    async def faults_add(request: Request) -> Any:
        body = await _json_body(request)
        items = body if isinstance(body, list) else [body]
        faults = [fault_from_json(item) for item in items]  # all checked before any is added
        return [rt.faults.add(f).to_dict() for f in faults]

    async def faults_clear(request: Request) -> Any:
        return {"cleared": rt.faults.clear(request.query_params.get("kind"))}

    async def advance(request: Request) -> Any:
        body = await _json_body(request)
        if not isinstance(body, dict) or set(body) - {"ms", "candles", "to"}:
            raise _BadRequest('advance takes {"ms": N} or {"candles": N} or {"to": "ISO time"}')
        try:
            ms = int(body["ms"]) if "ms" in body else None
            candles = int(body["candles"]) if "candles" in body else None
        except (TypeError, ValueError):
            raise _BadRequest("advance: ms and candles must be integers") from None
        now = rt.advance(ms=ms, candles=candles, to=body.get("to"))
        return {"now": now, "now_iso": iso(now * 1_000_000)}

    async def clock_get(request: Request) -> Any:
        now = rt.clock.now_ms()
        return {"now": now, "now_iso": iso(now * 1_000_000), "speed": rt.clock.speed}

    async def clock_set(request: Request) -> Any:
        body = await _json_body(request)
        try:
            speed = float(body["speed"])
        except (KeyError, TypeError, ValueError):
            raise _BadRequest('clock takes {"speed": x} with x >= 0 (0 = manual)') from None
        rt.set_speed(speed)
        return await clock_get(request)

    async def disconnect(request: Request) -> Any:
        body = await _json_body(request)
        scope = body.get("scope", "all") if isinstance(body, dict) else "all"
        if scope not in ("all", "market", "user"):
            raise _BadRequest("disconnect: scope must be all, market or user")
        return {"closed": rt.hub.disconnect(scope)}

    return [
        Route("/_sim/state", _guard(state), methods=["GET"]),
        Route("/_sim/faults", _guard(faults_get), methods=["GET"]),
        Route("/_sim/faults", _guard(faults_add), methods=["POST"]),
        Route("/_sim/faults", _guard(faults_clear), methods=["DELETE"]),
        Route("/_sim/advance", _guard(advance), methods=["POST"]),
        Route("/_sim/clock", _guard(clock_get), methods=["GET"]),
        Route("/_sim/clock", _guard(clock_set), methods=["POST"]),
        Route("/_sim/disconnect", _guard(disconnect), methods=["POST"]),
    ]
