"""`LiveVenue`: the engine's `ExecutionVenue` port over a real venue (`adapters.ccxt.ExecutionClient`).

Exactly once, in this order, for every order the engine hands over:
  1. the venue's client order id is `ClientIdScheme.make(bar second, seq)` (deterministic: a restarted bot
     regenerates the same id for the same order);
  2. an INTENT (id, bar, seq, side, quantity, type, price) is committed to the database;
  3. the request goes out through `submit_exactly_once` (retries reuse the id; after an ambiguous failure the
     order is looked up by client id before anything is sent again). An intent found in the database for a
     regenerated order (the process died after step 2) is queried first, never sent blindly.

What the venue says back (the request's answer, the private stream, REST snapshots) is queued and applied
between engine steps by `drain()`: order reports merge in an `OrderTracker` (duplicates and out-of-order
reports are harmless), fills are booked once by venue trade id in a `FillBook`, and each change that the
engine must see is first written to the JOURNAL (with the step before which it is applied) and then applied.
A restarted bot replays the bars and the journal at the same steps (`replay_before`): the engine state before
the crash, rebuilt exactly, without a single request. `process_bar`/`process_detail` are no-ops: the venue
matches orders itself.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, Decimal
from typing import Any

from quantdesk.adapters.ccxt.execution import ExecutionClient, OrderRequest
from quantdesk.adapters.ccxt.loop import LoopThread
from quantdesk.core.errors import ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.execution import ClientIdScheme, FillBook, FillReport, OrderReport, OrderTracker, Outcome
from quantdesk.execution.order_state import TrackedOrder
from quantdesk.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType
from quantdesk.model.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.money import ZERO, plain
from quantdesk.model.orders import Order
from quantdesk.storage.live_repo import LiveRepo

log = get_logger(__name__)

EXTERNAL = "external"
_TERMINAL_KIND = {OrderStatus.CANCELED: "canceled", OrderStatus.EXPIRED: "expired",
                  OrderStatus.REJECTED: "rejected"}


def _s(x: Decimal | None) -> str | None:
    return None if x is None else format(x, "f")


def _round_down(x: Decimal, step: Decimal | None) -> Decimal:
    if not step:
        return x
    return (x / step).to_integral_value(rounding=ROUND_DOWN) * step


class LiveVenue:
    """The ExecutionVenue of a live bot. `bind(engine)` after `build_engine`; `drain()` between steps."""

    def __init__(self, client: ExecutionClient, loop: LoopThread, scheme: ClientIdScheme, repo: LiveRepo,
                 bot_id: str, symbols: dict[InstrumentId, str], *, next_step: Callable[[], int]) -> None:
        self.client = client
        self.loop = loop
        self.scheme = scheme
        self.repo = repo
        self.bot_id = bot_id
        self.bot = scheme.bot
        self.symbols = symbols
        self.iids = {s: i for i, s in symbols.items()}
        self.next_step = next_step
        # the port's state
        self.orders: dict[str, Order] = {}
        self.working: dict[InstrumentId, list[Order]] = {i: [] for i in symbols}
        self.emit: Callable[[Event], None] = lambda ev: None
        self._cash: Callable[[], Decimal] = lambda: ZERO
        self._now: Callable[[], int] = lambda: 0
        self.emit_lifecycle = True
        # the node's books
        self.tracker = OrderTracker()
        self.fills = FillBook()
        self.positions: dict[str, Decimal] = {s: ZERO for s in symbols.values()}
        self.intents: dict[str, dict[str, Any]] = {}
        self.to_venue: dict[str, str] = {}  # engine id -> venue client id
        self.to_engine: dict[str, str] = {}
        self.inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.replaying = False
        self.activity = 0  # bumped by every request and booking: a snapshot older than this is stale
        self.journal_seq = 0
        self._deferred: dict[str, OrderReport] = {}  # terminal reports waiting for their fills
        self.last_close: dict[str, float] = {}
        self.counters = {"sent": 0, "regenerated": 0, "queried_first": 0, "journal": 0, "duplicate_fills": 0}

    # ---- wiring ------------------------------------------------------------------------------------------
    def bind(self, emit: Callable[[Event], None], *, cash: Callable[[], Decimal], now_ns: Callable[[], int]) -> None:
        """The engine's bus, its free cash (sizing all-cash orders) and its clock."""
        self.emit = emit
        self._cash = cash
        self._now = now_ns

    def load(self) -> None:
        """The books as the database has them (start of a restart): intents, orders, fills, journal seq."""
        self.intents = self.repo.intents(self.bot_id)
        for cid, row in self.intents.items():
            self.to_venue[row["engine_order_id"]] = cid
            self.to_engine[cid] = row["engine_order_id"]
            self.scheme.remember(cid, int(row["bar_ms"]) // 1000, int(row["seq"]))
        for row in self.repo.orders(self.bot_id):
            self.tracker.orders[row["client_order_id"]] = TrackedOrder(
                row["client_order_id"], row["symbol"], OrderSide(row["side"]), OrderStatus(row["status"]),
                filled=Decimal(row["filled"]), quantity=None if row["quantity"] is None else Decimal(row["quantity"]),
                venue_order_id=row["venue_order_id"], price=None if row["price"] is None else Decimal(row["price"]),
                ts_ms=int(row["ts_ms"]))
        self.fills = FillBook.from_records(r["data"] for r in self.repo.fills(self.bot_id))
        entries = self.repo.journal_entries(self.bot_id)
        self.journal_seq = entries[-1]["seq"] if entries else 0
        self._journal = entries

    # ---- the port: commands --------------------------------------------------------------------------------
    def submit(self, order: Order, ts: int, ref_price: float) -> bool:
        self.orders[order.client_order_id] = order
        order.transition(OrderStatus.SUBMITTED, ts)
        if self.emit_lifecycle:
            self.emit(OrderSubmitted(ts, ts, order.client_order_id, order.instrument, order.strategy_id))
        try:
            req = self._request(order, ts, ref_price)
        except ParameterError as exc:  # deterministic (order + venue rules): the same on a replay
            order.transition(OrderStatus.REJECTED, ts, str(exc))
            self.emit(OrderRejected(ts, ts, order.client_order_id, order.instrument, order.strategy_id, str(exc)))
            return False
        self.working[order.instrument].append(order)
        cid = req.client_order_id
        self.to_venue[order.client_order_id] = cid
        self.to_engine[cid] = order.client_order_id
        if self.replaying:
            if cid not in self.intents:
                log.error("bot %s: replayed order %s has no intent in the database", self.bot, cid)
            return True
        self.activity += 1
        known = self.intents.get(cid)
        if known is not None:  # written before a crash: ask the venue before anything is sent
            self.counters["regenerated"] += 1
            self._resume_intent(known, req)
            return True
        intent = {"client_order_id": cid, "engine_order_id": order.client_order_id, "bar_ms": ts // 1_000_000,
                  "seq": int(order.client_order_id.rsplit("-", 1)[1]), "symbol": req.symbol, "side": req.side.value,
                  "type": req.type, "quantity": _s(req.quantity), "price": _s(req.price),
                  "created_ms": self.client.now_ms()}
        self.repo.add_intent(self.bot_id, intent)
        self.intents[cid] = {**intent, "status": "pending"}
        self.tracker.expect(cid, req.symbol, req.side, req.quantity, req.price)
        self._send(req)
        return True

    def _request(self, order: Order, ts: int, ref_price: float) -> OrderRequest:
        symbol = self.symbols[order.instrument]
        if order.type not in (OrderType.MARKET, OrderType.LIMIT):
            raise ParameterError(f"{order.type.value} orders are not supported live on "
                                 f"{self.client.caps.exchange} (market and limit only)")
        rules = self.client.rules(symbol)
        price = None
        if order.type is OrderType.LIMIT:
            assert order.price is not None
            price = order.price if not rules.tick_size else (
                (order.price / rules.tick_size).to_integral_value() * rules.tick_size)
        qty = order.quantity
        if qty is None:
            ref = price if price is not None else Decimal(repr(float(ref_price)))
            if order.all_cash:
                rate = rules.taker_fee or Decimal("0.001")
                cash = self.client_cash()
                qty = cash / (ref * (1 + rate)) if ref > 0 else ZERO
            elif order.notional is not None:
                qty = order.notional / ref if ref > 0 else ZERO
            else:
                raise ParameterError("an order needs a quantity, a notional or all_cash")
        qty = _round_down(Decimal(qty), rules.step_size)
        if qty <= 0:
            raise ParameterError(f"quantity rounds to zero at the step {_s(rules.step_size)} of {symbol}")
        order.quantity = qty
        if price is not None:
            order.price = price
        seq = int(order.client_order_id.rsplit("-", 1)[1])
        cid = self.scheme.make(ts // 1_000_000_000, seq)
        req = OrderRequest(cid, symbol, order.side, order.type.value.lower(), qty, price)
        return self.client.validate(req)

    def client_cash(self) -> Decimal:
        """The engine's cash (all-cash orders are sized from what the engine believes, as in a backtest)."""
        return self._cash()

    def _send(self, req: OrderRequest) -> None:
        cid = req.client_order_id
        self.counters["sent"] += 1
        try:
            result = self.loop.run(self.client.submit_exactly_once(req), timeout=120)
        except Exception as exc:  # no answer at all: the reconciliation will query the id
            log.warning("bot %s: order %s outcome unknown: %s", self.bot, cid, type(exc).__name__)
            self.repo.update_intent(self.bot_id, cid, status="pending", reason=f"unknown: {type(exc).__name__}",
                                    attempts=1)
            return
        self._outcome(req, result.outcome, result.report, result.reason, result.attempts)

    def _outcome(self, req: OrderRequest, outcome: Outcome, report: OrderReport | None, reason: str,
                 attempts: int = 1) -> None:
        cid = req.client_order_id
        if outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE) and report is not None:
            self._set_intent(cid, "accepted", reason, attempts)
            self.inbox.put(("order", report))
        elif outcome in (Outcome.REJECTED, Outcome.RATE_LIMITED, Outcome.NOT_FOUND):
            self._set_intent(cid, "rejected", reason or outcome.value, attempts)
            self.inbox.put(("order", OrderReport(cid, req.symbol, req.side, OrderStatus.REJECTED,
                                                 quantity=req.quantity, source=f"rest: {reason}"[:200])))
        else:  # UNKNOWN after every round: the reconciliation queries it
            self._set_intent(cid, "pending", reason, attempts)

    def _set_intent(self, cid: str, status: str, reason: str, attempts: int = 0) -> None:
        self.repo.update_intent(self.bot_id, cid, status=status, reason=reason, attempts=attempts)
        if cid in self.intents:
            self.intents[cid]["status"] = status

    def _resume_intent(self, intent: dict[str, Any], req: OrderRequest) -> None:
        """An order regenerated after a restart whose intent is in the database: query by client id; send it
        (same id) only once the venue's request window has passed without it."""
        self.counters["queried_first"] += 1
        self.tracker.expect(req.client_order_id, req.symbol, req.side, req.quantity, req.price)
        if intent.get("status") in ("accepted", "rejected", "not_placed"):
            return  # the answer is on its way through the journal / reconciliation
        found = self.loop.run(self.client.resolve(req.client_order_id, req.symbol, int(intent["created_ms"])),
                              timeout=120)
        if found.outcome is Outcome.NOT_FOUND:
            self._send(req)
        else:
            self._outcome(req, found.outcome, found.report, found.reason)

    def submit_bracket(self, entry: Order, take_profit: Order | None, stop_loss: Order | None, ts: int,
                       ref_price: float) -> bool:
        """Brackets need stop orders, which the live venue does not place yet: the entry is refused with the
        reason (its children too), as a simulated venue refuses an order it cannot take."""
        reason = "brackets (attached stop-loss / take-profit) are not supported live yet"
        for o in (entry, take_profit, stop_loss):
            if o is not None:
                self.orders[o.client_order_id] = o
                if o.status is OrderStatus.INITIALIZED:
                    o.transition(OrderStatus.SUBMITTED, ts)
                o.transition(OrderStatus.REJECTED, ts, reason)
                self.emit(OrderRejected(ts, ts, o.client_order_id, o.instrument, o.strategy_id, reason))
        return False

    def cancel(self, client_order_id: str, ts: int, reason: str = "cancelled") -> bool:
        """Ask the venue to cancel; the engine hears of it when the venue confirms (journal, next drain)."""
        order = self.orders.get(client_order_id)
        if order is None or order.is_terminal:
            return False
        if self.replaying:
            return True
        cid = self.to_venue.get(client_order_id)
        if cid is None:
            return False
        self.activity += 1
        try:
            result = self.loop.run(self.client.cancel(cid, self.symbols[order.instrument]), timeout=60)
        except Exception as exc:
            log.warning("bot %s: cancel %s: %s", self.bot, cid, type(exc).__name__)
            return False
        if result.report is not None:
            self.inbox.put(("order", result.report))
        return result.outcome in (Outcome.CANCELED, Outcome.ACCEPTED)

    def modify(self, client_order_id: str, ts: int, *, quantity: Decimal | None = None,
               price: Decimal | None = None, trigger_price: Decimal | None = None) -> bool:
        """Amendments are not sent live (cancel and place a new order instead): refused."""
        return False

    def open_orders(self, instrument: InstrumentId | None = None) -> list[Order]:
        lists = [self.working[instrument]] if instrument is not None else list(self.working.values())
        return [o for lst in lists for o in lst if o.status.is_open]

    def process_bar(self, instrument: InstrumentId, ts: int, o: float, h: float, low: float, c: float,
                    v: float) -> None:
        """No-op: the venue matches orders; its fills arrive through `drain()`."""
        self.last_close[self.symbols[instrument]] = c

    def process_detail(self, instrument: InstrumentId, rows: Iterable[tuple[int, float, float, float, float, float]]
                       ) -> None:
        """No-op (intrabar detail is for simulated matching only)."""

    # ---- venue events -> journal -> engine --------------------------------------------------------------------
    def on_report(self, report: OrderReport, owner: str | None = None) -> None:
        """Merge an order report; journal what the engine must see (accepted / canceled / expired / rejected)."""
        changed = self.tracker.apply(report)
        if changed is None:
            return
        mine = report.client_order_id in self.to_engine or self.scheme.owns(report.client_order_id)
        row = self._order_row(changed, owner or (self.bot if mine else EXTERNAL))
        eid = self.to_engine.get(report.client_order_id)
        order = self.orders.get(eid) if eid else None
        entries: list[dict[str, Any]] = []
        if order is not None and not order.is_terminal:
            status = changed.status
            if status in _TERMINAL_KIND:
                if changed.filled > self.fills.filled(report.client_order_id):
                    self._deferred[report.client_order_id] = report  # its fills first
                else:
                    entries.append(self._entry(_TERMINAL_KIND[status], eid, {"reason": report.source}))
            elif order.status is OrderStatus.SUBMITTED and status is not OrderStatus.SUBMITTED:
                entries.append(self._entry("accepted", eid, {}))
        if changed.status is OrderStatus.REJECTED and report.client_order_id in self.intents:
            self.intents[report.client_order_id]["status"] = "rejected"
        self.repo.journal(self.bot_id, entries, orders=[row])
        for e in entries:
            self._apply(e)

    def on_fill(self, fill: FillReport) -> bool:
        """Book a venue fill once (by trade id): journal it with the fill row, then apply it to the engine."""
        if self.fills.has(fill.symbol, fill.trade_id):
            self.fills.book(fill)  # checks that it is the same execution (FillConflict otherwise)
            self.counters["duplicate_fills"] += 1
            return False
        cid = fill.client_order_id
        mine = bool(cid) and (cid in self.to_engine or self.scheme.owns(cid))
        owner = self.bot if mine else EXTERNAL
        eid = self.to_engine.get(cid or "")
        entry = self._entry("fill", eid, {"fill": fill.to_dict(), "owner": owner})
        positions = dict(self.positions)
        positions[fill.symbol] = positions.get(fill.symbol, ZERO) + fill.base_delta
        self.repo.journal(self.bot_id, [entry], fills=[{"trade_id": fill.trade_id, "symbol": fill.symbol,
                                                         "data": fill.to_dict(), "owner": owner}],
                          positions={k: _s(v) for k, v in positions.items()})
        self.fills.book(fill)
        self.activity += 1
        self._apply(entry)
        deferred = self._deferred.get(cid or "")
        if deferred is not None and self.fills.filled(cid or "") >= deferred.filled:
            del self._deferred[cid or ""]
            order = self.orders.get(eid) if eid else None
            if order is not None and not order.is_terminal and deferred.status in _TERMINAL_KIND:
                e2 = self._entry(_TERMINAL_KIND[deferred.status], eid, {"reason": deferred.source})
                self.repo.journal(self.bot_id, [e2])
                self._apply(e2)
        return True

    def adopt_position(self, symbol: str, quantity: Decimal, reason: str, price: Decimal | None = None) -> None:
        """The venue's holding replaces the node's: the difference enters the engine as a fill at `price` (default
        the last close; strategy id "reconcile", no fee), journalled so a restart replays it."""
        delta = quantity - self.positions.get(symbol, ZERO)
        if not delta:
            return
        if price is None:
            last = self.last_close.get(symbol)
            price = Decimal(repr(last)) if last else ZERO
        entry = self._entry("adopt", None, {"symbol": symbol, "delta": _s(delta), "price": plain(price),
                                            "reason": reason})
        positions = dict(self.positions)
        positions[symbol] = quantity
        self.repo.journal(self.bot_id, [entry], positions={k: _s(v) for k, v in positions.items()})
        self._apply(entry)

    def _entry(self, kind: str, eid: str | None, data: dict[str, Any]) -> dict[str, Any]:
        self.journal_seq += 1
        self.counters["journal"] += 1
        return {"seq": self.journal_seq, "step": self.next_step(), "kind": kind, "client_order_id": eid, "data": data}

    def replay_before(self, step: int, mark: int) -> None:
        """Apply the journal entries recorded before `step` that the last commit included (seq <= `mark`)."""
        while self._journal and self._journal[0]["step"] <= step and self._journal[0]["seq"] <= mark:
            self._apply(self._journal.pop(0))

    def replay_committed(self, mark: int) -> None:
        """Entries after the last replayed step that the last commit included (a forced commit: stop, manual)."""
        while self._journal and self._journal[0]["seq"] <= mark:
            self._apply(self._journal.pop(0))

    def replay_rest(self) -> None:
        """Entries journalled after the last committed step (the process died before the next commit)."""
        while self._journal:
            self._apply(self._journal.pop(0))

    def _apply(self, e: dict[str, Any]) -> None:
        """One journal entry -> the engine (the same code live and on a replay)."""
        kind, data = e["kind"], e.get("data") or {}
        eid = e.get("client_order_id")
        order = self.orders.get(eid) if eid else None
        ts = self._now_ns()
        if kind == "fill":
            f = FillReport.from_dict(data["fill"])
            self.positions[f.symbol] = self.positions.get(f.symbol, ZERO) + f.base_delta
            iid = self.iids.get(f.symbol)
            if iid is None:
                return
            fee_ccy = f.fee_currency or ""
            if order is not None and not order.is_terminal:
                if order.status is OrderStatus.SUBMITTED:
                    order.transition(OrderStatus.ACCEPTED, ts)
                order.apply_fill(f.quantity, f.price, f.fee, ts)
                self._unwork(order)
                self.emit(OrderFilled(ts, ts, order.client_order_id, iid, order.strategy_id, f.trade_id, f.side,
                                      order.type, f.price, f.quantity, f.fee, fee_ccy, _liquidity(f.liquidity),
                                      (order.quantity or ZERO) - order.filled_qty))
            else:  # adopted or external: the account changed, the strategy did not trade
                self.emit(OrderFilled(ts, ts, f.client_order_id or EXTERNAL, iid, EXTERNAL, f.trade_id, f.side,
                                      OrderType.MARKET, f.price, f.quantity, f.fee, fee_ccy, _liquidity(f.liquidity)))
        elif kind == "adopt":
            symbol, delta = data["symbol"], Decimal(data["delta"])
            self.positions[symbol] = self.positions.get(symbol, ZERO) + delta
            iid = self.iids.get(symbol)
            if iid is not None:
                self.emit(OrderFilled(ts, ts, f"adopt-{e['seq']}", iid, "reconcile", f"adopt-{e['seq']}",
                                      OrderSide.BUY if delta > 0 else OrderSide.SELL, OrderType.MARKET,
                                      Decimal(data["price"]), abs(delta), ZERO, ""))
        elif order is not None and not order.is_terminal:
            if kind == "accepted" and order.status is OrderStatus.SUBMITTED:
                order.transition(OrderStatus.ACCEPTED, ts)
                if self.emit_lifecycle:
                    self.emit(OrderAccepted(ts, ts, order.client_order_id, order.instrument, order.strategy_id))
            elif kind in ("canceled", "expired", "rejected"):
                reason = str(data.get("reason") or kind)
                if kind == "rejected" and order.status is OrderStatus.SUBMITTED:
                    order.transition(OrderStatus.REJECTED, ts, reason)
                    self.emit(OrderRejected(ts, ts, order.client_order_id, order.instrument, order.strategy_id,
                                            reason))
                elif kind == "expired" and order.status is not OrderStatus.SUBMITTED:
                    order.transition(OrderStatus.EXPIRED, ts, reason)
                    self.emit(OrderExpired(ts, ts, order.client_order_id, order.instrument, order.strategy_id))
                else:
                    order.transition(OrderStatus.CANCELED, ts, reason)
                    self.emit(OrderCanceled(ts, ts, order.client_order_id, order.instrument, order.strategy_id,
                                            reason))
                self._unwork(order)

    def _unwork(self, order: Order) -> None:
        if order.is_terminal:
            lst = self.working[order.instrument]
            if order in lst:
                lst.remove(order)

    def _now_ns(self) -> int:
        return int(self._now())

    def _order_row(self, o: TrackedOrder, owner: str) -> dict[str, Any]:
        return {"client_order_id": o.client_order_id, "venue_order_id": o.venue_order_id, "symbol": o.symbol,
                "side": o.side.value, "status": o.status.value, "quantity": _s(o.quantity), "filled": _s(o.filled),
                "price": _s(o.price), "owner": owner, "ts_ms": int(o.ts_ms)}


def _liquidity(value: str | None) -> LiquiditySide:
    return LiquiditySide.MAKER if value == "maker" else LiquiditySide.TAKER
