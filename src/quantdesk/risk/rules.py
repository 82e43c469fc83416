"""Pre-trade rules. Each is checked against the WORST-CASE book the order would leave, at the last prices.

Definitions (floats; `ref` = the instrument's last close, `equity` = cash + sum(position x last close)):

- order quantity estimate q: `quantity`, else `notional / ref`, else (all-cash buy) `max(cash, 0) / ref`.
- REDUCING order: `reduce_only`, or opposite to the position with q <= |position| - (quantity of the other
  working non-reduce-only orders on that side). Reducing orders pass EVERY rule and breaker (also when halted,
  in cooldown or over the rate limit). Every other order is exposure-increasing and is checked.
- worst-case position of a symbol: max(|pos + working buys|, |pos - working sells|) where the working orders
  are the non-reduce-only ones (remaining quantity, estimated as above); reduce-only orders never add to it.
  Its exposure is that x ref.
- max_position_pct: worst-case exposure of the order's symbol after the order / equity.
- max_gross_exposure_pct: sum over symbols of worst-case exposures after the order / equity.
- max_open_positions: symbols with a position or a working non-reduce-only order, after the order.
- max_positions_per_symbol: entries of the symbol = orders that increased the current position since it was
  last flat (fills) + working non-reduce-only orders in the position's direction (any side when flat) + this one.
- min/max_order_notional: q x (limit price for LIMIT/STOP_LIMIT, trigger for STOP, else ref); `notional` for a
  notional order, the cash for an all-cash buy.
- price_band_pct: |limit or trigger - ref| / ref for LIMIT/STOP/STOP_LIMIT orders.
- max_orders_per_window: exposure-increasing orders accepted in the last `rate_window_s` seconds of the
  injected clock (ts_init of the orders), this one included.
- correlation: an order opening a NEW position (flat, no working entry) on X is denied when the correlation of
  X's bar returns (signed by the order side) with the open book's returns (sum of position value x returns of
  the other symbols) over the last `window` common timestamps exceeds `max_correlation`.
A non-positive equity denies every increasing order (rule `equity`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantdesk.model.enums import OrderSide, OrderType
from quantdesk.model.orders import Order
from quantdesk.risk.config import CorrelationSettings, RuleLimits
from quantdesk.risk.context import RiskContext, RiskLeg

NS = 1_000_000_000
TOL = 1 + 1e-12  # float noise: an all-cash buy from flat is exactly 100% of equity


@dataclass(frozen=True, slots=True)
class Denial:
    """A refusal: `reason` (one line), `rule`, the `limit` and the `value` the order would have produced."""

    reason: str
    rule: str = ""
    limit: float | None = None
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def deny(rule: str, value: float, limit: float, what: str, cmp: str = ">", **details: Any) -> Denial:
    return Denial(
        f"{rule}: {what} {value:.6g} {cmp} limit {limit:.6g}", rule, float(limit), float(value), details
    )


def _qty_est(order: Order, ref: float, cash: float) -> float:
    if order.quantity is not None:
        return float(order.quantity - order.filled_qty)
    if not ref > 0:
        return 0.0
    if order.notional is not None:
        return float(order.notional) / ref
    if order.all_cash:
        return max(cash, 0.0) / ref
    return 0.0


class Impact:
    """What an order would do to the book (computed lazily, once per check)."""

    __slots__ = ("order", "ctx", "iid", "sign", "ref", "q", "equity", "pos", "_book", "reducing")

    def __init__(self, order: Order, ctx: RiskContext) -> None:
        self.order = order
        self.ctx = ctx
        self.iid = order.instrument
        self.sign = 1.0 if order.side is OrderSide.BUY else -1.0
        leg = ctx.leg(order.instrument)
        self.ref: float = leg.last_close
        self.q = _qty_est(order, self.ref, ctx.cash_f)
        self.pos: float = leg.position_f
        self._book: dict[Any, list[float]] | None = None
        self.reducing = self._is_reducing()
        self.equity = math.nan

    def _is_reducing(self) -> bool:
        if self.order.reduce_only:
            return True
        room = self.reducible()
        return room is not None and self.q <= room + 1e-12

    def reducible(self) -> float | None:
        """How much an order against the position may be and still only reduce it: |position| minus the other
        working non-reduce-only orders on this order's side. None for an order on the position's side (or flat)."""
        pos, order = self.pos, self.order
        if pos == 0 or (pos > 0) == (self.sign > 0):
            return None
        pending = 0.0
        cid = order.client_order_id
        for o in self.ctx.venue.open_orders(self.iid):
            if not o.reduce_only and o.client_order_id != cid and (o.side is order.side):
                pending += _qty_est(o, self.ref, self.ctx.cash_f)
        return abs(pos) - pending

    @property
    def book(self) -> dict[Any, list[float]]:
        """iid -> [position, working buys, working sells, ref price] (non-reduce-only orders), WITHOUT this order."""
        if self._book is None:
            ctx = self.ctx
            cash = ctx.cash_f
            book: dict[Any, list[float]] = {}
            for leg in ctx.legs:
                pos = leg.position_f
                book[leg.iid] = [pos, 0.0, 0.0, leg.last_close]
            for o in ctx.venue.open_orders(None):
                if o.reduce_only or o.client_order_id == self.order.client_order_id:
                    continue
                row = book[o.instrument]
                q = _qty_est(o, row[3], cash)
                row[1 if o.side is OrderSide.BUY else 2] += q
            self._book = book
        return self._book

    def worst(self, iid: Any, with_order: bool = True) -> float:
        pos, buys, sells, ref = self.book[iid]
        if with_order and iid == self.iid:
            if self.sign > 0:
                buys += self.q
            else:
                sells += self.q
        if not ref > 0:
            return 0.0
        return max(abs(pos + buys), abs(pos - sells)) * ref

    def room(self, cap: float) -> float:
        """The largest quantity of this order whose worst-case exposure on its symbol stays <= `cap` (quote)."""
        pos, buys, sells, ref = self.book[self.iid]
        if not ref > 0:
            return math.inf
        c = cap / ref
        if self.sign > 0:
            return max(0.0, c - (pos + buys)) if abs(pos - sells) <= c else 0.0
        return max(0.0, c + (pos - sells)) if abs(pos + buys) <= c else 0.0

    def order_price(self) -> float:
        """The order's price as the venue will hold it (rounded to the instrument's tick), else the last close."""
        o = self.order
        if o.price is not None and o.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return float(self.ctx.leg(o.instrument).instrument.make_price(o.price))
        if o.trigger_price is not None and o.type is OrderType.STOP:
            return float(self.ctx.leg(o.instrument).instrument.make_price(o.trigger_price))
        return self.ref

    def notional(self) -> float:
        o = self.order
        if o.quantity is None and o.notional is not None:
            return float(o.notional)
        if o.quantity is None and o.all_cash:
            cash: float = self.ctx.cash_f
            return max(cash, 0.0)
        return self.q * self.order_price()


class PreTradeRules:
    """The configured pre-trade limits of one scope (global, or one strategy's extra limits)."""

    def __init__(self, limits: RuleLimits, scope: str = "global") -> None:
        self.limits = limits
        self.scope = scope
        self._times: deque[int] = deque()
        lim = limits
        self.checks = [
            c
            for c, on in (
                (self._notional, lim.min_order_notional is not None or lim.max_order_notional is not None),
                (self._band, lim.price_band_pct is not None),
                (self._rate, lim.max_orders_per_window is not None),
                (self._position, lim.max_position_pct is not None),
                (self._gross, lim.max_gross_exposure_pct is not None),
                (self._open_positions, lim.max_open_positions is not None),
                (self._per_symbol, lim.max_positions_per_symbol is not None),
            )
            if on
        ]
        self.entries: dict[Any, set[str]] | None = None  # set by the RiskEngine (fill tracking)

    def __bool__(self) -> bool:
        return bool(self.checks)

    def check(self, imp: Impact) -> Denial | None:
        for c in self.checks:
            d = c(imp)
            if d is not None:
                if self.scope != "global":
                    d.details["scope"] = self.scope
                return d
        return None

    @property
    def sizes(self) -> bool:
        """Whether a limit here bounds an order's size (and so can fit it instead of denying it)."""
        lim = self.limits
        return (lim.max_position_pct is not None or lim.max_gross_exposure_pct is not None
                or lim.max_order_notional is not None)

    def max_quantity(self, imp: Impact) -> tuple[float, str, float]:
        """(largest quantity of this order the size-bearing limits allow, the binding rule, its limit); the
        quantity is inf when no such limit is set. `imp.equity` must be set."""
        lim, eq = self.limits, imp.equity
        best: tuple[float, str, float] = (math.inf, "", math.nan)
        if lim.max_position_pct is not None:
            best = min(best, (imp.room(lim.max_position_pct * eq), "max_position_pct", lim.max_position_pct))
        if lim.max_gross_exposure_pct is not None:
            others = sum(imp.worst(i) for i in imp.book if i != imp.iid)
            q = imp.room(lim.max_gross_exposure_pct * eq - others)
            best = min(best, (q, "max_gross_exposure_pct", lim.max_gross_exposure_pct))
        if lim.max_order_notional is not None:
            price = imp.order_price()
            if price > 0:
                best = min(best, (lim.max_order_notional / price, "max_order_notional", lim.max_order_notional))
        return best

    def accepted(self, imp: Impact, ts: int) -> None:
        if self.limits.max_orders_per_window is not None:
            self._times.append(ts)

    # ---- the rules ----------------------------------------------------------------------------------
    def _notional(self, imp: Impact) -> Denial | None:
        n = imp.notional()
        lo, hi = self.limits.min_order_notional, self.limits.max_order_notional
        if lo is not None and n < lo:
            return deny("min_order_notional", n, lo, "order notional", "<")
        if hi is not None and n > hi:
            return deny("max_order_notional", n, hi, "order notional")
        return None

    def _band(self, imp: Impact) -> Denial | None:
        o, ref, band = imp.order, imp.ref, self.limits.price_band_pct
        if band is None:  # rules without a limit are not registered; this keeps the type exact
            return None
        if o.type not in (OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT) or not ref > 0:
            return None
        for label, p in (("price", o.price), ("trigger_price", o.trigger_price)):
            if p is not None:
                dev = abs(float(p) - ref) / ref
                if dev > band:
                    return deny(
                        "price_band_pct", dev, band, f"{label} {float(p):.6g} vs last {ref:.6g}: deviation"
                    )
        return None

    def _rate(self, imp: Impact) -> Denial | None:
        now = imp.ctx.clock.now_ns()
        window = int(self.limits.rate_window_s * NS)
        times = self._times
        while times and times[0] <= now - window:
            times.popleft()
        n = len(times) + 1
        limit = self.limits.max_orders_per_window
        if limit is None:
            return None
        if n > limit:
            return deny("max_orders_per_window", n, limit, f"orders in {self.limits.rate_window_s:g}s")
        return None

    def _position(self, imp: Impact) -> Denial | None:
        eq = imp.equity
        share = imp.worst(imp.iid) / eq
        lim = self.limits.max_position_pct
        if lim is None:
            return None
        if share > lim * TOL:
            return deny("max_position_pct", share, lim, "position share of equity")
        return None

    def _gross(self, imp: Impact) -> Denial | None:
        eq = imp.equity
        gross = sum(imp.worst(i) for i in imp.book) / eq
        lim = self.limits.max_gross_exposure_pct
        if lim is None:
            return None
        if gross > lim * TOL:
            return deny("max_gross_exposure_pct", gross, lim, "gross exposure share of equity")
        return None

    def _open_positions(self, imp: Impact) -> Denial | None:
        n = sum(1 for i in imp.book if imp.worst(i) > 0 or (i == imp.iid and imp.q > 0))
        lim = self.limits.max_open_positions
        if lim is None:
            return None
        if n > lim:
            return deny("max_open_positions", n, lim, "open positions")
        return None

    def _per_symbol(self, imp: Impact) -> Denial | None:
        pos = imp.pos
        filled = len(self.entries.get(imp.iid, ())) if (self.entries is not None and pos != 0) else 0
        working = 0
        for o in imp.ctx.venue.open_orders(imp.iid):
            if (
                not o.reduce_only
                and o.client_order_id != imp.order.client_order_id
                and (pos == 0 or (pos > 0) == (o.side is OrderSide.BUY))
            ):
                working += 1
        n = filled + working + 1
        lim = self.limits.max_positions_per_symbol
        if lim is None:
            return None
        if n > lim:
            return deny("max_positions_per_symbol", n, lim, "entries on the symbol")
        return None


class CorrelationGuard:
    def __init__(self, settings: CorrelationSettings) -> None:
        self.s = settings

    def check(self, imp: Impact) -> Denial | None:
        book = imp.book
        row = book[imp.iid]
        if row[0] != 0 or row[1] or row[2]:
            return None  # not a new position
        others = [(i, r[0] * r[3]) for i, r in book.items() if i != imp.iid and r[0] != 0 and r[3] > 0]
        if not others:
            return None
        corr = correlation_with_book(imp.ctx, imp.iid, imp.sign, others, self.s.window, self.s.min_periods)
        lim = self.s.max_correlation
        if corr is not None and lim is not None and corr > lim:
            return deny("max_correlation", corr, lim, "return correlation with the open book")
        return None


def _closes(leg: RiskLeg, n: int) -> tuple[np.ndarray, np.ndarray]:
    end = leg.view.index + 1
    start = max(0, end - n)
    ts = np.asarray(leg.ts[start:end], dtype=np.int64)
    c = np.asarray(leg.c[start:end], dtype=np.float64)
    return ts, c


def correlation_with_book(
    ctx: RiskContext, iid: Any, sign: float, others: list[tuple[Any, float]], window: int, min_periods: int
) -> float | None:
    """Pearson correlation of sign x returns(iid) with sum(value_j x returns_j) over the last `window` returns
    at timestamps common to all the instruments involved. None when there are fewer than `min_periods`."""
    n = window + 1
    legs = [ctx.leg(iid)] + [ctx.leg(i) for i, _ in others]
    series = [_closes(leg, 4 * n) for leg in legs]
    common = series[0][0]
    for ts, _ in series[1:]:
        common = np.intersect1d(common, ts, assume_unique=True)
    common = common[-n:]
    if len(common) - 1 < min_periods:
        return None
    rets = []
    for ts, c in series:
        px = c[np.searchsorted(ts, common)]
        rets.append(np.diff(px) / px[:-1])
    x = sign * rets[0]
    y = sum(v * r for (_, v), r in zip(others, rets[1:], strict=True))
    if np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])
