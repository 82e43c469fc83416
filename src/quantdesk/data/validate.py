"""Validation of raw OHLCV rows, with the file LINE of every problem, and the repairs we allow.

Policy (the same for the CLI and the library):
- Problems that refuse an import by default (exit 2, nothing stored): unparseable timestamps, missing/NaN,
  infinite (inf, -inf) or non-numeric values, non-positive prices, high < max(open, close), low > min(open, close), high < low,
  negative volume, duplicate timestamps with different values, timestamps off the timeframe's grid, and
  rows out of order.
- `repair={"drop"}` drops every row with one of those row problems (all versions of a conflicting duplicate
  timestamp, since we cannot know which one is right), and the report lists every dropped line.
- `repair={"sort"}` sorts rows that are out of order (e.g. newest-first exports); reported.
- Exact duplicate rows (same timestamp, same values) never refuse: one copy is kept and the others are
  reported as removed.
- Gaps (missing bars on the grid) never refuse: they are reported (count, missing bars, largest, first
  few) and recorded in the catalog. `fill_gaps=True` forward-fills the previous close into O/H/L/C with
  volume 0, and reports how many bars were added.
Nothing is ever changed silently: every change is in the returned `ImportReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError
from quantdesk.core.timeutil import iso
from quantdesk.data.io import OHLCV, PRICE_COLUMNS, RawCandles
from quantdesk.model.timeframe import Timeframe

MAX_EXAMPLES = 5
REPAIRS = ("drop", "sort")

# `--repair drop` refuses (and is never suggested) when it would drop more than this share of a file
MAX_DROP_SHARE = 0.5


@dataclass
class Issue:
    """One kind of problem: all affected lines, and readable examples for the first few."""

    kind: str
    title: str
    lines: np.ndarray
    examples: list[str]
    blocking: bool = True
    fix: str = "drop"

    @property
    def count(self) -> int:
        return int(self.lines.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "count": self.count,
            "blocking": self.blocking,
            "fix": self.fix,
            "first_lines": self.lines[:MAX_EXAMPLES].tolist(),
            "examples": self.examples,
        }


@dataclass
class GapSummary:
    """Holes in a sorted series: `count` holes, `missing_bars` in all, the largest, the first few."""

    count: int = 0
    missing_bars: int = 0
    largest_ns: int = 0
    largest_missing: int = 0
    first: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "missing_bars": self.missing_bars,
            "largest": _fmt_td(self.largest_ns) if self.count else None,
            "largest_missing_bars": self.largest_missing,
            "first": self.first,
        }

    def describe(self) -> str:
        if not self.count:
            return "no gaps"
        return (
            f"{self.count} gap{'s' if self.count != 1 else ''}, {self.missing_bars} missing bar"
            f"{'s' if self.missing_bars != 1 else ''}, largest {_fmt_td(self.largest_ns)} step "
            f"({self.largest_missing} bars missing)"
        )


def find_gaps(ts: np.ndarray, tf_ns: int, max_listed: int = MAX_EXAMPLES) -> GapSummary:
    """Gaps in sorted unique int64 ns timestamps on a `tf_ns` grid (a step of k bars = k-1 missing)."""
    if ts.shape[0] < 2:
        return GapSummary()
    steps = np.diff(ts)
    holes = np.flatnonzero(steps > tf_ns)
    if holes.size == 0:
        return GapSummary()
    missing = (steps[holes] + tf_ns - 1) // tf_ns - 1
    big = int(np.argmax(steps[holes]))
    first = [
        {
            "after": iso(int(ts[i])),
            "before": iso(int(ts[i + 1])),
            "missing_bars": int(m),
        }
        for i, m in zip(holes[:max_listed], missing[:max_listed], strict=False)
    ]
    return GapSummary(
        count=int(holes.size),
        missing_bars=int(missing.sum()),
        largest_ns=int(steps[holes][big]),
        largest_missing=int(missing[big]),
        first=first,
    )


@dataclass
class ImportReport:
    """What was found and what was done: the basis of every import message."""

    path: str
    timeframe: str
    rows_read: int
    issues: list[Issue] = field(default_factory=list)
    gaps: GapSummary = field(default_factory=GapSummary)
    dropped_lines: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    exact_duplicates_removed: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sorted_rows: int = 0
    filled_bars: int = 0
    zero_volume_rows: int = 0
    notes: list[str] = field(default_factory=list)
    line_word: str = "line"
    rows_out: int = 0
    refused: bool = False
    spacing: str | None = None  # the timeframe the rows are really spaced at, when it is not the given one

    @property
    def blocking(self) -> list[Issue]:
        return [i for i in self.issues if i.blocking]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "timeframe": self.timeframe,
            "rows_read": self.rows_read,
            "rows_clean": self.rows_out,
            "refused": self.refused,
            "issues": [i.to_dict() for i in self.issues],
            "dropped_lines": self.dropped_lines.tolist(),
            "exact_duplicates_removed_lines": self.exact_duplicates_removed.tolist(),
            "sorted_rows": self.sorted_rows,
            "gaps": self.gaps.to_dict(),
            "filled_bars": self.filled_bars,
            "zero_volume_rows": self.zero_volume_rows,
            "notes": self.notes,
            "line_numbers": f"{self.line_word}s in the file"
            + (" (header = line 1)" if self.line_word == "line" else ""),
        }

    def text(self) -> str:
        """Readable multi-line report."""
        w = self.line_word
        out: list[str] = []
        if self.refused:
            bad_rows = len(set(np.concatenate([i.lines for i in self.blocking]))) if self.blocking else 0
            out.append(
                f"{self.path}: import refused, nothing was stored: {len(self.blocking)} kind"
                f"{'s' if len(self.blocking) != 1 else ''} of problem in {bad_rows} of {self.rows_read} rows"
                f" ({w} numbers: header = line 1)"
                if w == "line"
                else f"{self.path}: import refused, nothing was stored: {len(self.blocking)} kind"
                f"{'s' if len(self.blocking) != 1 else ''} of problem in {bad_rows} of {self.rows_read} rows"
            )
        else:
            out.append(
                f"{self.path}: {self.rows_read} rows read, {self.rows_out} clean rows ({self.timeframe})"
            )
        for issue in self.issues:
            tag = (
                ""
                if issue.blocking
                else " (kept one copy)"
                if issue.kind == "duplicate_exact"
                else " (warning)"
            )
            out.append(f"  {issue.title}: {issue.count} row{'s' if issue.count != 1 else ''}{tag}")
            for ex in issue.examples:
                out.append(f"    {ex}")
            if issue.count > len(issue.examples):
                out.append(f"    ... and {issue.count - len(issue.examples)} more")
        if self.dropped_lines.size:
            out.append(f"  dropped {self.dropped_lines.size} rows, {w}s {_ranges(self.dropped_lines)}")
        if self.exact_duplicates_removed.size:
            out.append(
                f"  removed {self.exact_duplicates_removed.size} exact duplicate rows (an identical row was kept), "
                f"{w}s {_ranges(self.exact_duplicates_removed)}"
            )
        if self.sorted_rows:
            out.append(f"  sorted the rows into time order ({self.sorted_rows} rows were out of order)")
        out.append(
            f"  gaps: {self.gaps.describe()}"
            + ("" if not self.gaps.count else " (gaps do not refuse an import)")
        )
        for g in self.gaps.first:
            out.append(f"    {g['after']} -> {g['before']}: {g['missing_bars']} missing")
        if self.gaps.count > len(self.gaps.first):
            out.append(f"    ... and {self.gaps.count - len(self.gaps.first)} more gaps")
        if self.filled_bars:
            out.append(f"  filled {self.filled_bars} missing bars (previous close as O/H/L/C, volume 0)")
        if self.zero_volume_rows:
            out.append(f"  note: {self.zero_volume_rows} rows have zero volume (kept)")
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.refused:
            bad_rows = len(set(np.concatenate([i.lines for i in self.blocking]))) if self.blocking else 0
            fixes = sorted({i.fix for i in self.blocking})
            if "drop" in fixes and bad_rows > MAX_DROP_SHARE * max(self.rows_read, 1):
                # dropping would destroy the file: never suggest it
                fixes.remove("drop")
                out.append(f"Dropping the bad rows would keep only {self.rows_read - bad_rows} of {self.rows_read}: "
                           "the file does not match what the import was told"
                           + (f"; rows are {self.spacing_words} apart: did you mean --timeframe {self.spacing}?"
                              if self.spacing else "."))
            if fixes:
                flags = " and ".join(f"--repair {f}" for f in fixes)
                what = {
                    "drop": "drop the bad rows (each dropped line is listed)",
                    "sort": "sort the rows by time",
                }
                out.append(f"Fix the file, or rerun with {flags} to " + "; ".join(what[f] for f in fixes) + ".")
        return "\n".join(out)

    @property
    def spacing_words(self) -> str:
        return _words(Timeframe.parse(self.spacing).nanos) if self.spacing else ""


class ValidationRefused(DataError):
    """The file has problems and the policy refuses it. `report` holds the details."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(report.text())


