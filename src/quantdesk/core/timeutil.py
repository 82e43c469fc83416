"""UTC time helpers: ISO-8601 text <-> integer nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from quantdesk.core.errors import ParameterError


def parse_utc(value: str | int | datetime | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """Parse a user-supplied time (ISO-8601 date or datetime, or epoch ns int) as a UTC Timestamp."""
    try:
        if isinstance(value, int):
            return pd.Timestamp(value, unit="ns", tz="UTC")
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name}: cannot parse {value!r} as a UTC time ({exc})") from None
    if ts is pd.NaT:
        raise ParameterError(f"{name}: empty time")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def iso(ts: pd.Timestamp | datetime | int) -> str:
    """UTC ISO-8601 with a trailing Z (`2024-01-01T00:00:00Z`)."""
    if isinstance(ts, int):
        ts = pd.Timestamp(ts, unit="ns", tz="UTC")
    if isinstance(ts, datetime) and not isinstance(ts, pd.Timestamp):
        ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = ts.isoformat()
    return text.replace("+00:00", "Z")


def utc_now_ns() -> int:
    """Wall-clock now; only for code that is explicitly about real time (logs, WallClock)."""
    return int(datetime.now(UTC).timestamp() * 1e9)
