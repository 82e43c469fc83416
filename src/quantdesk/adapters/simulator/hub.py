"""Fan-out of the exchange's events to WebSocket connections, as Binance market and user-data messages.

Events are submitted in the order the exchange produced them (from any thread, under the exchange lock) and
rendered on the server's event loop: each market connection gets the messages of the streams it subscribed to,
in event order; user connections get execution reports and balance updates. Stream faults act here: duplicated
or reordered execution reports, reports delayed past the next burst, and connections closed after a number of
messages.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quantdesk.adapters.simulator import binance_json as bj
from quantdesk.adapters.simulator.engine import Exchange
from quantdesk.adapters.simulator.faults import FaultBook
from quantdesk.adapters.simulator.model import (
    AccountEvent,
    BookEvent,
    Event,
    ExecReport,
    KlineEvent,
    TradeEvent,
    UserBurst,
)

STREAM_NAME = re.compile(r"^[a-z0-9]+@[A-Za-z0-9_@]+$")
_PARTIAL = re.compile(r"^depth(5|10|20)(@100ms|@1000ms)?$")
_DIFF = re.compile(r"^depth(@100ms|@1000ms)?$")


@dataclass(eq=False)
class Connection:
    """One WebSocket client. `kind`: market (streams), user (a listenKey stream) or api (the WebSocket API)."""

    kind: str
    queue: asyncio.Queue[str | None]
    streams: list[str] = field(default_factory=list)
    combined: bool = False
    user: bool = False  # receives user-data events
    listen_key: str | None = None
    subscription_id: int | None = None  # WebSocket API user-data subscription (events are wrapped)
    sent: int = 0
    fault_seen: dict[int, int] = field(default_factory=dict)
    closing: bool = False


class Hub:
    def __init__(self, exchange: Exchange, lock: threading.RLock, faults: FaultBook) -> None:
        self.ex, self.lock, self.faults = exchange, lock, faults
        exchange.set_book_diffs(False)  # nobody is subscribed yet
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections: list[Connection] = []
        self._pending: deque[list[Event]] = deque()
        self._scheduled = False
        self._pending_lock = threading.Lock()
        self.messages_sent = 0
        self._held: list[dict[str, Any]] = []  # execution reports delayed by the delay_reports fault
        self._held_timer: asyncio.TimerHandle | None = None

    # ---- intake (any thread) ----------------------------------------------------------------------------
    def submit(self, events: list[Event]) -> None:
        """Queue events for rendering, in production order (call while holding the exchange lock)."""
        if not events:
            return
        with self._pending_lock:
            self._pending.append(events)
            if self._scheduled or self.loop is None:
                return
            self._scheduled = True
        loop = self.loop
        try:
            if _running_loop() is loop:
                loop.call_soon(self._drain)
            else:
                loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # loop closed: the server is stopping
            pass

    # ---- rendering (event loop) -------------------------------------------------------------------------
    def _drain(self) -> None:
        with self._pending_lock:
            batches = list(self._pending)
            self._pending.clear()
            self._scheduled = False
        if not self.connections:
            return
        with self.lock:
            market, user = self._render([e for batch in batches for e in batch])
        for conn in list(self.connections):
            if conn.user:
                self._send_user(conn, user)
            if conn.streams:
                wanted = set(conn.streams)
                for stream, payload in market:
                    if stream in wanted:
                        self._send(conn, {"stream": stream, "data": payload} if conn.combined else payload)

    def _render(self, events: list[Event]) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
        ex = self.ex
        sym = ex.cfg.market_id.lower()
        streams = {s for c in self.connections for s in c.streams}
        ours = {s.split("@", 1)[1] for s in streams if s.startswith(sym + "@")}
        market: list[tuple[str, dict[str, Any]]] = []
        user: list[dict[str, Any]] = []
        book_changed = traded = False
        kline_name = f"kline_{ex.cfg.timeframe}"
        has_users = any(c.user for c in self.connections)
        for ev in events:
            if isinstance(ev, TradeEvent):
                traded = True
                if "trade" in ours:
                    market.append((f"{sym}@trade", bj.trade_event(ex, ev)))
                if "aggTrade" in ours:
                    market.append((f"{sym}@aggTrade", bj.trade_event(ex, ev, agg=True)))
            elif isinstance(ev, KlineEvent):
                if kline_name in ours:
                    market.append((f"{sym}@{kline_name}", bj.kline_event(ex, ev, ex.cfg.timeframe)))
            elif isinstance(ev, BookEvent):
                book_changed = True
                payload = bj.depth_event(ex, ev)
                for name in ours:
                    if _DIFF.match(name):
                        market.append((f"{sym}@{name}", payload))
            elif isinstance(ev, UserBurst) and has_users:
                user.extend(self._user_messages(ev))
        if book_changed:
            for name in ours:
                match = _PARTIAL.match(name)
                if match:
                    market.append((f"{sym}@{name}", bj.partial_depth(ex, int(match.group(1)))))
            if "bookTicker" in ours:
                market.append((f"{sym}@bookTicker", bj.book_ticker(ex)))
        if traded:
            if "ticker" in ours:
                market.append((f"{sym}@ticker", bj.ticker_24h(ex, event=True)))
            if "miniTicker" in ours:
                market.append((f"{sym}@miniTicker", bj.ticker_24h(ex, mini=True)))
        return market, user

    def _user_messages(self, burst: UserBurst) -> list[dict[str, Any]]:
        """A burst's messages with the report faults applied; reports held back by `delay_reports` from an
        earlier burst come after this burst's."""
        reports = [i for i in burst.items if isinstance(i, ExecReport)]
        accounts = [i for i in burst.items if isinstance(i, AccountEvent)]
        if reports and self.faults.take("reorder_reports") is not None:
            reports.reverse()
        twice = bool(reports) and self.faults.take("duplicate_reports") is not None
        out: list[dict[str, Any]] = []
        for rep in reports:
            message = bj.execution_report(self.ex, rep)
            out.extend([message, message] if twice else [message])
        released = self._take_held()
        delay = self.faults.take("delay_reports") if out else None
        if delay is not None:
            self._held, out = out, []
            if self.loop is not None:
                self._held_timer = self.loop.call_later(float(delay.params["max_ms"]) / 1000.0, self._release_held)
        out.extend(bj.account_position(a) for a in accounts)
        return out + released

    def _take_held(self) -> list[dict[str, Any]]:
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        held, self._held = self._held, []
        return held

    def _release_held(self) -> None:
        """Timer: no later burst came to carry the held reports; send them now."""
        self._held_timer = None
        held = self._take_held()
        for conn in list(self.connections):
            if conn.user:
                self._send_user(conn, held)

    def _send_user(self, conn: Connection, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            self._send(conn, {"stream": conn.listen_key, "data": payload} if conn.combined and conn.listen_key
                       else payload)

    def _send(self, conn: Connection, payload: dict[str, Any]) -> None:
        if conn.closing or self._disconnect_fault(conn):
            return
        if conn.subscription_id is not None:
            payload = {"subscriptionId": conn.subscription_id, "event": payload}
        conn.queue.put_nowait(json.dumps(payload, separators=(",", ":")))
        conn.sent += 1
        self.messages_sent += 1

    def _disconnect_fault(self, conn: Connection) -> bool:
        """True (and the connection closed) when a ws_disconnect fault says it has sent its last message."""
        for fault in self.faults.peek("ws_disconnect"):
            if not _in_scope(fault.params["scope"], conn):
                continue
            seen = conn.fault_seen.get(id(fault), 0)
            if seen >= int(fault.params["after"]) and self.faults.consume(fault):
                self.close(conn)
                return True
            conn.fault_seen[id(fault)] = seen + 1
        return False

    # ---- connections (event loop) -----------------------------------------------------------------------
    def add(self, conn: Connection) -> bool:
        """Register a connection; False if a ws_disconnect fault with after=0 closes it at once."""
        self.connections.append(conn)
        self.streams_changed()
        for fault in self.faults.peek("ws_disconnect"):
            if _in_scope(fault.params["scope"], conn) and int(fault.params["after"]) == 0 and \
                    self.faults.consume(fault):
                self.close(conn)
                return False
        return True

    def remove(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
            self.streams_changed()

    def close(self, conn: Connection) -> None:
        if not conn.closing:
            conn.closing = True
            conn.queue.put_nowait(None)

    def disconnect(self, scope: str = "all") -> int:
        """Close every connection in scope (market, user or all) now; returns how many."""
        targets = [c for c in self.connections if _in_scope(scope, c) and not c.closing]
        for conn in targets:
            self.close(conn)
        return len(targets)

    def streams_changed(self) -> None:
        """After (un)subscriptions and disconnects: tell the exchange whether anyone needs book diffs."""
        wanted = any(_DIFF.match(s.split("@", 1)[1]) for c in self.connections for s in c.streams if "@" in s)
        with self.lock:
            self.ex.set_book_diffs(wanted)

    def counts(self) -> dict[str, int]:
        conns = [c for c in self.connections if not c.closing]
        return {"market": sum(c.kind == "market" for c in conns), "user": sum(c.user for c in conns),
                "streams": sum(len(c.streams) for c in conns), "messages_sent": self.messages_sent}

    def call(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the event loop (from any thread)."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(fn)


def _in_scope(scope: str, conn: Connection) -> bool:
    return scope == "all" or (scope == "user" and conn.user) or (scope == "market" and conn.kind == "market")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
