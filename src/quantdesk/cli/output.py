"""How commands print: rich tables for people, one JSON document on stdout with --json.

Every command that prints results calls `emit(data, render=...)`. With `--json` the data is dumped as JSON
(timestamps as UTC ISO-8601); otherwise `render(console, data)` draws it for people.
Logs and progress bars go to stderr (`err_console`) so stdout stays clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from quantdesk.core.jsonable import to_jsonable
from quantdesk.core.numfmt import decimals_needed, format_key, infer_kind

console = Console()
err_console = Console(stderr=True)


class OutputState:
    """Global CLI output options, set once by the root callback."""

    json: bool = False


def emit(data: Any, render: Callable[[Console, Any], None] | None = None) -> None:
    """Print a command's result: JSON document with --json, else `render` (or a generic view)."""
    if OutputState.json:
        print(json.dumps(to_jsonable(data), indent=2))
        return
    if render is not None:
        render(console, data)
    elif isinstance(data, pd.DataFrame):
        console.print(frame_table(data))
    elif isinstance(data, Mapping):
        console.print(kv_table(data))
    elif isinstance(data, Sequence) and data and isinstance(data[0], Mapping):
        console.print(records_table(data))
    else:
        console.print(data)


def kv_table(data: Mapping[str, Any], title: str | None = None) -> Table:
    """Key / value rows; each value formatted by what its key says it is (quantdesk.core.numfmt)."""
    table = Table(title=title, show_header=False, box=None)
    table.add_column(style="bold cyan")
    table.add_column()
    for key, value in data.items():
        table.add_row(str(key), _fmt(value, str(key)))
    return table


def records_table(rows: Sequence[Mapping[Any, Any]], title: str | None = None) -> Table:
    """One row per record; numbers right-aligned and rounded by column (prices at the column's precision)."""
    table = Table(title=title)
    columns = list(rows[0].keys()) if rows else []
    precision: dict[str, int] = {}
    for col in columns:
        if infer_kind(str(col)) == "price":
            precision[col] = decimals_needed(r.get(col) for r in rows)
    for col in columns:
        table.add_column(str(col), justify="right" if _is_num(rows[0].get(col)) else "left")
    for row in rows:
        table.add_row(*(_fmt(row.get(c), str(c), precision.get(c)) for c in columns))
    return table


def columns_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str, str]],
                  title: str | None = None) -> Table:
    """A table whose columns say what they hold: (key, header, kind), kind as in quantdesk.core.numfmt ("pct",
    "fraction", "money", "price", "ratio", ...). Text cells pass through (e.g. "no data")."""
    from quantdesk.core.numfmt import format_value

    table = Table(title=title)
    prec = {k: decimals_needed(r.get(k) for r in rows) for k, _, kind in columns if kind == "price"}
    for _key, header, kind in columns:
        table.add_column(header, justify="left" if kind == "text" else "right")
    for row in rows:
        cells = []
        for key, _, kind in columns:
            v = row.get(key)
            cells.append(_fmt(v) if kind == "text" or isinstance(v, str) or v is None
                         else format_value(v, kind, precision=prec.get(key)))  # type: ignore[arg-type]
        table.add_row(*cells)
    return table


def frame_table(df: pd.DataFrame, title: str | None = None, max_rows: int = 50) -> Table:
    frame = df if len(df) <= max_rows else pd.concat([df.head(max_rows // 2), df.tail(max_rows // 2)])
    frame = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
    rows = frame.to_dict(orient="records")
    table = records_table(rows, title=title)
    if len(df) > max_rows:
        table.caption = f"{len(df)} rows; showing first and last {max_rows // 2}"
    return table


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.number, Decimal)) and not isinstance(v, bool)


def _fmt(value: Any, key: str | None = None, precision: int | None = None) -> str:
    """A cell for people: rounded by the kind its key names (percent, money, price, ratio, quantity); JSON output
    does not come here and keeps full precision."""
    if value is None:
        return "-"
    if isinstance(value, (pd.Timestamp, datetime)):
        if pd.isna(value):
            return "-"
        from quantdesk.core.timeutil import iso

        return iso(value)
    if isinstance(value, Mapping):
        # a breakdown ("denied_by_rule": {"max_position_pct": 3}) is keyed by names, not by what its values are
        breakdown = key is not None and "_by_" in key
        if not value:
            return "none"
        return ", ".join(f"{k}={_fmt(v, key if breakdown else str(k))}" for k, v in value.items())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return format_key(key, value, precision=precision)
    return str(value)
