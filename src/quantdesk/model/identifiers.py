"""Typed identifiers. Symbols follow ccxt's unified form: `BASE/QUOTE` (e.g. `BTC/USDT`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from quantdesk.core.errors import ParameterError

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._-]*/[A-Z0-9][A-Z0-9._-]*(:[A-Z0-9._-]+)?$")
_VENUE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def normalize_symbol(symbol: str) -> str:
    """Upper-case and validate a ccxt-style symbol (`btc/usdt` -> `BTC/USDT`; `BTC-USDT` is accepted too)."""
    text = symbol.strip().upper()
    if "/" not in text and "-" in text and text.count("-") == 1:
        text = text.replace("-", "/")
    if not _SYMBOL.match(text):
        raise ParameterError(f"symbol {symbol!r} is not of the form BASE/QUOTE (e.g. BTC/USDT)")
    return text


def normalize_venue(venue: str) -> str:
    text = venue.strip().lower()
    if not _VENUE.match(text):
        raise ParameterError(f"exchange {venue!r} must be a lower-case name such as 'binance' or 'coinbase'")
    return text


@dataclass(frozen=True, slots=True)
class InstrumentId:
    """An instrument on a venue: `InstrumentId("BTC/USDT", "binance")`, printed `BTC/USDT@binance`."""

    symbol: str
    venue: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "venue", normalize_venue(self.venue))

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1].split(":")[0]

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        if "@" not in text:
            raise ParameterError(f"instrument id {text!r} must look like SYMBOL@venue, e.g. BTC/USDT@binance")
        symbol, venue = text.rsplit("@", 1)
        return cls(symbol, venue)

    def __str__(self) -> str:
        return f"{self.symbol}@{self.venue}"
