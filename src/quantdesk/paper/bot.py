"""One paper bot: its own TradingEngine (the backtest engine), strategy, instruments, account, risk limits,
replay clock, SimulatedVenue and feed, with write-ahead persistence and crash recovery.

PERSISTENCE (quantdesk.storage.trading), in this order:
  1. an order is written to the DB as SUBMITTED (own transaction) BEFORE it is handed to the venue: the venue
     is wrapped in a `SubmitGate` (the engine calls `venue.submit` / `submit_bracket`; no engine change needed);
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
import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from quantdesk.core.clock import SimulatedClock
from quantdesk.core.errors import ConflictError, NotFoundError, ParameterError, QuantDeskError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.spec import RunSpec, build_engine, infer_price_precision, instrument_id
from quantdesk.model.bot_events import BOT_TOPIC, BarCommitted, BarProcessed, BotStopped, SignalRecorded
from quantdesk.model.enums import OrderSide
from quantdesk.model.money import plain, to_decimal
from quantdesk.model.orders import Order
from quantdesk.paper.feeds import ReplayFeed, make_feed
from quantdesk.storage.trading import BarCommit, TradingStore

log = get_logger(__name__)

CURSOR_EVERY = 100  # bars without any change between two cursor commits
NOT_REGENERATED = "written ahead but not regenerated on recovery"
ORDER_TYPES = ("market", "limit", "stop")
RISK_ACTIONS = ("halt", "resume", "kill")


class RecoveryError(QuantDeskError):
    """The state rebuilt from the replay differs from the database: the bot refuses to run."""


@dataclass
class BotSpec:
    """Everything that defines a paper bot (stored as `bots.config`)."""

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=lambda: ["BTC/USDT"])
    timeframe: str = "1m"
    exchange: str | None = None
    start: str | None = None
    end: str | None = None
    cash: float = 10_000.0
    fee: float = 0.001
    maker_fee: float | None = None
    slippage_bps: float = 0.0
    margin: bool = False
    risk: dict[str, Any] | None | bool = True  # True = the configured settings.risk; False/None = no rules
    feed: str = "replay"
    speed: Any = "max"
    bar_sleep: float = 0.0
    price_precisions: dict[str, int] = field(default_factory=dict)  # filled at creation from the data

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    def run_spec(self) -> RunSpec:
        """The run this bot is (quantdesk.engine.spec): `risk=True` means the configured limits."""
        risk: dict[str, Any] | None
        if self.risk is True:
            from quantdesk.core.config import get_settings

            risk = get_settings().risk.model_dump(mode="json")
        else:
            risk = dict(self.risk) if isinstance(self.risk, dict) else None
        return RunSpec(strategy=self.strategy, params=dict(self.params), symbols=tuple(self.symbols),
                       exchange=self.exchange, timeframe=self.timeframe, cash=self.cash, fee=self.fee,
                       maker_fee=self.maker_fee, slippage_bps=self.slippage_bps, margin=self.margin, risk=risk,
                       price_precisions=dict(self.price_precisions))

    def to_backtest_config(self) -> Any:
        """The backtest of this bot's run over its replay window: the same orders on the same bars."""
        from quantdesk.backtest.config import BacktestConfig

        return BacktestConfig.from_run(self.run_spec(), start=self.start, end=self.end)

    @classmethod
    def from_run(cls, run: RunSpec, name: str, **paper: Any) -> BotSpec:
        """A paper bot of `run`; `paper`: its own part (feed, speed, start, end...)."""
        return cls(name=name, strategy=run.strategy, params=dict(run.params), symbols=list(run.symbols),
                   timeframe=run.timeframe, exchange=run.exchange, cash=run.cash, fee=run.fee,
                   maker_fee=run.maker_fee, slippage_bps=run.slippage_bps, margin=run.margin,
                   risk=dict(run.risk) if run.risk is not None else None,
                   price_precisions=dict(run.price_precisions), **paper)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BotSpec:
        known = {k: v for k, v in cfg.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _s(x: Any) -> str | None:
    return None if x is None else plain(x) if isinstance(x, Decimal) else str(x)


def _bar_of(client_order_id: str) -> int:
    try:
        return int(client_order_id.rsplit("-", 2)[1])
    except (IndexError, ValueError):
        return -1


class PaperBot:
    """One bot. Build with `PaperBot.open(store, spec, frames=None, resume=...)`; then `step()` per bar."""

    def __init__(self, store: TradingStore, spec: BotSpec, bot_row: dict[str, Any], frames: Mapping[str, pd.DataFrame],
                 *, submission_log: str | None = None, feed: Any = None, bus: Any = None) -> None:
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
        elif hasattr(feed, "bind"):
            feed.bind(self.instruments)
        self.feed: ReplayFeed = feed
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
             submission_log: str | None = None, feed: Any = None, bus: Any = None) -> PaperBot:
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

                spec.risk = get_settings().risk.model_dump(mode="json")
            if not spec.price_precisions:
                spec.price_precisions = {
                    s: infer_price_precision(f[["open", "high", "low", "close"]].to_numpy().ravel())
                    for s, f in frames.items() if len(f)
                }
            quote = _quote(spec.symbols[0], spec.exchange)
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
            "quantity": _s(o.quantity),
            "price": _s(o.price),
            "trigger_price": _s(o.trigger_price),
            "trailing_offset": _s(o.trailing_offset),
            "trailing_offset_type": o.trailing_offset_type.value if o.trailing_offset is not None else None,
            "notional": _s(o.notional),
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
            "avg_price": _s(o.avg_price),
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
            out.append({"symbol": sym, "quantity": plain(p.quantity), "avg_price": _s(p.avg_price),
                        "cost": plain(p.cost), "realized_pnl": plain(p.realized_pnl), "fees": plain(p.fees),
                        "ts_last": int(p.ts_last)})
        return out

    def _trade_row(self, seq: int, t: Any) -> dict[str, Any]:
        return {"seq": seq, "symbol": self._symbol(t.instrument), "side": t.side, "entry_ts": int(t.entry_ts),
                "exit_ts": t.exit_ts, "quantity": plain(t.entry_qty),
                "entry_price": _s(t.entry_price) if t.entry_qty else None, "exit_price": _s(t.exit_price),
                "fees": plain(t.fees), "realized_pnl": plain(t.realized), "status": "open" if t.is_open else "closed",
                "entry_order_id": t.entry_order_id or None, "exit_order_id": t.exit_order_id or None}

    @staticmethod
    def _event_row(seq: int, ev: dict[str, Any]) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        details = ev.get("details") if isinstance(ev.get("details"), dict) else {}
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
        return bool(getattr(self.feed, "live", False))

    @property
    def done(self) -> bool:
        if self.live:
            return self.next_index >= len(self.feed) and bool(getattr(self.feed, "finished", False))
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
            self.feed.poll()  # type: ignore[attr-defined]
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

    # ---- manual trades / signals ------------------------------------------------------------------------------------
    def _journalled(self, row: dict[str, Any]) -> None:
        bus = self.engine.bus
        if bus.has_subscribers(BOT_TOPIC):
            ts = self.engine.clock.now_ns() if self.engine.bar_index >= 0 else 0
            bus.notify(SignalRecorded(ts, ts, self.name, row))

    def manual_trade(self, side: str | OrderSide, *, quantity: Any = None, notional: Any = None,
                     confidence: float | None = None, reason: str = "", symbol: str | None = None,
                     source: str = "manual", order_type: str = "market", price: Any = None) -> dict[str, Any]:
        """An order outside the strategy, recorded as a signal first. Exactly one of `quantity` (base
        units), `notional` (quote) or `confidence` (0..1: buy = confidence x equity notional; sell = that
        fraction of a long position, else confidence x equity notional). `order_type` market (fills at the next
        bar's open), limit or stop (at `price`, working until filled or canceled)."""
        side = OrderSide(str(side).lower())
        given = [x is not None for x in (quantity, notional, confidence)]
        if sum(given) != 1:
            raise ParameterError("give exactly one of quantity, notional or confidence")
        if order_type not in ORDER_TYPES:
            raise ParameterError(f"order type {order_type!r}: expected one of {', '.join(ORDER_TYPES)}")
        if (order_type == "market") != (price is None):
            raise ParameterError("a limit or stop order needs a price; a market order takes none")
        if price is not None and to_decimal(price) <= 0:
            raise ParameterError(f"price must be positive, got {price}")
        eng = self.engine
        if eng.bar_index < 0:
            raise ParameterError(f"bot {self.name} has not seen a bar yet: no reference price")
        if symbol is not None and symbol not in self.spec.symbols:
            raise ParameterError(f"bot {self.name} does not trade {symbol!r}; it trades {self.spec.symbols}")
        leg = eng.leg(symbol)
        if price is not None and leg.instrument.make_price(price) != to_decimal(price):
            raise ParameterError(f"price {price} is not on the price grid of {leg.symbol} "
                                 f"({leg.instrument.price_precision} decimals): "
                                 f"use {leg.instrument.make_price(price)}")
        if confidence is not None:
            conf = float(confidence)
            if not 0 < conf <= 1:
                raise ParameterError(f"confidence must be in (0, 1], got {confidence}")
            pos = eng.portfolio.position_qty(leg.iid)
            if side is OrderSide.SELL and pos > 0:
                quantity = leg.instrument.make_qty(pos * to_decimal(conf))
            else:
                notional = Decimal(repr(round(conf * eng.equity_f, 2)))
        if quantity is not None and to_decimal(quantity) <= 0:
            raise ParameterError("quantity must be positive")
        if notional is not None and to_decimal(notional) <= 0:
            raise ParameterError("notional must be positive")
        self.commit(force=True)  # the signal acts at the committed cursor bar (replayed there on recovery)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": symbol, "side": side.value,
            "quantity": _s(quantity), "notional": _s(notional), "confidence": confidence, "reason": reason,
            "ts": eng.clock.now_ns(), "action": "trade", "order_type": order_type, "price": _s(price),
        })
        order = self._apply_signal(sig)
        if order is not None:
            self.store.set_signal_order(self.id, sig["seq"], order.client_order_id)
        self.commit(force=True)
        self._journalled({**sig, "client_order_id": order.client_order_id if order else None})
        return {**sig, "client_order_id": order.client_order_id if order else None,
                "status": order.status.value if order else "not placed", "reason_detail": order.reason if order else ""}

    def cancel_order(self, client_order_id: str, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """Cancel a working order of this bot. Recorded as a signal first (action "cancel"), so a recovery
        replays the cancellation at the same bar and never resurrects the order."""
        order = next((o for o in self.engine.orders if o.client_order_id == client_order_id), None)
        if order is None:
            raise NotFoundError(f"bot {self.name} has no order {client_order_id!r}")
        if order.is_terminal:
            raise ConflictError(f"order {client_order_id} is {order.status.value}: nothing to cancel")
        self.commit(force=True)
        eng = self.engine
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": self._symbol(order.instrument),
            "side": order.side.value, "quantity": None, "notional": None, "confidence": None, "reason": reason,
            "ts": eng.clock.now_ns(), "action": "cancel", "order_type": order.type.value, "price": None,
            "target_order_id": client_order_id, "client_order_id": client_order_id,
        })
        self._apply_signal(sig)
        self.commit(force=True)
        self._journalled(sig)
        return {**sig, "status": order.status.value, "reason_detail": order.reason or ""}

    def force_exit(self, symbol: str | None = None, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """Close the open position of `symbol` (default: the first) now, as freqtrade's forceexit: its working
        orders are cancelled and a reduce-only market order tagged `force_exit` closes it at the next bar's open.
        Recorded as a signal first (action "close"), so a recovery replays it at the same bar."""
        eng = self.engine
        if eng.bar_index < 0:
            raise ParameterError(f"bot {self.name} has not seen a bar yet: nothing to close")
        if symbol is not None and symbol not in self.spec.symbols:
            raise ParameterError(f"bot {self.name} does not trade {symbol!r}; it trades {self.spec.symbols}")
        leg = eng.leg(symbol)
        qty = eng.portfolio.position_qty(leg.iid)
        if qty == 0:
            raise ConflictError(f"bot {self.name} has no open position in {self._symbol(leg.iid)}: nothing to exit")
        self.commit(force=True)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": self._symbol(leg.iid),
            "side": "sell" if qty > 0 else "buy", "quantity": _s(abs(qty)), "notional": None, "confidence": None,
            "reason": reason or "force exit", "ts": eng.clock.now_ns(), "action": "close", "order_type": "market",
            "price": None,
        })
        order = self._apply_signal(sig)
        if order is not None:
            self.store.set_signal_order(self.id, sig["seq"], order.client_order_id)
        self.commit(force=True)
        out = {**sig, "client_order_id": order.client_order_id if order else None,
               "status": order.status.value if order else "not placed"}
        self._journalled(out)
        return out

    def risk_action(self, action: str, *, reason: str = "", source: str = "manual") -> dict[str, Any]:
        """halt | resume | kill (the kill switch: cancel everything, flatten). Recorded as a signal first, like
        a manual trade, so a recovery replays it at the same bar: the orders a kill switch placed are regenerated
        with the same ids and the risk state after a restart is the one before the crash."""
        if action not in RISK_ACTIONS:
            raise ParameterError(f"risk action {action!r}: expected one of {', '.join(RISK_ACTIONS)}")
        eng = self.engine
        self.commit(force=True)
        sig = self.store.add_signal(self.id, {
            "bar_index": eng.bar_index, "source": source, "symbol": None, "side": "-", "quantity": None,
            "notional": None, "confidence": None, "reason": reason or f"{action} ({source})",
            "ts": eng.clock.now_ns() if eng.bar_index >= 0 else 0, "action": action, "order_type": "-",
            "price": None,
        })
        self._apply_signal(sig)
        self.commit(force=True)
        self._journalled(sig)
        return {**sig, "state": eng.risk.state.value}

    def _apply_signal(self, sig: Mapping[str, Any]) -> Order | None:
        eng = self.engine
        action = sig.get("action") or "trade"
        if action == "cancel":
            eng.cancel(str(sig["target_order_id"]))
            return None
        if action == "close":  # force exit: cancel the symbol's working orders, close the position at market
            leg = eng.leg(sig.get("symbol"))
            for o in list(eng.venue.open_orders(leg.iid)):
                eng.cancel(o.client_order_id)
            qty = eng.portfolio.position_qty(leg.iid)
            if qty == 0:
                return None
            side = OrderSide.SELL if qty > 0 else OrderSide.BUY
            return eng.order(eng.strategy, side, abs(qty), reduce_only=True, tag="force_exit",
                             symbol=sig.get("symbol"))
        if action in RISK_ACTIONS:
            risk = eng.risk
            {"halt": risk.halt, "resume": risk.resume, "kill": risk.kill}[action](str(sig.get("reason") or action))
            return None
        q = sig.get("quantity")
        n = sig.get("notional")
        kind = sig.get("order_type") or "market"
        price = None if sig.get("price") is None else Decimal(sig["price"])
        return eng.order(eng.strategy, OrderSide(sig["side"]), None if q is None else Decimal(q),
                         notional=None if n is None else Decimal(n), tag=str(sig.get("source") or "manual"),
                         symbol=sig.get("symbol"), limit=price if kind == "limit" else None,
                         stop=price if kind == "stop" else None)

    def simulate_signals(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """n random signals (side, confidence 0.05..0.5) from a seeded generator, each acted on as a trade."""
        rng = random.Random(seed)
        out = []
        for i in range(int(n)):
            side = rng.choice(["buy", "sell"])
            conf = round(rng.uniform(0.05, 0.5), 4)
            out.append(self.manual_trade(side, confidence=conf, source="simulated",
                                         reason=f"simulated signal {i + 1}/{n} (seed {seed})"))
        return out

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


def _quote(symbol: str, exchange: str | None) -> str:
    return instrument_id(symbol, exchange).quote


def load_frames(spec: BotSpec) -> dict[str, pd.DataFrame]:
    """The replay candles of every symbol (quantdesk.data.load, start/end inclusive)."""
    from quantdesk import data as qdata

    if spec.feed != "replay":
        make_feed(spec.feed)  # raises a clear error naming what the feed needs
    return {s: qdata.load(s, spec.timeframe, spec.exchange, spec.start, spec.end) for s in spec.symbols}
