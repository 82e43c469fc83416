"""The paper-trading node: several bots, each its own TradingEngine + strategy + account + risk limits + venue +
feed, driven by one single-threaded scheduler (no locks in the engines; commands from other threads go through
the node's lock).

    node = PaperNode(url)                                    # trading state in SQLite/PostgreSQL
    node.add_bot(BotSpec(name="b1", strategy="sma_cross", params={"fast": 5, "slow": 20}, symbols=["BTC/USDT"],
                         timeframe="1m", speed="max"))       # creates it, or recovers it when it exists
    node.run()                                               # until every bot is finished / stopped
    node.recover()                                           # re-open every running/paused bot of the DB
    node.pause("b1"); node.resume("b1"); node.stop_bot("b1")
    node.manual_trade("b1", "buy", notional=500, reason="test")
    node.simulate_signals("b1", n=5, seed=7)

Persistence and crash recovery: see quantdesk.paper.bot.

REDIS (`settings.redis.url` set, e.g. QD_REDIS__URL=redis://127.0.0.1:6379/0; key prefix `settings.redis.prefix`):
each bot's engine runs on `make_bus(settings, prefix=..., topics=...)`, a BridgedBus (still in-process and
synchronous; a background thread XADDs to Redis Streams, so a bar never waits for Redis). The bridge is attached
AFTER the recovery replay, so a restart does not publish the replayed history again. Streams (topics):
    bars      every bar processed (quantdesk.model.data.Bar)
    orders    the engine's order events (OrderFilled, OrderCanceled, ... ; lifecycle events only if subscribed)
    commands  the SubmitOrder/SubmitBracket/Cancel commands the strategy issued
    strategy  strategy errors
    fills     each fill row exactly as persisted (JSON dict with `bot`), published after its bar's commit
    signals   manual trades / simulated signals (JSON dict with `bot`)
    alerts    risk events (denials, breakers, strategy errors) as persisted (JSON dict with `bot`)
and a RedisCache: latest price per symbol (`{prefix}prices`) and each bot's state (`{prefix}state:{bot name}`:
cash, equity, positions, bar, ts, status), updated after every bar. Without a URL everything stays in-process.
Delivery is at-least-once (a crash between a publish and the bar's commit re-publishes that bar after recovery).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from quantdesk.core.errors import NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.engine.ports import BarFeed
from quantdesk.model.bot_events import BarCommitted, BarProcessed, SignalRecorded, watch_bot
from quantdesk.paper.bot import PaperBot
from quantdesk.paper.spec import BotSpec
from quantdesk.storage.trading import TradingStore

log = get_logger(__name__)

SUBMISSION_LOG_ENV = "QD_PAPER_SUBMISSION_LOG"  # append one line per order handed to a venue (tests/audit)


class PaperNode:
    def __init__(self, url: str | None = None, *, store: TradingStore | None = None,
                 submission_log: str | None = None, settings: Any = None) -> None:
        from quantdesk.core.config import get_settings

        self.settings = settings if settings is not None else get_settings()
        self.store = store if store is not None else TradingStore(url)
        self.bots: dict[str, PaperBot] = {}
        self.submission_log = submission_log or os.environ.get(SUBMISSION_LOG_ENV) or None
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._due: dict[str, float] = {}
        self._cache: Any = None  # RedisCache when Redis is on
        self.bars_processed = 0

    # ---- bots --------------------------------------------------------------------------------------------------
    def add_bot(self, spec: BotSpec, *, frames: Mapping[str, pd.DataFrame] | None = None,
                resume: bool = True, feed: BarFeed | None = None) -> PaperBot:
        """`feed`: a ready feed object (e.g. an ExchangeFeed with its own client/clock); default from the spec."""
        with self.lock:
            bot = PaperBot.open(self.store, spec, frames=frames, resume=resume,
                                submission_log=self.submission_log, feed=feed, bus=self._new_bus())
            return self._register(bot)

    # ---- redis ----------------------------------------------------------------------------------------------
    ENGINE_TOPICS = ("orders", "commands", "strategy")
    NODE_TOPICS = ("bars", "fills", "signals", "alerts")

    @property
    def redis_on(self) -> bool:
        return bool(self.settings.redis.url)

    def _new_bus(self) -> Any:
        if not self.redis_on:
            return None  # the engine's own in-process MessageBus
        from quantdesk.storage.redis_bus import make_bus

        # topics=(): nothing is forwarded until the recovery replay is over (`_wire_redis`)
        return make_bus(self.settings, prefix=self.settings.redis.prefix, topics=())

    def _wire_redis(self, bot: PaperBot) -> None:
        bus = bot.engine.bus
        bridge = getattr(bus, "bridge", None)
        if bridge is None:
            return
        bridge.attach(bus, self.ENGINE_TOPICS + self.NODE_TOPICS)
        if self._cache is None:
            from quantdesk.storage.redis_bus import RedisCache

            url = self.settings.redis.url
            assert url is not None  # a bridged bus exists only with Redis configured (`redis_on`)
            self._cache = RedisCache(url, prefix=self.settings.redis.prefix)
        cache = self._cache

        def on_bar(ev: BarProcessed) -> None:
            for bar in ev.bars:
                bus.publish(bar, "bars")
                cache.set_price(bot._symbol(bar.instrument), bar.close, bar.ts_ns)
            cache.set_state(bot.name, self._state(bot))

        def on_commit(ev: BarCommitted) -> None:
            for row in ev.fills:
                bus.publish({"bot": bot.name, **row}, "fills")
            for row in ev.risk_events:
                bus.publish({"bot": bot.name, **row}, "alerts")

        def on_signal(ev: SignalRecorded) -> None:
            from quantdesk.core.jsonable import to_jsonable

            bus.publish(to_jsonable({"bot": bot.name, **ev.row}), "signals")

        watch_bot(bus, bot.name, bar=on_bar, commit=on_commit, signal=on_signal)
        cache.set_state(bot.name, self._state(bot))

    @staticmethod
    def _state(bot: PaperBot) -> dict[str, Any]:
        eng = bot.engine
        pf = eng.portfolio
        equity = pf.equity(eng.marks()) if eng.bar_index >= 0 else pf.cash()
        return {"bot": bot.name, "id": bot.id, "status": bot.status, "bar_index": eng.bar_index,
                "ts": eng.clock.now_ns() if eng.bar_index >= 0 else None, "cash": str(pf.cash()),
                "equity": str(equity), "positions": {r["symbol"]: r["quantity"] for r in bot.position_rows()},
                "fills": len(pf.fills), "orders": len(eng.orders)}

    def _close_bus(self, bot: PaperBot) -> None:
        bus: Any = bot.engine.bus  # a Redis-bridged bus (from `make_bus`) has `bridge` and `close()`
        if getattr(bus, "bridge", None) is not None:
            if self._cache is not None:
                self._cache.set_state(bot.name, self._state(bot))
            bus.close()  # flushes what is queued

    def _register(self, bot: PaperBot) -> PaperBot:
        self._wire_redis(bot)
        self.bots[bot.name] = bot
        self._due[bot.name] = 0.0
        if bot.status not in ("paused", "finished"):
            bot.status = "running"
            self.store.set_status(bot.id, "running")
        return bot

    def recover(self, frames: Mapping[str, Mapping[str, pd.DataFrame]] | None = None) -> list[PaperBot]:
        """Re-open every bot of the database that was running or paused (frames: {bot name: {symbol: df}},
        else the candles are loaded from the store)."""
        out = []
        with self.lock:
            for row in self.store.list_bots():
                if row["status"] in ("running", "paused") and row["name"] not in self.bots:
                    bot = PaperBot.open(self.store, name=row["name"], frames=(frames or {}).get(row["name"]),
                                        submission_log=self.submission_log, bus=self._new_bus())
                    out.append(self._register(bot))
        return out

    def bot(self, name: str) -> PaperBot:
        try:
            return self.bots[name]
        except KeyError:
            raise NotFoundError(f"no bot {name!r} on this node; have {sorted(self.bots)}") from None

    def pause(self, name: str) -> None:
        with self.lock:
            bot = self.bot(name)
            bot.commit(force=True, status="paused")

    def resume(self, name: str) -> None:
        with self.lock:
            bot = self.bot(name)
            if bot.status == "paused":
                bot.commit(force=True, status="running")

    def stop_bot(self, name: str) -> None:
        """Persist and detach the bot (its working orders stay in the DB; `add_bot`/`recover` resumes it)."""
        with self.lock:
            bot = self.bots.pop(name, None)
            if bot is None:
                raise NotFoundError(f"no bot {name!r} on this node")
            self._due.pop(name, None)
            bot.stop("stopped" if not bot.done else "finished")
            self._close_bus(bot)

    def start_bot(self, name: str, *, frames: Mapping[str, pd.DataFrame] | None = None) -> PaperBot:
        """(Re)start a stopped bot of the database (recovered from its state)."""
        with self.lock:
            if name in self.bots:
                self.resume(name)
                return self.bots[name]
            bot = PaperBot.open(self.store, name=name, frames=frames, submission_log=self.submission_log,
                                bus=self._new_bus())
            return self._register(bot)

    # ---- manual trades ------------------------------------------------------------------------------------------
    def manual_trade(self, bot: str, side: str, *, quantity: Any = None, notional: Any = None,
                     confidence: float | None = None, reason: str = "", symbol: str | None = None,
                     order_type: str = "market", price: Any = None) -> dict[str, Any]:
        with self.lock:
            return self.bot(bot).manual_trade(side, quantity=quantity, notional=notional, confidence=confidence,
                                              reason=reason, symbol=symbol, order_type=order_type, price=price)

    def force_exit(self, bot: str, symbol: str | None = None, *, reason: str = "") -> dict[str, Any]:
        with self.lock:
            return self.bot(bot).force_exit(symbol, reason=reason)

    def cancel_order(self, bot: str, client_order_id: str, *, reason: str = "") -> dict[str, Any]:
        with self.lock:
            return self.bot(bot).cancel_order(client_order_id, reason=reason)

    def simulate_signals(self, bot: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
        with self.lock:
            return self.bot(bot).simulate_signals(n, seed)

    # ---- the loop -----------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    def step(self) -> bool:
        """Process one bar of the running bot whose bar is due first (no waiting). False when none is left."""
        with self.lock:
            running = [b for b in self.bots.values() if b.status == "running" and not b.done]
            if not running:
                return False
            bot = min(running, key=lambda b: (self._due.get(b.name, 0.0), b.name))
            if bot.step():
                self.bars_processed += 1
            self._due[bot.name] = time.monotonic() + bot.feed.delay()
            return True

    def run(self, *, max_steps: int | None = None) -> int:
        """Run until no bot is running (all finished, stopped or paused), `request_stop()` or `max_steps`."""
        steps = 0
        start_bars = self.bars_processed
        while not self._stop.is_set():
            with self.lock:
                running = [b for b in self.bots.values() if b.status == "running" and not b.done]
                if not running:
                    break
                due = min(self._due.get(b.name, 0.0) for b in running)
            wait = due - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            if not self.step():
                break
            steps = self.bars_processed - start_bars  # bars processed (a live feed's empty poll is no step)
            if max_steps is not None and steps >= max_steps:
                break
        return steps

    def shutdown(self, *, suspend: bool = False) -> None:
        """Persist every bot and detach it (status stopped, or finished when its replay is done).
        `suspend=True` (a server going down): the bots keep their status (running / paused) in the database, so
        the next process's `recover()` continues them, as after a crash but without replaying a partial bar."""
        with self.lock:
            for name in list(self.bots):
                bot = self.bots[name]
                if suspend and not bot.done:
                    bot.commit(force=True)
                    bot.engine.stop()
                    self.bots.pop(name)
                    self._due.pop(name, None)
                    self._close_bus(bot)
                elif bot.status == "paused":
                    bot.commit(force=True)
                    bot.engine.stop()
                    self.bots.pop(name)
                    self._close_bus(bot)
                else:
                    self.stop_bot(name)
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def status(self) -> list[dict[str, Any]]:
        return [b.summary() for b in self.bots.values()]


def status_from_db(url: str | None = None, store: TradingStore | None = None) -> list[dict[str, Any]]:
    """Bots, positions, cash and last equity snapshot, read from the database (no node needed; bounded queries:
    quantdesk.paper.status)."""
    from quantdesk.paper.status import bot_status_page

    store = store or TradingStore(url)
    rows, _ = bot_status_page(store, limit=1_000_000)
    return rows

