"""Readers: CSV and Parquet OHLCV files -> `RawCandles` (values as read, plus each row's line in the file).

Nothing here judges the data: bad values are kept (as NaN / a failed-timestamp mask) so that validation can
name the exact LINE of every problem. Reading is vectorised: pyarrow.csv parses the file, timestamps are
parsed by Arrow (fast path) or pandas (fallback), never row by row in Python.

Column matching is case-insensitive with common aliases (see `ALIASES`). Timestamps may be ISO-8601 (with or
without a zone; naive = UTC; date-only allowed) or epoch numbers in s/ms/us/ns (unit guessed from magnitude
unless `ts_unit` is given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from quantdesk.core.errors import DataError, ParameterError

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
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_DELIMS = (",", ";", "\t", "|")


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


def _layout_error(path: str, found: list[str], mapping: dict[str, str], need_ts: bool = True) -> DataError:
    missing = [k for k in ("timestamp", *OHLCV) if k not in mapping and (need_ts or k != "timestamp")]
    expected = "; ".join(f"{k} ({'/'.join(ALIASES[k][:5])})" for k in missing)
    shown = ", ".join(found) if found else "(none)"
    return DataError(
        f"{path}: unknown column layout: found columns: {shown}; missing: {', '.join(missing)}. "
        f"Expected (case-insensitive): {expected}"
    )


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------
def _sniff_header(head: bytes, path: str) -> tuple[int, str]:
    """Find the header line (skipping a preamble such as CryptoDataDownload's URL line) and the delimiter."""
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if text.startswith("\ufeff"):
        lines[0] = lines[0][1:]
    for idx, line in enumerate(lines[:20]):
        for delim in _DELIMS:
            if delim not in line:
                continue
            cols = [c for c in line.split(delim)]
            mapping = match_columns(cols, path)
            if "close" in mapping and "timestamp" in mapping:
                return idx, delim
    # no recognisable header: report what the first non-empty line holds
    first = next((ln for ln in lines if ln.strip()), "")
    delim = max(_DELIMS, key=first.count)
    found = [c.strip() for c in first.split(delim)] if first else []
    raise _layout_error(path, found, match_columns(found, path))


def _line_numbers(data: bytes, header_idx: int, n_rows: int) -> np.ndarray:
    """1-based file line of each data row, accounting for a preamble and blank lines (skipped by the parser)."""
    first = header_idx + 2
    # no blank lines (the common case) <=> the newline count matches header + rows; counting is a fast memchr loop
    newlines = data.count(b"\n")
    expected = header_idx + 1 + n_rows - (0 if data.endswith(b"\n") else 1)
    if newlines == expected:
        return np.arange(first, first + n_rows, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(buf)]))
    if starts[-1] >= len(buf):  # trailing newline: no last line
        starts, ends = starts[:-1], ends[:-1]
    # a line is blank if it holds only whitespace / CR (checked on the short lines only, vectorised)
    lengths = ends - starts
    nonblank = lengths > 0
    ws = np.zeros(256, dtype=bool)
    ws[[9, 13, 32]] = True
    for width in (1, 2):
        idx = np.flatnonzero(lengths == width)
        if idx.size:
            blank = np.all([ws[buf[starts[idx] + k]] for k in range(width)], axis=0)
            nonblank[idx[blank]] = False
    # data rows are the non-blank lines after the header line
    lines = np.flatnonzero(nonblank) + 1
    header_line = header_idx + 1
    after = lines[lines > header_line]
    if after.shape[0] >= n_rows:
        return after[:n_rows].astype(np.int64)
    # should not happen (quoted multi-line fields); fall back to a plain count
    first = header_line + 1
    return np.arange(first, first + n_rows, dtype=np.int64)


