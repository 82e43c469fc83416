"""`Allow` on 405 answers lists every method of the path, as the OpenAPI schema declares them.

Starlette answers a method a route does not take with the methods of the FIRST route whose path matched: when
GET /orders and POST /orders are two routes, a DELETE /orders said `Allow: GET`. This middleware rewrites the
header of every 405 from the schema's path templates (plus HEAD wherever GET is served).
"""

from __future__ import annotations

import re
from typing import Any


class AllowHeader:
    def __init__(self, app: Any, *, schema: Any) -> None:
        self.app = app
        self._schema = schema  # () -> the OpenAPI document (built lazily, after every route is registered)
        self._table: list[tuple[re.Pattern[str], list[str]]] | None = None

    def table(self) -> list[tuple[re.Pattern[str], list[str]]]:
        if self._table is None:
            table = []
            for path, ops in self._schema().get("paths", {}).items():
                parts = re.split(r"\{[^/}]+\}", path)  # the literal pieces between {parameters}
                rx = re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")
                methods = sorted({m.upper() for m in ops if m.lower() in ("get", "post", "put", "patch", "delete")})
                if "GET" in methods:
                    methods.append("HEAD")
                table.append((rx, methods))
            self._table = table
        return self._table

    def allowed(self, path: str) -> list[str]:
        out: set[str] = set()
        for rx, methods in self.table():
            if rx.match(path):
                out.update(methods)
        return sorted(out)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_fixed(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 405:
                methods = self.allowed(scope.get("path", ""))
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(methods).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_fixed)
