"""Fault injection: the failures a real exchange shows, on demand, so that a client's handling can be proven.

A fault is a kind, how many times it fires (`count`; omitted = until cleared) and where (`path` prefix and
`method` for REST faults). Faults come from CLI flags (`--fault KIND[:key=value,...]`), `POST /_sim/faults`
(JSON) or `ExchangeSimulator.faults(...)`. Kinds:

| kind | what the client sees |
| --- | --- |
| `drop_response` | the order is accepted, then the response is lost: `mode=reset` (default) hangs up before answering (ccxt: NetworkError; its async client: ExchangeNotAvailable, a NetworkError); `mode=timeout` holds it `hold_s` seconds (ccxt: RequestTimeout); with `method=DELETE` a cancel is done and its answer lost |
| `rate_limit` | HTTP 429, code -1003, `Retry-After: retry_after` (ccxt: DDoSProtection / RateLimitExceeded) |
| `ban` | HTTP 418, code -1003, `Retry-After` (ccxt: DDoSProtection) |
| `timestamp` | a signed request fails with -1021 (ccxt: InvalidNonce) |
| `server_error` | HTTP `status` (default 503) with an HTML body (ccxt: ExchangeNotAvailable) |
| `reject` | a new order is refused with `code`/`msg` (default -2010; ccxt: InvalidOrder) |
| `latency` | each matching request waits `ms` before it is handled |
| `partial_fills` | each fill is split into `parts` fills (own trade ids and execution reports) |
| `duplicate_reports` | every execution report of a burst is sent twice |
| `reorder_reports` | the execution reports of a burst are sent in reverse order |
| `delay_reports` | the execution reports of a burst are held back and sent after the next burst's (at the latest after `max_ms`) |
| `ws_disconnect` | WebSocket connections of `scope` (market/user/all) are closed after `after` more messages |
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from quantdesk.core.errors import ParameterError

ORDER_PATH = "/api/v3/order"
#: kind -> (allowed parameters with their types, default path, default method)
KINDS: dict[str, tuple[dict[str, type], str | None, str | None]] = {
    "drop_response": ({"mode": str, "hold_s": float}, ORDER_PATH, "POST"),
    "rate_limit": ({"retry_after": int}, None, None),
    "ban": ({"retry_after": int}, None, None),
    "timestamp": ({}, None, None),
    "server_error": ({"status": int}, None, None),
    "reject": ({"code": int, "msg": str}, ORDER_PATH, "POST"),
    "latency": ({"ms": float}, None, None),
    "partial_fills": ({"parts": int}, None, None),
    "duplicate_reports": ({}, None, None),
    "reorder_reports": ({}, None, None),
    "delay_reports": ({"max_ms": float}, None, None),
    "ws_disconnect": ({"after": int, "scope": str}, None, None),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "drop_response": {"mode": "reset", "hold_s": 30.0},
    "rate_limit": {"retry_after": 1},
    "ban": {"retry_after": 60},
    "server_error": {"status": 503},
    "reject": {"code": -2010, "msg": "Order rejected (simulated fault)."},
    "latency": {"ms": 100.0},
    "partial_fills": {"parts": 2},
    "ws_disconnect": {"after": 0, "scope": "all"},
    "delay_reports": {"max_ms": 1000.0},
}


@dataclass
class Fault:
    kind: str
    count: int | None = None
    path: str | None = None
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0

    def matches(self, method: str | None, path: str | None) -> bool:
        if self.path is not None and (path is None or not path.startswith(self.path)):
            return False
        return self.method is None or method is None or self.method == method.upper()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_fault(kind: str, count: int | None = None, path: str | None = None, method: str | None = None,
               **params: Any) -> Fault:
    """A checked Fault with the kind's defaults filled; a ParameterError names anything wrong."""
    if kind not in KINDS:
        raise ParameterError(f"fault {kind!r}: unknown kind; use one of {', '.join(KINDS)}")
    allowed, default_path, default_method = KINDS[kind]
    values = dict(DEFAULTS.get(kind, {}))
    for key, raw in params.items():
        if key not in allowed:
            raise ParameterError(f"fault {kind}: unknown parameter {key!r} (allowed: count, path, method"
                                 f"{', ' if allowed else ''}{', '.join(allowed)})")
        try:
            values[key] = allowed[key](raw)
        except (TypeError, ValueError):
            raise ParameterError(f"fault {kind}: {key}={raw!r} is not a {allowed[key].__name__}") from None
    if count is not None:
        try:
            count = int(count)
        except (TypeError, ValueError):
            raise ParameterError(f"fault {kind}: count={count!r} is not an integer") from None
        if count < 1:
            raise ParameterError(f"fault {kind}: count must be >= 1 (omit it for 'until cleared')")
    _check(kind, values)
    verb = method or default_method
    return Fault(kind=kind, count=count, path=path if path is not None else default_path,
                 method=str(verb).upper() if verb else None, params=values)


