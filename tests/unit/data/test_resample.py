"""Resampling: hand-computed cases, alignment, partial buckets, refusal of non-multiples, pandas cross-check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.data.resample import resample, resample_detail
from quantdesk.model.timeframe import Timeframe


def frame(stamps: list[str], rows: list[tuple[float, float, float, float, float]]) -> pd.DataFrame:
    idx = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True), name="timestamp").as_unit("ns")
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=idx, dtype="float64")


def test_hand_computed_15m_from_5m() -> None:
    df = frame(
        [
            "2024-01-01T00:00Z",
            "2024-01-01T00:05Z",
            "2024-01-01T00:10Z",
            "2024-01-01T00:15Z",
            "2024-01-01T00:20Z",
            "2024-01-01T00:25Z",
        ],
        [
            (10, 12, 9, 11, 1),
            (11, 15, 10, 14, 2),
            (14, 14, 8, 9, 3),
            (9, 10, 7, 8, 4),
            (8, 11, 8, 10, 5),
            (10, 10, 6, 7, 6),
        ],
    )
    out = resample(df, "5m", "15m")
    assert list(out.index) == [pd.Timestamp("2024-01-01T00:00Z"), pd.Timestamp("2024-01-01T00:15Z")]
    assert out.iloc[0].tolist() == [10, 15, 8, 9, 6]
    assert out.iloc[1].tolist() == [9, 11, 6, 7, 15]
    assert out.index.name == "timestamp" and (out.dtypes == "float64").all()


def test_buckets_align_to_utc_boundaries_not_to_the_first_bar() -> None:
    # data starts at 00:40; the first 1h bucket is 00:00 (3 bars), then 01:00
    stamps = [f"2024-01-01T00:{m:02d}Z" for m in (40, 45, 50, 55)] + [
        f"2024-01-01T01:{m:02d}Z" for m in range(0, 60, 5)
    ]
    df = frame(stamps, [(i + 1, i + 2, i, i + 1, 1) for i in range(len(stamps))])
    out = resample(df, "5m", "1h")
    assert list(out.index) == [pd.Timestamp("2024-01-01T00:00Z"), pd.Timestamp("2024-01-01T01:00Z")]
    assert out["volume"].tolist() == [4, 12]
    assert out["open"].tolist() == [1, 5]


def test_incomplete_last_bucket_dropped_unless_include_partial() -> None:
    stamps = [(pd.Timestamp("2024-01-01T00:00Z") + pd.Timedelta(hours=h)).isoformat() for h in range(30)]
    df = frame(stamps, [(1, 2, 0.5, 1.5, 1)] * 30)
    out, info = resample_detail(df, "1h", "1d")
    assert len(out) == 1 and info.partial_dropped and info.partial_bars == 6
    out2 = resample(df, "1h", "1d", include_partial=True)
    assert len(out2) == 2 and out2["volume"].tolist() == [24, 6]


def test_gap_inside_data_keeps_the_bucket_and_empty_buckets_stay_gaps() -> None:
    stamps = [
        "2024-01-01T00:00Z",
        "2024-01-01T00:01Z",
        "2024-01-01T02:00Z",
        "2024-01-01T02:01Z",
        "2024-01-01T02:02Z",
    ]
    df = frame(stamps, [(1, 2, 0.5, 1.5, 1)] * 5)
    out = resample(df, "1m", "3m")
    # 00:00 bucket has 2 of 3 bars but is not last -> kept; 01:xx has no bars -> no bar; 02:00 is complete
    assert [t.strftime("%H:%M") for t in out.index] == ["00:00", "02:00"]


def test_weeks_start_on_monday() -> None:
    days = pd.date_range("2024-01-03", periods=12, freq="1D", tz="UTC")  # Wed 3 Jan .. Sun 14 Jan
    df = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": np.arange(12.0) + 1, "volume": 1.0}, index=days
    )
    out = resample(df, "1d", "1w")
    assert list(out.index) == [pd.Timestamp("2024-01-01T00:00Z"), pd.Timestamp("2024-01-08T00:00Z")]
    assert all(t.day_of_week == 0 for t in out.index)
    assert out["volume"].tolist() == [5, 7] and out["close"].tolist() == [5, 12]


@pytest.mark.parametrize("src,dst", [("1h", "90m"), ("4h", "1d5h"), ("15m", "20m")])
def test_non_multiples_are_refused(src: str, dst: str) -> None:
    df = frame(["2024-01-01T00:00Z"], [(1, 2, 0.5, 1.5, 1)])
    with pytest.raises(ParameterError):
        resample(df, src, dst)


def test_shorter_or_equal_target_refused() -> None:
    df = frame(["2024-01-01T00:00Z"], [(1, 2, 0.5, 1.5, 1)])
    with pytest.raises(ParameterError, match="shorter"):
        resample(df, "1h", "15m")
    with pytest.raises(ParameterError, match="same"):
        resample(df, "1h", "60m")
    with pytest.raises(ParameterError, match="multiple"):
        resample(df, "1h", "90m")


def pandas_reference(df: pd.DataFrame, rule: str, origin: str = "epoch") -> pd.DataFrame:
    agg = df.resample(rule, origin=origin, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = df["close"].resample(rule, origin=origin, label="left", closed="left").count()
    return agg[counts > 0]


@pytest.mark.parametrize("to", ["5m", "15m", "1h", "4h", "1d"])
def test_matches_pandas_on_real_1m_file(to: str, real_ohlcv) -> None:
    df = real_ohlcv["btc_1m"]
    ours = resample(df, "1m", to, include_partial=True)
    step = pd.Timedelta(Timeframe.parse(to).nanos, unit="ns")
    ref = pandas_reference(df, step)
    pd.testing.assert_frame_equal(
        ours, ref, check_exact=True, check_freq=False, check_index_type=False, check_names=False
    )
    # without include_partial the last bucket goes only if it is incomplete (data ends 05:31 on 1 Feb)
    dropped = resample(df, "1m", to)
    expected_last_complete = (df.index[-1] + pd.Timedelta(minutes=1)) == (ref.index[-1] + step)
    assert len(dropped) == len(ref) - (0 if expected_last_complete else 1)


def test_weekly_matches_pandas_monday_weeks(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"]
    ours = resample(df, "1h", "1w", include_partial=True)
    ref = (
        df.resample("W-MON", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    pd.testing.assert_frame_equal(
        ours, ref, check_exact=True, check_freq=False, check_index_type=False, check_names=False
    )


def test_resample_is_fast(tmp_path: Path) -> None:
    import time

    n = 1_000_000
    idx = pd.DatetimeIndex(np.arange(n, dtype=np.int64) * 60 * 10**9, tz="UTC")
    df = pd.DataFrame(
        {k: np.random.default_rng(1).random(n) + 1 for k in ("open", "high", "low", "close", "volume")},
        index=idx,
    )
    t0 = time.process_time()
    out = resample(df, "1m", "1h")
    assert len(out) == n // 60
    assert time.process_time() - t0 < 1.0  # CPU time: the machine is shared
