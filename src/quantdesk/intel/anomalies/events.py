"""Anomaly events on the bus (topic "anomalies"), frozen and UTC-ns stamped like quantdesk.model.events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantdesk.core.serialization import register
from quantdesk.model.events import Event


@register  # the WebSocket / Redis envelopes carry it like the engine's own events
@dataclass(frozen=True, slots=True)
class AnomalyDetected(Event):
    """A bar anomaly, a feed-health finding or a whale trade. `ts_event` = the bar's (or trade's) time.
    `side`/`price`/`notional` are set for whale trades; `source` = the bot or command that found it."""

    symbol: str
    kind: str
    score: float
    method: str = ""
    timeframe: str = ""
    kinds: str = ""
    side: str | None = None
    price: float | None = None
    notional: float | None = None
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    topic = "anomalies"