# ---------------------------------------------------------------------------------------------------------
def _fmt_td(ns: int) -> str:
    """Compact duration: `13d`, `2h50m`, `5m`, `1d12h`."""
    ns = int(ns)
    if ns <= 0:
        return "0"
    parts = []
    for unit, size in (
        ("w", 0),
        ("d", 86_400 * 10**9),
        ("h", 3_600 * 10**9),
        ("m", 60 * 10**9),
        ("s", 10**9),
    ):
        if size and ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    if ns:
        parts.append(f"{ns}ns")
    return "".join(parts)


def _ranges(lines: np.ndarray, limit: int = 40) -> str:
    """`2-4, 9, 12` (compressed ranges of sorted line numbers)."""
    lines = np.sort(lines)
    parts: list[str] = []
    start = prev = int(lines[0])
    for x in lines[1:].tolist() + [None]:
        if x is not None and x == prev + 1:
            prev = x
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f", ... ({len(parts) - limit} more ranges)"
    return ", ".join(parts)


def _num(x: float) -> str:
    return "NaN" if np.isnan(x) else f"{x:.10g}"


def _examples(mask: np.ndarray, raw: RawCandles, fmt) -> tuple[np.ndarray, list[str]]:
    idx = np.flatnonzero(mask)
    lines = raw.line[idx]
    return lines, [f"{raw.line_word} {raw.line[i]}: {fmt(i)}" for i in idx[:MAX_EXAMPLES]]


