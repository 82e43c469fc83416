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

Split by role: `redis_streams` (client, keys, publisher, backoff), `redis_bridge` (`BridgedBus`, `RedisBridge`),
`redis_consumers` (`RedisSubscriber`, `RedisBus`), `redis_cache` (`RedisCache`); this module is their public face
and holds the factory `make_bus`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quantdesk.core.bus import MessageBus
from quantdesk.storage.redis_bridge import BridgedBus, RedisBridge
from quantdesk.storage.redis_cache import RedisCache
from quantdesk.storage.redis_consumers import Delivery, RedisBus, RedisSubscriber
from quantdesk.storage.redis_streams import DEFAULT_PREFIX, StreamPublisher, stream_key


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
