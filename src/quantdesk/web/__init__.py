"""The web dashboard: a static single-page app served by the API process (`mount(app)`).

    GET /             index.html (public: the page itself needs no key, every data call it makes does)
    GET /dashboard    redirect to /
    GET /static/...   the app's ES modules, CSS and the vendored TradingView lightweight-charts build

No build step and no external request: plain HTML, CSS and vanilla ES modules under `static/` (see its
README.md). The index carries a Content-Security-Policy that only allows this origin (and its WebSocket), so a
stray CDN link would fail loudly instead of leaking requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


class _Static(StaticFiles):
    """StaticFiles with cache headers: the versioned vendor directory is immutable (its path names the
    version), the app's own files are revalidated on every load (ETag / Last-Modified give cheap 304s)."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Any, status_code: int = 200) -> Any:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = str(full_path).replace("\\", "/")
        if "/vendor/" in path:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount(app: FastAPI) -> None:
    """Serve the dashboard on `app`: GET / (index), /dashboard (redirect), /favicon.ico and /static/*.
    Registered after the API routes, so /api/v1, /docs, /ws, /health and /metrics keep precedence."""
    index = STATIC_DIR / "index.html"

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard_index() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})

    @app.get("/dashboard", include_in_schema=False)
    def dashboard_redirect() -> RedirectResponse:
        return RedirectResponse("/", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", _Static(directory=STATIC_DIR), name="static")
