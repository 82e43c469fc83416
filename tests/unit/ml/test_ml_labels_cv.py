"""Labels against brute-force references; purged walk-forward and CPCV splits checked against an independent
overlap test on every split (and against skfolio's CombinatorialPurgedCV where both define the same thing)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.indicators.registry import compute
from quantdesk.ml.cv import (
    CombinatorialPurgedCV,
    PurgedWalkForward,
    assert_purged,
    calibration_tail,
)
from quantdesk.ml.errors import PurgeError
from quantdesk.ml.labels import LabelSpec, make_labels, meta_labels


# ---- labels ----------------------------------------------------------------------------------------------
def test_horizon_labels(btc_small: pd.DataFrame) -> None:
    lab = make_labels(btc_small, LabelSpec.parse("horizon:6"))
    c = btc_small["close"].to_numpy()
    n = len(c)
    for t in (0, 100, n - 7, n - 6, n - 1):
        if t + 6 < n:
            assert lab["y"].iloc[t] == (1.0 if c[t + 6] > c[t] else 0.0) and lab["t1"].iloc[t] == t + 6
            assert lab["ret"].iloc[t] == pytest.approx(math.log(c[t + 6] / c[t]))
        else:
            assert math.isnan(lab["y"].iloc[t]) and lab["t1"].iloc[t] == -1
    thr = make_labels(btc_small, LabelSpec.parse("horizon:6:threshold=0.01"))
    small = (lab["ret"].abs() <= 0.01).to_numpy()
    keep = ~small & lab["y"].notna().to_numpy()
    assert thr["y"][small].isna().all() and small.sum() > 100
    np.testing.assert_array_equal(thr["y"].to_numpy()[keep], lab["y"].to_numpy()[keep])


def _barrier_reference(frame: pd.DataFrame, spec: LabelSpec, side: np.ndarray) -> tuple[list, list]:
    h, lo, c = (frame[k].to_numpy() for k in ("high", "low", "close"))
    atr = compute("atr", frame, period=spec.atr)["atr"].to_numpy()
    ys, t1s = [], []
    for t in range(len(c)):
        s, y, t1 = side[t], math.nan, -1
        if s != 0 and atr[t] > 0:
            up, dn = (c[t] + spec.tp * atr[t], c[t] - spec.sl * atr[t]) if s > 0 else \
                (c[t] + spec.sl * atr[t], c[t] - spec.tp * atr[t])
            for j in range(t + 1, min(t + spec.horizon, len(c) - 1) + 1):
                up_hit, dn_hit = h[j] >= up, lo[j] <= dn
                stop = dn_hit if s > 0 else up_hit
                take = up_hit if s > 0 else dn_hit
                if stop or take:
                    y, t1 = (0.0 if stop else 1.0), j
                    break
            if t1 < 0 and t + spec.horizon <= len(c) - 1:
                r = (c[t + spec.horizon] - c[t]) * s
                y, t1 = (1.0 if r > 0 else 0.0), t + spec.horizon
        ys.append(y)
        t1s.append(t1)
    return ys, t1s


def test_triple_barrier_matches_reference(btc_small: pd.DataFrame) -> None:
    frame = btc_small.iloc[:600]
    spec = LabelSpec.parse("barrier:tp=1.5:sl=1:max=12:atr=10")
    rng = np.random.default_rng(3)
    for side in (np.ones(len(frame)), rng.choice([-1.0, 0.0, 1.0], len(frame))):
        lab = meta_labels(frame, side, spec)
        ys, t1s = _barrier_reference(frame, spec, side)
        np.testing.assert_array_equal(lab["y"].to_numpy(), np.array(ys))
        np.testing.assert_array_equal(lab["t1"].to_numpy(), np.array(t1s))
    assert set(np.unique(lab["y"].dropna())) == {0.0, 1.0}


def test_label_spec_parsing() -> None:
    assert LabelSpec.parse("horizon:12").horizon == 12
    b = LabelSpec.parse("barrier:tp=2,sl=1,max=24")
    assert (b.kind, b.tp, b.sl, b.horizon, b.atr) == ("barrier", 2.0, 1.0, 24, 14)
    assert LabelSpec.parse(b.text()) == b
    for bad, needle in (("sideways:3", "expected"), ("horizon:x", "number"), ("barrier:tp=-1", "tp"),
                        ("barrier:foo=1", "unknown key")):
        with pytest.raises(ParameterError, match=needle):
            LabelSpec.parse(bad)


# ---- purged CV -------------------------------------------------------------------------------------------
def _random_intervals(m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t0 = np.sort(rng.choice(np.arange(3 * m), m, replace=False))  # irregular decision bars
    return t0, t0 + rng.integers(0, 40, m)                          # variable label lengths


def _overlaps(t0, t1, train, test, embargo) -> bool:
    """Independent brute force: any training interval touching any test interval's span or its embargo."""
    blocks = [list(g) for _k, g in itertools.groupby(sorted(test), key=lambda i, c=itertools.count(): i - next(c))]
    for b in blocks:
        lo, hi = min(t0[b]), max(t1[b])
        for i in train:
            if t0[i] <= hi and t1[i] >= lo or hi < t0[i] <= hi + embargo:
                return True
    return False


