"""Request dependencies: the service and authorisation.

Authentication and rate limiting happen before any route runs (`quantdesk.api.security.Guard`, which leaves an
`Auth` in the scope). These dependencies only decide what the caller may do: `read_access` (a key, or anonymous
when the public read mode is on) and `write_access` (a read-write key: 403 for a read-only one).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from quantdesk.api.security import Auth, presented_key  # noqa: F401 - presented_key: public helper
from quantdesk.service.facade import QuantDeskService

KEY_REQUIRED = "an API key is required (header X-API-Key or Authorization: Bearer)"


def service(request: Request) -> QuantDeskService:
    return request.app.state.service


def _auth(request: Request) -> Auth:
    auth = request.scope.get("qd_auth")
    if not isinstance(auth, Auth):  # the guard did not run: fail closed
        raise HTTPException(401, KEY_REQUIRED, headers={"WWW-Authenticate": "Bearer"})
    return auth


def read_access(request: Request) -> dict[str, Any] | None:
    """GET endpoints: the key's record, or None for an anonymous caller (public read mode)."""
    return _auth(request).record


def key_access(request: Request) -> dict[str, Any]:
    """Endpoints about the key itself (whoami, WebSocket tickets): a valid key of any kind."""
    rec = _auth(request).record
    if rec is None:
        raise HTTPException(401, KEY_REQUIRED, headers={"WWW-Authenticate": "Bearer"})
    return rec


def write_access(request: Request) -> dict[str, Any]:
    """Mutating endpoints: a valid, non read-only key (401 without, 403 read-only)."""
    rec = key_access(request)
    if rec["read_only"]:
        raise HTTPException(403, f"API key {rec['name']!r} is read-only")
    return rec
