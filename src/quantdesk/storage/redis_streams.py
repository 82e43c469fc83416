"""Redis Streams basics shared by the bus, the bridge and the cache: the optional redis-py client (`connect`),
stream keys, a publisher (XADD with MAXLEN) and reconnect backoff. Design: quantdesk.storage.redis_bus.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

try:  # optional dependency (`pip install quantdesk[redis]`): the in-process default works without it
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:  # pragma: no cover - exercised only where redis-py is absent
    redis = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

from quantdesk.core import serialization

log = logging.getLogger(__name__)


DEFAULT_PREFIX = "qd:"
DEFAULT_MAXLEN = 100_000
_CONN_ERRORS: tuple[type[BaseException], ...] = (
    (redis.ConnectionError, redis.TimeoutError, OSError) if redis is not None else (OSError,)
)


def _topic_of(message: Any, topic: str | None) -> str:
    return topic if topic is not None else getattr(message, "topic", type(message).__name__)


def connect(
    url_or_client: str | redis.Redis, *, client_name: str | None = None, library_retries: int = 0
) -> redis.Redis:
    """A redis client. By default the library's own silent retries are off: our loops retry with backoff and
    count reconnects, so a lost connection is visible (`reconnects`)."""
    if redis is None:
        raise ImportError("the Redis bus needs redis-py: pip install 'quantdesk[redis]'")
    if isinstance(url_or_client, redis.Redis):
        return url_or_client
    retry = Retry(NoBackoff(), library_retries)
    return redis.Redis.from_url(
        url_or_client, client_name=client_name, retry=retry, socket_connect_timeout=5, health_check_interval=0
    )


class Backoff:
    """Exponential backoff with full jitter: 0.05 s, 0.1 s, ... capped at `cap` seconds."""

    def __init__(self, base: float = 0.05, cap: float = 2.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def sleep(self, stop: threading.Event | None = None) -> None:
        delay = min(self.cap, self.base * (2**self.attempt)) * (0.5 + random.random() / 2)
        self.attempt += 1
        if stop is not None:
            stop.wait(delay)
        else:
            time.sleep(delay)

    def reset(self) -> None:
        self.attempt = 0


def stream_key(prefix: str, topic: str) -> str:
    return f"{prefix}stream:{topic}"


class _Snapshot:
    """A message encoded at publish time (it holds mutable state that may change before the worker runs)."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[FieldT, EncodableT]) -> None:
        self.fields = fields


class StreamPublisher:
    """Writes messages to `{prefix}stream:{topic}` (XADD ... MAXLEN ~ maxlen). Thread-safe per call."""

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int | None = DEFAULT_MAXLEN,
        client_name: str | None = None,
    ) -> None:
        self.client = connect(url_or_client, client_name=client_name)
        self.prefix = prefix
        self.maxlen = maxlen
        self._known_topics: set[str] = set()

    def _fields(self, message: Any) -> dict[FieldT, EncodableT]:
        if type(message) is _Snapshot:
            return message.fields
        env = serialization.to_envelope(message)
        return {"type": env["type"], "data": json.dumps(env, separators=(",", ":"))}

    def publish(self, message: Any, topic: str | None = None) -> str:
        """XADD one message now (one round trip); returns the stream id."""
        return self.publish_many([(_topic_of(message, topic), message)])[-1]

    def publish_many(self, items: Iterable[tuple[str, Any]]) -> list[str]:
        """XADD a batch of (topic, message) in one pipelined round trip, in order; returns the stream ids.
        A topic seen for the first time is also added to `{prefix}topics` (so `"*"` readers discover it)."""
        pipe = self.client.pipeline(transaction=False)
        new: set[str] = set()
        n = 0
        for topic, message in items:
            fields = self._fields(message)
            if topic not in self._known_topics and topic not in new:
                pipe.sadd(f"{self.prefix}topics", topic)
                new.add(topic)
            pipe.xadd(stream_key(self.prefix, topic), fields, maxlen=self.maxlen, approximate=True)
            n += 1
        if not n:
            return []
        ids = [_s(r) for r in pipe.execute() if isinstance(r, (bytes, str))]
        self._known_topics |= new
        return ids

    def mark_topics_known(self, topics: Iterable[str]) -> None:
        self._known_topics.update(topics)

    def close(self) -> None:
        self.client.close()


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

