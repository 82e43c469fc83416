"""In-process message bus: publish/subscribe by topic, synchronous and deterministic.

Handlers run in subscription order, in the publisher's call stack (so the portfolio has applied a fill before
the strategy hears about it). A message published without a topic uses its `topic` attribute. Handlers
subscribed to "*" receive every message after the topic's own handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class MessageBus:
    def __init__(self) -> None:
        self._subs: dict[str, list[Handler]] = {}

    def subscribe(self, topic: str, handler: Handler) -> None:
        handlers = self._subs.setdefault(topic, [])
        if handler not in handlers:
            handlers.append(handler)

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        handlers = self._subs.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)

    def subscriber_count(self, topic: str) -> int:
        """Handlers subscribed to `topic` itself (not counting "*")."""
        return len(self._subs.get(topic, ()))

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._subs.get(topic)) or bool(self._subs.get("*"))

    def publish(self, message: Any, topic: str | None = None) -> None:
        key = topic if topic is not None else getattr(message, "topic", type(message).__name__)
        for handler in self._subs.get(key, ()):
            handler(message)
        if key != "*":
            for handler in self._subs.get("*", ()):
                handler(message)
