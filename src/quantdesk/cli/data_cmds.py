"""`quantdesk data ...`: import, list, show, resample, synth (the `download` command lives in download_cmds)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, frame_table, kv_table
from quantdesk.core.errors import DataError, ParameterError

data_app = typer.Typer(
    help="Market data: import files, list the catalog, show, resample, generate synthetic bars.",
    no_args_is_help=True,
)

IMPORT_HELP = """Import a CSV or Parquet file of OHLCV bars into the candle store.

Columns are matched case-insensitively with common aliases (timestamp/time/date/datetime/ts, open/o, high/h, low/l, close/c, volume/vol/v); a pandas datetime index in Parquet works too. Timestamps: ISO-8601 with or without a zone (naive = UTC), or epoch numbers in s/ms/us/ns (guessed from magnitude; force with --ts-unit).

Validation policy: the import is REFUSED (exit 2, nothing stored) when any row has an unparseable timestamp, a missing/NaN/non-numeric value, a price <= 0, high < max(open, close), low > min(open, close), high < low, negative volume, a duplicate timestamp with different values, or a timestamp off the timeframe's grid, or when rows are out of time order. The report names the file and the line numbers (header = line 1).

--repair drop: drop every bad row (all versions of a conflicting duplicate); each dropped line is listed.

--repair sort: sort rows that are out of order (e.g. newest-first exports). Unsorted input is refused by default because it can also mean two files were concatenated, so sorting is explicit. Both repairs can be given: --repair drop --repair sort (or --repair drop,sort).

