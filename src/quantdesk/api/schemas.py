"""Request bodies (validated: a bad field gives 422 naming it) and a few response models.

Bodies are STRICT: a boolean is not a number (`"quantity": true` is a 422, not 1), a string is not a number,
NaN and infinities are refused, unknown fields are refused; the OpenAPI schema says exactly that.
Symbols are what the candle store accepts (`quantdesk.model.identifiers.normalize_symbol`): BASE/QUOTE with
letters, digits, `_`, `.`, `-` (plus `:SETTLE`), or BASE-QUOTE; case-insensitive.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

NAME = r"^[A-Za-z0-9_.:\-]{1,64}$"
# an exchange as the candle store names it (quantdesk.model.identifiers.normalize_venue; any case, stored lower)
EXCHANGE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
# text with at least one character that is neither white space (Python's or JSON Schema's) nor a control one
WORDS = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_PART = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,29}"
_SYMBOL = (rf"(?:{_PART}/{_PART}(?::[A-Za-z0-9._\-]{{1,20}})?"  # BASE/QUOTE[:SETTLE]
           r"|[A-Za-z0-9][A-Za-z0-9._]{0,29}-[A-Za-z0-9][A-Za-z0-9._]{0,29})")  # BASE-QUOTE
SYMBOL = rf"^{_SYMBOL}$"
SYMBOL_LIST = rf"^ *{_SYMBOL} *(?:, *{_SYMBOL} *){{0,19}}$"  # 1-20 symbols, comma separated
TIMEFRAME = r"^[1-9][0-9]{0,3}[smhdw]$"  # months are not fixed-length: not a timeframe
# A UTC time the store can hold (nanoseconds: years 1678-2261): a date or a date and time, ISO-8601, with an
# optional zone; only real calendar days (Feb 29 in leap years). The schema says it, the server checks it.
_YEAR = r"(?:167[89]|16[89]\d|1[7-9]\d\d|2[01]\d\d|22[0-5]\d|226[01])"
_LEAP = (r"(?:16(?:8[048]|9[26])|1[7-9](?:0[48]|[2468][048]|[13579][26])|2[01](?:0[48]|[2468][048]|[13579][26])"
         r"|2000|22(?:0[48]|[24][048]|[135][26]|60))")
_MONTH_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_CLOCK = (r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"
          r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?")
TIME = rf"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29){_CLOCK}$"
TIME_DOC = "UTC time, ISO-8601 date or date-time (years 1678-2261), e.g. 2022-01-05 or 2022-01-05T12:00:00Z."


def time_query(description: str = TIME_DOC) -> Any:
    """An optional time query parameter: the schema's TIME pattern, enforced by the server."""
    return Query(default=None, max_length=40, pattern=TIME, description=description)


def time_field(description: str = TIME_DOC) -> Any:
    """An optional time field of a body: the schema's TIME pattern, enforced by the server."""
    return Field(default=None, max_length=40, pattern=TIME, description=description)


# built-in strategies only: the API never imports user code ('module:Class' stays a CLI/library feature)
STRATEGY = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


def _integer(value: Any) -> Any:
    """JSON Schema's integer: 3 and 3.0 (a number with no fraction), never true/false or "3"."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_integer)]
Symbol = Annotated[str, Field(pattern=SYMBOL, max_length=80)]
Speed = Annotated[float, Field(ge=0, lt=1e9)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # optional, not nullable: absent is the default, null is not a value


def optional_number(**kw: Any) -> Any:
    """An optional number that is not nullable (absent = not given; null is refused like any non-number)."""
    return Field(default=None, json_schema_extra=_no_default, **kw)


def _exactly_one(*names: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [n]} for n in names]}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class StartPaper(_Body):
    name: str | None = Field(default=None, pattern=NAME, description="Bot name (default: strategy + random).")
    strategy: str = Field(pattern=STRATEGY, examples=["sma_cross"], description="A built-in strategy name.")
    params: dict[str, float | int | str | bool] = Field(default_factory=dict, examples=[{"fast": 5, "slow": 20}])
    symbols: list[Symbol] = Field(default_factory=lambda: ["BTC/USDT"], min_length=1, max_length=20)
    timeframe: str = Field(default="1m", pattern=TIMEFRAME)
    speed: Speed | Literal["max"] = Field(default="max", description="x real time; 'max' = no wait.")
    cash: float = Field(default=10_000.0, gt=0, le=1e12)
    risk: bool | dict[str, Any] = Field(
        default=True, examples=[True, {"sizing": {"method": "fixed_fraction", "fraction": 0.1}}],
        description="true = the configured [risk] limits, false = none, an object = the configured limits with "
                    "these keys replaced (e.g. a sizer so that all-cash strategies fit the position limit).")
    start: str | None = Field(default=None, max_length=40, pattern=TIME, description=TIME_DOC)
    end: str | None = Field(default=None, max_length=40, pattern=TIME, description=TIME_DOC)
    fee: float = Field(default=0.001, ge=0, lt=0.1)


class StopPaper(_Body):
    bot: str | None = Field(default=None, pattern=NAME)


class ManualTrade(_Body):
    """A manual market order: exactly one of quantity, notional, confidence (the schema says so: oneOf)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("quantity", "notional", "confidence"))

    bot: str | None = Field(default=None, pattern=NAME)
    side: Literal["buy", "sell"]
    # not nullable: present means given (the oneOf above counts present fields)
    quantity: float = optional_number(gt=0, le=1e12)
    notional: float = optional_number(gt=0, le=1e15)
    confidence: float = optional_number(gt=0, le=1)
    symbol: str | None = Field(default=None, pattern=SYMBOL)
    reason: str = Field(default="api", max_length=500)

    @model_validator(mode="after")
    def _one(self) -> ManualTrade:
        if sum(x is not None for x in (self.quantity, self.notional, self.confidence)) != 1:
            raise ValueError("give exactly one of quantity, notional, confidence")
        return self


