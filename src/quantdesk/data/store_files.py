"""The candle store's files: Parquet schema, per-series metadata (the catalog entry), atomic writes, and the
directory name of a symbol. Layout and design: quantdesk.data.store.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from quantdesk.core.timeutil import iso, utc_now_ns
from quantdesk.data.io import OHLCV
from quantdesk.data.validation_report import format_duration

META_KEY = b"quantdesk"
FORMAT_VERSION = 1
_SCHEMA = pa.schema(
    [pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False)]
    + [pa.field(k, pa.float64()) for k in OHLCV]
)



def symbol_dirname(symbol: str) -> str:
    return symbol.replace("/", "-").replace(":", "_")



def series_meta(
    ex: str,
    sym: str,
    tf: str,
    rows: int,
    first_ns: int,
    last_ns: int,
    gaps: int,
    missing: int,
    largest_ns: int,
    source: str,
) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "exchange": ex,
        "symbol": sym,
        "timeframe": tf,
        "rows": rows,
        "first": iso(first_ns),
        "last": iso(last_ns),
        "first_ns": first_ns,
        "last_ns": last_ns,
        "gaps": gaps,
        "missing_bars": missing,
        "largest_gap": format_duration(largest_ns) if gaps else None,
        "largest_gap_ns": largest_ns if gaps else 0,
        "source": source,
        "updated": iso(utc_now_ns() // 10**9 * 10**9),
    }


def write_segment(path: Path, ts: np.ndarray, cols: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Atomic Parquet write (temporary file + rename) carrying the series metadata."""
    table = pa.table(
        [pa.array(ts, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))]
        + [pa.array(cols[k], pa.float64()) for k in OHLCV],
        schema=_SCHEMA,
    )
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # no dictionary pages (slow to build for float prices), LZ4, delta-encoded sorted timestamps:
        # about 4x faster to write than the defaults, and as fast to read
        pq.write_table(
            table,
            tmp,
            compression="lz4",
            use_dictionary=False,
            row_group_size=256 * 1024,
            column_encoding={"timestamp": "DELTA_BINARY_PACKED"},
        )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def catalog_entry(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    keys = (
        "exchange",
        "symbol",
        "timeframe",
        "first",
        "last",
        "rows",
        "gaps",
        "missing_bars",
        "largest_gap",
        "source",
        "updated",
    )
    entry = {k: meta.get(k) for k in keys}
    entry["path"] = str(path)
    return entry