Exact duplicate rows are always reduced to one copy (reported). Gaps (missing bars) never refuse an import: they are reported and recorded in the catalog; --fill-gaps forward-fills the previous close into O/H/L/C with volume 0 (reported). Bars already stored are merged: identical ones are skipped, different ones refuse the import unless --overwrite."""


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _repairs(values: list[str] | None) -> set[str]:
    out: set[str] = set()
    for v in values or []:
        out.update(x.strip().lower() for x in v.split(",") if x.strip())
    return out


@data_app.command("import", help=IMPORT_HELP)
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file.", show_default=False)],
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length, e.g. 1m, 1h, 1d.")],
    exchange: Annotated[
        str | None,
        typer.Option("--exchange", "-e", help="Exchange name (default: config data.default_exchange)."),
    ] = None,
    ts_unit: Annotated[
        str | None, typer.Option("--ts-unit", help="Timestamp unit: s|ms|us|ns|iso (default: auto-detect).")
    ] = None,
    repair: Annotated[
        list[str] | None, typer.Option("--repair", help="drop and/or sort (see above). Repeatable.")
    ] = None,
    fill_gaps: Annotated[
        bool, typer.Option("--fill-gaps", help="Forward-fill missing bars (volume 0).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace stored bars that have different values.")
    ] = False,
) -> None:
    from quantdesk.data.importer import import_file
    from quantdesk.data.validate import ValidationRefused

    try:
        result = import_file(
            file,
            symbol=symbol,
            timeframe=timeframe,
            exchange=exchange,
            ts_unit=ts_unit,
            repair=_repairs(repair),
            fill_gaps=fill_gaps,
            overwrite=overwrite,
        )
    except ValidationRefused as exc:
        if OutputState.json:
            emit({"ok": False, "report": exc.report.to_dict()})
        # printed here without rich markup: the report quotes the file's own text, which may hold [brackets]
        err_console.print("error: " + str(exc), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(exc.exit_code) from None
    doc = {"ok": True, **result.to_dict()}

    def render(console, d: dict[str, Any]) -> None:
        console.print(result.report.text(), highlight=False, soft_wrap=True)
        console.print(
            kv_table(
                {
                    "stored as": f"{d['symbol']} {d['timeframe']} @ {d['exchange']}",
                    "new rows": d["new_rows"],
                    "already stored (identical)": d["already_stored_identical"],
                    "replaced (--overwrite)": d["replaced_rows"],
                    "rows in store": d["stored_rows"],
                    "range": f"{d['first']} -> {d['last']}",
                },
                title="Imported",
            )
        )

    emit(doc, render=render)


@data_app.command("list")
def list_cmd() -> None:
    """List what the candle store holds: exchange, symbol, timeframe, first, last, rows, gaps."""
    from quantdesk.data.store import open_store

    store = open_store()
    catalog = store.catalog()
    emit({"store": str(store.root), "series": catalog}, render=_render_catalog)


def _render_catalog(console, doc: dict[str, Any]) -> None:
    from rich import box
    from rich.console import JustifyMethod
    from rich.table import Table

    if not doc["series"]:
        console.print(f"The store at {doc['store']} is empty.")
        return
    table = Table(
        title=f"Candle store ({doc['store']})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("exchange", "left"),
        ("symbol", "left"),
        ("tf", "left"),
        ("first", "left"),
        ("last", "left"),
        ("rows", "right"),
        ("gaps", "right"),
        ("missing", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    for e in doc["series"]:
        table.add_row(
            e["exchange"],
            e["symbol"],
            e["timeframe"],
            _short_t(e["first"]),
            _short_t(e["last"]),
            str(e["rows"]),
            str(e["gaps"]),
            str(e["missing_bars"]),
        )
    console.print(table)
    console.print("sources:", style="bold", highlight=False)
    for e in doc["series"]:
        console.print(
            f"  {e['exchange']} {e['symbol']} {e['timeframe']}: {e.get('source') or '-'}", highlight=False
        )


def _short_t(text: str | None) -> str:
    return "-" if not text else text[:16].replace("T", " ")


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@data_app.command("show")
def show_cmd(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. BTC/USDT.", show_default=False)],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length, e.g. 1h.")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="Exchange (needed if ambiguous).")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First bar time (UTC, inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last bar time (UTC, inclusive).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | csv | json")] = "table",
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Only the last N bars of the range (0 = all).")
    ] = None,
) -> None:
    """Show or export stored candles (csv/json go to stdout with UTC ISO-8601 timestamps)."""
    from quantdesk.data import load

    fmt = fmt.lower()
    if fmt not in ("table", "csv", "json"):
        raise ParameterError(f"--format {fmt!r}: use table, csv or json")
    if limit is not None and limit < 0:
        raise ParameterError(f"--limit {limit}: must be >= 0")
    df = load(symbol, timeframe, exchange=exchange, start=start, end=end)
    if limit:
        df = df.tail(limit)
    if fmt == "csv" and not OutputState.json:
        import pyarrow.csv as pcsv

        from quantdesk.data.io import OHLCV, candles_to_table

        buf = io.BytesIO()
        buf.write(("timestamp," + ",".join(OHLCV) + "\n").encode())
        pcsv.write_csv(
            candles_to_table(df, iso_text=True),
            buf,
            write_options=pcsv.WriteOptions(include_header=False, quoting_style="none"),
        )
        sys.stdout.write(buf.getvalue().decode())
        sys.stdout.flush()
        return
    if fmt == "json" or OutputState.json:
        from quantdesk.core.jsonable import to_jsonable

        print(json.dumps(to_jsonable(df), indent=None if len(df) > 1000 else 2))
        return
    title = f"{symbol.upper()} {timeframe}" + (f" @ {exchange}" if exchange else "")
    emit(df, render=lambda c, d: c.print(frame_table(d, title=f"{title}: {len(d)} bars")))


@data_app.command("resample")
def resample_cmd(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. BTC/USDT.", show_default=False)],
    from_tf: Annotated[str, typer.Option("--from", help="Source timeframe in the store, e.g. 1m.")],
    to_tf: Annotated[
        str, typer.Option("--to", help="Target timeframe, a whole multiple: 5m, 1h, 4h, 1d, 1w.")
    ],
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="Exchange (needed if ambiguous).")
    ] = None,
    include_partial: Annotated[
        bool, typer.Option("--include-partial", help="Keep an incomplete last bucket.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace stored target bars that differ.")
    ] = False,
) -> None:
    """Aggregate stored bars into a longer timeframe and store the result.

    Buckets are aligned to UTC boundaries (weeks start Monday 00:00 UTC); open=first, high=max, low=min,
    close=last, volume=sum; each bar is stamped with its bucket's start. An incomplete LAST bucket is left out
    unless --include-partial; buckets with no source bars stay gaps."""
    from quantdesk.data import resolve_exchange
    from quantdesk.data.resample import check_timeframes, resample_detail
    from quantdesk.data.store import open_store
    from quantdesk.model.identifiers import normalize_symbol, normalize_venue

    src, dst = check_timeframes(from_tf, to_tf)
    store = open_store()
    sym = normalize_symbol(symbol)
    ex = normalize_venue(exchange) if exchange else resolve_exchange(store, sym, str(src))
    if store.exists(ex, sym, str(dst)):
        existing = store.info(ex, sym, str(dst))
        if "resampled from" not in (existing.get("source") or ""):
            raise DataError(
                f"{sym} {dst} @ {ex} already holds bars from another source ({existing['source']}); resampled "
                f"{src} bars would be mixed into it. Store them under another exchange name or remove "
                f"{existing['path']} first"
            )
    df = store.read(ex, sym, str(src))
    out, info = resample_detail(df, src, dst, include_partial=include_partial)
    res = store.append_detail(ex, sym, str(dst), out, source=f"resampled from {src}", overwrite=overwrite)
    stored = store.info(ex, sym, str(dst)) if len(out) or store.exists(ex, sym, str(dst)) else None
    doc = {
        "exchange": ex,
        "symbol": sym,
        "from": str(src),
        "to": str(dst),
        "source_rows": info.source_rows,
        "bars": info.rows,
        "source_bars_per_bar": info.per_bucket,
        "partial_last_bucket_dropped": info.partial_dropped,
        "partial_bucket_source_bars": info.partial_bars,
        "first": out.index[0] if len(out) else None,
        "last": out.index[-1] if len(out) else None,
        "new_rows": res.new,
        "already_stored_identical": res.identical,
        "replaced_rows": res.replaced,
        "stored_rows": stored["rows"] if stored else 0,
        "gaps": stored["gaps"] if stored else 0,
    }

    def render(console, d: dict[str, Any]) -> None:
        view = {k: v for k, v in d.items() if k != "partial_bucket_source_bars"}
        if d["partial_last_bucket_dropped"]:
            view["partial_last_bucket_dropped"] = (
                f"yes ({d['partial_bucket_source_bars']} of {d['source_bars_per_bar']} source bars; --include-partial keeps it)"
            )
        console.print(kv_table(view, title=f"Resampled {sym} {src} -> {dst} @ {ex}"))

    emit(doc, render=render)


@data_app.command("synth")
def synth_cmd(
    symbol: Annotated[
        str, typer.Option("--symbol", "-s", help="Symbol to store under, e.g. SYN/USD.")
    ] = "SYN/USD",
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length.")] = "1m",
    bars: Annotated[int, typer.Option("--bars", "-n", help="Number of bars.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed => same bytes).")] = 7,
    start: Annotated[str, typer.Option("--start", help="First bar time (UTC).")] = "2020-01-01T00:00:00Z",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write a .csv or .parquet file instead of storing.")
    ] = None,
    exchange: Annotated[
        str, typer.Option("--exchange", "-e", help="Exchange name in the store.")
    ] = "synthetic",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace stored bars that differ.")] = False,
) -> None:
    """Generate synthetic OHLCV (GARCH(1,1) volatility clustering, fat tails, jumps; valid bars)."""
    from quantdesk.data.synth import synth_ohlcv
    from quantdesk.model.identifiers import normalize_symbol, normalize_venue
    from quantdesk.model.timeframe import Timeframe

    sym = normalize_symbol(symbol)
    tf = str(Timeframe.parse(timeframe))
    ex = normalize_venue(exchange)
    if out is not None and out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ParameterError(f"--out {out}: the file name must end in .csv or .parquet")
    df = synth_ohlcv(bars, tf, seed=seed, start=start)
    doc: dict[str, Any] = {
        "symbol": sym,
        "timeframe": tf,
        "bars": len(df),
        "seed": seed,
        "first": df.index[0],
        "last": df.index[-1],
        "first_close": float(df["close"].iloc[0]),
        "last_close": float(df["close"].iloc[-1]),
    }
    if out is not None:
        from quantdesk.data.io import write_candles

        write_candles(df, out)
        doc["file"] = str(out)
    else:
        from quantdesk.data.store import open_store

        store = open_store()
        res = store.append_detail(ex, sym, tf, df, source=f"synthetic seed={seed}", overwrite=overwrite)
        doc.update({"exchange": ex, "new_rows": res.new, "already_stored_identical": res.identical})
    emit(doc, render=lambda c, d: c.print(kv_table(d, title="Synthetic bars")))
