"""ccxt's unified dicts -> QuantDesk values (`execution.models`, candles, trades, books).

ccxt hands floats; they become Decimals through their shortest repr (`0.1` -> `Decimal('0.1')`), which is the
venue's decimal text for every amount a venue reports on its tick/step grid. Statuses map as:
open (nothing filled) -> ACCEPTED, open (some filled) -> PARTIALLY_FILLED, closed -> FILLED, canceled ->
CANCELED, expired -> EXPIRED, rejected -> REJECTED; a missing status (some create_order answers) -> ACCEPTED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from quantdesk.core.errors import DataError
from quantdesk.execution.models import Balance, FillReport, OrderReport
from quantdesk.model.enums import OrderSide, OrderStatus
from quantdesk.model.money import ZERO

_STATUS = {"closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELED, "cancelled": OrderStatus.CANCELED,
           "expired": OrderStatus.EXPIRED, "rejected": OrderStatus.REJECTED}


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int, str or None) as a Decimal (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise DataError(f"venue sent a non-finite number: {value}")
        return Decimal(repr(value))
    return Decimal(str(value))


def side_of(value: Any, where: str) -> OrderSide:
    text = str(value or "").lower()
    if text not in ("buy", "sell"):
        raise DataError(f"{where}: side {value!r} is neither buy nor sell")
    return OrderSide(text)


def id_order(trade_id: Any) -> tuple[int, int, str]:
    """Sort key of venue ids: numeric ids by value (so "10" after "9"), others as text after them."""
    text = str(trade_id)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def parse_order(order: Mapping[str, Any], *, source: str = "", client_order_id: str | None = None,
                symbol: str | None = None, side: OrderSide | None = None) -> OrderReport:
    """A ccxt order -> OrderReport. The keyword arguments fill what an answer may lack (the request's values)."""
    cid = order.get("clientOrderId") or client_order_id
    if not cid:
        info = order.get("info") or {}
        cid = info.get("clientOrderId") or info.get("origClientOrderId") or info.get("c")
    if not cid:
        raise DataError(f"order {order.get('id')!r} has no client order id")
    filled = dec(order.get("filled")) or ZERO
    raw = (order.get("status") or "open").lower()
    status = _STATUS.get(raw)
    if status is None:
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    venue_id = order.get("id")
    return OrderReport(
        client_order_id=str(cid), symbol=order.get("symbol") or symbol or "",
        side=side_of(order.get("side"), f"order {cid}") if order.get("side") else (side or OrderSide.BUY),
        status=status, filled=filled, quantity=dec(order.get("amount")),
        venue_order_id=str(venue_id) if venue_id not in (None, "") else None, price=dec(order.get("price")),
        average=dec(order.get("average")), order_type=str(order.get("type") or ""),
        ts_ms=int(order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp") or order.get("timestamp") or 0),
        source=source)


def parse_trade(trade: Mapping[str, Any], *, client_ids: Mapping[str, str] | None = None,
                source: str = "") -> FillReport:
    """One of the account's trades (fetch_my_trades / watch_my_trades) -> FillReport. `client_ids` maps venue
    order ids to client ids for venues whose trade records do not carry the client id (Binance REST)."""
    tid = trade.get("id")
    if tid in (None, ""):
        raise DataError(f"trade without an id: {dict(trade)!r}"[:200])
    order_id = trade.get("order")
    order_id = str(order_id) if order_id not in (None, "") else None
    cid = trade.get("clientOrderId") or ((client_ids or {}).get(order_id) if order_id else None)
    fee = trade.get("fee") or {}
    qty, price = dec(trade.get("amount")), dec(trade.get("price"))
    if qty is None or price is None:
        raise DataError(f"trade {tid}: missing amount or price")
    return FillReport(trade_id=str(tid), symbol=str(trade.get("symbol") or ""),
                      side=side_of(trade.get("side"), f"trade {tid}"), quantity=qty, price=price,
                      client_order_id=str(cid) if cid else None, venue_order_id=order_id,
                      fee=dec(fee.get("cost")) or ZERO, fee_currency=fee.get("currency"),
                      liquidity=trade.get("takerOrMaker"), ts_ms=int(trade.get("timestamp") or 0), source=source)


def parse_balances(balance: Mapping[str, Any]) -> dict[str, Balance]:
    """ccxt's balance structure -> {asset: Balance} (assets with a zero total are left out)."""
    out: dict[str, Balance] = {}
    totals = balance.get("total") or {}
    free, used = balance.get("free") or {}, balance.get("used") or {}
    for asset, total in totals.items():
        t = dec(total)
        if t is None or t == 0:
            continue
        out[asset] = Balance(asset, dec(free.get(asset)) or ZERO, dec(used.get(asset)) or ZERO, t)
    return out


@dataclass(frozen=True, slots=True)
class Candle:
    """A CLOSED candle; `ts_ms` is its open time (UTC ms), like ccxt's OHLCV rows."""

    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    source: str = ""  # "stream" or "rest"

    @classmethod
    def from_ohlcv(cls, row: Any, source: str = "") -> Candle:
        ts, o, h, low, c, v = row[:6]
        return cls(int(ts), float(o), float(h), float(low), float(c), float(v or 0.0), source)

    def values(self) -> tuple[int, float, float, float, float, float]:
        return (self.ts_ms, self.open, self.high, self.low, self.close, self.volume)


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade on the tape."""

    trade_id: str
    ts_ms: int
    price: float
    amount: float
    side: str | None
    source: str = ""

    @classmethod
    def from_ccxt(cls, t: Mapping[str, Any], source: str = "") -> Trade:
        return cls(str(t.get("id")), int(t.get("timestamp") or 0), float(t["price"]), float(t["amount"]),
                   t.get("side"), source)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top of the order book: `bids` best first (descending), `asks` best first (ascending)."""

    ts_ms: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    nonce: int | None = None
    resynced: bool = False  # the first book after a (re)connect

    @classmethod
    def from_ccxt(cls, book: Mapping[str, Any], depth: int, resynced: bool = False) -> BookSnapshot:
        def side(levels: Any) -> tuple[tuple[float, float], ...]:
            return tuple((float(p), float(q)) for p, q, *_ in list(levels)[:depth])

        return cls(int(book.get("timestamp") or 0), side(book.get("bids") or []), side(book.get("asks") or []),
                   book.get("nonce"), resynced)
