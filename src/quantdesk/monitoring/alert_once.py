"""Alert a batch of events once and wait for delivery: what a one-off detection (`quantdesk anomaly detect
--alert`) needs, where a running node would keep its AlertManager attached to the bus instead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quantdesk.core.bus import MessageBus
from quantdesk.monitoring.alerts import AlertManager


def alert_and_wait(events: Iterable[Any], settings: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Route events (anomalies, sentiment events...) through the configured alert rules and channels (`[alerts]`),
    wait for delivery, return [{"kind", "title", "channels": {name: status}}] of the alerts raised."""

    bus = MessageBus()
    mgr = AlertManager(settings)
    mgr.attach(bus)
    mgr.start(stall_checker=False)
    try:
        for e in events:
            bus.publish(e)
        mgr.flush(timeout)
    finally:
        mgr.detach()
        mgr.stop()
    return [{"kind": a.kind, "title": a.title,
             "channels": {c: (mgr.status(a.id, c) or {}).get("status") for c in mgr.channels}} for a in mgr.alerts]
