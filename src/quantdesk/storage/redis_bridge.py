"""The engine side of the Redis bus: `BridgedBus` (the in-process `MessageBus` that also hands selected topics to
a `RedisBridge`, whose background thread serialises and XADDs them in batches). Design: quantdesk.storage.redis_bus.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

try:  # optional dependency (`pip install quantdesk[redis]`): the in-process default works without it
    import redis
except ImportError:  # pragma: no cover - exercised only where redis-py is absent
    redis = None  # type: ignore[assignment]

from quantdesk.core import serialization
from quantdesk.core.bus import Handler, MessageBus
from quantdesk.storage.redis_streams import (
    _CONN_ERRORS,
    DEFAULT_MAXLEN,
    DEFAULT_PREFIX,
    Backoff,
    StreamPublisher,
    _Snapshot,
    _topic_of,
)

log = logging.getLogger(__name__)


_SNAPSHOT_NEEDED: dict[type, bool] = {}


def _mutable_hint(hint: Any, seen: set[Any]) -> bool:
    import dataclasses
    import typing

    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is not None:
        if origin in (dict, list, set):
            return True
        return any(_mutable_hint(a, seen) for a in typing.get_args(hint) if a is not Ellipsis)
    if hint in (dict, list, set, bytearray):
        return True
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _needs_snapshot(hint, seen)
    return False


def _needs_snapshot(cls: type, seen: set[Any] | None = None) -> bool:
    """True unless `cls` is a frozen dataclass whose fields hold only immutable values (then the worker may
    serialise the object later). `BarView` (a moving cursor), commands holding a mutable `Order`, dicts, and
    events with `dict` fields are captured at publish time."""
    flag = _SNAPSHOT_NEEDED.get(cls)
    if flag is None:
        import dataclasses
        import typing

        seen = seen if seen is not None else set()
        if cls in seen:
            return False
        seen.add(cls)
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen:
            flag = True
        else:
            try:
                hints = typing.get_type_hints(cls)
            except Exception:  # pragma: no cover - unresolvable annotations: be safe
                hints = {f.name: Any for f in dataclasses.fields(cls)}
            flag = any(_mutable_hint(hints.get(f.name, Any), seen) for f in dataclasses.fields(cls))
        _SNAPSHOT_NEEDED[cls] = flag
    return flag


class RedisBridge:
    """Forwards messages from the in-process bus to Redis Streams without blocking the publisher.

    `attach(bus, topics)` subscribes `enqueue` to the given topics (default `"*"` = everything). `enqueue` is a
    deque append; the worker thread drains up to `batch_size` messages per pipelined round trip.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        maxlen: int | None = DEFAULT_MAXLEN,
        max_queue: int = 1_000_000,
        batch_size: int = 500,
        client_name: str | None = None,
    ) -> None:
        self.publisher = StreamPublisher(url_or_client, prefix, maxlen, client_name=client_name)
        self._queue: collections.deque[tuple[str, Any]] = collections.deque()
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.published = 0
        self.dropped = 0
        self.reconnects = 0
        self._enqueued = 0
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qd-redis-bridge", daemon=True)
        self._thread.start()

    def attach(self, bus: MessageBus, topics: Iterable[str] = ("*",)) -> RedisBridge:
        for topic in topics:
            if topic == "*":
                bus.subscribe("*", self._enqueue_any)
            else:
                bus.subscribe(topic, self._make_handler(topic))
        return self

    def _make_handler(self, topic: str) -> Handler:
        def handler(message: Any) -> None:
            self.enqueue(message, topic)

        return handler

    def _enqueue_any(self, message: Any) -> None:
        self.enqueue(message, None)

    def enqueue(self, message: Any, topic: str | None = None) -> None:
        """Hot path: O(1), no I/O. Drops the oldest message when the queue is full (counted in `dropped`)."""
        key = _topic_of(message, topic)
        if _needs_snapshot(type(message)):  # BarView, SubmitOrder(Order), dict payloads: capture them now
            try:
                message = _Snapshot(self.publisher._fields(message))
            except serialization.SerializationError as exc:
                log.error("redis bridge: cannot serialise a %s, dropped: %s", type(message).__name__, exc)
                self._enqueued += 1
                self.dropped += 1
                return
        q = self._queue
        if len(q) >= self.max_queue:
            q.popleft()
            self.dropped += 1
        q.append((key, message))
        self._enqueued += 1
        if len(q) == 1 or len(q) >= self.batch_size:
            with self._cv:
                self._cv.notify()

    def _run(self) -> None:
        backoff = Backoff()
        batch: list[tuple[str, Any]] = []
        while True:
            if not batch:
                while self._queue and len(batch) < self.batch_size:
                    batch.append(self._queue.popleft())
            if not batch:
                if self._stop.is_set():
                    return
                with self._cv:
                    self._cv.wait(0.05)
                continue
            try:
                self.publisher.publish_many(batch)
            except _CONN_ERRORS as exc:
                self.reconnects += 1
                log.warning("redis bridge: %s; retrying %d message(s)", exc, len(batch))
                if self._stop.is_set() and backoff.attempt > 5:
                    log.error(
                        "redis bridge: giving up %d message(s) at shutdown", len(batch) + len(self._queue)
                    )
                    return
                backoff.sleep()
                continue
            except serialization.SerializationError as exc:  # a message nobody can read: drop it, keep going
                log.error("redis bridge: cannot serialise a message, dropped: %s", exc)
                self.dropped += len(batch)
                batch = []
                continue
            backoff.reset()
            self.published += len(batch)
            batch = []

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything enqueued so far is in Redis (or dropped). True when done in time."""
        target = self._enqueued
        deadline = time.monotonic() + timeout
        while self.published + self.dropped < target:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            with self._cv:
                self._cv.notify()
            time.sleep(0.001)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Flush (bounded) and stop the worker."""
        self.flush(timeout)
        self._stop.set()
        with self._cv:
            self._cv.notify()
        self._thread.join(timeout)
        self.publisher.close()


class BridgedBus(MessageBus):
    """The in-process `MessageBus` (synchronous, deterministic) that also forwards `topics` to Redis Streams
    through a non-blocking `RedisBridge`. What `make_bus` returns when Redis is configured."""

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        topics: Iterable[str] = ("*",),
        **bridge_kwargs: Any,
    ) -> None:
        super().__init__()
        self.bridge = RedisBridge(url_or_client, prefix, **bridge_kwargs)
        self.bridge.attach(self, topics)

    def flush(self, timeout: float = 30.0) -> bool:
        return self.bridge.flush(timeout)

    def close(self) -> None:
        self.bridge.close()

