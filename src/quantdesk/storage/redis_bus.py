"""Optional Redis message bus (Redis Streams) and cache.

Off by default: with `settings.redis.url = None` `make_bus` returns the plain in-process `MessageBus`.
`QD_REDIS__URL=redis://127.0.0.1:6379/0` turns Redis on.

Keys (all under a prefix, default `qd:`):
    {prefix}stream:{topic}   one Redis Stream per topic; entry fields: `type` (message type name), `data`
                             (the versioned JSON of quantdesk.core.serialization)
    {prefix}topics           a set of the topics ever published (so `"*"` readers find new streams)
    {prefix}prices           hash: instrument -> {"price", "ts"} (RedisCache)
    {prefix}state:{bot_id}   JSON snapshot of a bot's state, optional TTL (RedisCache)

Design choice - the engine's hot path stays in-process and synchronous:
    `BridgedBus` IS a `MessageBus` (handlers run synchronously in the publisher's stack, portfolio before
    strategy, deterministic) and additionally hands selected topics to a `RedisBridge`. The bridge only appends
    the message to a bounded in-memory deque (no I/O, no serialisation on the hot path); a background thread
    serialises and XADDs them in pipelined batches (one round trip per batch). So a bar is never delayed by a
    network round trip. If Redis is down the bridge keeps retrying with backoff; if the queue is full the
    OLDEST messages are dropped and counted (`bridge.dropped`): the trading node never blocks on the dashboard.
    Delivery to Redis is at-least-once (a batch whose reply was lost is re-sent).

`RedisBus` is the Redis-native bus with the same interface (subscribe/unsubscribe/has_subscribers/publish):
publish = XADD (synchronous), handlers are called from a reader thread with *decoded copies* as entries arrive
from any process. Order is guaranteed per topic (stream order), not across topics. `flush()` waits until the
reader has delivered everything this bus published. Use it for processes other than the engine (dashboard,
notebook, second node); the engine uses `BridgedBus`.

`RedisSubscriber` iterates deliveries from one or more topics: plain XREAD (fan-out: every subscriber sees every
entry; resume from `last_ids`) or, with `group=`, XREADGROUP (work sharing, at-least-once: `ack()` after
processing; unacknowledged entries stay pending, `claim_stale()` takes over those of a dead consumer with
XAUTOCLAIM). Connection errors are retried with exponential backoff (with jitter) and counted in
`reconnects`; the read position is kept, so nothing is lost or duplicated in fan-out mode.
"""

from __future__ import annotations

import collections
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

try:  # optional dependency (`pip install quantdesk[redis]`): the in-process default works without it
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError:  # pragma: no cover - exercised only where redis-py is absent
    redis = None  # type: ignore[assignment]

from quantdesk.core import serialization
from quantdesk.core.bus import Handler, MessageBus

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

    def _fields(self, message: Any) -> dict[str, bytes | str]:
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


