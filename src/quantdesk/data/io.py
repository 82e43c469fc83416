"""Readers: CSV and Parquet OHLCV files -> `RawCandles` (values as read, plus each row's line in the file).

Nothing here judges the data: bad values are kept (as NaN / a failed-timestamp mask) so that validation can
name the exact LINE of every problem. Reading is vectorised: pyarrow.csv parses the file, timestamps are
parsed by Arrow (fast path) or pandas (fallback), never row by row in Python.

Column matching is case-insensitive with common aliases (see `ALIASES`). Timestamps may be ISO-8601 (with or
without a zone; naive = UTC; date-only allowed) or epoch numbers in s/ms/us/ns (unit guessed from magnitude
unless `ts_unit` is given).

Split by role: `raw_candles` (the result and column matching), `csv_reader`, `timestamp_parsing`; this module
holds the Parquet reader, `read_file` (either format) and the writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from quantdesk.core.errors import DataError
from quantdesk.data.csv_reader import arrow_message, arrow_to_float, read_csv
from quantdesk.data.raw_candles import OHLCV, PRICE_COLUMNS, RawCandles, layout_error, match_columns
from quantdesk.data.timestamp_parsing import parse_timestamps


# ---------------------------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------------------------
def read_parquet(path: str | Path, *, ts_unit: str | None = None) -> RawCandles:
    path = Path(path)
    _read_bytes_check(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({arrow_message(exc)})") from None
    columns = list(table.column_names)
    meta_index = _pandas_index_columns(table)
    visible = [c for c in columns if c not in meta_index or not c.startswith("__index_level_")]
    mapping = match_columns(visible, str(path))
    if "timestamp" not in mapping:
        # a datetime index stored by pandas (named or __index_level_0__)
        for name in meta_index:
            if name in columns and (
                pa.types.is_timestamp(table.schema.field(name).type) or name.startswith("__")
            ):
                mapping["timestamp"] = name
                break
    missing = [k for k in ("timestamp", *OHLCV) if k not in mapping]
    if missing:
        raise layout_error(str(path), [c for c in columns if not c.startswith("__index_level_")], mapping)
    n = table.num_rows
    if n == 0:
        raise DataError(f"{path}: the Parquet file has no rows")
    values: dict[str, np.ndarray] = {}
    bad_cells: dict[str, np.ndarray] = {}
    for key in OHLCV:
        values[key], bad = arrow_to_float(table.column(mapping[key]))
        if bad is not None and bad.any():
            bad_cells[key] = bad
    ts_col = table.column(mapping["timestamp"])
    ts, ts_bad, unit = parse_timestamps(ts_col, ts_unit=ts_unit, where=str(path))
    ts_text = np.asarray(ts_col.cast(pa.string()).to_pylist(), dtype=object) if ts_bad.any() else None
    return RawCandles(
        path=str(path),
        ts=ts,
        ts_bad=ts_bad,
        ts_text=ts_text,
        values=values,
        line=np.arange(1, n + 1, dtype=np.int64),
        line_word="row",
        bad_cells=bad_cells,
        ts_unit=unit,
        columns_found=columns,
    )


def _read_bytes_check(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")


def _pandas_index_columns(table: pa.Table) -> list[str]:
    meta = table.schema.pandas_metadata or {}
    out = []
    for idx in meta.get("index_columns", []):
        if isinstance(idx, str):
            out.append(idx)
    return out


def read_file(path: str | Path, *, ts_unit: str | None = None) -> RawCandles:
    """Read a CSV (any extension other than .parquet/.pq) or Parquet file into RawCandles."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq", ".parq"):
        return read_parquet(path, ts_unit=ts_unit)
    if path.exists() and path.is_file():
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            return read_parquet(path, ts_unit=ts_unit)
    return read_csv(path, ts_unit=ts_unit)


# ---------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------
def candles_to_table(df: pd.DataFrame, *, iso_text: bool) -> pa.Table:
    """Canonical frame -> Arrow table with `timestamp` first (ISO-8601 `...Z` text, or timestamp[ns, UTC])."""
    ts = np.asarray(cast(pd.DatetimeIndex, df.index).tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    if iso_text:
        whole = ts.size == 0 or not np.any(ts % 1_000_000_000)
        unit = "s" if whole else "ns"
        naive = pa.array(ts // (1_000_000_000 if whole else 1), pa.int64()).cast(pa.timestamp(unit))
        text = pc.replace_substring(naive.cast(pa.string()), " ", "T", max_replacements=1)
        tcol = pc.binary_join_element_wise(text, "Z", "")
    else:
        tcol = pa.array(ts, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    cols = [tcol] + [pa.array(np.asarray(df[k], dtype=np.float64)) for k in OHLCV]
    return pa.Table.from_arrays(cols, names=["timestamp", *OHLCV])


def write_candles(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a canonical frame as CSV (`timestamp,open,high,low,close,volume`, ISO-8601 UTC) or Parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq", ".parq"):
        pq.write_table(candles_to_table(df, iso_text=False), path)
    else:
        table = candles_to_table(df, iso_text=True)
        with path.open("wb") as fh:
            fh.write(("timestamp," + ",".join(OHLCV) + "\n").encode())
            pcsv.write_csv(
                table, fh, write_options=pcsv.WriteOptions(include_header=False, quoting_style="none")
            )
    return path


__all__ = ["OHLCV", "PRICE_COLUMNS", "RawCandles", "candles_to_table", "read_csv", "read_file", "read_parquet",
           "write_candles"]
