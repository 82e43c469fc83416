"""Request dependencies: the service, authentication (API key / bearer token) and rate limiting."""

from __future__ import annotations

import math
from typing import Any

from fastapi import HTTPException, Request

from quantdesk.service.facade import QuantDeskService


def service(request: Request) -> QuantDeskService:
    return request.app.state.service


def presented_key(headers: Any, query_key: str | None = None) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return query_key


def _identify(request: Request) -> dict[str, Any] | None:
    key = presented_key(request.headers)
    if key is None:
        return None
    rec = request.app.state.keys.verify(key)
    if rec is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    return rec


def _limit(request: Request, ident: str) -> None:
    wait = request.app.state.bucket.take(ident)
    if wait > 0:
        request.app.state.metrics.rate_limited.inc()
        raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(max(1, math.ceil(wait)))})


def read_access(request: Request) -> dict[str, Any] | None:
    """GET endpoints: open without a key (rate-limited per client address), or with a valid key."""
    rec = _identify(request)
    ident = f"key:{rec['id']}" if rec else f"ip:{request.client.host if request.client else '-'}"
    _limit(request, ident)
    return rec


def write_access(request: Request) -> dict[str, Any]:
    """Mutating endpoints: a valid, non read-only key (401 without, 403 read-only)."""
    rec = _identify(request)
    if rec is None:
        raise HTTPException(401, "an API key is required (header X-API-Key or Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})
    _limit(request, f"key:{rec['id']}")
    if rec["read_only"]:
        raise HTTPException(403, f"API key {rec['name']!r} is read-only")
    return rec