class ForceExit(_Body):
    symbol: str | None = Field(default=None, pattern=SYMBOL, description="Default: the bot's first symbol.")
    reason: str = Field(default="", max_length=500)


class SimulateSignals(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    n: Int = Field(default=5, ge=1, le=100)
    seed: Int = Field(default=0, ge=0, le=2**31)


class NewOrder(_Body):
    """Exactly one of quantity, notional; a `price` for limit and stop orders and none for market orders (the
    schema says both: allOf of two oneOf)."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        _exactly_one("quantity", "notional"),
        {"oneOf": [{"properties": {"type": {"const": "market"}}, "not": {"required": ["price"]}},
                   {"properties": {"type": {"enum": ["limit", "stop"]}}, "required": ["type", "price"]}]}]})

    bot: str | None = Field(default=None, pattern=NAME)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop"] = Field(
        default="market", description="market: fills at the next bar's open; limit/stop: work at `price`.")
    # not nullable: present means given (the schema's oneOf count present fields)
    price: float = optional_number(gt=0, le=1e12, description="Limit or stop price (not for market).")
    quantity: float = optional_number(gt=0, le=1e12)
    notional: float = optional_number(gt=0, le=1e15)
    symbol: str | None = Field(default=None, pattern=SYMBOL)
    reason: str = Field(default="api order", max_length=500)

    @model_validator(mode="after")
    def _price(self) -> NewOrder:
        if (self.quantity is None) == (self.notional is None):
            raise ValueError("give exactly one of quantity, notional")
        if self.type == "market" and self.price is not None:
            raise ValueError("price: a market order takes no price")
        if self.type != "market" and self.price is None:
            raise ValueError(f"price: a {self.type} order needs a price")
        return self


class BacktestRequest(_Body):
    strategy: str = Field(pattern=STRATEGY, examples=["sma_cross"], description="A built-in strategy name.")
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    symbol: str = Field(default="BTC/USDT", pattern=SYMBOL)
    timeframe: str = Field(default="1h", pattern=TIMEFRAME)
    exchange: str | None = Field(default=None, pattern=EXCHANGE)
    start: str | None = Field(default=None, max_length=40, pattern=TIME, description=TIME_DOC)
    end: str | None = Field(default=None, max_length=40, pattern=TIME, description=TIME_DOC)
    cash: float = Field(default=10_000.0, gt=0, le=1e12)
    fee: float = Field(default=0.001, ge=0, lt=0.1)
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)
    margin: bool = False


class RiskAction(_Body):
    bot: str | None = Field(default=None, pattern=NAME)
    reason: str = Field(default="", max_length=500)


class ApiVersion(BaseModel):
    api_version: str = Field(description="MAJOR.MINOR; the major is the path prefix (/api/v1).")
    app_version: str = Field(description="The QuantDesk release serving it.")


class WhoAmI(BaseModel):
    id: str
    name: str
    read_only: bool


class WsTicket(BaseModel):
    ticket: str = Field(description="Open /ws?ticket=... with it: one use.")
    expires_in: float = Field(description="Seconds it stays valid.")


class Accepted(BaseModel):
    id: str
    status: str


class Health(BaseModel):
    status: str = Field(description="ok | degraded | down (down: the database does not answer).")
    components: dict[str, dict[str, Any]]
    degraded: list[str] = Field(default_factory=list, description="Why: one reason per component that is not ok.")
    uptime_s: float


class Message(BaseModel):
    detail: Any
