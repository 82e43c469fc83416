"""The exchange core: replays the tape up to a moment, matches orders, keeps balances, emits events.

Synchronous and deterministic: the same tape, the same requests at the same simulated times and the same faults
give the same orders, fills and ids. Not thread-safe: the server holds one lock around every call.

Matching rules (docs/exchange-simulator.md has worked examples):
- the last trade price `last` is the price of the latest replayed trade (see `tape`); best bid = `last`,
  best ask = `last + spread_ticks * tick` (spread 0: both at the last price);
- MARKET orders and marketable LIMIT orders (buy price >= ask, sell price <= bid) fill at once, as taker, at the
  ask (buy) or bid (sell); IOC/FOK remainders and MARKET remainders expire; LIMIT_MAKER that would take is refused;
- a resting LIMIT buy at P fills when a replayed trade is at or below P (a sell: at or above P), at P, as maker;
  resting orders are served first come, first served;
- with `participation`, one replayed trade lets all orders together take at most that fraction of its volume
  (rounded down to the lot step), first come first served, until the next trade: resting remainders stay open
  (partial fills over time), MARKET/IOC remainders expire, FOK fills only if all of it fits;
- the fee of a fill is quantity x price x rate (maker or taker), rounded half-up to 1e-8, charged in the quote
  asset; with `fee_asset="received"` a buy pays it in the base asset (quantity x rate), like Binance.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from quantdesk.adapters.simulator.config import SimConfig
from quantdesk.adapters.simulator.model import (
    AccountEvent,
    BookEvent,
    Event,
    ExecReport,
    Fill,
    KlineEvent,
    NewOrder,
    SimError,
    SimOrder,
    TradeEvent,
    UserBurst,
)
from quantdesk.adapters.simulator.tape import EVENTS_PER_CANDLE, TICKS_PER_CANDLE, Tape

FEE_QUANTUM = Decimal("0.00000001")
INSUFFICIENT = "Account has insufficient balance for requested action."


class Exchange:
    """One spot market and one account (see the module docstring for the rules)."""

    def __init__(self, cfg: SimConfig, tape: Tape, start_ms: int) -> None:
        self.cfg, self.tape = cfg, tape
        self.tick = tape.tick_size
        first = min(int(tape.open_ms.searchsorted(start_ms, side="left")), len(tape) - 1)
        self.cursor = first * EVENTS_PER_CANDLE  # the candles before `first` are history, already closed
        self.last_ticks = int(tape.ohlc[first - 1, 3]) if first > 0 else int(tape.ohlc[0, 0])
        self.candle, self.ticks_done, self.closed = max(first - 1, 0), TICKS_PER_CANDLE, first > 0
        self.now = int(tape.open_ms[first])
        self.orders: dict[int, SimOrder] = {}
        self.open_ids: list[int] = []
        self.fills: list[Fill] = []
        self.submissions: list[dict[str, object]] = []
        self.totals: dict[str, Decimal] = {cfg.base: Decimal(0), cfg.quote: Decimal(0), **cfg.balances}
        self.trade_seq = 0
        self.order_seq = 0
        self.book_id = 1
        self.public_trades: deque[TradeEvent] = deque(maxlen=1000)
        self.fill_splits: Callable[[], int] = lambda: 1
        self._out: list[Event] = []
        self._burst: list[ExecReport | AccountEvent] = []
        self._tick_left: Decimal | None = None  # participation budget left in the current replayed trade
        self._level_lots = max(1, int(cfg.level_qty / cfg.step_size))
        self._volumes: tuple[int, list[Decimal]] = (-1, [])  # the current candle's four trade volumes
        self._limits: dict[int, int] = {}  # resting order id -> its limit price in ticks
        # Book diffs cost most of a replay; without a diff-stream subscriber (the hub says so) only the update
        # id moves, and the book is rebuilt when read.
        self.book_diffs = True
        self._orders_version = 0
        self._book_key = (self.last_ticks, 0)
        self._book_stale = False
        self.book = self._levels()
        self.advance_to(self.now)  # the first trade of the first candle happens at the start
        self.drain()

    # ---- the clock --------------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.cursor >= self.tape.n_events

    def next_event_ms(self) -> int | None:
        return None if self.finished else int(self.tape.event_ms[self.cursor])

    def advance_to(self, t_ms: int) -> list[Event]:
        """Replay every tape event at or before `t_ms` (time never goes back) and return what happened."""
        t_ms = max(int(t_ms), self.now)
        end = self.tape.event_index_at(t_ms)
        for j in range(self.cursor, end):
            self._replay(j)
            self.cursor = j + 1
        self.now = t_ms
        return self.drain()

    def drain(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    def _replay(self, j: int) -> None:
        i, k = divmod(j, EVENTS_PER_CANDLE)
        t = int(self.tape.event_ms[j])
        self.now = t
        if k == TICKS_PER_CANDLE:
            self.candle, self.ticks_done, self.closed = i, TICKS_PER_CANDLE, True
            self._out.append(KlineEvent(i, t, True, self.kline(i)))
            return
        q = int(self.tape.path_ticks[i, k])
        qty = self._tick_volumes(i)[k]
        self._public_trade(q, qty, t, buyer_maker=q < self.last_ticks)
        self.last_ticks = q
        self.candle, self.ticks_done, self.closed = i, k + 1, False
        self._out.append(KlineEvent(i, t, False, self.kline(i)))
        self._tick_left = self._cap(qty)
        for oid in list(self.open_ids):
            order = self.orders[oid]
            limit = self._limits[oid]
            if (order.side == "BUY" and q <= limit) or (order.side == "SELL" and q >= limit):
                take = self._take(order.remaining)
                if take > 0:
                    self._execute(order, take, limit, maker=True)
                    self._finish_burst()
        self._book_changed()

    # ---- orders -----------------------------------------------------------------------------------------
    def place(self, req: NewOrder, forced: SimError | None = None) -> SimOrder:
        """Accept or refuse a new order (SimError), fill what is marketable now, and record the submission."""
        record: dict[str, object] = {"client_order_id": req.client_order_id, "time": self.now, "side": req.side,
                                     "type": req.type}
        try:
            order = self._accept(req, forced)
        except SimError as exc:
            self.submissions.append({**record, "outcome": "rejected", "code": exc.code, "msg": exc.msg,
                                     "order_id": None})
            raise
        self.submissions.append({**record, "outcome": "accepted", "code": None, "msg": None,
                                 "order_id": order.order_id})
        return order

    def _accept(self, req: NewOrder, forced: SimError | None) -> SimOrder:
        cfg = self.cfg
        if any(self.orders[o].client_order_id == req.client_order_id for o in self.open_ids):
            raise SimError(-2010, "Duplicate order sent.")
        if forced is not None:
            raise forced
        bid, ask = self.best_bid_ticks, self.best_ask_ticks
        limit: int | None = None
        if req.price is not None:
            if req.price <= 0 or req.price % self.tick != 0:
                raise SimError(-1013, "Filter failure: PRICE_FILTER")
            limit = self._ticks(req.price)
        qty = req.quantity
        if qty is None:  # MARKET with quoteOrderQty: as much as the quote amount buys or sells at the touch
            assert req.quote_order_qty is not None
            touch = self.tape.price(ask if req.side == "BUY" else bid)
            qty = (req.quote_order_qty / touch // cfg.step_size) * cfg.step_size
        assert cfg.min_qty is not None and cfg.min_notional is not None
        if qty < cfg.min_qty or qty > cfg.max_qty or qty % cfg.step_size != 0:
            raise SimError(-1013, "Filter failure: LOT_SIZE")
        ref = limit if limit is not None else (ask if req.side == "BUY" else bid)
        if qty * self.tape.price(ref) < cfg.min_notional:
            raise SimError(-1013, "Filter failure: NOTIONAL")
        marketable = req.type == "MARKET" or (req.side == "BUY" and limit is not None and limit >= ask) or (
            req.side == "SELL" and limit is not None and limit <= bid)
        if req.type == "LIMIT_MAKER" and marketable:
            raise SimError(-2010, "Order would immediately match and take.")
        asset, need = self._reserve(req.side, qty, self.tape.price(ask if limit is None else limit),
                                    taker_only=limit is None)
        if self.free(asset) < need:
            raise SimError(-2010, INSUFFICIENT)
        self.order_seq += 1
        order = SimOrder(order_id=self.order_seq, client_order_id=req.client_order_id, side=req.side,
                         type=req.type, time_in_force=req.time_in_force or ("GTC" if req.type != "MARKET" else ""),
                         price=req.price if req.price is not None else Decimal(0), orig_qty=qty,
                         quote_order_qty=req.quote_order_qty or Decimal(0), time=self.now, update_time=self.now)
        self.orders[order.order_id] = order
        self._burst.append(ExecReport(order.snapshot(), "NEW", self.now))
        if marketable:
            all_or_none = order.time_in_force == "FOK"
            take = self._take(order.remaining, spend=not all_or_none)
            if all_or_none:
                take = self._take(take) if take == order.remaining else Decimal(0)
            if take > 0:
                self._execute(order, take, ask if req.side == "BUY" else bid, maker=False)
        if order.is_open and (req.type == "MARKET" or order.time_in_force in ("IOC", "FOK")):
            order.status, order.update_time = "EXPIRED", self.now
            self._burst.append(ExecReport(order.snapshot(), "EXPIRED", self.now))
        if order.is_open:
            assert limit is not None  # only LIMIT and LIMIT_MAKER orders rest
            self.open_ids.append(order.order_id)
            self._limits[order.order_id] = limit
        self._finish_burst()
        self._book_changed()
        return order

    def cancel(self, order_id: int | None, client_id: str | None, cancel_client_id: str) -> SimOrder:
        """Cancel an open order (by id, or by client id: the latest order that has it); -2011 otherwise."""
        order = self.find(order_id, client_id)
        if order is None or not order.is_open:
            raise SimError(-2011, "Unknown order sent.")
        order.status, order.update_time = "CANCELED", self.now
        self.open_ids.remove(order.order_id)
        self._limits.pop(order.order_id, None)
        self._burst.append(ExecReport(order.snapshot(), "CANCELED", self.now, cancel_client_id=cancel_client_id))
        self._finish_burst()
        self._book_changed()
        return order

    def find(self, order_id: int | None, client_id: str | None) -> SimOrder | None:
        """The order with this id (and this client id, if both are given), or the latest with this client id."""
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and client_id is not None and order.client_order_id != client_id:
                return None
            return order
        for oid in sorted(self.orders, reverse=True):
            if self.orders[oid].client_order_id == client_id:
                return self.orders[oid]
        return None

    def open_orders(self) -> list[SimOrder]:
        return [self.orders[o] for o in sorted(self.open_ids)]

    # ---- balances ---------------------------------------------------------------------------------------
    def _reserve(self, side: str, qty: Decimal, price: Decimal, taker_only: bool = False) -> tuple[str, Decimal]:
        """What an order of `qty` at `price` holds: the base for a sell; for a buy the quote, plus the largest
        fee when fees are paid in the quote asset."""
        cfg = self.cfg
        if side == "SELL":
            return cfg.base, qty
        rate = cfg.taker_fee if taker_only else max(cfg.maker_fee, cfg.taker_fee)
        fee_part = rate if cfg.fee_asset == "quote" else Decimal(0)
        return cfg.quote, qty * price * (1 + fee_part)

    def locked(self, asset: str) -> Decimal:
        total = Decimal(0)
        for oid in self.open_ids:
            order = self.orders[oid]
            held_asset, amount = self._reserve(order.side, order.remaining, order.price)
            if held_asset == asset:
                total += amount
        return total

    def free(self, asset: str) -> Decimal:
        return self.totals.get(asset, Decimal(0)) - self.locked(asset)

    # ---- fills ------------------------------------------------------------------------------------------
    def _execute(self, order: SimOrder, qty: Decimal, price_ticks: int, *, maker: bool) -> None:
        cfg = self.cfg
        price = self.tape.price(price_ticks)
        rate = cfg.maker_fee if maker else cfg.taker_fee
        for part in self._split(qty, max(1, int(self.fill_splits()))):
            quote_qty = part * price
            if order.side == "BUY" and cfg.fee_asset == "received":
                fee, fee_asset = (part * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP), cfg.base
            else:
                fee, fee_asset = (quote_qty * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP), cfg.quote
            sign = 1 if order.side == "BUY" else -1
            self.totals[cfg.base] += sign * part
            self.totals[cfg.quote] -= sign * quote_qty
            self.totals[fee_asset] -= fee
            order.executed_qty += part
            order.cum_quote += quote_qty
            order.status = "FILLED" if order.executed_qty == order.orig_qty else "PARTIALLY_FILLED"
            order.update_time = self.now
            trade_id = self._public_trade(price_ticks, part, self.now, buyer_maker=(order.side == "BUY") == maker)
            fill = Fill(trade_id, order.order_id, order.client_order_id, order.side, part, price, quote_qty, fee,
                        fee_asset, maker, self.now)
            self.fills.append(fill)
            order.fills.append(fill)
            self._burst.append(ExecReport(order.snapshot(), "TRADE", self.now, fill=fill))
        if not order.is_open and order.order_id in self.open_ids:
            self.open_ids.remove(order.order_id)
            self._limits.pop(order.order_id, None)

    def _split(self, qty: Decimal, parts: int) -> list[Decimal]:
        step = self.cfg.step_size
        piece = (qty / parts // step) * step
        if parts == 1 or piece <= 0:
            return [qty]
        return [piece] * (parts - 1) + [qty - piece * (parts - 1)]

    def _cap(self, tick_volume: Decimal) -> Decimal | None:
        if self.cfg.participation is None:
            return None
        step = self.cfg.step_size
        return (tick_volume * self.cfg.participation // step) * step

    def _take(self, wanted: Decimal, spend: bool = True) -> Decimal:
        """How much of `wanted` the participation budget of the latest replayed trade still allows (all of it
        without participation); `spend` uses it up. Orders share one trade's budget, first come first served."""
        if self._tick_left is None:
            return wanted
        take = min(wanted, self._tick_left)
        if spend:
            self._tick_left -= take
        return take

    def _tick_volumes(self, i: int) -> list[Decimal]:
        if self._volumes[0] != i:
            self._volumes = (i, [self.tape.tick_volume(i, k) for k in range(TICKS_PER_CANDLE)])
        return self._volumes[1]

    def _public_trade(self, price_ticks: int, qty: Decimal, t: int, *, buyer_maker: bool) -> int:
        self.trade_seq += 1
        event = TradeEvent(self.trade_seq, price_ticks, qty, t, buyer_maker)
        self.public_trades.append(event)
        self._out.append(event)
        return self.trade_seq

    def _finish_burst(self) -> None:
        if not self._burst:
            return
        self._orders_version += 1  # an order changed: the book may have
        assets = (self.cfg.base, self.cfg.quote)
        balances = tuple((a, self.free(a), self.locked(a)) for a in assets)
        self._burst.append(AccountEvent(self.now, balances))
        self._out.append(UserBurst(tuple(self._burst)))
        self._burst = []

    # ---- the synthetic book -----------------------------------------------------------------------------
    @property
    def best_bid_ticks(self) -> int:
        return self.last_ticks

    @property
    def best_ask_ticks(self) -> int:
        return self.last_ticks + self.cfg.spread_ticks

    def _ticks(self, price: Decimal) -> int:
        return int(price / self.tick)

    def _levels(self) -> tuple[dict[int, int], dict[int, int]]:
        """The book as {price in ticks: quantity in lots (steps)}: integers, so that diffs are cheap."""
        n, lots = self.cfg.depth_levels, self._level_lots
        bid, ask = self.best_bid_ticks, self.best_ask_ticks
        bids = dict.fromkeys(range(bid, max(bid - n, 0), -1), lots)
        asks = dict.fromkeys(range(ask, ask + n), lots)
        for oid in self.open_ids:  # our resting orders are in the book too (when within the shown levels)
            order = self.orders[oid]
            side = bids if order.side == "BUY" else asks
            level = self._limits[oid]
            if level in side:
                side[level] += int(order.remaining / self.cfg.step_size)
        return bids, asks

    def set_book_diffs(self, on: bool) -> None:
        """Whether book events carry the changed levels (needed only by diff-depth stream subscribers)."""
        if on and not self.book_diffs:
            self.book, self._book_stale = self._levels(), False
        self.book_diffs = on

    def _book_changed(self) -> None:
        key = (self.last_ticks, self._orders_version)
        if not self.book_diffs:
            if key != self._book_key:
                self._book_key, self._book_stale = key, True
                self.book_id += 1
                self._out.append(BookEvent(self.book_id, self.book_id, (), (), self.now))
            return
        self._book_key = key
        new = self._levels()
        diffs = []
        for old_side, new_side in zip(self.book, new, strict=True):
            changed = {p: q for p, q in new_side.items() if old_side.get(p) != q}
            changed.update({p: 0 for p in old_side.keys() - new_side.keys()})
            diffs.append(changed)
        self.book = new
        if diffs[0] or diffs[1]:
            self.book_id += 1
            bids = tuple(sorted(diffs[0].items(), reverse=True))
            asks = tuple(sorted(diffs[1].items()))
            self._out.append(BookEvent(self.book_id, self.book_id, bids, asks, self.now))

    def depth(self, limit: int) -> tuple[int, list[tuple[int, Decimal]], list[tuple[int, Decimal]]]:
        if self._book_stale:
            self.book, self._book_stale = self._levels(), False
        step = self.cfg.step_size
        bids = [(p, q * step) for p, q in sorted(self.book[0].items(), reverse=True)[:limit]]
        asks = [(p, q * step) for p, q in sorted(self.book[1].items())[:limit]]
        return self.book_id, bids, asks

    # ---- candles ----------------------------------------------------------------------------------------
    def kline(self, i: int) -> tuple[int, int, int, int, Decimal, int, bool]:
        """(open, high, low, close in ticks, volume, trades, closed) of candle i as known now."""
        tape = self.tape
        if i < self.candle or (i == self.candle and self.closed):
            o, h, low, c = (int(x) for x in tape.ohlc[i])
            return o, h, low, c, tape.volume[i], TICKS_PER_CANDLE, True
        path = [int(x) for x in tape.path_ticks[i, : self.ticks_done]]
        volume = sum(self._tick_volumes(i)[: self.ticks_done], Decimal(0))
        return path[0], max(path), min(path), path[-1], volume, self.ticks_done, False

    @property
    def last_visible_candle(self) -> int:
        """Index of the newest candle that has started (the forming one, or the last closed one)."""
        return self.candle
