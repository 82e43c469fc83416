"""Timestamps of imported files: ISO-8601 text (naive = UTC) or epoch numbers in s/ms/us/ns (unit guessed from
the magnitude unless given), parsed vectorised; rows that fail are masked, not dropped, so validation can name
their lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quantdesk.core.errors import ParameterError
from quantdesk.data.raw_candles import NS_PER_UNIT, TS_UNITS


def guess_epoch_unit(values: np.ndarray) -> str:
    """Epoch unit from magnitude: <1e11 s, <1e14 ms, <1e17 us, else ns (covers 1973..5138 for every unit)."""
    finite = np.abs(values[np.isfinite(values)]) if values.dtype.kind == "f" else np.abs(values)
    if finite.size == 0:
        return "s"
    mag = float(np.median(finite))
    if mag < 1e11:
        return "s"
    if mag < 1e14:
        return "ms"
    if mag < 1e17:
        return "us"
    return "ns"


def parse_timestamps(
    col: pa.ChunkedArray | pa.Array, *, ts_unit: str | None, where: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Parse a timestamp column into (int64 ns UTC, bad-mask, unit used)."""
    if ts_unit is not None and ts_unit not in TS_UNITS:
        raise ParameterError(f"--ts-unit {ts_unit!r} is not one of {', '.join(TS_UNITS)}")
    typ = col.type
    n = len(col)
    if pa.types.is_timestamp(typ):
        nulls = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
        raw = np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        ns, bad = _epoch_to_ns(raw, typ.unit, nulls)  # naive datetimes are taken as UTC
        return ns, bad, "datetime"
    if pa.types.is_date(typ):
        arr = col.cast(pa.timestamp("ns"))
        return parse_timestamps(arr, ts_unit=None, where=where)
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    if numeric and ts_unit != "iso":
        raw = (
            np.asarray(col.to_numpy(zero_copy_only=False))
            if not isinstance(col, pa.ChunkedArray)
            else np.asarray(col.to_numpy())
        )
        nulls = (
            np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
            if col.null_count
            else np.zeros(n, dtype=bool)
        )
        unit = ts_unit or guess_epoch_unit(raw[~nulls] if nulls.any() else raw)
        ns, bad = _epoch_to_ns(raw, unit, nulls)
        return ns, bad, unit
    if numeric and ts_unit == "iso":
        col = col.cast(pa.string())
    text = (
        col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) else col.cast(pa.string())
    )
    if ts_unit in NS_PER_UNIT:
        # text column but an epoch unit was asked for: numbers written as text
        num = pd.to_numeric(pd.Series(text.to_pandas()), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        ns, bad = _epoch_to_ns(num, ts_unit, None)
        return ns, bad, ts_unit
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    text = pc.utf8_trim_whitespace(text)
    # Fast paths: Arrow's ISO-8601 parser (all zoned, or all naive = UTC)
    for target in (pa.timestamp("ns", tz="UTC"), pa.timestamp("ns")):
        try:
            parsed = pc.cast(text, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        ints = np.asarray(
            pc.fill_null(parsed.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        bad = np.asarray(pc.is_null(parsed).to_numpy(zero_copy_only=False), dtype=bool)
        return ints, bad, "iso"
    # Mixed or partly bad: pandas ISO-8601 with coercion, so bad lines can be named
    series = pd.Series(text.to_pandas(), dtype=object)
    if ts_unit is None and _looks_numeric(series):
        # epoch numbers stored as text (e.g. quoted) -> numeric path
        num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        unit = guess_epoch_unit(num)
        ns, bad = _epoch_to_ns(num, unit, None)
        return ns, bad, unit
    try:
        parsed = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
    except (ValueError, OverflowError):  # pragma: no cover - errors="coerce" should make this unreachable
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    in_range = (parsed >= _NS_MIN) & (parsed <= _NS_MAX)  # outside: not representable in ns -> bad
    parsed = parsed.where(in_range).astype("datetime64[ns, UTC]")
    bad = parsed.isna().to_numpy()
    ints = parsed.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64(0, "ns")).view(np.int64)
    return np.asarray(ints, dtype=np.int64), bad, "iso"


_NS_MIN = pd.Timestamp("1677-09-22", tz="UTC")
_NS_MAX = pd.Timestamp("2262-04-11", tz="UTC")
_NS_LIMIT = 9.2e18


def _epoch_to_ns(raw: np.ndarray, unit: str, nulls: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers -> int64 ns; non-finite or out-of-range values (e.g. a wrong --ts-unit) are marked bad."""
    mult = NS_PER_UNIT[unit]
    if raw.dtype.kind == "f":
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = raw * mult
        bad = ~np.isfinite(scaled) | (np.abs(np.nan_to_num(scaled, nan=0.0)) >= _NS_LIMIT)
        if nulls is not None:
            bad |= nulls
        ns = np.where(bad, 0.0, np.round(np.where(bad, 0.0, scaled))).astype(np.int64)
        if mult > 1:  # whole-unit values: exact integer arithmetic (floats lose ns precision above 2^53)
            whole = ~bad & (raw == np.round(raw)) & (np.abs(raw) < 2**53)
            ns[whole] = raw[whole].astype(np.int64) * mult
        return ns, bad
    ints = raw.astype(np.int64)
    bad = np.abs(ints.astype(np.float64)) * mult >= _NS_LIMIT
    if nulls is not None:
        bad |= nulls
    return np.where(bad, 0, ints) * mult, bad


def _looks_numeric(series: pd.Series) -> bool:
    sample = series.dropna().head(50)
    if sample.empty:
        return False
    return bool(pd.to_numeric(sample, errors="coerce").notna().mean() > 0.9)


