"""`quantdesk indicators ...`: browse the indicator catalog and compute an indicator on stored candles."""

from __future__ import annotations

import io
import json
import sys
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from quantdesk.cli.output import OutputState, emit, frame_table
from quantdesk.core.errors import ParameterError
from quantdesk.core.jsonable import to_jsonable

indicators_app = typer.Typer(help="Technical indicators: list the catalog, compute on stored candles.", no_args_is_help=True)

FORMATS = ("table", "csv", "json")


def register(app: typer.Typer) -> None:
    app.add_typer(indicators_app, name="indicators")


def _param_text(params: list[dict[str, Any]]) -> str:
    parts = []
    for p in params:
        rng = ""
        if p.get("choices"):
            rng = "{" + ",".join(str(c) for c in p["choices"]) + "}"
        elif p.get("min") is not None or p.get("max") is not None:
            rng = f"[{_num(p.get('min'))}..{_num(p.get('max'))}]"
        parts.append(f"{p['name']}={p['default']}{rng}")
    return ", ".join(parts) or "-"


def _num(v: Any) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else str(v)


@indicators_app.command("list")
def list_cmd(
    group: Annotated[str | None, typer.Option("--group", "-g", help="Only this group (e.g. momentum, pattern).")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Case-insensitive text in the name, TA-Lib name or description.")
    ] = None,
) -> None:
    """List indicators: name, group, inputs, parameters with defaults, outputs, TA-Lib name."""
    from quantdesk.indicators import catalog

    entries = catalog()
    if group:
        groups = sorted({e["group"] for e in entries})
        if group.lower() not in groups:
            raise ParameterError(f"unknown group {group!r}; groups are {', '.join(groups)}")
        entries = [e for e in entries if e["group"] == group.lower()]
    if search:
        text = search.lower()
        entries = [
            e
            for e in entries
            if text in e["name"] or text in (e["talib"] or "").lower() or text in e["description"].lower()
        ]

    def render(console, data):
        from rich.table import Table

        table = Table(title=f"{len(data)} indicators")
        for col in ("name", "group", "inputs", "params", "outputs", "talib"):
            table.add_column(col, overflow="fold", no_wrap=col in ("name", "talib"))
        for e in data:
            table.add_row(
                e["name"],
                e["group"],
                ",".join(e["inputs"]),
                _param_text(e["params"]),
                ",".join(e["outputs"]),
                e["talib"] or "-",
            )
        console.print(table)

    emit(entries, render)


def _coerce_params(spec, pairs: list[str]) -> dict[str, Any]:
    known = {p.name: p for p in spec.params}
    values: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParameterError(f"{spec.name}: --param must look like key=value, got {pair!r}")
        key, _, raw = pair.partition("=")
        key = key.strip()
        if key not in known:
            raise ParameterError(
                f"{spec.name}: unknown parameter {key!r}; expected {', '.join(sorted(known)) or 'none'}"
            )
        values[key] = known[key].validate(spec.name, raw.strip())
    return values


@indicators_app.command("compute")
def compute_cmd(
    name: Annotated[str, typer.Argument(help="Indicator name, e.g. rsi, bbands, cdl_engulfing.", show_default=False)],
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol, e.g. BTC/USDT.")] = "BTC/USDT",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length, e.g. 1m, 1h.")] = "1h",
    exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange (default: the one holding the data).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First bar (UTC, inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last bar (UTC, inclusive).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Parameter key=value. Repeatable.")] = None,
    tail: Annotated[int | None, typer.Option("--tail", "-n", help="Only the last N rows.", min=1)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """Compute an indicator over stored candles and print time + outputs."""
    from quantdesk import data
    from quantdesk.indicators import registry

    if fmt not in FORMATS:
        raise ParameterError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    spec = registry.get(name)
    params = _coerce_params(spec, param or [])
    candles = data.load(symbol, timeframe, exchange=exchange, start=start, end=end)
    frame = candles
    if "timestamp" in spec.inputs and "timestamp" not in candles.columns:
        frame = candles.assign(timestamp=_epoch_ns(candles.index))
    result = registry.compute(spec.name, frame, **params)
    result.index.name = "time"
    if tail is not None:
        result = result.tail(tail)

    doc = {
        "indicator": spec.name,
        "symbol": symbol,
        "timeframe": timeframe,
        "params": spec.validate_params(params),
        "rows": result,
    }
    if OutputState.json or fmt == "json":
        print(json.dumps(to_jsonable(doc), indent=2))
        return
    if fmt == "csv":
        buf = io.StringIO()
        result.to_csv(buf, index=True, date_format="%Y-%m-%dT%H:%M:%SZ")
        sys.stdout.write(buf.getvalue())
        return
    emit(doc, lambda console, d: console.print(frame_table(d["rows"], title=f"{spec.name} {symbol} {timeframe}")))


def _epoch_ns(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        idx = index.tz_convert("UTC") if index.tz is not None else index
        return idx.as_unit("ns").asi8.astype(np.float64)
    return np.asarray(index, dtype=np.float64)
