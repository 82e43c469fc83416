"""Purged cross-validation for labels that span several bars: walk-forward and combinatorial purged CV (CPCV).

Every sample i (a labelled bar) has a label interval [t0_i, t1_i] in bar positions (decision bar -> resolution
bar). A test fold is a set of contiguous sample blocks; for each block with interval [lo, hi] (first decision,
last resolution), a TRAINING sample is removed (PURGED) when its interval overlaps [lo, hi], and, with an
EMBARGO of e bars, also when it starts within (hi, hi + e] (serial correlation right after the test block).
`assert_purged` re-checks this on every split and raises `PurgeError`: it is called on every split the training
pipeline uses, not only in tests.

    cv = PurgedWalkForward(n_splits=5, embargo=0)          # expanding train window, tests the last 5 blocks
    cv = CombinatorialPurgedCV(n_groups=6, n_test_groups=2, embargo=12)   # C(6,2) = 15 splits, 5 paths
    for split in cv.split(t0, t1):
        split.train, split.test                             # sample positions (sorted int arrays)

CPCV PATHS: each group is tested in C(N-1, k-1) splits; path p takes, for every group, the p-th split (in split
order) that tests it. Every path is a complete out-of-sample history, so metrics have a distribution over paths.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from quantdesk.core.errors import ParameterError
from quantdesk.ml.errors import PurgeError


@dataclass(frozen=True)
class Split:
    number: int
    train: np.ndarray  # sample positions
    test: np.ndarray
    test_groups: tuple[int, ...] = ()
    purged: int = 0  # training samples removed by purging + embargo


def _blocks(m: int, k: int) -> list[np.ndarray]:
    if k < 1 or m < k:
        raise ParameterError(f"cannot cut {m} samples into {k} folds")
    edges = np.linspace(0, m, k + 1).round().astype(np.int64)
    return [np.arange(edges[i], edges[i + 1], dtype=np.int64) for i in range(k)]


def _runs(test: np.ndarray) -> list[np.ndarray]:
    """Contiguous runs of sample positions."""
    if len(test) == 0:
        return []
    cut = np.flatnonzero(np.diff(test) != 1) + 1
    return np.split(test, cut)


def purge_mask(t0: np.ndarray, t1: np.ndarray, test: np.ndarray, embargo: int) -> np.ndarray:
    """True for samples that may NOT train against `test` (overlap or embargo), test samples included."""
    bad = np.zeros(len(t0), dtype=bool)
    bad[test] = True
    for run in _runs(test):
        lo, hi = int(t0[run].min()), int(t1[run].max())
        bad |= (t0 <= hi) & (t1 >= lo)
        if embargo > 0:
            bad |= (t0 > hi) & (t0 <= hi + embargo)
    return bad


def assert_purged(t0: np.ndarray, t1: np.ndarray, train: np.ndarray, test: np.ndarray, embargo: int = 0,
                  where: str = "split") -> None:
    """Raise PurgeError if a training label interval overlaps a test block (or starts inside its embargo)."""
    if np.intersect1d(train, test).size:
        raise PurgeError(f"{where}: {np.intersect1d(train, test).size} samples are both training and test")
    tr0, tr1 = t0[train], t1[train]
    for run in _runs(np.sort(test)):
        lo, hi = int(t0[run].min()), int(t1[run].max())
        overlap = (tr0 <= hi) & (tr1 >= lo)
        if overlap.any():
            i = int(train[np.argmax(overlap)])
            raise PurgeError(f"{where}: training sample {i} (label bars {t0[i]}..{t1[i]}) overlaps the test "
                             f"block of bars {lo}..{hi}")
        if embargo > 0:
            emb = (tr0 > hi) & (tr0 <= hi + embargo)
            if emb.any():
                i = int(train[np.argmax(emb)])
                raise PurgeError(f"{where}: training sample {i} starts at bar {t0[i]}, inside the {embargo}-bar "
                                 f"embargo after the test block ending at bar {hi}")


def calibration_tail(t0: np.ndarray, t1: np.ndarray, train: np.ndarray, fraction: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Split training positions into (fit, calibrate): the calibration set is the LATEST `fraction` of the
    training samples, and fit samples whose labels resolve at or after the calibration set's first decision are
    purged, so the calibrator only ever sees data strictly later than what the model learned from."""
    if not 0 < fraction < 1:
        raise ParameterError(f"calibration fraction must be in (0, 1), got {fraction}")
    order = train[np.argsort(t0[train], kind="stable")]
    n_cal = max(1, int(round(len(order) * fraction)))
    cal = np.sort(order[-n_cal:])
    start = int(t0[cal].min())
    fit = order[:-n_cal]
    fit = np.sort(fit[t1[fit] < start])
    return fit, cal


