"""The account's private streams (orders, fills, balances) through ccxt.pro, with reconnect and a REST snapshot.

    async for event in private_events(client, ["BTC/USDT"], since_ms=lambda: last_booked_ms):
        if event.kind == "order": tracker.apply(event.order)
        elif event.kind == "fill": fills.book(event.fill)
        elif event.kind == "snapshot": reconcile(..., event.snapshot)   # first, and after every reconnect

Streams lose messages when a connection drops (the user-data stream does not replay). So every (re)connect is
followed by a REST snapshot (`ExecutionClient.snapshot`) taken once the new subscriptions had `settle_s` to
become active: what happened during the outage is in the snapshot, what happens after is on the stream, and
the consumer's idempotent books (OrderTracker, FillBook) absorb the overlap. A snapshot is also emitted every
`snapshot_every_s` as a safety net, and a connection ccxt.pro replaced on its own (see `connections.py`) is
treated as a reconnect. Venues without private streams in ccxt.pro get the snapshots only (polling).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from quantdesk.adapters.ccxt.connections import ws_fingerprint
from quantdesk.adapters.ccxt.execution import ExecutionClient
from quantdesk.adapters.ccxt.parsing import parse_balances, parse_order, parse_trade
from quantdesk.core.logging import get_logger
from quantdesk.execution.models import Balance, FillReport, OrderReport, VenueSnapshot

log = get_logger(__name__)


@dataclass(frozen=True)
class ExecutionEvent:
    kind: str  # "order", "fill", "balance", "snapshot", "disconnected"
    order: OrderReport | None = None
    fill: FillReport | None = None
    balances: dict[str, Balance] = field(default_factory=dict)
    snapshot: VenueSnapshot | None = None
    reason: str = ""


class _Lost(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def private_events(client: ExecutionClient, symbols: Sequence[str], since_ms: int | Callable[[], int], *,
                         settle_s: float = 0.2, snapshot_every_s: float = 60.0, check_s: float = 1.0,
                         seq: Callable[[], int] | None = None,
                         stats: dict[str, int] | None = None) -> AsyncIterator[ExecutionEvent]:
    """Order / fill / balance events of `symbols`, a snapshot after each (re)connect; runs until closed.

    `since_ms`: start of the trades window of each snapshot (a callable is read at each snapshot, so the
    consumer can move it forward); `seq`: the consumer's activity counter, stamped on snapshots."""
    has = client.caps.streams
    stats = stats if stats is not None else {}
    for key in ("connects", "disconnects", "snapshots", "events"):
        stats.setdefault(key, 0)
    rng = random.Random(0)
    attempt = 0
    loop = asyncio.get_running_loop()

    def window() -> int:
        return since_ms() if callable(since_ms) else int(since_ms)

    async def take_snapshot() -> ExecutionEvent:
        stats["snapshots"] += 1
        requested = seq() if seq is not None else None
        snap = await client.snapshot(symbols, window(), requested_at_seq=requested)
        return ExecutionEvent("snapshot", snapshot=snap)

    while True:
        queue: asyncio.Queue[ExecutionEvent | _Lost] = asyncio.Queue()
        pumps = [asyncio.ensure_future(p) for p in _pumps(client, symbols, has, queue)]
        stats["connects"] += 1
        try:
            await asyncio.sleep(settle_s)
            connection = ws_fingerprint(client.exchange)
            yield await take_snapshot()
            attempt = 0
            next_snapshot = loop.time() + snapshot_every_s
            while True:
                try:
                    item: ExecutionEvent | _Lost | None = await asyncio.wait_for(
                        queue.get(), timeout=max(0.01, min(check_s, next_snapshot - loop.time())))
                except TimeoutError:
                    item = None
                if ws_fingerprint(client.exchange) != connection:  # ccxt reconnected without telling a pump
                    raise _Lost("the connection was replaced")
                if item is None:
                    if loop.time() >= next_snapshot:
                        next_snapshot = loop.time() + snapshot_every_s
                        yield await take_snapshot()
                    continue
                if isinstance(item, _Lost):
                    raise item
                stats["events"] += 1
                yield item
        except _Lost as lost:
            stats["disconnects"] += 1
            log.warning("%s private streams lost (%s); reconnecting", client.caps.exchange, lost.reason)
            yield ExecutionEvent("disconnected", reason=lost.reason)
        except Exception as exc:  # the snapshot failed: back off and start over
            stats["disconnects"] += 1
            reason = client._classify(exc).reason
            log.warning("%s private snapshot failed (%s); retrying", client.caps.exchange, reason)
            yield ExecutionEvent("disconnected", reason=reason)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
        await asyncio.sleep(client.backoff.delay(attempt, rng))
        attempt += 1


def _pumps(client: ExecutionClient, symbols: Sequence[str], has: frozenset[str],
           queue: asyncio.Queue[Any]) -> list[Any]:
    ex = client.exchange

    async def orders(symbol: str) -> None:
        while True:
            for o in await ex.watch_orders(symbol):
                report = parse_order(o, source="stream", symbol=symbol)
                client._learn(report)
                await queue.put(ExecutionEvent("order", order=report))

    async def trades(symbol: str) -> None:
        while True:
            for t in await ex.watch_my_trades(symbol):
                await queue.put(ExecutionEvent("fill", fill=parse_trade(t, client_ids=client.client_ids,
                                                                        source="stream")))

    async def balance() -> None:
        while True:
            await queue.put(ExecutionEvent("balance", balances=parse_balances(await ex.watch_balance())))

    async def guarded(coro: Any, name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await queue.put(_Lost(f"{name}: {client._classify(exc).reason}"))

    out: list[Any] = []
    for symbol in symbols:
        if "watchOrders" in has:
            out.append(guarded(orders(symbol), f"orders {symbol}"))
        if "watchMyTrades" in has:
            out.append(guarded(trades(symbol), f"fills {symbol}"))
    if "watchBalance" in has:
        out.append(guarded(balance(), "balance"))
    return out
