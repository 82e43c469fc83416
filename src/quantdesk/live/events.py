"""Bus events of live bots (topic "bot", like `quantdesk.model.bot_events`): subscribers (alerts, the
dashboard's WebSocket) hear a halt without the live node knowing them."""

from __future__ import annotations

from dataclasses import dataclass

from quantdesk.model.bot_events import BOT_TOPIC
from quantdesk.model.events import Event


@dataclass(frozen=True, slots=True)
class LiveHalted(Event):
    """A live bot stopped trading: reconciliation found a mismatch it cannot explain (fail closed)."""

    bot: str
    reason: str = ""

    topic = BOT_TOPIC
