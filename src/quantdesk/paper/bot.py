"""One paper bot: its own TradingEngine (the backtest engine), strategy, instruments, account, risk limits,
replay clock, SimulatedVenue and feed, with write-ahead persistence and crash recovery.

PERSISTENCE (quantdesk.storage.trading), in this order:
  1. an order is written to the DB as SUBMITTED (own transaction) BEFORE it is handed to the venue: the engine
     calls the bot's order gate (`build_engine(..., order_gate=...)`) with each batch before the venue sees it;
  2. after each bar: the new fills, the orders that changed, positions, cash, round trips, risk/strategy
     events and the replay cursor (last processed step) are committed in ONE transaction. A bar that changed
     nothing only moves the cursor every `CURSOR_EVERY` bars (re-processing such bars after a crash has no
     effect, so a lagging cursor is harmless);
  3. a manual trade / simulated signal is recorded (signals table, with the bar index it acts at) before it
     acts, after a forced commit of the cursor, so it is always attached to the committed cursor bar.

RECOVERY = DETERMINISTIC REPLAY + VERIFICATION. A restarted bot builds a fresh engine (same strategy, params,
instrument spec stored in `bots.config`, streaming indicators, replay clock = the bar timestamps) and replays
the feed's bars 0..cursor through the same `on_bar` path, re-applying the recorded signals at their bars. The
engine is deterministic (same bars -> same orders, same client order ids `{bot}-{bar}-{n}`, same fills), so this
rebuilds everything a snapshot could (cash, positions, working orders in the matching core) AND what it could
not (indicator state, strategy attributes, risk breakers, the venue's trade sequence). During the replay the
gate hands orders to the matching core only to rebuild its book: nothing is written and nothing is "submitted"
(the submission log is not touched). The rebuilt state is then checked against the DB (orders: ids, states,
filled quantities; fills: trade ids, prices, quantities; positions; cash): any difference stops the bot with a
RecoveryError instead of trading on a state nobody can vouch for. Orders found in the DB as SUBMITTED but not
yet regenerated (written ahead for the bar being processed when the process died) are regenerated with the same
ids when that bar is processed again; the gate sees their id in the DB and does not submit them a second time
(it only rebuilds the simulated book; a real exchange adapter would reconcile by client order id here).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from quantdesk.core.clock import SimulatedClock
from quantdesk.core.errors import ParameterError, QuantDeskError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.ports import BarFeed
from quantdesk.engine.spec import build_engine, infer_price_precision, instrument_id
from quantdesk.model.bot_events import BOT_TOPIC, BarCommitted, BarProcessed, BotStopped
from quantdesk.model.money import plain
from quantdesk.model.orders import Order
from quantdesk.paper.feeds import make_feed
from quantdesk.paper.manual import ManualControl, as_text
from quantdesk.paper.spec import BotSpec, load_frames
from quantdesk.storage.trading import BarCommit, TradingStore

log = get_logger(__name__)

CURSOR_EVERY = 100  # bars without any change between two cursor commits
NOT_REGENERATED = "written ahead but not regenerated on recovery"


class RecoveryError(QuantDeskError):
    """The state rebuilt from the replay differs from the database: the bot refuses to run."""


def _bar_of(client_order_id: str) -> int:
    try:
        return int(client_order_id.rsplit("-", 2)[1])
    except (IndexError, ValueError):
        return -1


class PaperBot(ManualControl):
    """One bot. Build with `PaperBot.open(store, spec, frames=None, resume=...)`; then `step()` per bar."""

    def __init__(self, store: TradingStore, spec: BotSpec, bot_row: dict[str, Any], frames: Mapping[str, pd.DataFrame],
                 *, submission_log: str | None = None, feed: BarFeed | None = None, bus: Any = None) -> None:
        self.store = store
        self.spec = spec
        self.row = bot_row
        self.id: str = bot_row["id"]
        self.name = spec.name
        self.status: str = bot_row["status"]
        self.submission_log = submission_log
        # observers subscribe to the bot's events on its engine's bus (quantdesk.model.bot_events: BarProcessed,
        # BarCommitted, SignalRecorded, BotStopped; `watch_bot`), never to callbacks on the bot
        self.run = spec.run_spec()
        self.instruments = self.run.instruments()
        if feed is None:
            feed = make_feed(spec.feed, frames, self.instruments, timeframe=spec.timeframe,
                             speed=spec.speed, bar_sleep=spec.bar_sleep)
        else:
            feed.bind(self.instruments)
        self.feed: BarFeed = feed
        self.engine = self._build_engine(bus)
        self.venue_name = f"sim:{self.id}"
        self._replaying = False
        self._known_ids: set[str] = set()  # client order ids in the DB (written ahead or committed)
        self._pending_ids: set[str] = set()  # in the DB as SUBMITTED, not regenerated yet (recovery)
        self._tail: list[Order] = []  # orders submitted for real during the recovery replay
        self._order_mark = 0
        self._fill_mark = 0
        self._event_mark = 0
        self._trip_lo = 0
        self._open: list[Order] = []
        self._last_commit = -1
        self.committed = -1  # last committed step
        self.next_index = 0  # next step to process
        self.submissions = 0
        self.adopted = 0

    # ---- construction -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, store: TradingStore, spec: BotSpec | None = None, *, name: str | None = None,
             frames: Mapping[str, pd.DataFrame] | None = None, resume: bool = True,
             submission_log: str | None = None, feed: BarFeed | None = None, bus: Any = None) -> PaperBot:
        """Create the bot (new name) or recover it (existing name; `resume=False` refuses an existing one).
        `feed`: a ready feed (default: built from the spec; `feed='exchange'` -> an ExchangeFeed streaming
        from ccxt); `bus`: the engine's message bus (default in-process; the node passes `make_bus(...)`)."""
        bot_name = spec.name if spec is not None else name
        if not bot_name:
            raise ParameterError("a bot needs a name")
        row = store.find_bot(bot_name)
        if row is not None:
            if not resume:
                raise ParameterError(f"bot {bot_name!r} exists already; pass --resume to continue it")
            stored = BotSpec.from_config(row["config"])
            if spec is not None:  # pacing may change between runs; what defines the results may not
                stored.speed, stored.bar_sleep = spec.speed, spec.bar_sleep
            spec = stored
        if spec is None:
            raise ParameterError(f"no bot named {bot_name!r}")
        if spec.feed == "exchange":
            if feed is None:
                from quantdesk.paper.exchange_feed import exchange_feed_for

                feed = exchange_feed_for(spec)
            if row is None:
                spec.start = iso(feed.start_ns)  # the bot's timeline starts there, on every restart
                if not len(feed):
                    feed.poll()
            frames = {spec.symbols[0]: feed.frame()}
        if frames is None:
            frames = load_frames(spec)
        if row is None:
            if spec.risk is True:  # freeze the configured limits into the bot: a restart uses the same ones
                from quantdesk.core.config import get_settings

                settings: Any = get_settings()  # the composed quantdesk.settings.Settings (it adds `risk`)
                spec.risk = settings.risk.model_dump(mode="json")
            if not spec.price_precisions:
                spec.price_precisions = {
                    s: infer_price_precision(f[["open", "high", "low", "close"]].to_numpy().ravel())
                    for s, f in frames.items() if len(f)
                }
            quote = instrument_id(spec.symbols[0], spec.exchange).quote
            row = store.create_bot(name=spec.name, strategy=spec.strategy, params=spec.params,
                                   symbols=spec.symbols, timeframe=spec.timeframe, config=spec.to_config(),
                                   cash=str(_cash(spec.cash)), currency=quote, status="running")
        bot = cls(store, spec, row, frames, submission_log=submission_log, feed=feed, bus=bus)
        bot.recover()
        return bot

    def _build_engine(self, bus: Any = None) -> TradingEngine:
        from quantdesk.strategies.loader import create_strategy

        strategy = create_strategy(self.spec.strategy, self.spec.params, strategy_id=self.spec.name)
        # the replay clock (time = the bar timestamps: deterministic), streaming indicators, and every order
        # written ahead before the venue sees it
        return build_engine(self.run, strategy, instruments=self.instruments, clock=SimulatedClock(), bus=bus,
                            indicator_mode="stream", order_gate=self._before_submit)

    # ---- the gate -----------------------------------------------------------------------------------------
    def _before_submit(self, orders: list[Order]) -> None:
        new = [o for o in orders if o.client_order_id not in self._known_ids]
        for o in orders:
            if o.client_order_id in self._known_ids:
                # already in the DB (committed before, or written ahead before a crash): never submitted again;
                # the simulated matching core only rebuilds its book with it
                self._pending_ids.discard(o.client_order_id)
                if not self._replaying:
                    self.adopted += 1
        if not new:
            return
        rows = [self._order_row(o, status="submitted") for o in new]
        self.store.write_ahead_orders(self.id, rows)
        self._known_ids.update(o.client_order_id for o in new)
        if self._replaying:
            self._tail.extend(new)
        if self.submission_log:
            fd = os.open(self.submission_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, "".join(f"{self.name}\t{o.client_order_id}\n" for o in new).encode())
            finally:
                os.close(fd)
        self.submissions += len(new)

    # ---- rows -----------------------------------------------------------------------------------------------
    def _symbol(self, iid: Any) -> str:
        for sym, inst in zip(self.spec.symbols, self.instruments, strict=True):
            if inst.id == iid:
                return sym
        return str(iid)

    def _order_row(self, o: Order, status: str | None = None) -> dict[str, Any]:
        return {
            "client_order_id": o.client_order_id,
            "symbol": self._symbol(o.instrument),
            "venue": "sim",
            "side": o.side.value,
            "type": o.type.value,
            "quantity": as_text(o.quantity),
            "price": as_text(o.price),
            "trigger_price": as_text(o.trigger_price),
            "trailing_offset": as_text(o.trailing_offset),
            "trailing_offset_type": o.trailing_offset_type.value if o.trailing_offset is not None else None,
            "notional": as_text(o.notional),
            "all_cash": bool(o.all_cash),
            "reduce_only": bool(o.reduce_only),
            "tif": o.tif.value,
            "expire_ts": o.expire_ts,
            "parent_id": o.parent_id,
            "linked_ids": list(o.linked_ids),
            "tags": list(o.tags),
            "strategy_id": o.strategy_id,
            "status": status or o.status.value,
            "filled_qty": plain(o.filled_qty),
            "avg_price": as_text(o.avg_price),
            "fees": plain(o.fees),
            "reason": o.reason or "",
            "bar_index": _bar_of(o.client_order_id),
            "ts_init": int(o.ts_init),
            "ts_last": int(o.ts_last),
        }

    def _fill_row(self, f: Any, seq: int) -> dict[str, Any]:
        return {
            "venue": self.venue_name,
            "trade_id": f.trade_id,
            "client_order_id": f.client_order_id,
            "symbol": self._symbol(f.instrument),
            "side": f.side.value,
            "price": plain(f.price),
            "quantity": plain(f.quantity),
            "fee": plain(f.fee),
            "fee_currency": f.fee_currency,
            "liquidity": f.liquidity.value,
            "ts": int(f.ts_ns),
            "seq": seq,
        }

    def position_rows(self) -> list[dict[str, Any]]:
        out = []
        for sym, inst in zip(self.spec.symbols, self.instruments, strict=True):
            p = self.engine.portfolio.positions[inst.id]
            out.append({"symbol": sym, "quantity": plain(p.quantity), "avg_price": as_text(p.avg_price),
                        "cost": plain(p.cost), "realized_pnl": plain(p.realized_pnl), "fees": plain(p.fees),
                        "ts_last": int(p.ts_last)})
        return out

    def _trade_row(self, seq: int, t: Any) -> dict[str, Any]:
        return {"seq": seq, "symbol": self._symbol(t.instrument), "side": t.side, "entry_ts": int(t.entry_ts),
                "exit_ts": t.exit_ts, "quantity": plain(t.entry_qty),
                "entry_price": as_text(t.entry_price) if t.entry_qty else None, "exit_price": as_text(t.exit_price),
                "fees": plain(t.fees), "realized_pnl": plain(t.realized), "status": "open" if t.is_open else "closed",
                "entry_order_id": t.entry_order_id or None, "exit_order_id": t.exit_order_id or None}

    @staticmethod
    def _event_row(seq: int, ev: dict[str, Any]) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        given = ev.get("details")
        details = given if isinstance(given, dict) else {}
        return {"seq": seq, "ts": int(ev.get("ts_event") or 0), "type": str(ev.get("type") or ev.get("event")),
                "rule": ev.get("rule"), "client_order_id": ev.get("client_order_id"),
                "reason": str(ev.get("reason") or details.get("reason") or ev.get("error") or ""),
                "details": to_jsonable(ev)}

    # ---- commits --------------------------------------------------------------------------------------------
    def commit(self, *, force: bool = False, status: str | None = None) -> bool:
        """Persist what changed since the last commit (one transaction). Returns True when written."""
        eng = self.engine
        pf = eng.portfolio
        k = eng.bar_index
        new_orders = eng.orders[self._order_mark:]
        touched = {id(o): o for o in self._open}
        for o in new_orders:
            touched[id(o)] = o
        for o in self._tail:
            touched[id(o)] = o
        fills = pf.fills[self._fill_mark:]
        events = eng.events[self._event_mark:]
        dirty = bool(new_orders or fills or events or self._tail)
        if not dirty and not force and status is None and k - self._last_commit < CURSOR_EVERY:
            return False
        orders = [self._order_row(o) for o in touched.values()]
        c = BarCommit(
            cursor_index=k,
            cursor_ts=eng.clock.now_ns() if k >= 0 else None,
            cash=str(pf.cash()),
            orders=orders,
            fills=[self._fill_row(f, self._fill_mark + j + 1) for j, f in enumerate(fills)],
            positions=self.position_rows() if (fills or force or status) else [],
            trades=[self._trade_row(j, pf.trips[j]) for j in range(self._trip_lo, len(pf.trips))] if fills else [],
            risk_events=[self._event_row(self._event_mark + j + 1, e) for j, e in enumerate(events)],
            snapshot=self._snapshot() if (fills or force or status or k - self._last_commit >= CURSOR_EVERY) else None,
            status=status,
        )
        self.store.commit_bar(self.id, c)
        self._known_ids.update(o["client_order_id"] for o in orders)
        self._marks_to_now()
        self._last_commit = k
        self.committed = k
        if status is not None:
            self.status = status
        bus = eng.bus
        if (c.orders or c.fills or c.risk_events) and bus.has_subscribers(BOT_TOPIC):
            ts = c.cursor_ts or 0
            bus.notify(BarCommitted(ts, ts, self.name, tuple(c.orders), tuple(c.fills), tuple(c.risk_events)))
        return True

    def _snapshot(self) -> dict[str, Any] | None:
        eng = self.engine
        if eng.bar_index < 0:
            return None
        return {"bar_index": eng.bar_index, "ts": eng.clock.now_ns(), "cash": str(eng.portfolio.cash()),
                "equity": str(eng.portfolio.equity(eng.marks()))}

    def _marks_to_now(self) -> None:
        eng = self.engine
        pf = eng.portfolio
        self._order_mark = len(eng.orders)
        self._fill_mark = len(pf.fills)
        self._event_mark = len(eng.events)
        self._open = [o for o in eng.orders if not o.is_terminal]
        self._tail = []
        lo = len(pf.trips)
        for j in range(len(pf.trips) - 1, -1, -1):
            if pf.trips[j].is_open:
                lo = j
            else:
                break
        self._trip_lo = min(lo, len(pf.trips))

    # ---- recovery ----------------------------------------------------------------------------------------------
    def recover(self) -> None:
        """Rebuild the engine by replaying the bars up to the committed cursor (see the module docstring)."""
        state = self.store.load_state(self.id)
        cursor = int(state.bot["cursor_index"])
        self._known_ids = set(state.orders)
        signals: dict[int, list[dict[str, Any]]] = {}
        for s in state.signals:
            signals.setdefault(int(s["bar_index"]), []).append(s)
        self.engine.start()
        if cursor >= len(self.feed):
            raise RecoveryError(f"bot {self.name}: cursor {cursor} beyond the replay data ({len(self.feed)} bars)")
        self._replaying = True
        try:
            for sig in signals.get(-1, ()):  # risk actions taken before the first bar
                self._apply_signal(sig)
            for k in range(cursor + 1):
                self._feed_step(k)
                for sig in signals.get(k, ()):
                    order = self._apply_signal(sig)
                    if order is not None and not sig.get("client_order_id"):  # died before linking it
                        self.store.set_signal_order(self.id, sig["seq"], order.client_order_id)
        finally:
            self._replaying = False
        self._verify(state, cursor)
        tail = list(self._tail)
        self._marks_to_now()
        self._tail = tail
        self._pending_ids = {cid for cid, r in state.orders.items()
                             if r["status"] == "submitted" and cid not in {o.client_order_id for o in self.engine.orders}}
        self._last_commit = cursor
        self.committed = cursor
        self.next_index = cursor + 1
        if tail:
            self.commit(force=True)
        if self.status in ("finished",) and self.next_index < len(self.feed):
            self.status = "running"
        (log.info if cursor >= 0 else log.debug)("bot %s recovered at step %d (%d orders, %d fills, %d pending write-ahead)", self.name, cursor,
                 len(self.engine.orders), len(self.engine.portfolio.fills), len(self._pending_ids))

    def _verify(self, state: Any, cursor: int) -> None:
        problems: list[str] = []
        eng = self.engine
        tail_ids = {o.client_order_id for o in self._tail}
        mine = {o.client_order_id: o for o in eng.orders}
        for cid, o in mine.items():
            if cid in tail_ids:
                continue
            r = state.orders.get(cid)
            if r is None:
                problems.append(f"order {cid} ({o.status.value}) is not in the database")
            elif r["status"] != o.status.value or r["filled_qty"] != str(o.filled_qty):
                problems.append(f"order {cid}: db {r['status']}/{r['filled_qty']} vs replay "
                                f"{o.status.value}/{o.filled_qty}")
        for cid, r in state.orders.items():
            if cid not in mine and r["status"] != "submitted" and not r["reason"].startswith(NOT_REGENERATED):
                problems.append(f"order {cid} ({r['status']}) in the database was not replayed")
        fills = eng.portfolio.fills
        if len(fills) != len(state.fills):
            problems.append(f"{len(state.fills)} fills in the database, {len(fills)} replayed")
        for f, r in zip(fills, state.fills, strict=False):
            if (f.trade_id, str(f.price), str(f.quantity), f.client_order_id) != (
                r["trade_id"], r["price"], r["quantity"], r["client_order_id"]):
                problems.append(f"fill {r['trade_id']}: db {r['price']} x {r['quantity']} vs replay "
                                f"{f.trade_id} {f.price} x {f.quantity}")
                break
        if cursor >= 0 and state.bot["cash"] != str(eng.portfolio.cash()):
            problems.append(f"cash: db {state.bot['cash']} vs replay {eng.portfolio.cash()}")
        for p in self.position_rows():
            r = state.positions.get(p["symbol"])
            if r is not None and r["quantity"] != p["quantity"]:
                problems.append(f"position {p['symbol']}: db {r['quantity']} vs replay {p['quantity']}")
        if problems:
            raise RecoveryError(f"bot {self.name}: the replayed state differs from the database: "
                                + "; ".join(problems[:10]))

    # ---- running ------------------------------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """A live feed (exchange): running out of bars means waiting for the next one, not being done."""
        return self.feed.live

    @property
    def done(self) -> bool:
        if self.live:
            return self.next_index >= len(self.feed) and self.feed.finished
        return self.next_index >= len(self.feed)

    def _feed_step(self, k: int) -> None:
        bars = self.feed.group(k)
        self.engine.on_bars(bars)

    def step(self) -> bool:
        """Process the next bar live; False when the replay is exhausted (live feed: no new closed bar yet)."""
        if self.done:
            return False
        started = time.perf_counter()
        if self.next_index >= len(self.feed):  # live feed caught up: ask the exchange
            self.feed.poll()
            if self.next_index >= len(self.feed):
                return False
        k = self.next_index
        bars = self.feed.group(k)
        self.engine.on_bars(bars)
        self.next_index = k + 1
        if self._pending_ids and k > self.committed:
            # write-ahead orders of this bar that the deterministic engine did not regenerate: never acted on
            stale = sorted(cid for cid in self._pending_ids if _bar_of(cid) <= k)
            for cid in stale:
                log.error("bot %s: write-ahead order %s was not regenerated on recovery", self.name, cid)
                self._pending_ids.discard(cid)
            if stale:
                self.store.mark_orders(self.id, stale, "canceled", NOT_REGENERATED)
        self.commit(status="finished" if self.done else None)
        bus = self.engine.bus
        if bus.has_subscribers(BOT_TOPIC):
            ts = int(self.feed.ts(k))
            bus.notify(BarProcessed(ts, ts, self.name, k, started, time.perf_counter(), tuple(bars)))
        return True

    def stop(self, status: str = "stopped") -> None:
        try:
            self.commit(force=True, status=status)
            self.engine.stop()
        finally:  # observers detach here; notify: a failing one never keeps the bot running
            ts = self.engine.clock.now_ns() if self.engine.bar_index >= 0 else 0
            self.engine.bus.notify(BotStopped(ts, ts, self.name, status))

    # ---- views -----------------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        eng = self.engine
        pf = eng.portfolio
        equity = pf.equity(eng.marks()) if eng.bar_index >= 0 else pf.cash()
        return {
            "bot": self.name, "id": self.id, "status": self.status, "strategy": self.spec.strategy,
            "symbols": self.spec.symbols, "timeframe": self.spec.timeframe, "bars": self.next_index,
            "bars_total": len(self.feed), "orders": len(eng.orders), "fills": len(pf.fills),
            "starting_cash": str(pf.starting_cash), "cash": str(pf.cash()), "equity": str(equity),
            "realized_pnl": str(pf.realized_pnl), "fees": str(pf.total_fees),
            "positions": {r["symbol"]: r["quantity"] for r in self.position_rows()},
            "denied": sum(1 for o in eng.orders if o.status.value == "denied"),
            "risk": {"denied_by_rule": eng.risk.denial_counts(), "resized_by_rule": eng.risk.resized_counts()},
            "time": iso(eng.clock.now_ns()) if eng.bar_index >= 0 else None,
            "submitted": self.submissions, "not_resubmitted": self.adopted,
        }


def _cash(value: Any) -> Decimal:
    return Decimal(repr(float(value)))
