"""The API's front door, one ASGI middleware that runs before any route reads or parses anything:

1. Host check: the `Host` header must name an allowed host (config `api.allowed_hosts`), so a DNS-rebinding page
   (its own name resolving to 127.0.0.1) cannot read fills and alerts: 421 otherwise.
2. Authentication FIRST: /api/v1/*, /metrics and the WebSocket need a valid key (X-API-Key or Authorization:
   Bearer) before the body is even read: 401. `api.public_read` lets GETs through without one (rate-limited per
   client address); `api.public_metrics` does the same for /metrics. /health, the dashboard page and /docs are
   public. Whether the key may WRITE is the route's business (`deps.write_access`: 403 for read-only keys).
3. Failed authentication is rate-limited per client address (`api.auth_failure_burst`, refilled at
   `api.auth_failures_per_min`): past it every request of that client is 429 without verifying anything.
4. Requests are rate-limited per key (or per address when anonymous): 429 with Retry-After.
5. Bodies are capped (`api.max_body_bytes`): a larger Content-Length is 413 at once; a chunked body is read up to
   the cap and refused (413) as soon as it passes it, then handed to the route from memory.

The outcome is left in `scope["qd_auth"]` (an `Auth`) for the route dependencies and the WebSocket endpoint.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from quantdesk.api.keys import KeyStore, TokenBucket

Scope = dict[str, Any]
PUBLIC_PREFIXES = ("/static/", "/docs")
PUBLIC_PATHS = {"/", "/dashboard", "/favicon.ico", "/health", "/api/v1/health", "/openapi.json"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
METRICS_PATHS = ("/metrics", "/api/v1/metrics")


@dataclass(frozen=True)
class Auth:
    """Who is calling: `record` = the key's public record, None for an anonymous (public read) request."""

    record: dict[str, Any] | None
    client: str


def presented_key(headers: Any) -> str | None:
    """The key of X-API-Key or `Authorization: Bearer` (never a query parameter: URLs end up in logs)."""
    key = headers.get("x-api-key")
    if key:
        return str(key).strip()
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def host_name(value: str) -> str:
    """`example.com:8000` -> `example.com`; `[::1]:8000` -> `::1`; lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class FailureLimiter:
    """Failed authentications per client: `burst` at once, refilled at `per_min`; past it the client waits.
    Bounded memory: at most `max_clients` addresses are tracked (the ones with the fewest failures go first)."""

    def __init__(self, per_min: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = per_min / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, client: str, now: float) -> float:
        tokens, last = self._state.get(client, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def wait(self, client: str) -> float:
        """0 when the client may try; else the seconds until it may try again."""
        with self._lock:
            tokens = self._tokens(client, time.monotonic())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(client, now)
            self._state[client] = (max(0.0, tokens - 1.0), now)
            if len(self._state) > self.max_clients:
                for key, _ in sorted(self._state.items(), key=lambda kv: -kv[1][0])[: len(self._state) // 10]:
                    del self._state[key]


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Any, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def ws_refuse(receive: Any, send: Any, code: int, reason: str) -> None:
    """Accept, then close with `code` (4401, 4429): the client sees the code and the reason, where a refusal
    before the upgrade only shows it an HTTP 403."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason[:120]})


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers") or []:
        name = k.decode("latin-1").lower()
        if name not in out:  # the first of repeated headers
            out[name] = v.decode("latin-1")
    return out


class Authenticator:
    """Key verification with the failed-authentication budget per client, shared by HTTP and the WebSocket."""

    def __init__(self, keys: KeyStore, cfg: Any, on_limited: Any = None) -> None:
        self.keys = keys
        self.failures = FailureLimiter(cfg.auth_failures_per_min, cfg.auth_failure_burst)
        self.on_limited = on_limited

    def authenticate(self, key: str | None, client: str) -> tuple[int, str, dict[str, str]] | dict[str, Any]:
        """The key's record, or (status, reason, headers) of the refusal. Verifies nothing while the client is
        over its failed-authentication budget (a key verified before still passes: that costs nothing)."""
        known = self.keys.cached(key) if key else None
        if known is not None:
            return known
        wait = self.failures.wait(client)
        if wait > 0:
            if self.on_limited is not None:
                self.on_limited()
            return 429, "too many failed authentications from this address; retry later", {
                "Retry-After": str(max(1, math.ceil(wait)))}
        rec = self.keys.verify(key) if key else None
        if rec is None:
            self.failures.failed(client)
            return 401, "invalid API key", {"WWW-Authenticate": "Bearer"}
        return rec


