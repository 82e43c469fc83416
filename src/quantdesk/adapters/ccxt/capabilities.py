"""What each venue accepts, as data: one generic ccxt adapter reads this table instead of branching on names.

Two sources, merged by `capabilities_for(exchange_id)`:
- ccxt's own metadata, read from the installed ccxt class (offline): time-in-force and post-only support
  (`features.spot.createOrder`), precision mode, the default request spacing (`rateLimit`), which WebSocket
  streams `ccxt.pro` implements (`has.watch*`), the request expiry window (`options.recvWindow`);
- QUANTDESK_TABLE below, for what ccxt does not describe: client order id rules (length, alphabet), the venue's
  own order-rate limit, which error codes mean "status unknown" / "clock skew" / "duplicate client id" /
  "rate limited", the currency fees are charged in, and the options ccxt needs to load spot markets only.
  Values are from the venues' public API documentation (Binance spot, Bybit v5, OKX v5, KuCoin spot, Kraken
  REST); `docs/adapters.md` lists them. Any other ccxt exchange gets GENERIC (conservative) plus ccxt's data.

Market-level facts (symbol <-> venue id, tick and step sizes, minimum notional) come from the loaded markets
(`load_markets`), not from this table: `market_rules(exchange, symbol)` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from quantdesk.core.errors import NotFoundError
from quantdesk.execution.client_ids import ALNUM, ClientIdRules

PRECISION_MODES = {2: "decimal_places", 3: "significant_digits", 4: "tick_size"}


@dataclass(frozen=True)
class OrderRate:
    """At most `count` new orders per `per_s` seconds (the venue's order-rate limit for one account)."""

    count: int
    per_s: float


@dataclass(frozen=True)
class ErrorCodes:
    """Venue error codes by meaning (matched against the code in the venue's error body)."""

    unknown_status: frozenset[str] = frozenset()  # the venue itself says the outcome is unknown
    timestamp: frozenset[str] = frozenset()  # request clock outside the venue's window
    duplicate_client_id: frozenset[str] = frozenset()
    rate_limited: frozenset[str] = frozenset()
    duplicate_message: str = r"duplicate"  # regex on the message when the code is shared (Binance -2010)


@dataclass(frozen=True)
class VenueCapabilities:
    exchange: str
    order_types: frozenset[str] = frozenset({"market", "limit"})  # what this adapter can submit there
    time_in_force: frozenset[str] = frozenset({"GTC"})
    post_only: bool = False
    reduce_only: bool = False  # spot markets: no
    market_buy_by_cost: bool = False
    precision_mode: str = "tick_size"
    client_id: ClientIdRules = field(default_factory=lambda: ClientIdRules(32, ALNUM + "-_"))
    client_id_param: str = "clientOrderId"  # ccxt's unified parameter (each exchange class maps it)
    query_param: str = "clientOrderId"  # parameter of fetch_order / cancel_order to address by client id
    trades_from_id: str | None = None  # fetch_my_trades parameter that pages by trade id (else by time)
    order_rate: OrderRate = OrderRate(10, 1.0)
    request_spacing_ms: float = 100.0  # ccxt's rateLimit: minimum gap between REST requests
    request_expiry_ms: int | None = None  # a request arriving later than this after its timestamp is refused
    fee_currency: str = "quote"  # "quote", or "received" (base on buys, quote on sells)
    errors: ErrorCodes = ErrorCodes()
    streams: frozenset[str] = frozenset()  # ccxt.pro watch* methods available
    load_options: dict[str, Any] = field(default_factory=dict)  # ccxt options for spot-only market loading
    notes: str = ""

    def has_stream(self, name: str) -> bool:
        return name in self.streams

    def to_dict(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "order_types": sorted(self.order_types),
                "time_in_force": sorted(self.time_in_force), "post_only": self.post_only,
                "reduce_only": self.reduce_only, "precision_mode": self.precision_mode,
                "client_id": {"max_length": self.client_id.max_length, "format": self.client_id.format,
                              "alphabet": self.client_id.alphabet},
                "order_rate": {"count": self.order_rate.count, "per_s": self.order_rate.per_s},
                "request_spacing_ms": self.request_spacing_ms, "request_expiry_ms": self.request_expiry_ms,
                "fee_currency": self.fee_currency, "streams": sorted(self.streams), "notes": self.notes}


_SPOT_ONLY = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}}
GENERIC = VenueCapabilities(exchange="generic", notes="conservative defaults for an exchange QuantDesk has no table for")