@pytest.mark.parametrize("embargo", [0, 15])
def test_walk_forward_is_purged_on_every_split(embargo: int) -> None:
    t0, t1 = _random_intervals(600, 1)
    splits = list(PurgedWalkForward(5, embargo).split(t0, t1))
    assert len(splits) == 5
    assert np.array_equal(np.concatenate([s.test for s in splits]), np.arange(100, 600))
    for s in splits:
        assert_purged(t0, t1, s.train, s.test, embargo)
        assert not _overlaps(t0, t1, s.train, s.test, embargo)
        assert s.train.max() < s.test.min() and t1[s.train].max() < t0[s.test].min()
        assert s.purged > 0  # the label intervals really did overlap the test start


@pytest.mark.parametrize(("groups", "k", "embargo"), [(6, 2, 0), (5, 2, 10), (6, 3, 5)])
def test_cpcv_is_purged_and_paths_cover_every_group(groups: int, k: int, embargo: int) -> None:
    t0, t1 = _random_intervals(480, 2)
    cv = CombinatorialPurgedCV(groups, k, embargo)
    splits = list(cv.split(t0, t1))
    assert len(splits) == math.comb(groups, k)
    for s in splits:
        assert_purged(t0, t1, s.train, s.test, embargo)
        assert not _overlaps(t0, t1, s.train, s.test, embargo)
        assert s.train.size > 0 and np.intersect1d(s.train, s.test).size == 0
    paths = cv.paths()
    assert len(paths) == math.comb(groups - 1, k - 1)
    for path in paths:  # every group exactly once per path, from a split that tests it
        assert sorted(path) == list(range(groups))
        assert all(g in splits[n].test_groups for g, n in path.items())
    for g in range(groups):  # each split used for a group by exactly one path
        assert len({p[g] for p in paths}) == len(paths)


def test_cpcv_matches_skfolio_for_fixed_horizon_labels() -> None:
    import skfolio.model_selection as skf  # a dev dependency: missing, the test fails instead of skipping
    m, h, e = 600, 7, 4
    t0 = np.arange(m)
    t1 = t0 + h
    ours = list(CombinatorialPurgedCV(6, 2, e).split(t0, t1))
    theirs = list(skf.CombinatorialPurgedCV(n_folds=6, n_test_folds=2, purged_size=h, embargo_size=e).split(
        np.zeros((m, 1))))
    assert len(ours) == len(theirs)
    by_test = {tuple(np.sort(np.concatenate(te))): np.sort(tr) for tr, te in theirs}
    for s in ours:
        np.testing.assert_array_equal(s.train, by_test[tuple(np.sort(s.test))])


def test_assert_purged_catches_a_leaky_split() -> None:
    t0 = np.arange(100)
    t1 = t0 + 5
    train, test = np.arange(0, 50), np.arange(50, 100)  # samples 45..49 end inside the test block
    with pytest.raises(PurgeError, match="overlaps the test"):
        assert_purged(t0, t1, train, test)
    with pytest.raises(PurgeError, match="embargo"):
        assert_purged(t0, t1, np.arange(60, 70), np.arange(0, 50), embargo=10)


def test_calibration_tail_is_strictly_later() -> None:
    t0, t1 = _random_intervals(500, 4)
    fit, cal = calibration_tail(t0, t1, np.arange(400), 0.2)
    assert len(cal) == 80 and t1[fit].max() < t0[cal].min()
    with pytest.raises(ParameterError):
        calibration_tail(t0, t1, np.arange(10), 1.5)