class Guard:
    """The middleware (see the module docstring). `auth`: the app's Authenticator; `bucket`: the per-key
    TokenBucket; `cfg`: the `api` settings; `on_limited`: called on every 429 (metrics)."""

    def __init__(self, app: Any, *, auth: Authenticator, bucket: TokenBucket, cfg: Any,
                 on_limited: Any = None) -> None:
        self.app = app
        self.auth = auth
        self.bucket = bucket
        self.cfg = cfg
        self.allowed = {host_name(h) for h in cfg.allowed_hosts}
        self.on_limited = on_limited

    # ---- the pieces ------------------------------------------------------------------------------------
    def host_allowed(self, headers: dict[str, str]) -> bool:
        if "*" in self.allowed:
            return True
        host = headers.get("host")
        return host is not None and host_name(host) in self.allowed

    def authenticate(self, key: str | None, client: str) -> tuple[int, str, dict[str, str]] | dict[str, Any]:
        return self.auth.authenticate(key, client)

    def _limited(self) -> None:
        if self.on_limited is not None:
            self.on_limited()

    def _public(self, path: str) -> bool:
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    def _anonymous_ok(self, path: str, method: str) -> bool:
        if method not in READ_METHODS:
            return False
        if path in METRICS_PATHS:
            return bool(self.cfg.public_metrics or self.cfg.public_read)
        return bool(self.cfg.public_read)

    # ---- ASGI ------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        client = (scope.get("client") or ("-", 0))[0] or "-"
        if not self.host_allowed(headers):
            reason = (f"Host {headers.get('host', '')[:100]!r} is not an allowed host of this server "
                      "(config api.allowed_hosts)")
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 4421, "reason": reason[:120]})
            else:
                await _send_json(send, 421, reason)
            return
        if kind == "websocket":
            await self._websocket(scope, receive, send, headers, client)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if self._public(path):
            scope["qd_auth"] = Auth(None, client)
            await self._capped(scope, receive, send, headers)
            return
        key = presented_key(headers)
        if key is None:
            if not self._anonymous_ok(path, method):
                await _send_json(send, 401, "an API key is required (header X-API-Key or Authorization: Bearer)",
                                 {"WWW-Authenticate": "Bearer"})
                return
            auth = Auth(None, client)
            ident = f"ip:{client}"
        else:
            res = self.authenticate(key, client)
            if isinstance(res, tuple):
                await _send_json(send, res[0], res[1], res[2])
                return
            auth = Auth(res, client)
            ident = f"key:{res['id']}"
        wait = 0.0 if path in METRICS_PATHS else self.bucket.take(ident)  # a scraper is never throttled
        if wait > 0:
            self._limited()
            await _send_json(send, 429, "rate limit exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})
            return
        scope["qd_auth"] = auth
        await self._capped(scope, receive, send, headers)

    async def _websocket(self, scope: Scope, receive: Any, send: Any, headers: dict[str, str], client: str) -> None:
        """A key in the headers is checked here; none: the endpoint waits for it in the first message. A key in
        the URL is refused (the URL is what proxies and servers log)."""
        from urllib.parse import parse_qs

        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        if "api_key" in query or "key" in query:
            await ws_refuse(receive, send, 4401, 'no key in the URL: send {"op": "auth", "key": ...} first')
            return
        key = presented_key(headers)
        if key is not None:
            res = self.authenticate(key, client)
            if isinstance(res, tuple):
                await ws_refuse(receive, send, 4429 if res[0] == 429 else 4401, res[1])
                return
            scope["qd_auth"] = Auth(res, client)
        await self.app(scope, receive, send)

    async def _capped(self, scope: Scope, receive: Any, send: Any, headers: dict[str, str]) -> None:
        limit = int(self.cfg.max_body_bytes)
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _send_json(send, 400, "Content-Length is not a number")
                return
            if n > limit:
                await _send_json(send, 413, f"request body of {n} bytes is over the limit of {limit} bytes")
                return
            if n == 0:
                await self.app(scope, receive, send)
                return
        elif "chunked" not in headers.get("transfer-encoding", "").lower():
            await self.app(scope, receive, send)
            return
        # read the body now (at most `limit` bytes), then replay it to the route
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, f"request body is over the limit of {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Tickets:
    """One-time WebSocket tickets for clients that can only put something in the URL: issued to an
    authenticated caller (POST /api/v1/auth/ws-ticket), valid `ttl_s` seconds, redeemed once. A logged ticket is
    worthless: it is spent or expired by the time anyone reads the log."""

    def __init__(self, ttl_s: float = 30.0, max_open: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_open = max_open
        self._open: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def issue(self, record: dict[str, Any]) -> str:
        import secrets

        now = time.monotonic()
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            self._open = {t: v for t, v in self._open.items() if v[0] > now}
            if len(self._open) >= self.max_open:
                raise OverflowError("too many open WebSocket tickets")
            self._open[ticket] = (now + self.ttl_s, dict(record))
        return ticket

    def redeem(self, ticket: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._open.pop(ticket, None)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]
