"""`ExchangeSimulator`: the simulated Binance served by uvicorn on 127.0.0.1, in a thread or in the foreground.

    with ExchangeSimulator(data="candles.csv", symbol="BTC/USDT", timeframe="1m", speed=600) as sim:
        ex = sim.ccxt()                      # a real ccxt.binance pointed at it (REST)
        ex.create_order("BTC/USDT", "market", "buy", 0.01)
        sim.state()["fills"]                 # the exchange's truth
        sim.faults("rate_limit", count=1)    # the next request gets HTTP 429

One Starlette app holds the Binance REST routes, the WebSocket streams and the `/_sim` control routes; a
background task on the server's event loop replays the market as the simulated clock moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from quantdesk.adapters.simulator import control, rest, streams
from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.faults import Fault, make_fault, parse_fault
from quantdesk.adapters.simulator.runtime import SimRuntime
from quantdesk.core.errors import ConfigError

HOST = "127.0.0.1"
_DROPPED = "ASGI callable returned without completing response."


class _QuietDroppedResponses(logging.Filter):
    """uvicorn logs an error for each response we drop on purpose (the drop_response fault): not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROPPED


def tracking_protocol(transports: dict[tuple[str, int], Any]) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, recording each connection's transport by client address, so that the
    drop_response fault can hang up a connection before answering (ASGI offers no way to do that)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class TrackingHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self._qd_peer = _peer(transport)
            if self._qd_peer is not None:
                transports[self._qd_peer] = transport
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            peer = getattr(self, "_qd_peer", None)
            if peer is not None:
                transports.pop(peer, None)
            super().connection_lost(exc)

    return TrackingHTTPProtocol


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None


def build_app(rt: SimRuntime) -> Starlette:
    """The ASGI app of one runtime (REST + WebSocket + /_sim), with the clock driver in its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt.hub.loop = asyncio.get_running_loop()
        driver = asyncio.create_task(_drive(rt))
        try:
            yield
        finally:
            driver.cancel()
            rt.hub.disconnect("all")
            with contextlib.suppress(asyncio.CancelledError):
                await driver

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"code": -5000, "msg": f"Path {request.url.path}, Method {request.method} is invalid"},
                            status_code=404)

    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDroppedResponses) for f in logger.filters):
        logger.addFilter(_QuietDroppedResponses())
    return Starlette(routes=[*rest.routes(rt), *control.routes(rt), *streams.routes(rt)], lifespan=lifespan,
                     exception_handlers={404: not_found, 405: not_found})


async def _drive(rt: SimRuntime) -> None:
    """Replay the market as the clock moves: wake at the next tape event (at most every 0.1 s)."""
    while True:
        with rt.session() as ex:
            nxt = ex.next_event_ms()
        wait = rt.clock.wall_seconds_until(nxt) if nxt is not None else None
        await asyncio.sleep(0.1 if wait is None else min(max(wait, 0.002), 0.1))


class ExchangeSimulator:
    """A Binance-compatible exchange on 127.0.0.1 (see the module docstring and docs/exchange-simulator.md)."""

    def __init__(self, data: str | Path | None = None, symbol: str = "BTC/USDT", timeframe: str = "1m", *,
                 config: SimConfig | None = None, port: int = 0, **settings: Any) -> None:
        if config is None:
            config = SimConfig(data=Path(data) if data is not None else None, symbol=symbol, timeframe=timeframe)
        if settings:
            config = replace(config, **settings)
        self.runtime = SimRuntime(config)
        self.config = self.runtime.cfg
        self.app = build_app(self.runtime)
        self._requested_port = int(port)
        self._port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------
    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self._requested_port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"port {self._requested_port} on {HOST} is not free ({exc.strerror}); "
                              "pick another with --port") from None
        sock.listen(2048)  # connections made before uvicorn serves wait in the backlog instead of failing
        self._port = sock.getsockname()[1]
        return sock

    def _uvicorn(self) -> Any:
        import uvicorn

        return uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                             ws="websockets-sansio", timeout_graceful_shutdown=2,
                                             http=tracking_protocol(self.runtime.transports)))

    def start(self) -> ExchangeSimulator:
        """Serve in a background thread (returns once the server accepts connections)."""
        if self._thread is not None:
            return self
        sock = self._bind()
        self._server = self._uvicorn()
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="exchange-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the exchange simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    def serve_forever(self, on_ready: Callable[[ExchangeSimulator], None] | None = None) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (the CLI)."""
        sock = self._bind()
        self._server = self._uvicorn()
        if on_ready is not None:
            on_ready(self)
        self._server.run(sockets=[sock])

    def __enter__(self) -> ExchangeSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses --------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not serving yet (call start())")
        return self._port

    @property
    def rest_url(self) -> str:
        """Origin of the REST API (`{rest_url}/api/v3/...`)."""
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base of the spot market streams, as ccxt's `urls['api']['ws']['spot']` (ccxt appends `/<n>`)."""
        return f"ws://{HOST}:{self.port}/stream/ws"

    @property
    def ws_api_url(self) -> str:
        """The WebSocket API (user-data stream), as ccxt's `urls['api']['ws']['ws-api']['spot']`."""
        return f"ws://{HOST}:{self.port}/ws-api/v3"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def api_secret(self) -> str:
        return self.config.api_secret

    # ---- control (thread-safe) --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The exchange's truth: orders, fills, balances (asset -> total), submissions, faults."""
        return self.runtime.state()

    def faults(self, *specs: str | Fault, **fault: Any) -> list[dict[str, Any]]:
        """Add faults: `faults("rate_limit:count=1")`, `faults(kind="reject", count=1, code=-2010)`."""
        added = [self.runtime.faults.add(s if isinstance(s, Fault) else parse_fault(s)) for s in specs]
        if fault:
            added.append(self.runtime.faults.add(make_fault(**fault)))
        return [f.to_dict() for f in added]

    def clear_faults(self, kind: str | None = None) -> int:
        return self.runtime.faults.clear(kind)

    def advance(self, *, ms: int | None = None, candles: int | None = None, to: str | int | None = None) -> int:
        """Move the simulated clock forward and replay the market to there; returns the new time (ms)."""
        return self.runtime.advance(ms=ms, candles=candles, to=to)

    def set_speed(self, speed: float) -> None:
        self.runtime.set_speed(speed)

    def now_ms(self) -> int:
        return self.runtime.clock.now_ms()

    def disconnect(self, scope: str = "all", timeout: float = 5.0) -> int:
        """Close the WebSocket connections of `scope` now; returns how many were closed."""
        done = threading.Event()
        result: dict[str, int] = {}

        def run() -> None:
            result["n"] = self.runtime.hub.disconnect(scope)
            done.set()

        self.runtime.hub.call(run)
        done.wait(timeout)
        return result.get("n", 0)

    def ccxt(self, **options: Any) -> Any:
        """A real `ccxt.binance` pointed at this simulator, with its keys (see `clients.binance_client`)."""
        from quantdesk.adapters.simulator.clients import binance_client

        return binance_client(self, **options)

    def ccxt_pro(self, **options: Any) -> Any:
        """A real `ccxt.pro.binance` (REST + WebSocket) pointed at this simulator; close it with `await ex.close()`."""
        from quantdesk.adapters.simulator.clients import binance_client

        return binance_client(self, pro=True, **options)
