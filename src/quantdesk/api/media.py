"""415 for a request body that is not JSON: every API body is JSON, and the schema documents the 415 on each
operation that takes one (FastAPI alone answered a form or text body with a 422 about the body's shape)."""

from __future__ import annotations

from typing import Any

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodies:
    """Pure ASGI middleware, inside the guard (authentication first, then the media type)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") in BODY_METHODS:
            headers = {k.lower(): v for k, v in scope.get("headers", [])}
            ctype = headers.get(b"content-type")
            has_body = headers.get(b"content-length", b"0") not in (b"", b"0") or b"transfer-encoding" in headers
            if ctype is not None and has_body and not is_json(ctype.decode("latin-1")):
                from quantdesk.api.security import _send_json

                await _send_json(send, 415, "the body must be JSON (Content-Type: application/json)")
                return
        await self.app(scope, receive, send)
