"""Import a CSV/Parquet file into the candle store: read -> validate (policy) -> store. One function."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantdesk.data.io import read_file
from quantdesk.data.validate import ImportReport, prepare
from quantdesk.model.identifiers import normalize_symbol, normalize_venue
from quantdesk.model.timeframe import Timeframe


@dataclass
class ImportResult:
    exchange: str
    symbol: str
    timeframe: str
    report: ImportReport
    new_rows: int
    identical_rows: int
    replaced_rows: int
    stored_rows: int
    first: str | None
    last: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "new_rows": self.new_rows,
            "already_stored_identical": self.identical_rows,
            "replaced_rows": self.replaced_rows,
            "stored_rows": self.stored_rows,
            "first": self.first,
            "last": self.last,
            "report": self.report.to_dict(),
        }


def import_file(
    path: str | Path,
    *,
    symbol: str,
    timeframe: str,
    exchange: str | None = None,
    ts_unit: str | None = None,
    repair: set[str] | frozenset[str] | tuple[str, ...] = (),
    fill_gaps: bool = False,
    overwrite: bool = False,
    source: str | None = None,
    store=None,
) -> ImportResult:
    """Read, validate and store one file. Raises `ValidationRefused` (a DataError) with the line report.

    Parameters are checked before the file is read, so a bad symbol/timeframe fails fast with one line.
    """
    from quantdesk.data.store import open_store

    sym = normalize_symbol(symbol)
    tf = str(Timeframe.parse(timeframe))
    if exchange is None:
        from quantdesk.core.config import get_settings

        exchange = get_settings().data.default_exchange
    ex = normalize_venue(exchange)
    raw = read_file(path, ts_unit=ts_unit)
    df, report = prepare(raw, tf, repair=repair, fill_gaps=fill_gaps)
    if store is None:
        store = open_store()
    res = store.append_detail(
        ex, sym, tf, df, source=source or f"file {Path(path).name}", overwrite=overwrite
    )
    info = store.info(ex, sym, tf)
    return ImportResult(
        exchange=ex,
        symbol=sym,
        timeframe=tf,
        report=report,
        new_rows=res.new,
        identical_rows=res.identical,
        replaced_rows=res.replaced,
        stored_rows=res.rows,
        first=info["first"],
        last=info["last"],
    )
