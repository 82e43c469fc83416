"""Events a paper (or live) bot publishes on its engine's bus, so that observers (metrics, the WebSocket,
Redis) subscribe instead of wrapping the bot's methods."""

from __future__ import annotations

from dataclasses import dataclass

from quantdesk.model.events import Event


@dataclass(frozen=True, slots=True)
class BarProcessed(Event):
    """The bot processed step `step` (bar time `ts_event`) and committed it; `started`/`ended` are
    `time.perf_counter()` readings around the whole step (feed, engine, write-ahead, commit)."""

    bot: str
    step: int
    started: float
    ended: float

    topic = "bot"