class PurgedWalkForward:
    """`n_splits` test blocks = the last n_splits of n_splits + 1 equal blocks; training = every earlier sample
    whose label resolves before the test block starts (expanding; `max_train` samples at most: rolling)."""

    def __init__(self, n_splits: int = 5, embargo: int = 0, max_train: int | None = None) -> None:
        if n_splits < 1:
            raise ParameterError(f"--folds must be >= 1, got {n_splits}")
        self.n_splits, self.embargo, self.max_train = int(n_splits), int(embargo), max_train

    def split(self, t0: np.ndarray, t1: np.ndarray) -> Iterator[Split]:
        m = len(t0)
        blocks = _blocks(m, self.n_splits + 1)
        for k in range(1, self.n_splits + 1):
            test = blocks[k]
            earlier = np.arange(0, int(test[0]), dtype=np.int64)
            bad = purge_mask(t0, t1, test, self.embargo)
            train = earlier[~bad[earlier]]
            if self.max_train is not None and len(train) > self.max_train:
                train = train[-self.max_train:]
            yield Split(k - 1, train, test, (k,), purged=int(len(earlier) - len(train)))

    def describe(self) -> dict[str, object]:
        return {"cv": "walk-forward", "folds": self.n_splits, "embargo": self.embargo, "max_train": self.max_train}


class CombinatorialPurgedCV:
    """All C(n_groups, n_test_groups) choices of test groups; training = the other groups, purged + embargoed."""

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, embargo: int = 0) -> None:
        if n_groups < 2 or not 1 <= n_test_groups < n_groups:
            raise ParameterError(f"CPCV needs n_groups >= 2 and 1 <= test groups < n_groups, got "
                                 f"{n_groups} groups, {n_test_groups} test groups")
        self.n_groups, self.n_test, self.embargo = int(n_groups), int(n_test_groups), int(embargo)

    def combos(self) -> list[tuple[int, ...]]:
        return list(itertools.combinations(range(self.n_groups), self.n_test))

    def split(self, t0: np.ndarray, t1: np.ndarray) -> Iterator[Split]:
        blocks = _blocks(len(t0), self.n_groups)
        for number, groups in enumerate(self.combos()):
            test = np.concatenate([blocks[g] for g in groups])
            bad = purge_mask(t0, t1, test, self.embargo)
            train = np.flatnonzero(~bad).astype(np.int64)
            purged = int(len(t0) - len(test) - len(train))
            yield Split(number, train, test, tuple(groups), purged=purged)

    def paths(self) -> list[dict[int, int]]:
        """Path p -> {group: split number testing it}."""
        combos = self.combos()
        per_group = {g: [i for i, c in enumerate(combos) if g in c] for g in range(self.n_groups)}
        n_paths = len(per_group[0])
        return [{g: per_group[g][p] for g in range(self.n_groups)} for p in range(n_paths)]

    def group_of(self, m: int) -> np.ndarray:
        out = np.empty(m, dtype=np.int64)
        for g, b in enumerate(_blocks(m, self.n_groups)):
            out[b] = g
        return out

    def describe(self) -> dict[str, object]:
        return {"cv": "cpcv", "groups": self.n_groups, "test_groups": self.n_test, "embargo": self.embargo,
                "splits": len(self.combos()), "paths": len(self.paths())}


def make_cv(kind: str, folds: int, embargo: int = 0, test_groups: int = 2) -> PurgedWalkForward | CombinatorialPurgedCV:
    if kind in ("walk-forward", "walkforward", "wf"):
        return PurgedWalkForward(folds, embargo)
    if kind == "cpcv":
        return CombinatorialPurgedCV(folds, min(test_groups, folds - 1), embargo)
    raise ParameterError(f"--cv must be walk-forward or cpcv, got {kind!r}")