def check_rows(raw: RawCandles, timeframe: Timeframe) -> tuple[list[Issue], np.ndarray, np.ndarray]:
    """Row-level checks. Returns (issues, bad-row mask, exact-duplicate mask (rows to remove))."""
    n = len(raw)
    v = raw.values
    o, h, lo, c, vol = (v[k] for k in OHLCV)
    issues: list[Issue] = []
    bad = np.zeros(n, dtype=bool)

    def add(kind: str, title: str, mask: np.ndarray, fmt, blocking: bool = True, fix: str = "drop") -> None:
        nonlocal bad
        if mask.any():
            lines, ex = _examples(mask, raw, fmt)
            issues.append(Issue(kind, title, lines, ex, blocking, fix))
            if blocking and fix == "drop":
                bad |= mask

    # 1. timestamps
    def ts_fmt(i: int) -> str:
        txt = raw.ts_text[i] if raw.ts_text is not None else None
        return f"cannot parse timestamp {txt!r}" if txt not in (None, "") else "timestamp is empty"

    add("bad_timestamp", "unparseable or empty timestamp", raw.ts_bad, ts_fmt)

    # 2. missing / non-numeric / infinite values (inf is no price or volume: refused like NaN)
    missing = np.zeros(n, dtype=bool)
    for key in OHLCV:
        missing |= ~np.isfinite(v[key])

    def miss_fmt(i: int) -> str:
        parts = []
        for key in OHLCV:
            x = v[key][i]
            if np.isinf(x):
                parts.append(f"{key} is {'-inf' if x < 0 else 'inf'} (infinite)")
            elif np.isnan(x):
                notnum = key in raw.bad_cells and raw.bad_cells[key][i]
                parts.append(f"{key} is not a number" if notnum else f"{key} is missing/NaN")
        return ", ".join(parts)

    add("missing_value", "missing, NaN, infinite or non-numeric value", missing, miss_fmt)

    with np.errstate(invalid="ignore"):
        nonpos = (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)
        add(
            "nonpositive_price",
            "non-positive price",
            nonpos,
            lambda i: (
                ", ".join(f"{k} {_num(v[k][i])}" for k in PRICE_COLUMNS if v[k][i] <= 0) + " (must be > 0)"
            ),
        )
        hl = h < lo
        add("high_below_low", "high < low", hl, lambda i: f"high {_num(h[i])} < low {_num(lo[i])}")
        hi_bad = h < np.maximum(o, c)
        add(
            "high_below_open_close",
            "high < max(open, close)",
            hi_bad,
            lambda i: f"high {_num(h[i])} < max(open {_num(o[i])}, close {_num(c[i])})",
        )
        lo_bad = lo > np.minimum(o, c)
        add(
            "low_above_open_close",
            "low > min(open, close)",
            lo_bad,
            lambda i: f"low {_num(lo[i])} > min(open {_num(o[i])}, close {_num(c[i])})",
        )
        negv = vol < 0
        add("negative_volume", "negative volume", negv, lambda i: f"volume {_num(vol[i])} < 0")

    # 3. grid alignment (rows with a valid timestamp)
    ok_ts = ~raw.ts_bad
    tf = timeframe.nanos
    ts = raw.ts
    if ok_ts.sum() > 0:
        resid = np.mod(ts[ok_ts], tf)
        mode = _mode(resid)
        off = np.zeros(n, dtype=bool)
        off[ok_ts] = resid != mode
        if off.any():
            phase = f"{_fmt_td(int(mode))} past the boundary" if mode else "on the boundary"
            add(
                "off_grid",
                f"timestamp off the {timeframe} grid",
                off,
                lambda i: f"{iso(int(ts[i]))} is not on the {timeframe} grid of the other rows ({phase})",
            )

    # 4. duplicates among rows that are otherwise good
    good = ok_ts & ~bad
    idx = np.flatnonzero(good)
    dup_exact = np.zeros(n, dtype=bool)
    if idx.size > 1:
        order = idx[np.argsort(ts[idx], kind="stable")]
        sts = ts[order]
        same = sts[1:] == sts[:-1]
        if same.any():
            # group start index for every sorted position
            starts = np.concatenate(([True], ~same))
            group = np.cumsum(starts) - 1
            first_of_group = order[np.flatnonzero(starts)][group]
            eq = np.ones(order.size, dtype=bool)
            for key in OHLCV:
                eq &= v[key][order] == v[key][first_of_group]
            in_dup = np.zeros(order.size, dtype=bool)
            in_dup[1:] |= same
            in_dup[:-1] |= same
            # a group conflicts if any member differs from its first member
            group_conflict = np.zeros(group[-1] + 1, dtype=bool)
            np.logical_or.at(group_conflict, group, ~eq)
            conflict_pos = in_dup & group_conflict[group]
            conflict = np.zeros(n, dtype=bool)
            conflict[order[conflict_pos]] = True
            exact_pos = in_dup & ~group_conflict[group] & ~starts
            dup_exact[order[exact_pos]] = True

            def dup_fmt(i: int) -> str:
                others = raw.line[(ts == ts[i]) & good]
                others = [int(x) for x in others if x != raw.line[i]]
                vals_txt = " ".join(f"{k[0]}={_num(v[k][i])}" for k in OHLCV)
                return f"{iso(int(ts[i]))} also on {raw.line_word} {', '.join(map(str, others[:3]))} with other values; this row: {vals_txt}"

            add("duplicate_conflict", "duplicate timestamp with different values", conflict, dup_fmt)
            if dup_exact.any():
                lines, ex = _examples(
                    dup_exact,
                    raw,
                    lambda i: f"{iso(int(ts[i]))} repeats an identical row",
                )
                issues.append(
                    Issue("duplicate_exact", "exact duplicate row", lines, ex, blocking=False, fix="none")
                )

    # 5. order (file order of the rows that remain)
    keep = good & ~dup_exact & ~bad
    kidx = np.flatnonzero(keep)
    if kidx.size > 1:
        kts = ts[kidx]
        back = np.flatnonzero(kts[1:] < kts[:-1]) + 1
        if back.size:
            mask = np.zeros(n, dtype=bool)
            mask[kidx[back]] = True
            descending = bool(np.all(kts[1:] <= kts[:-1]))
            title = "rows out of time order" + (" (the file is newest-first)" if descending else "")
            prev = {int(kidx[b]): int(kidx[b - 1]) for b in back[:MAX_EXAMPLES]}
            lines, ex = _examples(
                mask,
                raw,
                lambda i: (
                    f"{iso(int(ts[i]))} comes after {iso(int(ts[prev[i]]))} ({raw.line_word} {raw.line[prev[i]]})"
                    if i in prev
                    else ""
                ),
            )
            issues.append(Issue("unsorted", title, lines, ex, blocking=True, fix="sort"))
    return issues, bad, dup_exact


