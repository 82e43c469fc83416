"""Inject anomalies at known positions into clean bars (the ground truth of the anomaly proofs).

    bars, events = inject_anomalies(clean, seed=1, per_kind=10)
    events: [{"kind": "spike"|"flat"|"gap"|"volume_burst", "start": Timestamp, "end": Timestamp}]

- spike: the close of one bar jumps by `spike_sigmas` bar volatilities (high/low follow) and the next bar opens
  there and closes where the clean series did: a one-bar spike that reverts (span = the two bars).
- flat: `flat_bars` bars frozen at the previous close with zero volume (a stale feed).
- gap: `gap_bars` bars removed from the series (span = the first bar after the hole).
- volume_burst: one bar's volume multiplied by `burst` (x20).
Positions are random but at least `spacing` bars apart and after the first `warmup` bars.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KINDS = ("spike", "flat", "gap", "volume_burst")


def inject_anomalies(bars: pd.DataFrame, seed: int = 0, *, per_kind: int = 10, warmup: int = 300,
                     spacing: int = 40, spike_sigmas: float = 12.0, flat_bars: int = 5, gap_bars: int = 3,
                     burst: float = 20.0) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    df = bars.copy()
    n = len(df)
    slots = np.arange(warmup, n - spacing, spacing)
    if len(slots) < per_kind * len(KINDS):
        raise ValueError(f"{n} bars hold only {len(slots)} anomaly slots; need {per_kind * len(KINDS)}")
    chosen = np.sort(rng.choice(slots, size=per_kind * len(KINDS), replace=False))
    kinds = rng.permutation(np.repeat(np.array(KINDS), per_kind))
    close = df["close"].to_numpy()
    sigma = float(np.std(np.diff(np.log(close))))
    drop: list[int] = []
    events: list[dict[str, Any]] = []
    idx = df.index
    col = {name: i for i, name in enumerate(df.columns)}  # column positions (the OHLCV names are unique)
    for pos, kind in zip(chosen, kinds, strict=True):
        i = int(pos) + int(rng.integers(0, spacing // 2))
        if kind == "spike":
            c = df["close"].iloc[i] * float(np.exp(spike_sigmas * sigma * rng.choice([-1.0, 1.0])))
            df.iloc[i, col["close"]] = c
            df.iloc[i, col["high"]] = max(df["high"].iloc[i], c)
            df.iloc[i, col["low"]] = min(df["low"].iloc[i], c)
            df.iloc[i + 1, col["open"]] = c
            df.iloc[i + 1, col["high"]] = max(df["high"].iloc[i + 1], c)
            df.iloc[i + 1, col["low"]] = min(df["low"].iloc[i + 1], c)
            events.append({"kind": kind, "start": idx[i], "end": idx[i + 1]})
        elif kind == "flat":
            p = df["close"].iloc[i - 1]
            for k in range(i, i + flat_bars):
                df.iloc[k, [col[c] for c in ("open", "high", "low", "close")]] = p
                df.iloc[k, col["volume"]] = 0.0
            j = i + flat_bars
            df.iloc[j, col["open"]] = p
            df.iloc[j, col["high"]] = max(df["high"].iloc[j], p)
            df.iloc[j, col["low"]] = min(df["low"].iloc[j], p)
            events.append({"kind": kind, "start": idx[i], "end": idx[i + flat_bars - 1]})
        elif kind == "gap":
            drop += list(range(i, i + gap_bars))
            events.append({"kind": kind, "start": idx[i + gap_bars], "end": idx[i + gap_bars]})
        else:
            df.iloc[i, col["volume"]] = df["volume"].iloc[i] * burst
            events.append({"kind": kind, "start": idx[i], "end": idx[i]})
    return df.drop(index=idx[drop]), events


def score_detections(detected: pd.Series | pd.DatetimeIndex, events: list[dict[str, Any]],
                     index: pd.DatetimeIndex, after: int = 1) -> dict[str, Any]:
    """Precision (detected bars inside an event's span, widened by `after` bars) and recall (events with at
    least one detected bar), overall and per event kind."""
    det = pd.DatetimeIndex(detected)
    pos = index.get_indexer(det)
    spans = [(index.get_indexer(pd.Index([e["start"]]))[0], index.get_indexer(pd.Index([e["end"]]))[0] + after, e["kind"])
             for e in events]
    hit = np.zeros(len(spans), dtype=bool)
    tp = 0
    for p in pos:
        inside = [k for k, (a, b, _) in enumerate(spans) if a <= p <= b]
        if inside:
            tp += 1
            hit[inside] = True
    by_kind = {k: float(np.mean([hit[j] for j, s in enumerate(spans) if s[2] == k])) for k in {s[2] for s in spans}}
    return {"detections": int(len(pos)), "true_positives": tp,
            "precision": tp / len(pos) if len(pos) else float("nan"),
            "recall": float(hit.mean()) if len(hit) else float("nan"), "recall_by_kind": by_kind}
