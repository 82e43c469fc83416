"""Telling that ccxt.pro reconnected behind our back.

ccxt.pro opens a new WebSocket connection when a `watch_*` is called after the previous one closed, and the
error of the closed connection reaches only the watches pending at that moment. A client that was between two
watch calls would carry on as if nothing happened, having lost the messages of the outage. Comparing this
fingerprint of the open connections before and after each watch reveals every reconnect, so the caller can
run its gap fill.
"""

from __future__ import annotations

from typing import Any


def ws_fingerprint(exchange: Any) -> tuple[tuple[str, int, Any], ...]:
    """(url, client identity, connection time) of each WebSocket client of a ccxt.pro instance."""
    clients = getattr(exchange, "clients", None) or {}
    return tuple(sorted((str(url), id(c), getattr(c, "connectionStarted", None)) for url, c in clients.items()))