def prepare(
    raw: RawCandles,
    timeframe: str | Timeframe,
    *,
    repair: set[str] | frozenset[str] | tuple[str, ...] = (),
    fill_gaps: bool = False,
) -> tuple[pd.DataFrame, ImportReport]:
    """Validate raw rows and apply the allowed repairs. Raises `ValidationRefused` when the policy refuses.

    Returns a frame with a sorted, unique UTC DatetimeIndex named `timestamp` and float64 OHLCV columns.
    """
    tf = Timeframe.parse(timeframe)
    repair = set(repair)
    unknown = repair - set(REPAIRS)
    if unknown:
        from quantdesk.core.errors import ParameterError

        raise ParameterError(
            f"--repair {', '.join(sorted(unknown))}: unknown; use one or more of {', '.join(REPAIRS)}"
        )
    issues, bad, dup_exact = check_rows(raw, tf)
    report = ImportReport(
        path=raw.path, timeframe=str(tf), rows_read=len(raw), issues=issues, line_word=raw.line_word
    )
    spacing = _spacing(raw.ts[~raw.ts_bad])
    if spacing is not None and spacing != tf.nanos:
        report.spacing = str(Timeframe(spacing))
        report.notes.append(f"rows are {_words(spacing)} apart: did you mean --timeframe {report.spacing}?")
    blocking = [i for i in issues if i.blocking and i.fix not in repair]
    n_bad = int(np.count_nonzero(bad))
    if "drop" in repair and n_bad > MAX_DROP_SHARE * max(len(raw), 1):
        report.refused = True
        report.notes.append(f"--repair drop refused: it would drop {n_bad} of {len(raw)} rows and keep only "
                            f"{len(raw) - n_bad}; a file whose rows are mostly bad is the wrong file or the wrong "
                            "--timeframe")
        raise ValidationRefused(report)
    keep = ~bad & ~dup_exact & ~raw.ts_bad
    ts_keep = np.sort(raw.ts[keep])
    report.gaps = find_gaps(sorted_unique(ts_keep), tf.nanos)
    _timeframe_hint(ts_keep, tf, report)
    if blocking:
        report.refused = True
        raise ValidationRefused(report)
    if "drop" in repair and bad.any():
        report.dropped_lines = raw.line[bad]
    report.exact_duplicates_removed = raw.line[dup_exact]
    idx = np.flatnonzero(keep)
    ts = raw.ts[idx]
    if ts.size == 0:
        report.refused = True
        report.notes.append("no rows are left after the repairs")
        raise ValidationRefused(report)
    order = np.argsort(ts, kind="stable")
    if np.any(order != np.arange(order.size)):
        report.sorted_rows = int(np.count_nonzero(ts[1:] < ts[:-1]))
        if report.sorted_rows == 0:
            report.sorted_rows = int(np.count_nonzero(order != np.arange(order.size)))
    idx = idx[order]
    data = {k: raw.values[k][idx] for k in OHLCV}
    ts = raw.ts[idx]
    report.zero_volume_rows = int(np.count_nonzero(data["volume"] == 0))
    if fill_gaps and report.gaps.count:
        ts, data, added = fill_gaps_forward(ts, data, tf.nanos)
        report.filled_bars = added
    df = frame_from_arrays(ts, data)
    report.rows_out = len(df)
    return df, report