def _check(kind: str, v: dict[str, Any]) -> None:
    if kind == "drop_response" and (v["mode"] not in ("reset", "timeout") or v["hold_s"] <= 0):
        raise ParameterError("fault drop_response: mode must be reset or timeout, hold_s > 0")
    if kind in ("rate_limit", "ban") and v["retry_after"] < 0:
        raise ParameterError(f"fault {kind}: retry_after must be >= 0 seconds")
    if kind == "server_error" and not 500 <= v["status"] <= 599:
        raise ParameterError("fault server_error: status must be a 5xx code")
    if kind == "reject" and v["code"] >= 0:
        raise ParameterError("fault reject: code must be a negative Binance error code such as -2010")
    if kind == "latency" and not 0 <= v["ms"] <= 600_000:
        raise ParameterError("fault latency: ms must be in [0, 600000]")
    if kind == "partial_fills" and not 2 <= v["parts"] <= 100:
        raise ParameterError("fault partial_fills: parts must be in 2..100")
    if kind == "delay_reports" and not 0 < v["max_ms"] <= 600_000:
        raise ParameterError("fault delay_reports: max_ms must be in (0, 600000]")
    if kind == "ws_disconnect" and (v["after"] < 0 or v["scope"] not in ("market", "user", "all")):
        raise ParameterError("fault ws_disconnect: after must be >= 0, scope market, user or all")


def parse_fault(spec: str) -> Fault:
    """`"rate_limit:count=2,retry_after=1"` -> Fault (the CLI's --fault syntax)."""
    kind, _, rest = spec.strip().partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ParameterError(f"--fault {spec!r}: {item!r} is not key=value")
        kwargs[key.strip()] = value.strip()
    return make_fault(kind.strip(), **kwargs)


def fault_from_json(body: Any) -> Fault:
    if not isinstance(body, dict) or "kind" not in body:
        raise ParameterError('a fault is a JSON object with "kind" (and optional count, path, method, parameters)')
    return make_fault(**{str(k): v for k, v in body.items()})


class FaultBook:
    """The active faults (thread-safe). `take` fires the first matching fault and uses up one of its count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, kind: str | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if kind is not None and f.kind != kind]
            return before - len(self._faults)

    def take(self, kind: str, method: str | None = None, path: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.matches(method, path):
                    fault.fired += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults = [f for f in self._faults if f is not fault]
                    return fault
        return None

    def peek(self, kind: str) -> list[Fault]:
        """The active faults of a kind, without firing them."""
        with self._lock:
            return [f for f in self._faults if f.kind == kind]

    def consume(self, fault: Fault) -> bool:
        """Fire a fault found by `peek` (False if it was used up or cleared meanwhile)."""
        with self._lock:
            if not any(f is fault for f in self._faults):
                return False
            fault.fired += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults = [f for f in self._faults if f is not fault]
            return True

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def split_count(self) -> int:
        """How many fills the next fill becomes (partial_fills fault), 1 without it."""
        fault = self.take("partial_fills")
        return int(fault.params["parts"]) if fault is not None else 1
