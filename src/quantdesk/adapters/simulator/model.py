"""The simulator's records (orders, fills, submissions) and the events its exchange core emits.

Events are plain data; the WebSocket layer renders them as Binance messages. User events come in bursts (all
the reports one request or one trade produced, then the balance update) so that fault injection can duplicate
or reorder them the way a real stream can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


def num(value: Decimal) -> str:
    """Exact plain decimal text without exponent or trailing zeros (`Decimal('1E+2')` -> '100')."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class SimError(Exception):
    """A request the exchange refuses: Binance's error `code` and `msg`, answered with HTTP `status`."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.status = code, msg, status
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


@dataclass
class NewOrder:
    """A parsed, syntactically valid new-order request (the exchange core checks filters and balances)."""

    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT | LIMIT_MAKER
    client_order_id: str
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str | None = None  # GTC | IOC | FOK (LIMIT only)


@dataclass
class Fill:
    trade_id: int
    order_id: int
    client_order_id: str
    side: str
    qty: Decimal
    price: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time: int

    def to_state(self) -> dict[str, object]:
        return {"trade_id": self.trade_id, "order_id": self.order_id, "client_order_id": self.client_order_id,
                "side": self.side, "qty": num(self.qty), "price": num(self.price), "quote_qty": num(self.quote_qty),
                "commission": num(self.commission), "commission_asset": self.commission_asset,
                "maker": self.maker, "time": self.time}


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal  # 0 for market orders (as Binance reports them)
    orig_qty: Decimal
    quote_order_qty: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    update_time: int = 0
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def snapshot(self) -> SimOrder:
        """A frozen-in-time copy for an execution report (fills are not copied)."""
        return SimOrder(self.order_id, self.client_order_id, self.side, self.type, self.time_in_force, self.price,
                        self.orig_qty, self.quote_order_qty, self.time, self.status, self.executed_qty,
                        self.cum_quote, self.update_time)

    def to_state(self) -> dict[str, object]:
        return {"client_order_id": self.client_order_id, "order_id": self.order_id, "side": self.side,
                "type": self.type, "time_in_force": self.time_in_force, "status": self.status,
                "price": num(self.price), "orig_qty": num(self.orig_qty), "executed_qty": num(self.executed_qty),
                "cum_quote_qty": num(self.cum_quote), "time": self.time, "update_time": self.update_time}


# ---- events ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TradeEvent:
    """One public trade (a replayed tick or one of our fills)."""

    trade_id: int
    price_ticks: int
    qty: Decimal
    time: int
    buyer_maker: bool


@dataclass(frozen=True)
class KlineEvent:
    """Candle `candle` as it was at `time`: (open, high, low, close in ticks, volume, trades, closed)."""

    candle: int
    time: int
    closed: bool
    values: tuple[int, int, int, int, Decimal, int, bool]


@dataclass(frozen=True)
class BookEvent:
    """A change of the synthetic order book: update ids first..last, changed levels as (price in ticks,
    quantity in lots of the step size; 0 = removed)."""

    first_id: int
    last_id: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    time: int


@dataclass(frozen=True)
class ExecReport:
    """An `executionReport`: the order as it was, what happened (`exec_type`) and the fill if it was a trade."""

    order: SimOrder
    exec_type: str  # NEW | TRADE | CANCELED | EXPIRED
    time: int
    fill: Fill | None = None
    cancel_client_id: str = ""


@dataclass(frozen=True)
class AccountEvent:
    """An `outboundAccountPosition`: free and locked of the assets that changed."""

    time: int
    balances: tuple[tuple[str, Decimal, Decimal], ...]


@dataclass(frozen=True)
class UserBurst:
    """Everything one request or one trade told the user stream, in order."""

    items: tuple[ExecReport | AccountEvent, ...]


MarketEvent = TradeEvent | KlineEvent | BookEvent
Event = MarketEvent | UserBurst
