"""missing_ranges: which bars of [since, until) the store lacks, as half-open ranges on the timeframe grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.data.download import (
    WEEK_ORIGIN_NS,
    RetryPolicy,
    bars_in,
    ceil_to_grid,
    grid_origin,
    missing_ranges,
    validate_candles,
)

M = 60 * 1_000_000_000  # one minute in ns
T0 = int(pd.Timestamp("2024-01-01", tz="UTC").value)


def grid(start: int, n: int, tf: int = M) -> np.ndarray:
    return start + np.arange(n, dtype=np.int64) * tf


def test_empty_store_is_one_range() -> None:
    assert missing_ranges(np.empty(0, np.int64), T0, T0 + 10 * M, M) == [(T0, T0 + 10 * M)]


def test_complete_store_has_nothing_missing() -> None:
    assert missing_ranges(grid(T0, 10), T0, T0 + 10 * M, M) == []


def test_holes_at_start_middle_and_end() -> None:
    have = np.concatenate([grid(T0 + 2 * M, 3), grid(T0 + 7 * M, 2)])  # bars 2,3,4 and 7,8
    assert missing_ranges(have, T0, T0 + 12 * M, M) == [
        (T0, T0 + 2 * M),
        (T0 + 5 * M, T0 + 7 * M),
        (T0 + 9 * M, T0 + 12 * M),
    ]
    assert bars_in(missing_ranges(have, T0, T0 + 12 * M, M), M) == 12 - 5


def test_single_bar_holes() -> None:
    have = grid(T0, 10)[[0, 2, 4, 6, 8, 9]]
    assert missing_ranges(have, T0, T0 + 10 * M, M) == [(T0 + k * M, T0 + (k + 1) * M) for k in (1, 3, 5, 7)]


def test_existing_outside_the_range_and_off_grid_are_ignored() -> None:
    have = np.array([T0 - 5 * M, T0 + 3 * M + 17, T0 + 4 * M, T0 + 50 * M], dtype=np.int64)
    assert missing_ranges(have, T0, T0 + 6 * M, M) == [(T0, T0 + 4 * M), (T0 + 5 * M, T0 + 6 * M)]


def test_unsorted_and_duplicate_input() -> None:
    have = np.array([T0 + 3 * M, T0 + M, T0 + 3 * M, T0 + 2 * M], dtype=np.int64)
    assert missing_ranges(have, T0, T0 + 5 * M, M) == [(T0, T0 + M), (T0 + 4 * M, T0 + 5 * M)]


def test_since_is_rounded_up_to_the_grid_and_until_is_exclusive() -> None:
    assert missing_ranges([], T0 + 30 * 1_000_000_000, T0 + 3 * M, M) == [(T0 + M, T0 + 3 * M)]
    # a partial last bar still counts: its open time is inside [since, until)
    assert missing_ranges([], T0, T0 + 2 * M + 1, M) == [(T0, T0 + 2 * M + 1)]
    assert bars_in([(T0, T0 + 2 * M + 1)], M) == 3
    assert missing_ranges([], T0, T0, M) == []
    assert missing_ranges([], T0 + M, T0, M) == []


def test_weekly_grid_starts_on_monday() -> None:
    week = 7 * 86_400 * 1_000_000_000
    assert grid_origin(week) == WEEK_ORIGIN_NS
    monday = ceil_to_grid(T0 - 86_400 * 1_000_000_000, week, WEEK_ORIGIN_NS)
    assert pd.Timestamp(monday, unit="ns", tz="UTC").day_name() == "Monday"
    have = np.array([monday + week], dtype=np.int64)
    assert missing_ranges(have, monday, monday + 3 * week, week, origin_ns=WEEK_ORIGIN_NS) == [
        (monday, monday + week),
        (monday + 2 * week, monday + 3 * week),
    ]


def test_large_store_is_fast_and_exact() -> None:
    n = 2_000_000
    have = grid(T0, n)
    have = np.delete(have, [10, 11, 12, n // 2, n - 1])
    out = missing_ranges(have, T0, T0 + n * M, M)
    assert out == [(T0 + 10 * M, T0 + 13 * M), (T0 + (n // 2) * M, T0 + (n // 2 + 1) * M), (T0 + (n - 1) * M, T0 + n * M)]


def test_bad_timeframe_length() -> None:
    with pytest.raises(ParameterError):
        missing_ranges([], T0, T0 + M, 0)


def test_retry_policy_backoff_is_capped_and_honours_retry_after() -> None:
    import random

    policy = RetryPolicy(retries=10, base_s=0.5, max_s=4.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.delay(k, rng) for k in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(1, rng, retry_after_s=3.0) == 3.0
    assert policy.delay(1, rng, retry_after_s=10_000) == policy.max_retry_after_s
    jittery = RetryPolicy(base_s=1.0, jitter=0.25, seed=7)
    a = [jittery.delay(1, random.Random(7)) for _ in range(3)]
    assert len(set(a)) == 1 and 0.75 <= a[0] <= 1.25  # seeded: reproducible
    with pytest.raises(ParameterError):
        RetryPolicy(retries=-1)


def test_validate_candles_rules() -> None:
    ts = grid(T0, 1)
    good = np.array([[10.0, 12.0, 9.0, 11.0, 0.0]])
    assert validate_candles(ts, good) is None
    cases = {
        "not positive": [0.0, 12.0, 9.0, 11.0, 1.0],
        "high is below": [10.0, 10.5, 9.0, 11.0, 1.0],
        "low is above": [10.0, 12.0, 10.5, 11.0, 1.0],
        "volume is negative": [10.0, 12.0, 9.0, 11.0, -1.0],
        "not finite": [10.0, np.nan, 9.0, 11.0, 1.0],
    }
    for rule, row in cases.items():
        problem = validate_candles(ts, np.array([row]))
        assert problem is not None and rule in problem and "2024-01-01T00:00:00Z" in problem
