"""What the readers return (`RawCandles`: values as read, each row's line in the file) and how file columns
are matched to OHLCV (case-insensitive, with the common aliases of `ALIASES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from quantdesk.core.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV = ("open", "high", "low", "close", "volume")

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp",
        "time",
        "date",
        "datetime",
        "ts",
        "date_time",
        "open_time",
        "opentime",
        "time_open",
        "timestamp_utc",
        "unix",
        "unix_timestamp",
        "t",
    ),
    "open": ("open", "o", "open_price", "opening_price"),
    "high": ("high", "h", "high_price", "max"),
    "low": ("low", "l", "low_price", "min"),
    "close": ("close", "c", "close_price", "closing_price", "last", "price_close"),
    "volume": ("volume", "vol", "v", "volume_base", "base_volume", "qty", "quantity"),
}
TS_UNITS = ("s", "ms", "us", "ns", "iso")
NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
DELIMITERS = (",", ";", "\t", "|")


@dataclass
class RawCandles:
    """Rows exactly as read from one file, in file order.

    `ts` is int64 ns UTC (0 where `ts_bad`); prices/volume float64 with NaN for missing/unparseable cells;
    `line` is the 1-based line number in the file (header = line 1) or the 1-based row number for Parquet;
    `bad_cells` maps column -> boolean mask of cells that had text that is not a number.
    """

    path: str
    ts: np.ndarray
    ts_bad: np.ndarray
    ts_text: np.ndarray | None
    values: dict[str, np.ndarray]
    line: np.ndarray
    line_word: str = "line"
    bad_cells: dict[str, np.ndarray] = field(default_factory=dict)
    ts_unit: str = "iso"
    columns_found: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def _canon(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().strip('"').strip().lower())


def match_columns(columns: list[str], path: str) -> dict[str, str]:
    """Map canonical names (timestamp/open/.../volume) to the file's own column names. Two columns that map to
    the same field (`close` and `Close`, or `time` and `date`) are refused: reading one of them silently could
    be the wrong one."""
    canon: dict[str, str] = {}
    for col in columns:
        canon.setdefault(_canon(col), col)
    mapping: dict[str, str] = {}
    for target, aliases in ALIASES.items():
        hits = [(i, c) for i, c in enumerate(columns) if _canon(c) in aliases]
        if len(hits) > 1:
            where = ", ".join(f"{c!r} (column {i + 1})" for i, c in hits)
            raise DataError(f"{path}: columns {where} all map to {target}: keep one of them (or rename the others)")
        for alias in aliases:
            if alias in canon:
                mapping[target] = canon[alias]
                break
    # "volume_btc"/"volume_usd"-style names: take a volume_* column when there is exactly one candidate
    if "volume" not in mapping:
        vols = [c for k, c in canon.items() if k.startswith("volume") or k.startswith("vol_")]
        if len(vols) == 1:
            mapping["volume"] = vols[0]
    return mapping


def layout_error(path: str, found: list[str], mapping: dict[str, str], need_ts: bool = True) -> DataError:
    missing = [k for k in ("timestamp", *OHLCV) if k not in mapping and (need_ts or k != "timestamp")]
    expected = "; ".join(f"{k} ({'/'.join(ALIASES[k][:5])})" for k in missing)
    shown = ", ".join(found) if found else "(none)"
    return DataError(
        f"{path}: unknown column layout: found columns: {shown}; missing: {', '.join(missing)}. "
        f"Expected (case-insensitive): {expected}"
    )


