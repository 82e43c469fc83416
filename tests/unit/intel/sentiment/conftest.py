"""Fixtures of the sentiment tests (the helpers live in sent_helpers.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sent_helpers import FakeServer


@pytest.fixture()
def fake_server() -> Iterator[FakeServer]:
    fs = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            n = int(self.headers.get("Content-Length", 0) or 0)
            raw = self.rfile.read(n) if n else b""
            req = {"method": method, "path": self.path, "headers": dict(self.headers), "raw": raw,
                   "json": json.loads(raw) if raw and raw[:1] in b"[{" else None}
            with fs.lock:
                fs.requests.append(req)
                route = fs.routes.get(self.path)
                status = route.statuses.pop(0) if route and route.statuses else (200 if route else 404)
            if route and route.delay_s:
                time.sleep(route.delay_s)
            body = b"" if route is None else (route.body(req) if callable(route.body) else route.body)
            try:
                self.send_response(status)
                self.send_header("Content-Type", route.content_type if route else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    fs.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield fs
    srv.shutdown()
    srv.server_close()