class _Snapshot:
    """A message encoded at publish time (it holds mutable state that may change before the worker runs)."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields


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


# ---- consumers -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Delivery:
    topic: str
    id: str
    message: Any


class RedisSubscriber:
    """Iterate messages from the streams of `topics`.

    group=None: plain XREAD from `start_id` ("0" = from the start of the stream, "$" = only new entries);
    `last_ids` is the resume position (pass it back as `start_ids` to resume).
    group="name": XREADGROUP as `consumer` (created with MKSTREAM if missing, starting at `start_id`). On start it
    first re-delivers its own pending entries (a restarted consumer finishes what it had), then new ones. Call
    `ack(delivery)` after processing, or pass `auto_ack=True`.
    """

    def __init__(
        self,
        topics: str | Iterable[str],
        group: str | None = None,
        *,
        url: str | redis.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
        consumer: str | None = None,
        start_id: str = "0",
        start_ids: dict[str, str] | None = None,
        block_ms: int = 200,
        count: int = 500,
        auto_ack: bool = False,
        client_name: str | None = None,
    ) -> None:
        if url is None:
            from quantdesk.core.config import get_settings

            url = get_settings().redis.url
            if not url:
                raise ValueError("RedisSubscriber needs a Redis url (QD_REDIS__URL or url=)")
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.group = group
        self.consumer = consumer or f"c-{uuid.uuid4().hex[:8]}"
        self.prefix = prefix
        self.block_ms = block_ms
        self.count = count
        self.auto_ack = auto_ack
        self.client = connect(url, client_name=client_name)
        self._keys = {stream_key(prefix, t): t for t in self.topics}
        start_ids = start_ids or {}
        self.last_ids: dict[str, str] = {t: start_ids.get(t, start_id) for t in self.topics}
        self._pending_phase = {t: True for t in self.topics}  # group mode: first drain our own pending
        self._pending_pos = {t: "0" for t in self.topics}
        self.reconnects = 0
        self.undecodable = 0
        self._closed = threading.Event()
        self._groups_ready = False
        self._start_id = start_id

    # -- group setup --
    def _ensure_groups(self) -> None:
        if self.group is None or self._groups_ready:
            return
        for key in self._keys:
            try:
                self.client.xgroup_create(key, self.group, id=self._start_id, mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    def _decode(self, key: Any, entries: list[Any]) -> list[Delivery]:
        """Entries -> deliveries. An undecodable entry (unknown type, garbage) is not fatal: it is copied to
        `{prefix}deadletter`, acknowledged in group mode, counted in `undecodable`, and skipped."""
        topic = self._keys[_s(key)]
        out = []
        for entry_id, fields in entries:
            eid = _s(entry_id)
            if not fields:  # deleted (trimmed) while pending
                continue
            try:
                out.append(Delivery(topic, eid, serialization.decode(fields.get(b"data", b""))))
            except serialization.SerializationError as exc:
                self.undecodable += 1
                log.error("redis subscriber: entry %s on %s skipped: %s", eid, topic, exc)
                dead = {b"topic": topic, b"id": eid, b"error": str(exc), **fields}
                self.client.xadd(f"{self.prefix}deadletter", dead, maxlen=10_000, approximate=True)
                if self.group is not None:
                    self.client.xack(_s(key), self.group, eid)
        return out

    def read(self, block_ms: int | None = None) -> list[Delivery]:
        """One (blocking up to `block_ms`) read; retries connection errors with backoff until closed."""
        backoff = Backoff()
        while not self._closed.is_set():
            try:
                result = self._read_once(self.block_ms if block_ms is None else block_ms)
                backoff.reset()
                return result
            except _CONN_ERRORS as exc:
                if self._closed.is_set():
                    break
                self.reconnects += 1
                log.warning("redis subscriber %s: %s; reconnecting", self.consumer, exc)
                backoff.sleep(self._closed)
        return []

    def _read_once(self, block_ms: int) -> list[Delivery]:
        if self.group is None:
            streams = {k: self.last_ids[t] for k, t in self._keys.items()}
            resp = self.client.xread(streams, count=self.count, block=block_ms or None)
            out: list[Delivery] = []
            for key, entries in resp or []:
                got = self._decode(key, entries)
                if entries:
                    self.last_ids[self._keys[_s(key)]] = _s(entries[-1][0])
                out.extend(got)
            return out
        self._ensure_groups()
        pending_topics = [t for t, p in self._pending_phase.items() if p]
        if pending_topics:
            out = []
            for key, topic in self._keys.items():
                if not self._pending_phase[topic]:
                    continue
                resp = self.client.xreadgroup(
                    self.group, self.consumer, {key: self._pending_pos[topic]}, count=self.count
                )
                entries = resp[0][1] if resp else []
                if not entries:
                    self._pending_phase[topic] = False
                    continue
                self._pending_pos[topic] = _s(entries[-1][0])
                out.extend(self._decode(key, entries))
            if out:
                return self._maybe_ack(out)
        streams = {k: ">" for k in self._keys}
        resp = self.client.xreadgroup(
            self.group, self.consumer, streams, count=self.count, block=block_ms or None
        )
        out = []
        for key, entries in resp or []:
            out.extend(self._decode(key, entries))
        return self._maybe_ack(out)

    def _maybe_ack(self, deliveries: list[Delivery]) -> list[Delivery]:
        if self.auto_ack and deliveries:
            self.ack(*deliveries)
        return deliveries

    def ack(self, *deliveries: Delivery) -> int:
        """XACK the given deliveries (group mode)."""
        if self.group is None or not deliveries:
            return 0
        by_topic: dict[str, list[str]] = {}
        for d in deliveries:
            by_topic.setdefault(d.topic, []).append(d.id)
        n = 0
        for topic, ids in by_topic.items():
            n += self.client.xack(stream_key(self.prefix, topic), self.group, *ids)
        return n

    def claim_stale(self, min_idle_ms: int = 30_000, count: int = 500) -> list[Delivery]:
        """Take over entries pending longer than `min_idle_ms` at other (dead) consumers (XAUTOCLAIM)."""
        if self.group is None:
            raise ValueError("claim_stale needs a consumer group")
        self._ensure_groups()
        out: list[Delivery] = []
        for key in self._keys:
            start = "0-0"
            for _ in range(10_000):  # bounded
                resp = self.client.xautoclaim(
                    key, self.group, self.consumer, min_idle_ms, start_id=start, count=count
                )
                next_id, entries = resp[0], resp[1]
                out.extend(self._decode(key, [e for e in entries if e is not None]))
                start = _s(next_id)
                if start == "0-0":
                    break
        return self._maybe_ack(out)

    def pending_count(self, topic: str) -> int:
        if self.group is None:
            return 0
        info = self.client.xpending(stream_key(self.prefix, topic), self.group)
        return int(info["pending"])

    def iter(self, *, timeout: float | None = None, limit: int | None = None) -> Iterator[Delivery]:
        """Deliveries until closed, `limit` reached, or `timeout` seconds without any new message."""
        n = 0
        idle_since = time.monotonic()
        while not self._closed.is_set():
            batch = self.read()
            if batch:
                idle_since = time.monotonic()
            for d in batch:
                yield d
                n += 1
                if limit is not None and n >= limit:
                    return
            if timeout is not None and not batch and time.monotonic() - idle_since > timeout:
                return

    def __iter__(self) -> Iterator[Delivery]:
        return self.iter()

    def close(self) -> None:
        """Stop iterating (a blocked read returns within `block_ms`) and close the connection."""
        self._closed.set()
        self.client.close()

    def __enter__(self) -> RedisSubscriber:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RedisBus:
    """A Redis-backed bus with the `MessageBus` interface, for processes other than the engine.

    `publish` XADDs synchronously; handlers subscribed here are called on a reader thread with decoded copies
    of entries published by any process (from the moment this bus started, or from `start_id`). Order is
    kept per topic; `"*"` handlers get every topic (discovered through `{prefix}topics`), after the topic's own.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        maxlen: int | None = DEFAULT_MAXLEN,
        start_id: str = "$",
        block_ms: int = 100,
        client_name: str | None = None,
    ) -> None:
        self._url = url_or_client
        self.prefix = prefix
        self.publisher = StreamPublisher(url_or_client, prefix, maxlen, client_name=client_name)
        self.reader = connect(url_or_client, client_name=client_name)
        self._subs: dict[str, list[Handler]] = {}
        self._lock = threading.RLock()
        self._last: dict[str, str] = {}
        self._start_id = start_id
        self.block_ms = block_ms
        self._published: dict[str, str] = {}  # topic -> last id published by this bus
        self.errors = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._topics_checked = 0.0
        self._all_topics: set[str] = set()
        if start_id == "$":
            self._start_id = self._server_now_id()

    def _server_now_id(self) -> str:
        secs, micros = self.reader.time()
        return f"{int(secs) * 1000 + int(micros) // 1000 - 1}-0"

    # -- MessageBus interface --
    def subscribe(self, topic: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._subs.setdefault(topic, [])
            if handler not in handlers:
                handlers.append(handler)
            if topic != "*":
                self._last.setdefault(topic, self._start_id)
        self._ensure_thread()

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        with self._lock:
            handlers = self._subs.get(topic, [])
            if handler in handlers:
                handlers.remove(handler)

    def has_subscribers(self, topic: str) -> bool:
        # other processes may listen: a Redis bus always "has subscribers"
        return True

    def publish(self, message: Any, topic: str | None = None) -> None:
        key = _topic_of(message, topic)
        self._published[key] = self.publisher.publish(message, key)

    # -- reader --
    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qd-redis-bus", daemon=True)
            self._thread.start()

    def _wanted(self) -> dict[str, str]:
        with self._lock:
            if self._subs.get("*"):
                now = time.monotonic()
                if now - self._topics_checked > 0.05:
                    self._topics_checked = now
                    self._all_topics = {_s(t) for t in self.reader.smembers(f"{self.prefix}topics")}
                for t in self._all_topics:
                    self._last.setdefault(t, self._start_id)
                return dict(self._last)
            return {t: i for t, i in self._last.items() if self._subs.get(t)}

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                wanted = self._wanted()
                if not wanted:
                    self._stop.wait(0.02)
                    continue
                streams = {stream_key(self.prefix, t): i for t, i in wanted.items()}
                resp = self.reader.xread(streams, count=1000, block=self.block_ms)
                backoff.reset()
            except _CONN_ERRORS as exc:
                if self._stop.is_set():
                    return
                self.reconnects += 1
                log.warning("redis bus reader: %s; reconnecting", exc)
                backoff.sleep(self._stop)
                continue
            for key, entries in resp or []:
                topic = _s(key)[len(self.prefix) + len("stream:") :]
                for entry_id, fields in entries:
                    data = fields.get(b"data")
                    try:
                        message = serialization.decode(data)
                    except serialization.SerializationError as exc:
                        self.errors += 1
                        log.error("redis bus: undecodable entry %s on %s: %s", _s(entry_id), topic, exc)
                        message = None
                    if message is not None:
                        self._dispatch(topic, message)
                    with self._lock:
                        self._last[topic] = _s(entry_id)

    def _dispatch(self, topic: str, message: Any) -> None:
        with self._lock:
            handlers = list(self._subs.get(topic, ())) + (
                list(self._subs.get("*", ())) if topic != "*" else []
            )
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # a handler's bug must not kill the reader
                self.errors += 1
                log.exception("redis bus: handler %r failed on %s", handler, topic)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the reader has delivered every entry this bus published (on subscribed topics)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                star = bool(self._subs.get("*"))
                behind = [
                    t
                    for t, pid in self._published.items()
                    if (star or self._subs.get(t)) and _id_lt(self._last.get(t, "0-0"), pid)
                ]
            if not behind:
                return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.reader.close()
        self.publisher.close()


def _id_lt(a: str, b: str) -> bool:
    def parse(x: str) -> tuple[int, int]:
        if x in ("$", ">"):
            return (0, 0)
        ms, _, seq = x.partition("-")
        return int(ms), int(seq or 0)

    return parse(a) < parse(b)


# ---- cache ---------------------------------------------------------------------------------------------
_SET_PRICE_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ts = tostring(cjson.decode(cur)['ts'])
  local new = ARGV[3]
  -- integer ns timestamps compared exactly as decimal strings (Lua numbers are doubles)
  if #ts > #new or (#ts == #new and ts > new) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisCache:
    """Latest price per instrument (one hash) and bot state snapshots (JSON strings, optional TTL)."""

    def __init__(self, url_or_client: str | redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = connect(url_or_client, library_retries=3)
        self.prefix = prefix
        self._prices_key = f"{prefix}prices"
        self._set_price = self.client.register_script(_SET_PRICE_IF_NEWER)

    # -- prices --
    def set_price(self, instrument: Any, price: Decimal | float | str, ts_ns: int) -> bool:
        """Store `price` at `ts_ns` unless a newer price is already there (several writers are safe).
        Returns True when stored. Decimals stay exact (kept as strings); floats come back as floats."""
        value = {
            "price": str(price) if isinstance(price, (Decimal, str)) else float(price),
            "ts": str(int(ts_ns)),
        }
        payload = json.dumps(value, separators=(",", ":"))
        return bool(
            self._set_price(keys=[self._prices_key], args=[str(instrument), payload, str(int(ts_ns))])
        )

    def get_price(self, instrument: Any) -> tuple[Decimal | float, int] | None:
        raw = self.client.hget(self._prices_key, str(instrument))
        return None if raw is None else _price(raw)

    def prices(self) -> dict[str, tuple[Decimal | float, int]]:
        return {_s(k): _price(v) for k, v in self.client.hgetall(self._prices_key).items()}

    # -- bot state --
    def _state_key(self, bot_id: str) -> str:
        return f"{self.prefix}state:{bot_id}"

    def set_state(self, bot_id: str, state: Any, ttl_s: float | None = None) -> None:
        """Snapshot (any JSON-able value or registered dataclass, via the versioned serialisation)."""
        payload = serialization.encode(state)
        if ttl_s is not None:
            self.client.set(self._state_key(bot_id), payload, px=max(1, int(ttl_s * 1000)))
        else:
            self.client.set(self._state_key(bot_id), payload)

    def get_state(self, bot_id: str) -> Any:
        raw = self.client.get(self._state_key(bot_id))
        return None if raw is None else serialization.decode(raw)

    def delete_state(self, bot_id: str) -> bool:
        return bool(self.client.delete(self._state_key(bot_id)))

    def scan_states(self, pattern: str = "*") -> list[str]:
        """Bot ids with a stored state matching the glob `pattern`, sorted."""
        base = self._state_key("")
        return sorted(_s(k)[len(base) :] for k in self.client.scan_iter(f"{base}{pattern}", count=500))

    def close(self) -> None:
        self.client.close()


def _price(raw: Any) -> tuple[Decimal | float, int]:
    d = json.loads(raw)
    p = d["price"]
    return (Decimal(p) if isinstance(p, str) else float(p)), int(d["ts"])


# ---- factory -------------------------------------------------------------------------------------------
def make_bus(
    settings: Any = None,
    *,
    prefix: str = DEFAULT_PREFIX,
    topics: Iterable[str] = ("*",),
    **bridge_kwargs: Any,
) -> MessageBus:
    """The engine's bus: the in-process `MessageBus` when `settings.redis.url` is empty (default), else a
    `BridgedBus` (still in-process and synchronous) that forwards `topics` to Redis Streams in the background."""
    if settings is None:
        from quantdesk.core.config import get_settings

        settings = get_settings()
    url = settings.redis.url
    if not url:
        return MessageBus()
    return BridgedBus(url, prefix, topics=topics, **bridge_kwargs)


__all__ = [
    "BridgedBus",
    "Delivery",
    "RedisBridge",
    "RedisBus",
    "RedisCache",
    "RedisSubscriber",
    "StreamPublisher",
    "make_bus",
    "stream_key",
]
