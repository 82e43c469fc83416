"""The candle store: Parquet files per exchange/symbol/timeframe, queried through DuckDB.

Layout: `<store_dir>/<exchange>/<BASE-QUOTE>/<timeframe>.parquet` (e.g. `binance/BTC-USDT/1h.parquet`;
a `:SETTLE` suffix becomes `_SETTLE`), plus, after pure appends, small delta segments
`<timeframe>.delta-NNNNNN.parquet` next to it. Every file holds sorted, unique `timestamp`
(timestamp[ns, UTC]) and float64 open/high/low/close/volume, and carries the series' catalog entry (symbol,
source, first/last, rows, gap statistics) in its Parquet key-value metadata under `quantdesk`; the newest
segment's entry is the current one. The catalog is therefore the files themselves.

Appends of bars newer than the last stored one (downloads page by page, incremental updates) write only
the new rows as a delta segment, so a long download is not quadratic; after MAX_DELTAS segments, or when
the deltas outgrow the base, the series is compacted into one base file. Any other merge (filling a hole,
overwriting) rewrites the base. Each base has a generation id and deltas name the generation they extend,
so a crash between writing a new base and deleting old deltas can never double rows.

Writes are atomic (write a temporary file, then rename) and serialised per series with a file lock, so
a download and an import running at the same time cannot lose rows.

Files and metadata: `store_files`; merging bars into a series: `store_merge`.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.core.timeutil import iso, parse_utc
from quantdesk.data.io import OHLCV
from quantdesk.data.store_files import META_KEY, catalog_entry, series_meta, symbol_dirname, write_segment
from quantdesk.data.store_merge import AppendResult, merge_bars
from quantdesk.data.validate import find_gaps, frame_from_arrays
from quantdesk.model.identifiers import normalize_symbol, normalize_venue
from quantdesk.model.timeframe import Timeframe

MAX_DELTAS = 100  # delta segments before a pure append compacts the series into one file
MIN_COMPACT_ROWS = 100_000  # ... or when the deltas hold more rows than this and than the base


def _norm(exchange: str, symbol: str, timeframe: str) -> tuple[str, str, str]:
    return normalize_venue(exchange), normalize_symbol(symbol), str(Timeframe.parse(timeframe))


def _ts_ns(index: pd.Index, where: str) -> np.ndarray:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"{where}: the frame needs a DatetimeIndex of bar times, got {type(index).__name__}")
    if index.tz is None:
        raise DataError(f"{where}: the DatetimeIndex must be timezone-aware UTC (got naive timestamps)")
    if index.hasnans:
        raise DataError(f"{where}: the DatetimeIndex has NaT values")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


class CandleStore:
    """Parquet candle files under `root`, with a catalog and DuckDB queries."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ---- paths -----------------------------------------------------------------------------------
    def path_for(self, exchange: str, symbol: str, timeframe: str) -> Path:
        ex, sym, tf = _norm(exchange, symbol, timeframe)
        return self.root / ex / symbol_dirname(sym) / f"{tf}.parquet"

    def exists(self, exchange: str, symbol: str, timeframe: str) -> bool:
        return self.path_for(exchange, symbol, timeframe).is_file()

    @contextmanager
    def _lock(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = path.with_suffix(".lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ---- writing ---------------------------------------------------------------------------------
    def append(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        df: pd.DataFrame,
        *,
        source: str | None = None,
        overwrite: bool = False,
    ) -> int:
        """Merge `df` into the stored series; returns the number of NEW rows (timestamps not stored before).

        A timestamp already stored with identical values is skipped. One stored with different values is a
        conflict: nothing is written and DataError names the first conflicts, unless `overwrite=True`
        (then the new values replace the stored ones).
        """
        return self.append_detail(exchange, symbol, timeframe, df, source=source, overwrite=overwrite).new

    def append_detail(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        df: pd.DataFrame,
        *,
        source: str | None = None,
        overwrite: bool = False,
    ) -> AppendResult:
        ex, sym, tf = _norm(exchange, symbol, timeframe)
        where = f"{ex} {sym} {tf}"
        missing = [k for k in OHLCV if k not in df.columns]
        if missing:
            raise DataError(
                f"{where}: the frame lacks column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})"
            )
        ts = _ts_ns(df.index, where)
        try:
            cols = {k: np.asarray(df[k], dtype=np.float64) for k in OHLCV}
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: OHLCV columns must be numeric ({exc})") from None
        if ts.size > 1 and not np.all(ts[1:] > ts[:-1]):
            order = np.argsort(ts, kind="stable")
            ts = ts[order]
            cols = {k: v[order] for k, v in cols.items()}
            dup = np.flatnonzero(ts[1:] == ts[:-1])
            if dup.size:
                raise DataError(
                    f"{where}: the frame has {dup.size} duplicate timestamps (first {iso(int(ts[dup[0]]))}); "
                    "nothing was written"
                )
        path = self.path_for(ex, sym, tf)
        try:
            return self._append_locked(path, ex, sym, tf, ts, cols, source, overwrite, where)
        except PermissionError as exc:
            raise DataError(f"cannot write the candle store at {path.parent}: {exc.strerror}") from None
        except OSError as exc:
            raise DataError(
                f"cannot write the candle store at {path.parent}: {exc.strerror or exc}"
            ) from None

    def _append_locked(
        self,
        path: Path,
        ex: str,
        sym: str,
        tf: str,
        ts: np.ndarray,
        cols: dict[str, np.ndarray],
        source: str | None,
        overwrite: bool,
        where: str,
    ) -> AppendResult:
        with self._lock(path):
            files, base_meta, meta = self._segments(path)
            if meta is not None and meta.get("symbol") != sym:
                raise DataError(
                    f"{path}: holds {meta.get('symbol')}, not {sym} (both map to the same file name); nothing was written"
                )
            if meta is None or base_meta is None:
                if ts.size == 0:
                    return AppendResult(0, 0, 0, 0)
                self._write_base(path, ex, sym, tf, ts, cols, source or "", [])
                return AppendResult(int(ts.size), 0, 0, int(ts.size))
            sources = [x for x in meta.get("source", "").split("; ") if x]
            if source and source not in sources:
                sources.append(source)
            source_text = "; ".join(sources)
            last_ns = int(meta.get("last_ns", parse_utc(meta["last"]).value))
            if ts.size and ts[0] > last_ns and base_meta.get("generation"):
                # pure append (downloads, incremental updates): only the new rows are written, as a delta segment
                rows = int(meta["rows"]) + int(ts.size)
                delta_rows = rows - int(base_meta["rows"])
                if len(files) > MAX_DELTAS or delta_rows > max(int(base_meta["rows"]), MIN_COMPACT_ROWS):
                    old_ts, old = self._read_arrays(files)
                    merged_ts = np.concatenate((old_ts, ts))
                    merged = {k: np.concatenate((old[k], cols[k])) for k in OHLCV}
                    self._write_base(path, ex, sym, tf, merged_ts, merged, source_text, files[1:])
                else:
                    tf_ns = Timeframe.parse(tf).nanos
                    g = find_gaps(np.concatenate(([last_ns], ts)), tf_ns)
                    first_ns = int(meta.get("first_ns", parse_utc(meta["first"]).value))
                    new_meta = series_meta(
                        ex,
                        sym,
                        tf,
                        rows,
                        first_ns,
                        int(ts[-1]),
                        int(meta["gaps"]) + g.count,
                        int(meta["missing_bars"]) + g.missing_bars,
                        max(int(meta.get("largest_gap_ns", 0)), g.largest_ns),
                        source_text,
                    )
                    new_meta["base_generation"] = base_meta["generation"]
                    write_segment(
                        path.with_name(f"{path.stem}.delta-{len(files):06d}.parquet"), ts, cols, new_meta
                    )
                return AppendResult(int(ts.size), 0, 0, rows)
            old_ts, old = self._read_arrays(files)
            merged_ts, merged, result = merge_bars(old_ts, old, ts, cols, overwrite=overwrite, where=where)
            if result.new == 0 and result.replaced == 0 and source_text == meta.get("source", ""):
                return result
            self._write_base(path, ex, sym, tf, merged_ts, merged, source_text, files[1:])
            return result

    def _write_base(
        self,
        path: Path,
        ex: str,
        sym: str,
        tf: str,
        ts: np.ndarray,
        cols: dict[str, np.ndarray],
        source: str,
        old_deltas: list[Path],
    ) -> None:
        """Write the whole series as a new base file (a new generation), then drop the deltas it absorbed.

        Readers ignore deltas of another generation, so a crash between the two steps loses nothing."""
        gaps = find_gaps(ts, Timeframe.parse(tf).nanos)
        meta = series_meta(
            ex,
            sym,
            tf,
            int(ts.size),
            int(ts[0]),
            int(ts[-1]),
            gaps.count,
            gaps.missing_bars,
            gaps.largest_ns,
            source,
        )
        meta["generation"] = uuid.uuid4().hex
        write_segment(path, ts, cols, meta)
        for stale in set(old_deltas) | set(path.parent.glob(f"{path.stem}.delta-*.parquet")):
            stale.unlink(missing_ok=True)

    def _segments(self, path: Path) -> tuple[list[Path], dict[str, Any] | None, dict[str, Any] | None]:
        """Live files of a series (base, then its deltas in order), the base's metadata and the series'."""
        if not path.is_file():
            return [], None, None
        base_meta = self._meta(path)
        gen = base_meta.get("generation")
        files, meta = [path], base_meta
        if gen:
            for delta in sorted(path.parent.glob(f"{path.stem}.delta-*.parquet")):
                try:
                    m = self._meta(delta)
                except DataError:
                    continue
                if m.get("base_generation") == gen:
                    files.append(delta)
                    meta = m
        return files, base_meta, meta

    # ---- reading ---------------------------------------------------------------------------------
    def _meta(self, path: Path) -> dict[str, Any]:
        try:
            kv = pq.read_schema(path).metadata or {}
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataError(f"{path}: unreadable store file ({exc})") from None
        raw = kv.get(META_KEY)
        if raw is None:
            raise DataError(f"{path}: not a QuantDesk candle file (no '{META_KEY.decode()}' metadata)")
        return json.loads(raw)

    def _read_arrays(self, files: list[Path]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        tables = [pq.read_table(f).replace_schema_metadata(None) for f in files]
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        ts = np.asarray(table.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        return ts, {k: np.asarray(table.column(k).to_numpy(), dtype=np.float64) for k in OHLCV}

    def _require(self, exchange: str, symbol: str, timeframe: str) -> Path:
        path = self.path_for(exchange, symbol, timeframe)
        if not path.is_file():
            ex, sym, tf = _norm(exchange, symbol, timeframe)
            have = [e for e in self.catalog() if e["symbol"] == sym]
            if have:
                where = ", ".join(f"{e['exchange']} {e['timeframe']}" for e in have)
                hint = f"{sym} is stored as: {where}"
            else:
                hint = _what_exists(self.catalog())
            raise NotFoundError(f"no {tf} candles for {sym} on {ex} in the store ({self.root}); {hint}")
        return path

    def _duck(self):
        """The process's in-memory DuckDB (opening one costs ~25 ms: too much per API request); queries run on
        their own `cursor()` of it, which is safe across threads. A forked child opens its own."""
        global _DUCK
        pid = os.getpid()
        if _DUCK is None or _DUCK[0] != pid:
            with _DUCK_LOCK:
                if _DUCK is None or _DUCK[0] != pid:
                    import duckdb

                    con = duckdb.connect()
                    con.execute("SET TimeZone='UTC'")
                    _DUCK = (pid, con)
        return _DUCK[1]

    def read(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        tail: int | None = None,
    ) -> pd.DataFrame:
        """Candles with start <= timestamp <= end (both inclusive, UTC), sorted, via DuckDB; `tail`: only the
        last `tail` of them (the query reads no more, so a chart's last 500 bars do not load the whole series)."""
        path = self._require(exchange, symbol, timeframe)
        lo = int(parse_utc(start, name="start").value) if start is not None else None
        hi = int(parse_utc(end, name="end").value) if end is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise ParameterError(f"start {iso(lo)} is after end {iso(hi)}")
        where, params = [], []
        if lo is not None:
            where.append("epoch_ns(timestamp) >= ?")
            params.append(lo)
        if hi is not None:
            where.append("epoch_ns(timestamp) <= ?")
            params.append(hi)
        sql = "SELECT * FROM read_parquet(?)" + (" WHERE " + " AND ".join(where) if where else "")
        if tail is not None:
            if int(tail) < 1:
                raise ParameterError(f"tail must be >= 1, got {tail}")
            sql += f" ORDER BY timestamp DESC LIMIT {int(tail)}"  # sorted back ascending below
        for attempt in range(3):  # a concurrent compaction may remove a delta between listing and reading
            files = [str(f) for f in self._segments(path)[0]]
            con = self._duck().cursor()
            try:
                table = con.sql(sql, params=[files, *params]).to_arrow_table()
                break
            except Exception as exc:  # duckdb.IOException when a file vanished
                if attempt == 2 or not any(f"{k}" in str(exc) for k in ("No files found", "No such file")):
                    raise DataError(f"{path}: cannot read the stored candles ({exc})") from None
            finally:
                con.close()
        ts = np.asarray(table.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        cols = {k: np.asarray(table.column(k).to_numpy(), dtype=np.float64) for k in OHLCV}
        if ts.size > 1 and not np.all(ts[1:] > ts[:-1]):  # DuckDB may reorder with threads; keep it exact
            order = np.argsort(ts, kind="stable")
            ts = ts[order]
            cols = {k: v[order] for k, v in cols.items()}
        return frame_from_arrays(ts, cols)

    def timestamps(self, exchange: str, symbol: str, timeframe: str) -> np.ndarray:
        """Stored bar times as sorted int64 ns (empty array if nothing is stored)."""
        path = self.path_for(exchange, symbol, timeframe)
        if not path.is_file():
            return np.empty(0, dtype=np.int64)
        parts: list[pa.ChunkedArray] = []
        for attempt in range(3):  # a concurrent compaction may remove a delta between listing and reading
            try:
                files = self._segments(path)[0]
                parts = [
                    pq.read_table(f, columns=["timestamp"]).column("timestamp").cast(pa.int64())
                    for f in files
                ]
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([np.asarray(p.to_numpy(), dtype=np.int64) for p in parts])

    def info(self, exchange: str, symbol: str, timeframe: str) -> dict[str, Any]:
        path = self._require(exchange, symbol, timeframe)
        return catalog_entry(self._segments(path)[2] or {}, path)

    def catalog(self) -> list[dict[str, Any]]:
        """One entry per stored series: exchange, symbol, timeframe, first, last, rows, gaps, missing_bars,
        largest_gap, source, updated, path. Sorted by exchange, symbol, timeframe length."""
        out: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return out
        for path in sorted(self.root.glob("*/*/*.parquet")):
            if ".delta-" in path.name:
                continue
            try:
                meta = self._segments(path)[2]
            except DataError:
                continue
            out.append(catalog_entry(meta or {}, path))
        out.sort(key=lambda e: (e["exchange"], e["symbol"], Timeframe.parse(e["timeframe"]).nanos))
        return out

    def exchanges_for(self, symbol: str, timeframe: str) -> list[str]:
        sym, tf = normalize_symbol(symbol), str(Timeframe.parse(timeframe))
        return sorted(e["exchange"] for e in self.catalog() if e["symbol"] == sym and e["timeframe"] == tf)




def _what_exists(catalog: list[dict[str, Any]]) -> str:
    if not catalog:
        return "the store is empty (import a file with `quantdesk data import`)"
    items = sorted({f"{e['symbol']} {e['timeframe']}@{e['exchange']}" for e in catalog})
    shown = ", ".join(items[:12]) + (f", ... ({len(items) - 12} more)" if len(items) > 12 else "")
    return f"available: {shown}"



_DUCK: tuple[int, Any] | None = None  # (pid, connection)
_DUCK_LOCK = threading.Lock()


def open_store(settings: Any = None, *, seed_sample: bool = True) -> CandleStore:
    """The store under `settings.store_dir` (default: `get_settings()`), with the bundled sample seeded lazily."""
    if settings is None:
        from quantdesk.core.config import get_settings

        settings = get_settings()
    store = CandleStore(Path(settings.store_dir))
    if seed_sample:
        from quantdesk.data.sample import ensure_sample

        ensure_sample(store)
    return store
