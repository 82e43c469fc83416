"""The API's version: `X-API-Version` on every response (errors included) and GET /api/v1/version.

The major version is the path prefix (/api/v1); the minor version grows when the API gains something a client
may rely on (1.1: declared response models for every route the dashboard reads). The app's version is separate
(`quantdesk.__version__`): a release may leave the API as it was."""

from __future__ import annotations

from typing import Any

API_VERSION = "1.1"
HEADER = "X-API-Version"


class VersionHeader:
    """Pure ASGI middleware (outermost, so the guard's 401/413/429 carry it too)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._value = API_VERSION.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_versioned(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-api-version"]
                headers.append((b"x-api-version", self._value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_versioned)
