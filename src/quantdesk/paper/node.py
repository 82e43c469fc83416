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
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from quantdesk.core.errors import NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.paper.bot import BotSpec, PaperBot
from quantdesk.storage.trading import TradingStore

log = get_logger(__name__)

SUBMISSION_LOG_ENV = "QD_PAPER_SUBMISSION_LOG"  # append one line per order handed to a venue (tests/audit)


class PaperNode:
    def __init__(self, url: str | None = None, *, store: TradingStore | None = None,
                 submission_log: str | None = None,
                 on_fill: Callable[[PaperBot, dict[str, Any]], None] | None = None) -> None:
        self.store = store if store is not None else TradingStore(url)
        self.bots: dict[str, PaperBot] = {}
        self.submission_log = submission_log or os.environ.get(SUBMISSION_LOG_ENV) or None
        self.on_fill = on_fill
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._due: dict[str, float] = {}

    # ---- bots --------------------------------------------------------------------------------------------------
    def add_bot(self, spec: BotSpec, *, frames: Mapping[str, pd.DataFrame] | None = None,
                resume: bool = True) -> PaperBot:
        with self.lock:
            bot = PaperBot.open(self.store, spec, frames=frames, resume=resume,
                                submission_log=self.submission_log)
            return self._register(bot)

    def _register(self, bot: PaperBot) -> PaperBot:
        if self.on_fill is not None:
            bot.on_fill.append(self.on_fill)
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
                                        submission_log=self.submission_log)
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

    def start_bot(self, name: str, *, frames: Mapping[str, pd.DataFrame] | None = None) -> PaperBot:
        """(Re)start a stopped bot of the database (recovered from its state)."""
        with self.lock:
            if name in self.bots:
                return self.resume(name) or self.bots[name]
            bot = PaperBot.open(self.store, name=name, frames=frames, submission_log=self.submission_log)
            return self._register(bot)

    # ---- manual trades ------------------------------------------------------------------------------------------
    def manual_trade(self, bot: str, side: str, *, quantity: Any = None, notional: Any = None,
                     confidence: float | None = None, reason: str = "", symbol: str | None = None) -> dict[str, Any]:
        with self.lock:
            return self.bot(bot).manual_trade(side, quantity=quantity, notional=notional, confidence=confidence,
                                              reason=reason, symbol=symbol)

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
            bot.step()
            self._due[bot.name] = time.monotonic() + bot.feed.delay()
            return True

    def run(self, *, max_steps: int | None = None) -> int:
        """Run until no bot is running (all finished, stopped or paused), `request_stop()` or `max_steps`."""
        steps = 0
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
            steps += 1
            if max_steps is not None and steps >= max_steps:
                break
        return steps

    def shutdown(self) -> None:
        """Persist every bot and detach it (status stopped, or finished when its replay is done)."""
        with self.lock:
            for name in list(self.bots):
                bot = self.bots[name]
                if bot.status == "paused":
                    bot.commit(force=True)
                    bot.engine.stop()
                    self.bots.pop(name)
                else:
                    self.stop_bot(name)

    def status(self) -> list[dict[str, Any]]:
        return [b.summary() for b in self.bots.values()]


def status_from_db(url: str | None = None, store: TradingStore | None = None) -> list[dict[str, Any]]:
    """Bots, positions, cash and last equity snapshot, read from the database (no node needed)."""
    store = store or TradingStore(url)
    out = []
    for row in store.list_bots():
        st = store.load_state(row["id"])
        snap = store.last_snapshot(row["id"])
        out.append({
            "bot": row["name"], "id": row["id"], "status": row["status"], "strategy": row["strategy"],
            "symbols": row["symbols"], "timeframe": row["timeframe"], "cursor": row["cursor_index"],
            "starting_cash": row["starting_cash"], "cash": row["cash"],
            "equity": snap["equity"] if snap else row["cash"],
            "positions": {s: p["quantity"] for s, p in st.positions.items()},
            "orders": len(st.orders), "fills": len(st.fills), "signals": len(st.signals),
            "open_orders": sum(1 for o in st.orders.values() if o["status"] in ("submitted", "accepted",
                                                                               "partially_filled")),
            "updated_at": row["updated_at"],
        })
    return out
