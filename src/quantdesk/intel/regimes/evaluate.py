"""Detection quality against known switch times: delay, precision/recall/F1 at a tolerance, false alarms.

A detection at bar d matches a true switch at bar s when s <= d <= s + tolerance (causal detectors cannot see a
switch before it happens, so early "detections" are false alarms); matching is one-to-one, earliest first.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def match_detections(switches: np.ndarray, detections: np.ndarray, tolerance: int = 20) -> dict[str, Any]:
    """Greedy one-to-one matching in time order; see the module docstring."""
    sw = np.sort(np.asarray(switches, dtype=np.int64))
    det = np.sort(np.asarray(detections, dtype=np.int64))
    used = np.zeros(len(det), dtype=bool)
    delays: list[int] = []
    j = 0
    for s in sw:
        while j < len(det) and det[j] < s:
            j += 1
        k = j
        while k < len(det) and det[k] <= s + tolerance and used[k]:
            k += 1
        if k < len(det) and det[k] <= s + tolerance:
            used[k] = True
            delays.append(int(det[k] - s))
    tp = len(delays)
    precision = tp / len(det) if len(det) else float("nan")
    recall = tp / len(sw) if len(sw) else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"switches": int(len(sw)), "detections": int(len(det)), "matched": tp,
            "false_alarms": int(len(det) - tp), "precision": precision, "recall": recall, "f1": f1,
            "median_delay": float(np.median(delays)) if delays else float("nan"), "delays": delays}


def detections_from_output(bars_since_change: np.ndarray) -> np.ndarray:
    """Bars where a detector declared a change (bars_since_change == 0 after its first valid value)."""
    b = np.asarray(bars_since_change, dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(b))
    if not len(valid):
        return np.zeros(0, dtype=np.int64)
    zero = np.flatnonzero(b == 0)
    return zero[zero > valid[0]]


def label_mapping(labels: np.ndarray, states: np.ndarray) -> dict[int, int]:
    """For each detected label, the true state it coincides with most often (NaN labels ignored)."""
    lab = np.asarray(labels, dtype=np.float64)
    ok = np.isfinite(lab)
    out: dict[int, int] = {}
    for value in np.unique(lab[ok]).astype(int):
        hits = np.bincount(np.asarray(states)[ok & (lab == value)])
        out[int(value)] = int(np.argmax(hits))
    return out
