"""Bar timeframes (`1m`, `5m`, `1h`, `4h`, `1d`, `1w`), as used by ccxt."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from quantdesk.core.errors import ParameterError

_UNITS_NS = {
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3_600 * 1_000_000_000,
    "d": 86_400 * 1_000_000_000,
    "w": 7 * 86_400 * 1_000_000_000,
}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


@dataclass(frozen=True, slots=True, order=True)
class Timeframe:
    """A fixed bar length. Months are not supported (they are not fixed-length)."""

    nanos: int

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        if isinstance(text, Timeframe):
            return text
        raw = str(text).strip()
        if raw.endswith("M") or raw.lower().endswith(("mo", "mon", "month")):
            raise ParameterError(f"timeframe {text!r}: months are not fixed-length and not supported; use 1w or 30d")
        match = _PATTERN.match(raw.lower())
        if not match or int(match.group(1)) <= 0:
            raise ParameterError(
                f"timeframe {text!r} is not valid: use a positive number and a unit s/m/h/d/w, e.g. 1m, 15m, 4h, 1d"
            )
        return cls(int(match.group(1)) * _UNITS_NS[match.group(2)])

    @property
    def seconds(self) -> float:
        return self.nanos / 1e9

    @property
    def timedelta(self) -> pd.Timedelta:
        return pd.Timedelta(self.nanos, unit="ns")

    @property
    def pandas_freq(self) -> str:
        return f"{self.nanos // 1_000_000_000}s"

    def __str__(self) -> str:
        for unit in ("w", "d", "h", "m", "s"):
            size = _UNITS_NS[unit]
            if self.nanos % size == 0:
                return f"{self.nanos // size}{unit}"
        return f"{self.nanos}ns"

    def is_multiple_of(self, other: Timeframe) -> bool:
        return self.nanos % other.nanos == 0 and self.nanos >= other.nanos
