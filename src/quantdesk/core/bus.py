"""In-process message bus: publish/subscribe by topic, synchronous and deterministic.

Handlers run in subscription order, in the publisher's call stack (so the portfolio has applied a fill before
the strategy hears about it). A message published without a topic uses its `topic` attribute. Handlers
subscribed to "*" receive every message after the topic's own handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_log = logging.getLogger(__name__)

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
        for handler in tuple(self._subs.get(key, ())):  # a copy: a handler may unsubscribe itself
            handler(message)
        if key != "*":
            for handler in tuple(self._subs.get("*", ())):
                handler(message)

    def notify(self, message: Any, topic: str | None = None) -> None:
        """Publish to observers: a handler that raises is logged and the others still run (the publisher, e.g. a
        trading bot, never fails because a dashboard or an alert channel did)."""
        key = topic if topic is not None else getattr(message, "topic", type(message).__name__)
        handlers = tuple(self._subs.get(key, ())) + (tuple(self._subs.get("*", ())) if key != "*" else ())
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # noqa: BLE001 - an observer's failure is its own
                _log.exception("observer of %r failed on %s", key, type(message).__name__)