def _timeframe_hint(ts: np.ndarray, tf: Timeframe, report: ImportReport) -> None:
    if ts.size < 3 or report.spacing is not None:
        return
    steps = np.diff(sorted_unique(ts))
    if steps.size == 0:
        return
    med = int(np.median(steps))
    if med > tf.nanos and med % tf.nanos == 0 and report.gaps.missing_bars > ts.size:
        report.notes.append(
            f"rows are mostly {_fmt_td(med)} apart, more than the timeframe {tf}: is the timeframe right?"
        )


def _spacing(ts: np.ndarray) -> int | None:
    """The step most rows are apart (ns), when at least half of the steps between sorted unique times share it;
    None for too few rows or no dominant step."""
    u = np.unique(ts)
    if u.size < 3:
        return None
    steps = np.diff(u)
    step = _mode(steps)
    return step if step > 0 and np.count_nonzero(steps == step) >= 0.5 * steps.size else None


def _words(ns: int) -> str:
    """`5 minutes`, `1 hour`, `4 hours`, `1 day`: a step as a person says it."""
    for unit, size in (("week", 7 * 86_400 * 10**9), ("day", 86_400 * 10**9), ("hour", 3_600 * 10**9),
                       ("minute", 60 * 10**9), ("second", 10**9)):
        if ns % size == 0:
            n = ns // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return _fmt_td(ns)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """Unique values of an already sorted array (O(n); numpy's unique hashes, which is slow for int64)."""
    if a.size < 2:
        return a
    return a[np.concatenate(([True], a[1:] != a[:-1]))]