#: What ccxt does not know. Keep entries small; ccxt's data fills the rest.
QUANTDESK_TABLE: dict[str, dict[str, Any]] = {
    "binance": dict(
        client_id=ClientIdRules(36, ALNUM + "._:/-"),  # ^[\.A-Z\:/a-z0-9_-]{1,36}$ (newClientOrderId)
        query_param="origClientOrderId",
        trades_from_id="fromId",
        order_rate=OrderRate(100, 10.0),  # ORDERS limit: 100 per 10 s (and 200,000 per day)
        fee_currency="received",  # unless paid in BNB
        errors=ErrorCodes(unknown_status=frozenset({"-1006", "-1007"}), timestamp=frozenset({"-1021"}),
                          duplicate_client_id=frozenset({"-2010"}), rate_limited=frozenset({"-1003", "-1015"}),
                          duplicate_message=r"Duplicate order"),
        load_options=_SPOT_ONLY,
        notes="request weight 6,000/min per IP; HTTP 429 then 418 (IP ban) with Retry-After"),
    "bybit": dict(
        client_id=ClientIdRules(36, ALNUM + "-_"),  # orderLinkId: letters, digits, - and _; max 36
        order_rate=OrderRate(20, 1.0),  # spot create order: 20 requests/s per UID
        fee_currency="received",
        errors=ErrorCodes(timestamp=frozenset({"10002"}), duplicate_client_id=frozenset({"170141"}),
                          rate_limited=frozenset({"10006", "10018"})),
        load_options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        notes="IP limit 600 requests per 5 s; recv_window 5,000 ms"),
    "okx": dict(
        client_id=ClientIdRules(32, ALNUM),  # clOrdId: case-sensitive alphanumerics, 1-32
        query_param="clOrdId",
        order_rate=OrderRate(60, 2.0),  # place order: 60 requests / 2 s per instrument
        request_expiry_ms=30_000,  # requests more than 30 s from server time are refused
        fee_currency="received",
        errors=ErrorCodes(timestamp=frozenset({"50102"}), duplicate_client_id=frozenset({"51016"}),
                          rate_limited=frozenset({"50011", "50061"})),
        load_options={"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        notes="ccxt prefixes its broker id only when no clOrdId is given"),
    "kucoin": dict(
        client_id=ClientIdRules(40, ALNUM + "-_"),  # clientOid: letters, digits, _ and -; max 40
        query_param="clientOid",
        order_rate=OrderRate(45, 3.0),
        request_expiry_ms=5_000,  # KC-API-TIMESTAMP must be within 5 s of server time
        fee_currency="quote",  # spot fees in the quote currency (market feeCurrency)
        errors=ErrorCodes(timestamp=frozenset({"400002"}), rate_limited=frozenset({"429000"})),
        notes="private endpoints: resource pools with weights per 30 s"),
    "kraken": dict(
        client_id=ClientIdRules(18, ALNUM + "-_"),  # cl_ord_id: free text up to 18 characters (or a UUID)
        order_rate=OrderRate(15, 20.0),  # starter tier counter 15, decaying 0.33/s (conservative)
        fee_currency="quote",
        errors=ErrorCodes(timestamp=frozenset({"EAPI:Invalid nonce"}),
                          rate_limited=frozenset({"EAPI:Rate limit exceeded", "EOrder:Rate limit exceeded"})),
        notes="symbols differ from ids: BTC/USDT is XBTUSDT (base asset XXBT); nonce-based signing"),
}
NAMED = tuple(QUANTDESK_TABLE)


def capabilities_for(exchange_id: str, *, exchange: Any = None, **overrides: Any) -> VenueCapabilities:
    """The capabilities of a ccxt exchange: our table (or GENERIC) merged with what its ccxt class declares.

    `exchange` is an existing ccxt instance (else the class is instantiated offline, no request is made);
    `overrides` replace fields (e.g. `order_rate=OrderRate(10_000, 1)` for the simulator)."""
    import ccxt
    import ccxt.pro as ccxt_pro

    name = exchange_id.strip().lower()
    if name not in ccxt.exchanges:
        raise NotFoundError(f"exchange {exchange_id!r} is not a ccxt exchange id")
    instance = exchange if exchange is not None else getattr(ccxt, name)()
    features = ((getattr(instance, "features", None) or {}).get("spot") or {}).get("createOrder") or {}
    tif = features.get("timeInForce") or {}
    pro_cls = getattr(ccxt_pro, name, None)
    pro_has = pro_cls().has if pro_cls is not None else {}
    streams = frozenset(k for k, v in pro_has.items() if k.startswith("watch") and v is True)
    expiry = (getattr(instance, "options", None) or {}).get("recvWindow")
    derived: dict[str, Any] = dict(
        exchange=name,
        time_in_force=frozenset(k for k in ("GTC", "IOC", "FOK", "GTD") if tif.get(k)),
        post_only=bool(tif.get("PO")),
        market_buy_by_cost=bool(features.get("marketBuyByCost")),
        precision_mode=PRECISION_MODES.get(int(getattr(instance, "precisionMode", 4)), "tick_size"),
        request_spacing_ms=float(getattr(instance, "rateLimit", 100) or 100),
        request_expiry_ms=int(expiry) if isinstance(expiry, (int, float)) and expiry > 0 else None,
        streams=streams,
    )
    table = QUANTDESK_TABLE.get(name, {})
    merged = {**derived, **{k: v for k, v in table.items() if v is not None}}
    if "request_expiry_ms" not in table and derived["request_expiry_ms"] is not None:
        merged["request_expiry_ms"] = derived["request_expiry_ms"]
    caps = replace(GENERIC, **merged)
    return replace(caps, **overrides) if overrides else caps


@dataclass(frozen=True)
class MarketRules:
    """One market's trading rules from the venue's loaded markets (tick/step as Decimals)."""

    symbol: str
    venue_id: str
    base: str
    quote: str
    tick_size: Decimal | None
    step_size: Decimal | None
    min_qty: Decimal | None
    min_notional: Decimal | None
    maker_fee: Decimal | None
    taker_fee: Decimal | None


def market_rules(exchange: Any, symbol: str) -> MarketRules:
    """The rules of `symbol` on a ccxt exchange whose markets are loaded (NotFoundError if not listed)."""
    from quantdesk.data.ccxt_client import check_symbol

    m = check_symbol(exchange, symbol)
    mode = int(getattr(exchange, "precisionMode", 4))
    prec, limits = m.get("precision") or {}, m.get("limits") or {}

    def step(value: Any) -> Decimal | None:
        if value is None:
            return None
        if mode == 2:  # decimal places -> step
            return Decimal(1).scaleb(-int(value))
        return _dec(value)

    return MarketRules(symbol=m["symbol"], venue_id=str(m["id"]), base=m["base"], quote=m["quote"],
                       tick_size=step(prec.get("price")), step_size=step(prec.get("amount")),
                       min_qty=_dec((limits.get("amount") or {}).get("min")),
                       min_notional=_dec((limits.get("cost") or {}).get("min")),
                       maker_fee=_dec(m.get("maker")), taker_fee=_dec(m.get("taker")))


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def error_codes(exc: BaseException) -> list[str]:
    """The venue's error codes inside a ccxt exception message, most specific last (`"code":-2010`,
    `"retCode":10002`, OKX's `"code":"1"` then `"sCode":"51016"`, Kraken's `EAPI:Invalid nonce`)."""
    text = str(exc)
    codes = re.findall(r'"(?:code|retCode|sCode|ret_code)"\s*:\s*"?(-?\d+)"?', text)
    codes += [m.strip() for m in re.findall(r"\b(E[A-Z][a-zA-Z]+:[A-Za-z ]+)", text)]
    return codes


def error_code(exc: BaseException) -> str | None:
    """The most specific venue error code of a ccxt exception, if any."""
    codes = error_codes(exc)
    return codes[-1] if codes else None
