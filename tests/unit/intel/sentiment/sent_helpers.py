"""Helpers of the sentiment tests. A real HTTP server on 127.0.0.1 (ephemeral port) whose routes the tests program: body, status sequence,
delay; it records every request (path, headers, body). Stands in for feeds, news APIs and LLM endpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "sentiment"


@dataclass
class Route:
    body: bytes | Callable[[dict[str, Any]], bytes] = b""
    content_type: str = "application/json"
    statuses: list[int] = field(default_factory=list)  # answered first, in order; then 200
    delay_s: float = 0.0


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.base = ""

    def route(self, path: str, body: Any = b"", **kw: Any) -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.routes[path] = Route(body, **kw)

    def hits(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]