def read_csv(path: str | Path, *, ts_unit: str | None = None) -> RawCandles:
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 65536 and not data.strip():
        raise DataError(f"{path}: the file is empty (expected a header line and rows of OHLCV data)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header_idx, delim = _sniff_header(data[:65536], str(path))
    # preamble lines before the header are skipped by counting lines in the raw bytes (blank lines included)
    pos = 0
    for _ in range(header_idx):
        pos = data.index(b"\n", pos) + 1
    body = pa.py_buffer(data)[pos:]  # zero-copy
    end = data.find(b"\n", pos)
    header_text = data[pos : end if end >= 0 else len(data)].decode("utf-8", errors="replace").rstrip("\r")
    columns = [c.strip().strip('"') for c in header_text.split(delim)]
    mapping = match_columns(columns, str(path))
    missing = [k for k in ("timestamp", *OHLCV) if k not in mapping]
    if missing:
        raise _layout_error(str(path), columns, mapping)
    # the parser gets positional names (the header's own text may hold spaces/quotes/duplicates)
    position = {c: i for i, c in reversed(list(enumerate(columns)))}
    mapping = {k: f"c{position[v]}" for k, v in mapping.items()}
    names = [f"c{i}" for i in range(len(columns))]
    ts_type = _guess_ts_type(data, end, delim, int(mapping["timestamp"][1:]), ts_unit)
    floats = {mapping[k]: pa.float64() for k in OHLCV}
    texts = {mapping[k]: pa.string() for k in OHLCV}
    # fastest first: Arrow parses ISO timestamps and floats itself; a bad cell anywhere makes it fail, and
    # then the columns are read as text so every bad cell can be named by its line
    if ts_type is not None:
        as_text = {mapping["timestamp"]: pa.string()}
        attempts = [{**floats, mapping["timestamp"]: ts_type}, {**floats, **as_text}, {**texts, **as_text}]
    else:  # epoch numbers (or something else): let Arrow infer the timestamp column
        attempts = [floats, texts]
    for i, col_types in enumerate(attempts):
        try:
            table = _parse_csv(body, delim, mapping, col_types, names)
            break
        except pa.ArrowInvalid as exc:
            if "CSV parse error" in str(exc):
                raise DataError(f"{path}: cannot parse the CSV: {_parse_error_where(exc, data)}") from None
            if i == len(attempts) - 1:
                raise DataError(f"{path}: cannot read: {_arrow_msg(exc)}") from None
    n = table.num_rows
    if n == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    line = _line_numbers(data, header_idx, n)
    values: dict[str, np.ndarray] = {}
    bad_cells: dict[str, np.ndarray] = {}
    for key in OHLCV:
        col = table.column(mapping[key])
        values[key], bad = _to_float(col)
        if bad is not None and bad.any():
            bad_cells[key] = bad
    ts_col = table.column(mapping["timestamp"])
    ts, ts_bad, unit = parse_timestamps(ts_col, ts_unit=ts_unit, where=str(path))
    unit = "iso" if unit == "datetime" else unit  # Arrow parsed the ISO text itself
    ts_text = None
    if ts_bad.any():
        ts_text = np.asarray(ts_col.cast(pa.string()).to_pylist(), dtype=object)
    return RawCandles(
        path=str(path),
        ts=ts,
        ts_bad=ts_bad,
        ts_text=ts_text,
        values=values,
        line=line,
        bad_cells=bad_cells,
        ts_unit=unit,
        columns_found=columns,
    )


def _guess_ts_type(
    data: bytes, header_end: int, delim: str, col: int, ts_unit: str | None
) -> pa.DataType | None:
    """Arrow type to parse the timestamp column directly (ISO-8601 with a zone, or naive), from the first row."""
    if ts_unit not in (None, "iso") or header_end < 0:
        return None
    stop = data.find(b"\n", header_end + 1)
    first = data[header_end + 1 : stop if stop >= 0 else len(data)].decode("utf-8", errors="replace")
    fields = first.rstrip("\r").split(delim)
    if col >= len(fields):
        return None
    text = fields[col].strip().strip('"')
    if not _ISO_RE.match(text):
        return None
    zoned = text.endswith("Z") or bool(re.search(r"[+-]\d\d:?\d\d$", text))
    return pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns")


_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$")


def _parse_error_where(exc: Exception, data: bytes) -> str:
    """Arrow's CSV parse error, with the line number of the offending row when it can be found."""
    msg = _arrow_msg(exc).replace("CSV parse error: ", "")
    if ": " in msg:
        row = msg.split(": ", 1)[1].strip()
        idx = data.find(row.encode()) if row else -1
        if idx >= 0:
            line_no = data.count(b"\n", 0, idx) + 1
            return f"line {line_no}: {msg}"
    return msg


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV or Parquet file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _arrow_msg(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _parse_csv(body, delim: str, mapping: dict[str, str], col_types: dict, names: list[str]) -> pa.Table:
    read_opts = pcsv.ReadOptions(block_size=1 << 24, column_names=names, skip_rows=1)
    parse_opts = pcsv.ParseOptions(delimiter=delim)
    conv = pcsv.ConvertOptions(
        include_columns=[mapping[k] for k in ("timestamp", *OHLCV)],
        column_types=col_types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        # keep timestamp as text or number; Arrow's own timestamp inference is not used
        timestamp_parsers=[],
    )
    return pcsv.read_csv(
        pa.BufferReader(body), read_options=read_opts, parse_options=parse_opts, convert_options=conv
    )


def _to_float(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 values (NaN for nulls) and a mask of cells holding non-numeric text."""
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        arr = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(arr, dtype=np.float64), None
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan), None
    text = pd.Series(col.to_pandas(), dtype=object)
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(num) & text.notna().to_numpy() & (text.astype(str).str.strip() != "").to_numpy()
    return num, bad


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
    if ts_unit in _UNIT_NS:
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
    mult = _UNIT_NS[unit]
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


# ---------------------------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------------------------
def read_parquet(path: str | Path, *, ts_unit: str | None = None) -> RawCandles:
    path = Path(path)
    _read_bytes_check(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_arrow_msg(exc)})") from None
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
        raise _layout_error(str(path), [c for c in columns if not c.startswith("__index_level_")], mapping)
    n = table.num_rows
    if n == 0:
        raise DataError(f"{path}: the Parquet file has no rows")
    values: dict[str, np.ndarray] = {}
    bad_cells: dict[str, np.ndarray] = {}
    for key in OHLCV:
        values[key], bad = _to_float(table.column(mapping[key]))
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
    ts = np.asarray(df.index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
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
