"""Evaluating a scorer on a labelled set: accuracy, per-class and macro F1, Cohen's kappa (hand-written here;
the tests check them against scikit-learn), next to the no-skill baseline (always the majority class)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quantdesk.core.errors import DataError
from quantdesk.intel.sentiment.types import DEFAULT_THRESHOLD, LABELS, label_of


def f1_per_class(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> dict[str, float]:
    out = {}
    for c in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p != c)
        out[c] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return out


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    per = f1_per_class(y_true, y_pred, labels)
    return sum(per.values()) / len(per)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Agreement of two labellings beyond chance: (p_o - p_e) / (1 - p_e)."""
    n = len(a)
    if n == 0 or n != len(b):
        raise DataError("cohen_kappa: two non-empty labellings of the same length are needed")
    po = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def cv_fold(text: str, k: int = 5) -> int:
    """The cross-validation fold of a text: a fixed, salted hash of the text alone (independent of its label and
    of the held-aside split), so folds never depend on who looks at them or when."""
    return int(hashlib.sha256(("cv5:" + text.lower()).encode()).hexdigest()[:8], 16) % k


def evaluate_folds(rows: Sequence[dict[str, str]], scorer: Any, k: int = 5,
                   threshold: float = DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """`evaluate` on each of the k folds of `rows` (fold = cv_fold(text, k)), in fold order."""
    out = []
    for f in range(k):
        part = [r for r in rows if cv_fold(r["text"], k) == f]
        if not part:
            raise DataError(f"fold {f} of {k} is empty: too few rows for {k}-fold evaluation")
        out.append({"fold": f, **evaluate(part, scorer, threshold)})
    return out


def load_labelled(path: str | Path) -> list[dict[str, str]]:
    """Rows of a labelled CSV (id, text, split, label_a, label_b, label)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"labelled set not found: {p}")
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for n, r in enumerate(rows, 2):
        if r.get("label") not in LABELS:
            raise DataError(f"{p}:{n}: label {r.get('label')!r} is not one of {', '.join(LABELS)}")
    return rows


def evaluate(rows: Sequence[dict[str, str]], scorer: Any, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Scores `rows` with `scorer` and compares with their labels; includes the majority-class baseline."""
    y = [r["label"] for r in rows]
    scores = scorer.score_many([r["text"] for r in rows])
    pred = [label_of(s, threshold) for s in scores]
    majority = Counter(y).most_common(1)[0][0]
    base = [majority] * len(y)
    return {
        "n": len(y),
        "scorer": scorer.name,
        "threshold": threshold,
        "macro_f1": macro_f1(y, pred),
        "accuracy": sum(1 for t, p in zip(y, pred, strict=True) if t == p) / len(y),
        "f1": f1_per_class(y, pred),
        "baseline_majority": {"label": majority, "macro_f1": macro_f1(y, base),
                              "accuracy": y.count(majority) / len(y)},
    }
