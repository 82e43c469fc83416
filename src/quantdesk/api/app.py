"""`create_app(settings, node=None)`: the FastAPI application (REST under /api/v1, WebSocket /ws, docs /docs).

Every request first meets `security.Guard` (Host check, authentication, failed-auth and per-key rate limits, body
cap), then the routes. /docs is Swagger UI served from the `swagger-ui-bundle-v2` package (no CDN)."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from quantdesk import __version__
from quantdesk.api.allow import AllowHeader
from quantdesk.api.keys import KeyStore, TokenBucket
from quantdesk.api.media import JsonBodies
from quantdesk.api.metrics import ApiMetrics
from quantdesk.api.security import Authenticator, Guard, Tickets
from quantdesk.api.version import VersionHeader
from quantdesk.core.errors import ConflictError, NotFoundError, QuantDeskError
from quantdesk.core.logging import adopt_server_loggers, get_logger, register_secrets
from quantdesk.service.backtest_jobs import TooBusy
from quantdesk.service.facade import QuantDeskService

log = get_logger(__name__)
PREFIX = "/api/v1"


def create_app(settings: Any = None, node: Any = None, *, rate: float | None = None,
               burst: int | None = None) -> FastAPI:
    from quantdesk.api.routes import routers, system
    from quantdesk.api.ws import router as ws_router
    from quantdesk.core.config import get_settings
    from quantdesk.web import mount as mount_dashboard

    settings = settings or get_settings()
    register_secrets(settings.secret_values())  # the log redaction filter knows them from now on
    svc = QuantDeskService(settings, node)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import asyncio

        from quantdesk.rpc.telegram import start_controls

        adopt_server_loggers()  # uvicorn.run installed its plain-text handlers: one format for every line
        # open the database (and migrate it) before serving, so /health times a ping, not a migration; a database
        # that is down or slow to answer is reported by /health, it never stops the API from starting
        try:
            await asyncio.wait_for(asyncio.to_thread(lambda: svc.node), timeout=15.0)
        except Exception as exc:  # noqa: BLE001 - includes the timeout (the opening goes on in its thread)
            log.warning("database not opened at start (%s); /health reports it", type(exc).__name__)
        sampler = asyncio.create_task(svc.metrics.sample_loop_lag())  # qd_event_loop_lag_seconds
        controls = start_controls(svc, settings)  # Telegram control channels (`control = true`)
        try:
            yield
        finally:
            for control in controls:
                control.stop()
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            svc.shutdown()

    app = FastAPI(title="QuantDesk API", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Paper trading, backtests, market data, indicators and risk. Every endpoint except "
                              "/health needs an API key (X-API-Key or Authorization: Bearer; config "
                              "api.public_read opens GETs); read-only keys may GET, mutating endpoints need a "
                              "read-write key. List endpoints take `limit` and `offset`.")
    api_cfg = settings.api
    app.state.service = svc
    app.state.api_settings = api_cfg
    app.state.keys = KeyStore(settings.home)
    app.state.tickets = Tickets()
    app.state.bucket = TokenBucket(rate if rate is not None else float(os.environ.get("QD_API_RATE", "20")),
                                   burst if burst is not None else int(os.environ.get("QD_API_BURST", "40")))
    app.state.metrics = ApiMetrics(svc)
    app.add_middleware(JsonBodies)  # 415 for a body that is not JSON (inside the guard: after authentication)
    app.add_middleware(AllowHeader, schema=lambda: app.openapi())  # inside the guard: after authentication
    app.state.auth = Authenticator(app.state.keys, api_cfg, on_limited=app.state.metrics.rate_limited.inc)
    app.add_middleware(Guard, auth=app.state.auth, bucket=app.state.bucket, cfg=api_cfg,
                       on_limited=app.state.metrics.rate_limited.inc)
    app.add_middleware(VersionHeader)  # outside the guard: its refusals carry the version too

    @app.middleware("http")
    async def count(request: Request, call_next):
        """Requests and their latency by method, route TEMPLATE and status (an unhandled error counts as 500)."""
        import time

        t0 = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            app.state.metrics.observe(request, status, time.perf_counter() - t0)

    def _err(status: int, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return _err(404, exc)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return _err(409, exc)

    @app.exception_handler(TooBusy)
    async def busy(request: Request, exc: TooBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(QuantDeskError)
    async def bad(request: Request, exc: QuantDeskError) -> JSONResponse:
        return _err(400, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        return JSONResponse({"detail": errors, "message": f"invalid input: {fields}"}, status_code=422)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return _err(400, exc)

    @app.exception_handler(KeyError)
    async def key_error(request: Request, exc: KeyError) -> JSONResponse:
        return _err(404, NotFoundError(f"not found: {exc}"))

    for r in routers():
        app.include_router(r, prefix=PREFIX)
    app.include_router(system.router)  # /health and /metrics also at the root
    app.include_router(ws_router)
    _mount_docs(app)
    mount_dashboard(app)  # GET /, /static: after the API routes, which keep precedence
    _declare_security(app)
    return app


def _declare_security(app: FastAPI) -> None:
    """The OpenAPI document says what the guard and the middlewares enforce (`quantdesk.api.openapi.finish`): a
    key on every operation except /health (Swagger UI's Authorize button uses it), 413/415 on bodies, the
    `X-API-Version` header."""
    from quantdesk.api.openapi import finish

    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(build(), __version__)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_docs(app: FastAPI) -> None:
    """GET /docs: Swagger UI with its script and style from the installed swagger-ui-bundle-v2 package
    (Apache-2.0), never from a CDN."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="QuantDesk API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css", swagger_favicon_url="/favicon.ico")

    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")


def openapi_schema(settings: Any = None) -> dict[str, Any]:
    """The API's OpenAPI schema (for the knowledge base, which indexes the API's operations)."""
    return create_app(settings).openapi()
