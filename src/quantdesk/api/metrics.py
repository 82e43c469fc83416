"""Prometheus metrics of one app (own registry: several apps in one process do not clash)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class ApiMetrics:
    def __init__(self, svc: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("qd_api_requests", "HTTP requests", ["method", "status"], registry=self.registry)
        self.rate_limited = Counter("qd_api_rate_limited", "Requests refused by the rate limiter",
                                    registry=self.registry)
        self.ws_clients = Gauge("qd_ws_clients", "Connected WebSocket clients", registry=self.registry)
        bars = Gauge("qd_paper_bars_processed", "Bars processed by paper bots (this process)", registry=self.registry)
        orders = Gauge("qd_paper_orders", "Orders submitted by paper bots (this process)", registry=self.registry)
        fills = Gauge("qd_paper_fills", "Fills of paper bots (this process)", registry=self.registry)
        running = Gauge("qd_paper_bots_running", "Paper bots on the node", registry=self.registry)
        bars.set_function(lambda: svc.counters["bars"])
        orders.set_function(lambda: svc.counters["orders"])
        fills.set_function(lambda: svc.counters["fills"])
        running.set_function(lambda: len(svc._node.bots) if svc._node is not None else 0)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
