"""What the simulated exchange is: one spot market, its trading rules, fees, starting balances and API keys.

Every amount is a `Decimal` (exact decimal text, like Binance's JSON strings). `SimConfig.validated()` checks the
values and fills the defaults that depend on the data (tick size) or the quote currency (minimum notional), and
raises a `ParameterError` naming the setting for anything out of range.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.model.identifiers import normalize_symbol
from quantdesk.model.timeframe import Timeframe

#: Documented default credentials of the simulator (test credentials, not secrets of anyone).
DEFAULT_API_KEY = "qd-sim-key"
DEFAULT_API_SECRET = "qd-sim-secret"
USD_LIKE = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR", "USDP"})
FEE_ASSETS = ("quote", "received")
#: Binance's spot kline intervals (the simulator serves the one of its data file).
BINANCE_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w")


DECIMAL_FIELDS = ("tick_size", "step_size", "min_qty", "max_qty", "min_notional", "maker_fee", "taker_fee",
                  "level_qty", "participation")
OPTIONAL_DECIMALS = frozenset({"tick_size", "min_qty", "min_notional", "participation"})


def dec(value: object, name: str) -> Decimal:
    """A finite Decimal from text/number, or a ParameterError naming the setting."""
    if isinstance(value, bool):
        raise ParameterError(f"{name}: {value!r} is not a decimal number")
    try:
        out = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ParameterError(f"{name}: {value!r} is not a decimal number") from None
    if not out.is_finite():
        raise ParameterError(f"{name}: {value!r} is not a finite number")
    return out


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulated exchange (see docs/exchange-simulator.md for each one's meaning)."""

    data: Path | None = None
    exchange: str | None = None  # without a data file: the candle store's exchange to read (if several)
    symbol: str = "BTC/USDT"
    timeframe: str = "1m"
    speed: float = 60.0  # simulated seconds per wall second; 0 = manual clock (advance() moves it)
    start: str | None = None  # UTC time of the first simulated moment (default: the first candle's open)
    tick_size: Decimal | None = None  # None = the finest decimal step of the data's prices
    step_size: Decimal = Decimal("0.00001")
    min_qty: Decimal | None = None  # None = step_size
    max_qty: Decimal = Decimal("9000")
    min_notional: Decimal | None = None  # None = 5 for USD-like quotes, else 0.0001
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    fee_asset: str = "quote"  # quote: every fee in the quote asset; received: Binance's (the asset received)
    spread_ticks: int = 0  # best ask = last trade + spread_ticks * tick; best bid = last trade
    depth_levels: int = 20
    level_qty: Decimal = Decimal("1")  # quantity shown on each synthetic book level (base units)
    participation: Decimal | None = None  # max fraction of a tick's volume one order may take; None = no cap
    balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("10000")})
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    listen_key_ttl_s: float = 3600.0

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def market_id(self) -> str:
        """Binance's id of the symbol (`BTC/USDT` -> `BTCUSDT`)."""
        return self.base + self.quote

    @property
    def timeframe_ms(self) -> int:
        return Timeframe.parse(self.timeframe).nanos // 1_000_000

    def validated(self) -> SimConfig:
        """A checked copy with data-independent defaults filled (min_qty, min_notional, asset names).

        Amounts may be given as text, int, float or Decimal (floats through their shortest text)."""
        amounts: dict[str, Any] = {name: None if getattr(self, name) is None else dec(getattr(self, name), name)
                                   for name in DECIMAL_FIELDS}
        missing = [n for n in DECIMAL_FIELDS if amounts[n] is None and n not in OPTIONAL_DECIMALS]
        if missing:
            raise ParameterError(f"{', '.join(missing)} must be set")
        try:
            numbers: dict[str, Any] = {
                "speed": float(self.speed), "spread_ticks": int(self.spread_ticks),
                "depth_levels": int(self.depth_levels), "listen_key_ttl_s": float(self.listen_key_ttl_s)}
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"speed, spread_ticks, depth_levels and listen_key_ttl_s must be numbers ({exc})") \
                from None
        return replace(self, **amounts, **numbers)._checked()

    def _checked(self) -> SimConfig:
        symbol = normalize_symbol(self.symbol)
        if "/" not in symbol or ":" in symbol:
            raise ParameterError(f"symbol {self.symbol!r}: the simulator serves one spot market like BTC/USDT")
        tf = str(Timeframe.parse(self.timeframe))
        if tf not in BINANCE_INTERVALS:
            raise ParameterError(f"timeframe {self.timeframe!r}: Binance serves {', '.join(BINANCE_INTERVALS)}")
        if not self.speed >= 0 or self.speed != self.speed or self.speed > 1e7:
            raise ParameterError(f"speed {self.speed!r}: use a number >= 0 (0 = manual clock), at most 1e7")
        for name in ("step_size", "max_qty", "level_qty"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.tick_size is not None and self.tick_size <= 0:
            raise ParameterError(f"tick_size must be > 0, got {self.tick_size}")
        for name in ("maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not Decimal(0) <= value < Decimal("0.1"):
                raise ParameterError(f"{name} {value}: use a fraction of the notional in [0, 0.1), e.g. 0.001")
        if self.fee_asset not in FEE_ASSETS:
            raise ParameterError(f"fee_asset {self.fee_asset!r}: use one of {', '.join(FEE_ASSETS)}")
        if self.spread_ticks < 0 or self.depth_levels < 1 or self.depth_levels > 5000:
            raise ParameterError("spread_ticks must be >= 0 and depth_levels in 1..5000")
        if self.participation is not None and not Decimal(0) < self.participation <= 1:
            raise ParameterError(f"participation {self.participation}: use a fraction in (0, 1]")
        balances = {str(k).upper(): dec(v, f"balance {k}") for k, v in self.balances.items()}
        for asset, amount in balances.items():
            if amount < 0:
                raise ParameterError(f"balance {asset}={amount}: a starting balance cannot be negative")
        if not self.api_key or not self.api_secret:
            raise ParameterError("api_key and api_secret must not be empty")
        if self.listen_key_ttl_s <= 0:
            raise ParameterError("listen_key_ttl_s must be > 0")
        quote = symbol.split("/")[1]
        min_notional = self.min_notional
        if min_notional is None:
            min_notional = Decimal("5") if quote in USD_LIKE else Decimal("0.0001")
        if min_notional < 0:
            raise ParameterError(f"min_notional must be >= 0, got {min_notional}")
        min_qty = self.step_size if self.min_qty is None else self.min_qty
        if min_qty <= 0 or min_qty % self.step_size != 0:
            raise ParameterError(f"min_qty {min_qty} must be a positive multiple of step_size {self.step_size}")
        data = Path(self.data).expanduser() if self.data is not None else None
        return replace(self, symbol=symbol, timeframe=tf, min_notional=min_notional, min_qty=min_qty,
                       balances=balances, data=data, speed=float(self.speed))


def parse_balances(items: list[str] | None) -> dict[str, Decimal]:
    """`["USDT=10000", "BTC=0.5"]` -> {"USDT": Decimal("10000"), "BTC": Decimal("0.5")}."""
    out: dict[str, Decimal] = {}
    for item in items or []:
        asset, sep, amount = item.partition("=")
        if not sep or not asset.strip():
            raise ParameterError(f"--balance {item!r}: use ASSET=AMOUNT, e.g. USDT=10000")
        out[asset.strip().upper()] = dec(amount, f"--balance {asset.strip().upper()}")
    return out
