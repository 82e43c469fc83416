"""The seven PowerTrader timeframes, their names in the original's files and their lengths."""

from __future__ import annotations

from quantdesk.core.errors import ParameterError

#: the original's timeframe names (file suffixes), shortest first: the order of the levels' lines
TIMEFRAMES: tuple[str, ...] = ("1hour", "2hour", "4hour", "8hour", "12hour", "1day", "1week")
TF_SECONDS: dict[str, int] = {
    "1hour": 3600,
    "2hour": 7200,
    "4hour": 14400,
    "8hour": 28800,
    "12hour": 43200,
    "1day": 86400,
    "1week": 604800,
}
#: QuantDesk / ccxt timeframe strings for the same lengths (used to resample stored candles)
TF_PANDAS: dict[str, str] = {
    "1hour": "1h",
    "2hour": "2h",
    "4hour": "4h",
    "8hour": "8h",
    "12hour": "12h",
    "1day": "1D",
    "1week": "7D",
}
_ALIASES = {"1h": "1hour", "2h": "2hour", "4h": "4hour", "8h": "8hour", "12h": "12hour", "1d": "1day",
            "1w": "1week", "24h": "1day", "7d": "1week"}


def is_intraday(tf: str) -> bool:
    """The original treats the hour timeframes as intraday (trained on the older half of their history)."""
    return tf.endswith("hour")


def normalize_timeframe(text: str) -> str:
    """'1h' or '1hour' -> '1hour'; a clear error for anything else."""
    key = text.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TF_SECONDS:
        raise ParameterError(f"unknown PowerTrader timeframe {text!r}; expected one of {', '.join(TIMEFRAMES)}")
    return key


def parse_timeframes(text: str | None) -> tuple[str, ...]:
    """Comma-separated list (None or '' or 'all' = all seven), returned in the canonical order."""
    if text is None or not text.strip() or text.strip().lower() == "all":
        return TIMEFRAMES
    wanted = {normalize_timeframe(t) for t in text.split(",") if t.strip()}
    return tuple(tf for tf in TIMEFRAMES if tf in wanted)
