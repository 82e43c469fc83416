"""UTC time helpers: ISO-8601 text <-> integer nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from quantdesk.core.errors import ParameterError

NS_MIN, NS_MAX = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")


def parse_utc(value: str | int | datetime | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """Parse a user-supplied time (ISO-8601 date or datetime, or epoch ns int) as a UTC Timestamp in nanoseconds.
    Times outside what nanoseconds hold (1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z) are a ParameterError."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return pd.Timestamp(value, unit="ns", tz="UTC")
        ts = pd.Timestamp(value)
        if ts is not pd.NaT:
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            ts = ts.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise ParameterError(f"{name}: {value!r} is out of range: times must lie between {iso(NS_MIN)} and "
                             f"{iso(NS_MAX)}") from None
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{name}: cannot parse {value!r} as a UTC time ({exc})") from None
    if ts is pd.NaT:
        raise ParameterError(f"{name}: empty time")
    return ts


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