def _mode(a: np.ndarray) -> int:
    """Most common value (fast path when all are equal)."""
    if a.size == 0 or np.all(a == a[0]):
        return int(a[0]) if a.size else 0
    s = np.sort(a)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.concatenate((starts, [s.size])))
    return int(s[starts[np.argmax(counts)]])


def fill_gaps_forward(
    ts: np.ndarray, data: dict[str, np.ndarray], tf_ns: int
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Insert the missing grid bars: O=H=L=C = previous close, volume 0. Vectorised."""
    steps = np.diff(ts)
    n_new = np.maximum((steps + tf_ns - 1) // tf_ns - 1, 0)
    added = int(n_new.sum())
    if not added:
        return ts, data, 0
    counts = np.concatenate((n_new + 1, [1]))  # each row followed by its fill bars
    src = np.repeat(np.arange(ts.size), counts)
    # offset within each run: 0 = the real row, 1.. = fill bars
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(src.size) - run_start
    new_ts = ts[src] + k * tf_ns
    is_fill = k > 0
    close = data["close"][src]
    out = {}
    for key in ("open", "high", "low", "close"):
        col = data[key][src].copy()
        col[is_fill] = close[is_fill]
        out[key] = col
    vol = data["volume"][src].copy()
    vol[is_fill] = 0.0
    out["volume"] = vol
    return new_ts, out, added


def frame_from_arrays(ts: np.ndarray, data: dict[str, np.ndarray]) -> pd.DataFrame:
    """The canonical candle frame: UTC DatetimeIndex `timestamp` (ns), float64 open..volume."""
    index = pd.DatetimeIndex(
        np.asarray(ts, dtype=np.int64).view("datetime64[ns]"), name="timestamp"
    ).tz_localize("UTC")
    return pd.DataFrame({k: np.asarray(data[k], dtype=np.float64) for k in OHLCV}, index=index)
