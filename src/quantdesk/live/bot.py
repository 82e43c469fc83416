"""`LiveBot`: a paper bot whose venue is a real exchange. Same spec (`BotSpec`), same engine builder
(`engine.spec.build_engine`), same strategy, risk engine, write-ahead commits, manual controls and bus events as
`paper.PaperBot`; what changes is the venue (`LiveVenue`), the feed (`StreamCandleFeed`: ccxt.pro candles) and
the truth: the venue's.

- Fills and order updates come from the private stream (with a REST snapshot after every reconnect) and from
  the periodic REST reconciliation; `drain()` applies them between bars, through the venue's journal.
- Reconciliation (`reconcile`) at start and every `reconcile_every_s`: `execution.Reconciler` decides, this
  bot applies (book missed fills, adopt venue-open orders, adopt the venue's position, query believed-open
  orders by client id). A stale snapshot changes nothing; an unexplained mismatch HALTS the bot (no more
  orders) and publishes `LiveHalted` on the bus.
- Restart (`--resume`): the bars seen so far (candle store) and the journal are replayed through the engine
  (no request is sent), the result is verified against the database as for a paper bot, then the venue is
  reconciled before the first new bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from quantdesk.adapters.ccxt import AdapterConfig, ExecutionClient, StreamCandleFeed, private_events
from quantdesk.adapters.ccxt.loop import LoopThread
from quantdesk.core.clock import SimulatedClock
from quantdesk.core.errors import ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.ports import BarFeed
from quantdesk.engine.spec import build_engine, instrument_id
from quantdesk.execution import ClientIdScheme, FillConflict, OrderReport, Reconciler, VenueSnapshot
from quantdesk.execution.reconciler import ActionKind, Verdict
from quantdesk.live.events import LiveHalted
from quantdesk.live.venue import LiveVenue
from quantdesk.model.enums import OrderStatus
from quantdesk.paper.bot import PaperBot
from quantdesk.paper.spec import BotSpec
from quantdesk.storage.live_repo import LiveRepo
from quantdesk.storage.trading import TradingStore

log = get_logger(__name__)


@dataclass
class LiveContext:
    """The venue side of one live bot: adapter configuration, execution client and its event loop."""

    config: AdapterConfig
    client: ExecutionClient
    loop: LoopThread
    reconcile_every_s: float = 30.0
    stream_client: ExecutionClient | None = None  # private streams on their own connection (default: `client`)

    def close(self) -> None:
        for client in {id(c): c for c in (self.client, self.stream_client) if c is not None}.values():
            try:
                self.loop.run(client.close(), timeout=10)
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
        self.loop.stop()


class LiveBot(PaperBot):
    """One live bot. Build with `LiveBot.open_live(store, spec, ctx, resume=...)`; `step()` per closed bar,
    `drain()` whenever convenient (steps drain first)."""

    def __init__(self, store: TradingStore, spec: BotSpec, bot_row: dict[str, Any], frames: Any, *,
                 ctx: LiveContext, feed: BarFeed, bus: Any = None) -> None:
        self.ctx = ctx
        self.repo = LiveRepo(store.engine)
        self.halted: str | None = None
        self.reconciliation: dict[str, Any] = {}
        self.balances: dict[str, Any] = {}
        self._stream: Any = None
        self._mark = 0
        super().__init__(store, spec, bot_row, frames, feed=feed, bus=bus)
        store.commit_hooks[self.id] = lambda s: LiveRepo.mark_committed(s, self.id, self.venue.journal_seq)
        self.venue_name = f"{spec.exchange}:{self.id}"
        self.reconciler = Reconciler(spec.name, self.venue.scheme.owns)

    # ---- construction -----------------------------------------------------------------------------------
    @classmethod
    def open_live(cls, store: TradingStore, spec: BotSpec, ctx: LiveContext, *, resume: bool = False,
                  feed: BarFeed | None = None, bus: Any = None) -> LiveBot:
        """Create the live bot `spec.name`, or continue it (`resume`): its stored spec wins."""
        row = store.find_bot(spec.name)
        if row is not None:
            if row["mode"] != "live":
                raise ParameterError(f"bot {spec.name!r} is a {row['mode']} bot; pick another name for a live one")
            if not resume:
                raise ParameterError(f"live bot {spec.name!r} exists already; pass --resume to continue it")
            stored = BotSpec.from_config(row["config"])
            if (stored.exchange, stored.symbols, stored.timeframe) != (spec.exchange, spec.symbols, spec.timeframe):
                raise ParameterError(f"live bot {spec.name!r} trades {stored.symbols[0]} {stored.timeframe} on "
                                     f"{stored.exchange}; --resume continues it as it was")
            spec = stored
        rules = ctx.client.rules(spec.symbols[0])
        if feed is None:
            feed = StreamCandleFeed(ctx.config, spec.symbols[0], spec.timeframe, start=spec.start, persist=True,
                                    stall_s=5.0, poll_wait_s=0.05)
        if row is None:
            spec.start = iso(feed.start_ns)
            if not len(feed):
                feed.poll()
            balances = ctx.loop.run(ctx.client.balances(), timeout=60)
            quote = balances.get(rules.quote)
            spec.cash = float(quote.total) if quote is not None else 0.0
            spec.feed = "exchange"
            if spec.risk is True:
                from quantdesk.core.config import get_settings

                settings: Any = get_settings()  # the composed Settings (quantdesk.settings declares it)
                spec.risk = settings.risk.model_dump(mode="json")
            if not spec.price_precisions:
                tick = rules.tick_size or Decimal("0.01")
                exponent = tick.normalize().as_tuple().exponent
                spec.price_precisions = {spec.symbols[0]: max(0, -exponent) if isinstance(exponent, int) else 2}
            row = store.create_bot(name=spec.name, strategy=spec.strategy, params=spec.params, symbols=spec.symbols,
                                   timeframe=spec.timeframe, config=spec.to_config(), cash=repr(spec.cash),
                                   currency=instrument_id(spec.symbols[0], spec.exchange).quote, mode="live",
                                   status="running")
        import os

        LiveRepo(store.engine).ensure_state(row["id"], spec.exchange or "", pid=os.getpid())
        bot = cls(store, spec, row, {spec.symbols[0]: feed.frame()}, ctx=ctx, feed=feed, bus=bus)
        bot.recover()
        return bot

    def _build_engine(self, bus: Any = None) -> TradingEngine:
        from quantdesk.strategies.loader import create_strategy

        symbols = {inst.id: sym for sym, inst in zip(self.spec.symbols, self.instruments, strict=True)}
        scheme = ClientIdScheme(self.spec.name, self.ctx.client.caps.client_id)  # fitted to the venue's rules
        self.venue = LiveVenue(self.ctx.client, self.ctx.loop, scheme, LiveRepo(self.store.engine), self.id,
                               symbols, next_step=lambda: self.next_index)
        strategy = create_strategy(self.spec.strategy, self.spec.params, strategy_id=self.spec.name)
        engine = build_engine(self.run, strategy, instruments=self.instruments, clock=SimulatedClock(), bus=bus,
                              indicator_mode="stream", order_gate=self._before_submit, venue=self.venue)
        self.venue.bind(engine.bus.publish, cash=engine.portfolio.cash, now_ns=engine.clock.now_ns)
        return engine

    def _order_row(self, o: Any, status: str | None = None) -> dict[str, Any]:
        row = super()._order_row(o, status)
        row["venue"] = self.spec.exchange or "live"
        return row

    # ---- recovery -------------------------------------------------------------------------------------------
    def recover(self) -> None:
        """Replay the stored bars and the journal (no request leaves), verify against the database (PaperBot),
        then apply what was journalled after the last commit."""
        v = self.venue
        v.load()
        self._mark = int((self.repo.state(self.id) or {}).get("committed_seq") or 0)
        v.replaying = True
        try:
            super().recover()
        finally:
            v.replaying = False
        v.replay_rest()

    def _feed_step(self, k: int) -> None:
        self.venue.replay_before(k, self._mark)
        super()._feed_step(k)

    def _verify(self, state: Any, cursor: int) -> None:
        self.venue.replay_committed(self._mark)  # what a forced commit after the last step included
        super()._verify(state, cursor)

    # ---- the venue's events --------------------------------------------------------------------------------
    def start_stream(self) -> None:
        """The private stream (orders, fills, balances) and periodic snapshots, queued for `drain()`."""
        v = self.venue

        async def pump() -> None:
            async for ev in private_events(self.ctx.stream_client or self.ctx.client, self.spec.symbols, self.since_ms,
                                           snapshot_every_s=self.ctx.reconcile_every_s, seq=lambda: v.activity):
                if ev.kind == "order" and ev.order is not None:
                    v.inbox.put(("order", ev.order))
                elif ev.kind == "fill" and ev.fill is not None:
                    v.inbox.put(("fill", ev.fill))
                elif ev.kind == "snapshot" and ev.snapshot is not None:
                    v.inbox.put(("snapshot", ev.snapshot))
                elif ev.kind == "balance":
                    v.inbox.put(("balance", ev.balances))

        self._stream = self.ctx.loop.submit(pump())

    def since_ms(self) -> int:
        """Start of the trades window of every snapshot: the bot's start (all its trades), in the venue's time
        (a simulator replays the past: never the wall clock)."""
        from quantdesk.core.timeutil import parse_utc

        return int(parse_utc(self.spec.start or 0, name="start").value // 1_000_000)

    def snapshot(self) -> VenueSnapshot:
        """A REST snapshot now (start, and tests)."""
        return self.ctx.loop.run(self.ctx.client.snapshot(self.spec.symbols, self.since_ms(),
                                                          requested_at_seq=self.venue.activity), timeout=120)

    def drain(self) -> int:
        """Apply everything the venue said since the last call; returns how many items."""
        import queue

        n = 0
        while self.halted is None:
            try:
                kind, item = self.venue.inbox.get_nowait()
            except queue.Empty:
                break
            n += 1
            try:
                if kind == "order":
                    self.venue.on_report(item)
                elif kind == "fill":
                    self.venue.on_fill(item)
                elif kind == "snapshot":
                    self.reconcile(item)
                elif kind == "balance":
                    self.balances = {**self.balances, **{a: str(b.total) for a, b in item.items()}}
                    self.repo.set_state(self.id, balances=self.balances)
            except FillConflict as exc:
                self.halt(f"fill conflict: {exc}")
        return n

    def reconcile(self, snapshot: VenueSnapshot) -> dict[str, Any]:
        """Reconcile with a venue snapshot (see the module docstring); returns the summary it records."""
        v = self.venue
        result = self.reconciler.reconcile(v.tracker, v.fills, v.positions, snapshot, activity_seq=v.activity)
        summary: dict[str, Any] = {"verdict": result.verdict.value, "reason": result.reason,
                                   "findings": list(result.findings), "at_ms": snapshot.taken_at_ms,
                                   "actions": {}}
        for a in result.actions:
            summary["actions"][a.kind.value] = summary["actions"].get(a.kind.value, 0) + 1
        if result.verdict is Verdict.STALE:
            self.reconciliation = {**self.reconciliation, "last_stale_ms": snapshot.taken_at_ms}
            return summary
        if result.verdict is Verdict.HALT:
            self.halt(result.reason)
            return self.reconciliation
        for a in result.actions:
            if a.kind in (ActionKind.BOOK_FILL, ActionKind.EXTERNAL_FILL) and a.fill is not None:
                v.on_fill(a.fill)
            elif a.kind in (ActionKind.UPDATE_ORDER, ActionKind.ADOPT_ORDER) and a.report is not None:
                v.on_report(a.report, owner=a.owner)
            elif a.kind in (ActionKind.QUERY_ORDER, ActionKind.MARK_NOT_PLACED) and a.client_order_id:
                self._settle(a.client_order_id, a.symbol, known_absent=a.kind is ActionKind.MARK_NOT_PLACED)
        for a in result.of(ActionKind.ADOPT_POSITION):
            assert a.quantity is not None
            v.adopt_position(a.symbol, a.quantity, a.reason, price=self._price_of(a.symbol))
        if snapshot.balances:
            self.balances = {k: str(b.total) for k, b in snapshot.balances.items()}
        self.reconciliation = summary
        self.repo.set_state(self.id, reconciliation=summary, balances=self.balances)
        return summary

    def _price_of(self, symbol: str) -> Decimal | None:
        """The price an adopted position enters the engine at: the last close, else the venue's last trade."""
        last = self.venue.last_close.get(symbol)
        if last:
            return Decimal(repr(last))
        try:
            ticker = self.ctx.loop.run(self.ctx.client.exchange.fetch_ticker(symbol), timeout=30)
            return Decimal(str(ticker["last"])) if ticker.get("last") else None
        except Exception:  # noqa: BLE001 - no price: the position enters at 0 (reported in the journal)
            return None

    def _settle(self, cid: str, symbol: str, *, known_absent: bool) -> None:
        """A believed-open order missing from the venue's open orders: its final state by client id, or, once
        its request window has passed unanswered, 'never placed' (rejected; the same id stays unused)."""
        v, client = self.venue, self.ctx.client
        intent = v.intents.get(cid)
        sent = int(intent["created_ms"]) if intent else 0
        if client.now_ms() - sent < client.expiry_ms():
            return  # it may still land: ask again at the next reconciliation
        if not known_absent:
            found = self.ctx.loop.run(client.query(cid, symbol), timeout=60)
            if found.outcome.value == "accepted" and found.report is not None:
                v.on_report(found.report)
                return
            if found.outcome.value != "not_found":
                return
        tracked = v.tracker.get(cid)
        if tracked is not None and (tracked.venue_order_id is not None or tracked.status is not OrderStatus.SUBMITTED):
            self.halt(f"order {cid} was accepted by the venue and the venue no longer knows it")
            return
        side = tracked.side if tracked is not None else None
        if side is None:
            return
        v._set_intent(cid, "not_placed", "the venue never received it")
        v.on_report(OrderReport(cid, symbol, side, OrderStatus.REJECTED, source="never reached the venue"))

    def halt(self, reason: str) -> None:
        """Fail closed: no more orders from this bot; the reason is recorded and published (LiveHalted)."""
        if self.halted is not None:
            return
        self.halted = reason
        log.error("live bot %s HALTED: %s", self.name, reason)
        self.reconciliation = {**self.reconciliation, "verdict": "halt", "reason": reason}
        self.repo.set_state(self.id, reconciliation=self.reconciliation)
        try:
            self.engine.risk.halt(f"live reconciliation: {reason}")
        except Exception:  # noqa: BLE001 - the bot stops stepping anyway
            pass
        ts = self.engine.clock.now_ns()
        self.engine.bus.notify(LiveHalted(ts, ts, self.name, reason))

    def step(self) -> bool:
        if self.halted is not None:
            return False
        self.drain()
        return super().step()
