"""The CSV reader: finds the header (skipping a preamble) and the delimiter, parses with pyarrow.csv, keeps each
row's line number, and leaves bad values in place for validation (see quantdesk.data.io).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from quantdesk.core.errors import DataError
from quantdesk.data.raw_candles import DELIMITERS, OHLCV, RawCandles, layout_error, match_columns
from quantdesk.data.timestamp_parsing import parse_timestamps


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
        for delim in DELIMITERS:
            if delim not in line:
                continue
            cols = [c for c in line.split(delim)]
            mapping = match_columns(cols, path)
            if "close" in mapping and "timestamp" in mapping:
                return idx, delim
    # no recognisable header: report what the first non-empty line holds
    first = next((ln for ln in lines if ln.strip()), "")
    delim = max(DELIMITERS, key=first.count)
    found = [c.strip() for c in first.split(delim)] if first else []
    raise layout_error(path, found, match_columns(found, path))


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
        raise layout_error(str(path), columns, mapping)
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
                raise DataError(f"{path}: cannot read: {arrow_message(exc)}") from None
    n = table.num_rows
    if n == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    line = _line_numbers(data, header_idx, n)
    values: dict[str, np.ndarray] = {}
    bad_cells: dict[str, np.ndarray] = {}
    for key in OHLCV:
        col = table.column(mapping[key])
        values[key], bad = arrow_to_float(col)
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
    msg = arrow_message(exc).replace("CSV parse error: ", "")
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


def arrow_message(exc: Exception) -> str:
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


def arrow_to_float(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
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


