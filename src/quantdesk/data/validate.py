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

The report types (`Issue`, `GapSummary`, `ImportReport`, `ValidationRefused`) and `find_gaps` live in
`validation_report`; this module checks rows and prepares frames.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quantdesk.core.timeutil import iso
from quantdesk.data.raw_candles import OHLCV, PRICE_COLUMNS, RawCandles
from quantdesk.data.validation_report import (
    MAX_DROP_SHARE,
    MAX_EXAMPLES,
    REPAIRS,
    GapSummary,
    ImportReport,
    Issue,
    ValidationRefused,
    find_gaps,
    format_duration,
    format_number,
    step_in_words,
)
from quantdesk.model.timeframe import Timeframe


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

    def add(
        kind: str, title: str, mask: np.ndarray, fmt: Callable[[int], str], blocking: bool = True, fix: str = "drop"
    ) -> None:
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
                ", ".join(f"{k} {format_number(v[k][i])}" for k in PRICE_COLUMNS if v[k][i] <= 0) + " (must be > 0)"
            ),
        )
        hl = h < lo
        add("high_below_low", "high < low", hl, lambda i: f"high {format_number(h[i])} < low {format_number(lo[i])}")
        hi_bad = h < np.maximum(o, c)
        add(
            "high_below_open_close",
            "high < max(open, close)",
            hi_bad,
            lambda i: f"high {format_number(h[i])} < max(open {format_number(o[i])}, close {format_number(c[i])})",
        )
        lo_bad = lo > np.minimum(o, c)
        add(
            "low_above_open_close",
            "low > min(open, close)",
            lo_bad,
            lambda i: f"low {format_number(lo[i])} > min(open {format_number(o[i])}, close {format_number(c[i])})",
        )
        negv = vol < 0
        add("negative_volume", "negative volume", negv, lambda i: f"volume {format_number(vol[i])} < 0")

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
            phase = f"{format_duration(int(mode))} past the boundary" if mode else "on the boundary"
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
                vals_txt = " ".join(f"{k[0]}={format_number(v[k][i])}" for k in OHLCV)
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
        report.notes.append(f"rows are {step_in_words(spacing)} apart: did you mean --timeframe {report.spacing}?")
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
            f"rows are mostly {format_duration(med)} apart, more than the timeframe {tf}: is the timeframe right?"
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


__all__ = [
    "GapSummary",
    "ImportReport",
    "Issue",
    "MAX_DROP_SHARE",
    "MAX_EXAMPLES",
    "REPAIRS",
    "ValidationRefused",
    "check_rows",
    "fill_gaps_forward",
    "find_gaps",
    "frame_from_arrays",
    "prepare",
    "sorted_unique",
]
