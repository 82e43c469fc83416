"""What an import validation found: the issues with their file lines, the gaps, and the report (`ImportReport`)
that says what was refused, dropped, sorted or filled. Policy: quantdesk.data.validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantdesk.core.errors import DataError
from quantdesk.core.timeutil import iso
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
            "largest": format_duration(self.largest_ns) if self.count else None,
            "largest_missing_bars": self.largest_missing,
            "first": self.first,
        }

    def describe(self) -> str:
        if not self.count:
            return "no gaps"
        return (
            f"{self.count} gap{'s' if self.count != 1 else ''}, {self.missing_bars} missing bar"
            f"{'s' if self.missing_bars != 1 else ''}, largest {format_duration(self.largest_ns)} step "
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
        return step_in_words(Timeframe.parse(self.spacing).nanos) if self.spacing else ""


class ValidationRefused(DataError):
    """The file has problems and the policy refuses it. `report` holds the details."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(report.text())


# ---------------------------------------------------------------------------------------------------------
def format_duration(ns: int) -> str:
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


def format_number(x: float) -> str:
    return "NaN" if np.isnan(x) else f"{x:.10g}"


def step_in_words(ns: int) -> str:
    """`5 minutes`, `1 hour`, `4 hours`, `1 day`: a step as a person says it."""
    for unit, size in (("week", 7 * 86_400 * 10**9), ("day", 86_400 * 10**9), ("hour", 3_600 * 10**9),
                       ("minute", 60 * 10**9), ("second", 10**9)):
        if ns % size == 0:
            n = ns // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return format_duration(ns)
