"""The API's view of the service's Prometheus metrics (quantdesk.monitoring.metrics.PlatformMetrics).

The registry belongs to the service, so several apps in one process never clash. Requests are labelled by the
matched route TEMPLATE (`/api/v1/orders/{order_id}`), never the raw path (bounded label cardinality); a request
no route matched is labelled "unmatched".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from quantdesk.monitoring.metrics import UNMATCHED, PlatformMetrics


def route_template(request: HTTPConnection) -> str:
    """The matched route's path template, with the prefix of the router include it came through (FastAPI >= 0.16x
    keeps included routes unprefixed and records the include in the scope; older versions prefix the route)."""
    scope = request.scope
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    included = (scope.get("fastapi") or {}).get("included_router")
    prefix = getattr(getattr(included, "include_context", None), "prefix", "")
    return (prefix if isinstance(prefix, str) else "") + path


class ApiMetrics:
    def __init__(self, svc: Any) -> None:
        self.platform: PlatformMetrics = svc.metrics
        self.platform.set_probes(database=svc.probes.database, redis=svc.probes.redis)
        # used by the dependencies (rate limiter) and the WebSocket endpoint
        self.requests = self.platform.requests
        self.rate_limited = self.platform.rate_limited
        self.ws_clients = self.platform.ws_clients

    def observe(self, request: HTTPConnection, status: int, seconds: float) -> None:
        self.platform.observe_request(request.scope.get("method", "GET"), route_template(request), status, seconds)

    def render(self) -> tuple[bytes, str]:
        return self.platform.render()
