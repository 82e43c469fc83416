"""The reading side of the Redis bus: `RedisSubscriber` (XREAD fan-out or XREADGROUP work sharing, with
reconnects) and `RedisBus` (the Redis-native bus for processes other than the engine). Design:
quantdesk.storage.redis_bus.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:  # optional dependency (`pip install quantdesk[redis]`): the in-process default works without it
    import redis
except ImportError:  # pragma: no cover - exercised only where redis-py is absent
    redis = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from redis.typing import KeyT, StreamIdT

from quantdesk.core import serialization
from quantdesk.core.bus import Handler
from quantdesk.storage.redis_streams import (
    _CONN_ERRORS,
    DEFAULT_MAXLEN,
    DEFAULT_PREFIX,
    Backoff,
    StreamPublisher,
    _s,
    _topic_of,
    connect,
    stream_key,
)

log = logging.getLogger(__name__)


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
            streams: dict[KeyT, StreamIdT] = {k: self.last_ids[t] for k, t in self._keys.items()}
            resp: Any = self.client.xread(streams, count=self.count, block=block_ms or None)  # RESP2 lists
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
                streams: dict[KeyT, StreamIdT] = {stream_key(self.prefix, t): i for t, i in wanted.items()}
                resp: Any = self.reader.xread(streams, count=1000, block=self.block_ms)  # RESP2 lists
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

