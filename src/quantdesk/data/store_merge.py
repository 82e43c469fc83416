"""Merging new bars into a stored series (sorted unique timestamps; identical rows kept, conflicting rows
refused or overwritten), and what an append did (`AppendResult`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quantdesk.core.errors import DataError
from quantdesk.core.timeutil import iso
from quantdesk.data.io import OHLCV


@dataclass(frozen=True)
class AppendResult:
    """What an append did: `new` rows added, `identical` rows already stored, `replaced` (overwrite only)."""

    new: int
    identical: int
    replaced: int
    rows: int



def merge_bars(
    old_ts: np.ndarray,
    old: dict[str, np.ndarray],
    ts: np.ndarray,
    new: dict[str, np.ndarray],
    *,
    overwrite: bool,
    where: str,
) -> tuple[np.ndarray, dict[str, np.ndarray], AppendResult]:
    if ts.size == 0:
        return old_ts, old, AppendResult(0, 0, 0, int(old_ts.size))
    if old_ts.size == 0 or ts[0] > old_ts[-1]:  # pure append (the common case)
        merged_ts = np.concatenate((old_ts, ts))
        merged = {k: np.concatenate((old[k], new[k])) for k in OHLCV}
        return merged_ts, merged, AppendResult(int(ts.size), 0, 0, int(merged_ts.size))
    pos = np.searchsorted(old_ts, ts)
    pos_c = np.minimum(pos, old_ts.size - 1)
    hit = old_ts[pos_c] == ts
    hit_old = pos_c[hit]
    same = np.ones(int(hit.sum()), dtype=bool)
    for k in OHLCV:
        a, b = old[k][hit_old], new[k][hit]
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    n_conflict = int((~same).sum())
    if n_conflict and not overwrite:
        bad_new = np.flatnonzero(hit)[~same]
        bad_old = hit_old[~same]
        examples = []
        for i_new, i_old in list(zip(bad_new, bad_old, strict=False))[:3]:
            diffs = [
                f"{k} {old[k][i_old]:.10g}->{new[k][i_new]:.10g}"
                for k in OHLCV
                if not old[k][i_old] == new[k][i_new]
            ]
            examples.append(f"{iso(int(ts[i_new]))} ({', '.join(diffs)})")
        raise DataError(
            f"{where}: {n_conflict} bar{'s' if n_conflict != 1 else ''} already stored with different values, "
            f"e.g. {'; '.join(examples)}. Nothing was written; use --overwrite (overwrite=True) to replace them"
        )
    merged_ts = np.concatenate((old_ts, ts[~hit]))
    merged = {}
    for k in OHLCV:
        col = old[k].copy()
        if overwrite and n_conflict:
            col[hit_old] = new[k][hit]
        merged[k] = np.concatenate((col, new[k][~hit]))
    order = np.argsort(merged_ts, kind="stable")
    merged_ts = merged_ts[order]
    merged = {k: v[order] for k, v in merged.items()}
    result = AppendResult(
        new=int((~hit).sum()),
        identical=int(same.sum()),
        replaced=n_conflict if overwrite else 0,
        rows=int(merged_ts.size),
    )
    return merged_ts, merged, result

