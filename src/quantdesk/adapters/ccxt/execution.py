"""The execution client: orders on one venue through ccxt, with the exactly-once rules built in.

    client = ExecutionClient.from_config(AdapterConfig.for_simulator(sim))
    await client.start()
    result = await client.submit(OrderRequest("qd-bot-kxxx1xc0-0", "BTC/USDT", OrderSide.BUY, "limit",
                                              Decimal("0.01"), Decimal("40000")))
    if result.outcome is Outcome.UNKNOWN:          # the answer was lost: never resend blindly
        result = await client.resolve(result.client_order_id, "BTC/USDT", result.sent_at_ms)

- The caller gives the client order id (deterministic: `execution.ClientIdScheme`); it is checked against the
  venue's rules before anything is sent, and every retry reuses it.
- `submit` answers ACCEPTED (with the venue's report), REJECTED (refused for good), RATE_LIMITED (refused for
  now: 429/418 beyond `max_rate_wait_s`), DUPLICATE (the venue has an open order with that id) or UNKNOWN
  (timeout, 5xx, dropped connection, a clock error that survived a resync, a venue code meaning "status
  unknown"). A 429/418 under `max_rate_wait_s` is waited out (Retry-After) and retried; a -1021 clock error
  resynchronises the clock (`load_time_difference`) and retries once.
- `resolve` after UNKNOWN: queries by client id until found, or until the venue could no longer accept that
  request (its request expiry window, e.g. Binance's recvWindow, has passed): NOT_FOUND then means "never
  received", and the same id may be sent again. `submit_exactly_once` chains the two.
- `snapshot` is the REST truth (open orders, the account's trades since T, balances, spot positions) for the
  reconciler; `events` (in `private_streams.py`) streams order, fill and balance updates with reconnects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from quantdesk.adapters.ccxt.capabilities import (
    MarketRules,
    VenueCapabilities,
    capabilities_for,
    market_rules,
)
from quantdesk.adapters.ccxt.config import AdapterConfig, Backoff
from quantdesk.adapters.ccxt.failures import Classified, Failure, RateGate, classify
from quantdesk.adapters.ccxt.parsing import id_order, parse_balances, parse_order, parse_trade
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.execution.models import Balance, FillReport, OrderReport, Outcome, VenueSnapshot
from quantdesk.model.enums import OrderSide

log = get_logger(__name__)


def _f(value: Decimal | None) -> str:
    return "none" if value is None else format(value, "f")


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: OrderSide
    type: str  # "market" or "limit"
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: str = "GTC"
    post_only: bool = False
    reduce_only: bool = False


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    client_order_id: str
    report: OrderReport | None = None
    reason: str = ""
    attempts: int = 1
    sent_at_ms: int | None = None  # wall ms of the last send (resolve waits out the venue's window from it)
    retry_after_s: float | None = None


class ExecutionClient:
    """Orders, cancels, queries and account snapshots on one venue (async; one ccxt.pro instance)."""

    def __init__(self, exchange: Any, caps: VenueCapabilities | None = None, *, max_rate_wait_s: float = 5.0,
                 attempts: int = 3, inflight_bound_ms: int = 60_000, expiry_grace_ms: int = 1_000,
                 backoff: Backoff | None = None) -> None:
        self.exchange = exchange
        self.caps = caps or capabilities_for(exchange.id, exchange=exchange)
        self.gate = RateGate(self.caps.order_rate)
        self.max_rate_wait_s = float(max_rate_wait_s)
        self.attempts = max(1, int(attempts))
        self.inflight_bound_ms = int(inflight_bound_ms)
        self.expiry_grace_ms = int(expiry_grace_ms)
        self.backoff = backoff or Backoff(0.2, 2.0, 5.0, 0.0)
        self.client_ids: dict[str, str] = {}  # venue order id -> client order id
        self.counters = {"submits": 0, "sent": 0, "accepted": 0, "rejected": 0, "unknown": 0, "rate_limited": 0,
                         "duplicates": 0, "clock_resyncs": 0, "queries": 0, "resolved": 0, "resent": 0}

    @classmethod
    def from_config(cls, config: AdapterConfig, **kwargs: Any) -> ExecutionClient:
        if not config.has_credentials:
            raise ParameterError(f"trading on {config.exchange} needs an API key and secret "
                                 f"(QD_EXCHANGES__{config.exchange.upper()}__API_KEY / __SECRET)")
        return cls(config.make_client(), **kwargs)

    async def start(self) -> None:
        """Load the venue's markets (retried like any read)."""
        await self._call("load_markets")

    async def close(self) -> None:
        await self.exchange.close()

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)

    # ---- validation ----------------------------------------------------------------------------------------
    def rules(self, symbol: str) -> MarketRules:
        return market_rules(self.exchange, symbol)

    def validate(self, req: OrderRequest) -> OrderRequest:
        """The request if the venue can accept it; else a ParameterError naming the field and the rule."""
        caps, where = self.caps, f"order {req.client_order_id!r}"
        caps.client_id.check(req.client_order_id, where=f"client order id of {req.symbol} order")
        rules = self.rules(req.symbol)
        if req.type not in caps.order_types:
            raise ParameterError(f"{where}: type {req.type!r} is not supported on {caps.exchange} "
                                 f"(supported: {', '.join(sorted(caps.order_types))})")
        if req.time_in_force not in caps.time_in_force:
            raise ParameterError(f"{where}: time in force {req.time_in_force!r} is not supported on {caps.exchange}"
                                 f" (supported: {', '.join(sorted(caps.time_in_force))})")
        if req.post_only and (not caps.post_only or req.type != "limit"):
            raise ParameterError(f"{where}: post-only needs a limit order on a venue that supports it")
        if req.reduce_only and not caps.reduce_only:
            raise ParameterError(f"{where}: reduce-only is not available on {caps.exchange} spot markets")
        if req.quantity <= 0:
            raise ParameterError(f"{where}: quantity must be positive, got {_f(req.quantity)}")
        if rules.step_size and req.quantity % rules.step_size:
            raise ParameterError(f"{where}: quantity {_f(req.quantity)} is not a multiple of the step "
                                 f"{_f(rules.step_size)} of {req.symbol}")
        if rules.min_qty and req.quantity < rules.min_qty:
            raise ParameterError(f"{where}: quantity {_f(req.quantity)} is below the minimum {_f(rules.min_qty)}")
        if req.type == "limit":
            if req.price is None or req.price <= 0:
                raise ParameterError(f"{where}: a limit order needs a positive price")
            if rules.tick_size and req.price % rules.tick_size:
                raise ParameterError(f"{where}: price {_f(req.price)} is not a multiple of the tick "
                                     f"{_f(rules.tick_size)} of {req.symbol}")
            if rules.min_notional and req.price * req.quantity < rules.min_notional:
                raise ParameterError(f"{where}: notional {_f(req.price * req.quantity)} is below the minimum "
                                     f"{_f(rules.min_notional)} of {req.symbol}")
        elif req.price is not None:
            raise ParameterError(f"{where}: a market order takes no price")
        return req

    # ---- requests ------------------------------------------------------------------------------------------
    def _classify(self, exc: BaseException) -> Classified:
        return classify(exc, self.caps, getattr(self.exchange, "last_response_headers", None))

    async def _resync_clock(self) -> None:
        self.counters["clock_resyncs"] += 1
        try:
            await self.exchange.load_time_difference()
        except Exception as exc:  # the retry will fail again and report UNKNOWN
            log.warning("%s: clock resync failed: %s", self.caps.exchange, self._classify(exc).reason)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A read request with the rate gate, Retry-After waits, one clock resync and bounded retries."""
        resynced, last = False, None
        for attempt in range(self.attempts):
            if await self.gate.acquire(order=False, max_wait_s=self.max_rate_wait_s) is None:
                break
            try:
                return await getattr(self.exchange, method)(*args, **kwargs)
            except Exception as exc:
                c = self._classify(exc)
                last = exc
                if c.kind is Failure.RATE_LIMITED:
                    self.gate.hold(c.retry_after_s if c.retry_after_s is not None else self.backoff.delay(attempt))
                elif c.kind is Failure.TIMESTAMP and not resynced:
                    resynced = True
                    await self._resync_clock()
                elif c.kind is Failure.UNKNOWN:
                    await asyncio.sleep(self.backoff.delay(attempt))
                else:
                    raise
        if last is None:
            raise TimeoutError(f"{self.caps.exchange} {method}: rate limited beyond {self.max_rate_wait_s} s")
        raise last

    async def submit(self, req: OrderRequest) -> SubmitResult:
        """Send a new order once (see the module docstring for the outcomes)."""
        req = self.validate(req)
        cid = req.client_order_id
        params: dict[str, Any] = {self.caps.client_id_param: cid}
        if req.time_in_force != "GTC":
            params["timeInForce"] = req.time_in_force
        if req.post_only:
            params["postOnly"] = True
        price = float(req.price) if req.price is not None else None
        self.counters["submits"] += 1
        resynced, attempts, last = False, 0, None
        while attempts < self.attempts:
            if await self.gate.acquire(order=True, max_wait_s=self.max_rate_wait_s) is None:
                break
            attempts += 1
            sent = self.now_ms()
            self.counters["sent"] += 1
            try:
                answer = await self.exchange.create_order(req.symbol, req.type, req.side.value, float(req.quantity),
                                                          price, dict(params))
            except Exception as exc:
                c = last = self._classify(exc)
                log.warning("%s: order %s failed (%s): %s", self.caps.exchange, cid, c.kind.value, c.reason)
                if c.kind is Failure.REJECTED:
                    self.counters["rejected"] += 1
                    return SubmitResult(Outcome.REJECTED, cid, reason=c.reason, attempts=attempts, sent_at_ms=sent)
                if c.kind is Failure.DUPLICATE:
                    self.counters["duplicates"] += 1
                    found = await self.query(cid, req.symbol)
                    return SubmitResult(Outcome.DUPLICATE, cid, found.report, c.reason, attempts, sent)
                if c.kind is Failure.RATE_LIMITED:
                    self.counters["rate_limited"] += 1
                    self.gate.hold(c.retry_after_s if c.retry_after_s is not None else self.backoff.delay(attempts))
                    continue
                if c.kind is Failure.TIMESTAMP and not resynced:
                    resynced = True
                    await self._resync_clock()
                    continue
                self.counters["unknown"] += 1
                reason = c.reason if c.kind is not Failure.TIMESTAMP else f"clock error after a resync: {c.reason}"
                return SubmitResult(Outcome.UNKNOWN, cid, reason=reason, attempts=attempts, sent_at_ms=sent)
            report = parse_order(answer, source="rest", client_order_id=cid, symbol=req.symbol, side=req.side)
            self._learn(report)
            self.counters["accepted"] += 1
            return SubmitResult(Outcome.ACCEPTED, cid, report, attempts=attempts, sent_at_ms=sent)
        wait = max(0.0, self.gate.cooldown_until - self.gate.clock())
        return SubmitResult(Outcome.RATE_LIMITED, cid, reason=last.reason if last else "rate limited",
                            attempts=attempts, retry_after_s=wait)

    async def query(self, client_order_id: str, symbol: str) -> SubmitResult:
        """The venue's report of an order by client id: ACCEPTED (found; any status), NOT_FOUND or UNKNOWN."""
        self.counters["queries"] += 1
        try:
            answer = await self._call("fetch_order", None, symbol, {self.caps.query_param: client_order_id})
        except Exception as exc:
            c = self._classify(exc)
            kind = Outcome.NOT_FOUND if c.kind is Failure.NOT_FOUND else Outcome.UNKNOWN
            return SubmitResult(kind, client_order_id, reason=c.reason)
        report = parse_order(answer, source="query", client_order_id=client_order_id, symbol=symbol)
        self._learn(report)
        return SubmitResult(Outcome.ACCEPTED, client_order_id, report)

    def expiry_ms(self) -> int:
        """How long after sending a request the venue may still accept it."""
        return int(self.caps.request_expiry_ms or self.inflight_bound_ms) + self.expiry_grace_ms

    async def resolve(self, client_order_id: str, symbol: str, sent_at_ms: int | None,
                      poll_s: float = 0.25) -> SubmitResult:
        """After UNKNOWN: find the order by client id; NOT_FOUND only once the request can no longer land."""
        deadline = (sent_at_ms or self.now_ms()) + self.expiry_ms()
        failures = 0
        while True:
            found = await self.query(client_order_id, symbol)
            if found.outcome is Outcome.ACCEPTED:
                self.counters["resolved"] += 1
                return replace(found, reason="found by client id after an unknown outcome")
            if found.outcome is Outcome.NOT_FOUND:
                left = deadline - self.now_ms()
                if left <= 0:
                    return replace(found, reason="the venue never received it (its request window has passed): "
                                                 "safe to send again with the same id")
                await asyncio.sleep(min(poll_s, left / 1000))
                continue
            failures += 1
            if failures >= self.attempts:
                return found
            await asyncio.sleep(self.backoff.delay(failures))

    async def submit_exactly_once(self, req: OrderRequest, rounds: int = 3) -> SubmitResult:
        """submit, and after an UNKNOWN resolve by client id, resending the same id only if it never arrived."""
        result = await self.submit(req)
        for _ in range(rounds):
            if result.outcome is not Outcome.UNKNOWN:
                return result
            found = await self.resolve(req.client_order_id, req.symbol, result.sent_at_ms)
            if found.outcome is not Outcome.NOT_FOUND:
                return found
            self.counters["resent"] += 1
            result = await self.submit(req)
        return result

    async def cancel(self, client_order_id: str, symbol: str) -> SubmitResult:
        """Cancel by client id: CANCELED (with the final report), NOT_FOUND (the venue does not know it),
        ACCEPTED (already closed: the report says how) or UNKNOWN (query before concluding)."""
        try:
            answer = await self._call("cancel_order", None, symbol, {self.caps.query_param: client_order_id})
        except Exception as exc:
            c = self._classify(exc)
            if c.kind in (Failure.NOT_FOUND, Failure.REJECTED):
                found = await self.query(client_order_id, symbol)
                return replace(found, reason=c.reason) if found.outcome is not Outcome.UNKNOWN else found
            return SubmitResult(Outcome.UNKNOWN, client_order_id, reason=c.reason)
        report = parse_order(answer, source="rest", client_order_id=client_order_id, symbol=symbol)
        self._learn(report)
        return SubmitResult(Outcome.CANCELED, client_order_id, report)

    # ---- account state -------------------------------------------------------------------------------------
    def _learn(self, report: OrderReport) -> None:
        if report.venue_order_id:
            self.client_ids[report.venue_order_id] = report.client_order_id

    async def open_orders(self, symbol: str) -> list[OrderReport]:
        rows = await self._call("fetch_open_orders", symbol)
        out = [parse_order(o, source="snapshot", symbol=symbol) for o in rows]
        for report in out:
            self._learn(report)
        return out

    async def my_trades(self, symbol: str, since_ms: int, page: int = 500) -> list[FillReport]:
        """The account's trades of `symbol` at or after `since_ms`, oldest first, with client ids attached."""
        rows: list[dict[str, Any]] = []
        seen: set[Any] = set()
        since: int | None = int(since_ms)
        params: dict[str, Any] = {}
        limit = page
        while True:
            batch = await self._call("fetch_my_trades", symbol, since, limit, params)
            fresh = [t for t in batch if t.get("id") not in seen]
            rows.extend(fresh)
            seen.update(t.get("id") for t in fresh)
            if len(batch) < limit:
                break
            if self.caps.trades_from_id and all(str(t.get("id", "")).isdigit() for t in batch):
                since, params = None, {self.caps.trades_from_id: max(int(t["id"]) for t in batch) + 1}
                continue
            newest = max(int(t.get("timestamp") or 0) for t in batch)
            if fresh and since is not None and newest > since:
                since = newest  # inclusive: trades at that millisecond come again and are skipped by id
                continue
            if limit >= 1000:  # a full page inside one millisecond: refuse to return a truncated list
                raise DataError(f"{self.caps.exchange}: more than {limit} trades of {symbol} at {since} ms; "
                                "cannot page through them by time")
            limit = 1000
        missing = {str(t["order"]) for t in rows if t.get("order") and str(t["order"]) not in self.client_ids
                   and not t.get("clientOrderId")}
        for order_id in sorted(missing):  # venues whose trade records lack the client id (Binance REST)
            try:
                self._learn(parse_order(await self._call("fetch_order", order_id, symbol), source="query",
                                        symbol=symbol))
            except Exception as exc:
                log.warning("%s: cannot learn the client id of order %s: %s", self.caps.exchange, order_id,
                            self._classify(exc).reason)
        fills = [parse_trade(t, client_ids=self.client_ids, source="snapshot") for t in rows]
        return sorted(fills, key=lambda f: (f.ts_ms, id_order(f.trade_id)))

    async def balances(self) -> dict[str, Balance]:
        return parse_balances(await self._call("fetch_balance"))

    async def snapshot(self, symbols: Iterable[str], since_ms: int, *, requested_at_seq: int | None = None,
                       query_ids: Iterable[tuple[str, str]] = ()) -> VenueSnapshot:
        """The venue's truth for the reconciler. `query_ids`: (client id, symbol) pairs to look up one by one
        (only ids whose request window has passed: a None answer means the venue never had them)."""
        symbols = tuple(symbols)
        open_orders: list[OrderReport] = []
        trades: list[FillReport] = []
        for symbol in symbols:
            open_orders.extend(await self.open_orders(symbol))
            trades.extend(await self.my_trades(symbol, since_ms))
        balances = await self.balances()
        positions = {s: (balances[b].total if (b := self.rules(s).base) in balances else Decimal(0)) for s in symbols}
        queried: dict[str, OrderReport | None] = {}
        for cid, symbol in query_ids:
            found = await self.query(cid, symbol)
            if found.outcome is Outcome.UNKNOWN:
                continue  # no answer: the reconciler will ask again
            queried[cid] = found.report if found.outcome is Outcome.ACCEPTED else None
        return VenueSnapshot(taken_at_ms=self.now_ms(), since_ms=int(since_ms), symbols=symbols,
                             open_orders=tuple(open_orders), trades=tuple(trades), balances=balances,
                             positions=positions, requested_at_seq=requested_at_seq, queried=queried)
