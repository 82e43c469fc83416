"""Signal levels: the original's rules by hand, batch = streaming, no look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.indicators import compute, stream
from quantdesk.intel.powertrader.candles import Candles, candles_from_frame
from quantdesk.intel.powertrader.evaluation import random_walk
from quantdesk.intel.powertrader.improved import ImprovedConfig
from quantdesk.intel.powertrader.levels import compat_bounds, compat_levels, push_apart
from quantdesk.intel.powertrader.memory_io import MemoryBank
from quantdesk.intel.powertrader.service import train

GOLDEN = Path(__file__).parents[3] / "data" / "powertrader" / "golden"


def test_compat_prediction_by_hand() -> None:
    bank = MemoryBank(np.array([[1.0], [2.0], [-1.0]]), np.zeros(3), np.array([2.0, 4.0, 1.0]),
                      np.array([-1.0, -3.0, -2.0]))
    bank.threshold = 50.0
    # 1.5 vs 1.0: 0.5 / 1.25 * 100 = 40 (match); vs 2.0: 28.6 (match); vs -1.0: 1000 (no match)
    p = compat_bounds(bank, np.array([1.5, 40.0]), np.array([100.0, 100.0]))
    assert p.active.tolist() == [True, False]
    assert p.upper[0] == pytest.approx(100 * 1.03 * 1.005)  # mean high move (2 + 4) / 2 = 3 %
    assert p.lower[0] == pytest.approx(100 * 0.98 * 0.995)  # mean low move (-1 - 3) / 2 = -2 %
    assert np.isnan(p.lower[1])


def test_weights_scale_the_sum_divided_by_the_match_count() -> None:
    bank = MemoryBank(np.array([[1.0], [1.1]]), np.zeros(2), np.array([2.0, 4.0]), np.array([-1.0, -1.0]),
                      np.ones(2), np.array([2.0, 0.5]), np.ones(2))
    bank.threshold = 20.0
    p = compat_bounds(bank, np.array([1.05]), np.array([50.0]))
    assert p.upper[0] == pytest.approx(50 * (1 + (2.0 * 2.0 + 4.0 * 0.5) / 2 / 100) * 1.005)


def test_push_apart_and_counts_by_hand() -> None:
    lower = np.array([[100.0, 99.9, 99.0], [100.0, np.nan, 99.9]])
    active = np.array([[True, True, True], [True, False, True]])
    out = push_apart(lower, active)
    assert out[0].tolist() == pytest.approx([100.0, 99.75, 99.0])  # 0.25 % below; 99.0 is already far enough
    assert out[1, 2] == pytest.approx(100.0 * (1 - 0.005))  # the 3rd timeframe: 0.50 % below the last active
    upper = np.array([[101.0, 102.0, 99.5], [101.0, np.nan, 101.0]])
    long, short = compat_levels(np.array([99.6, 99.6]), out, upper, active)
    assert long.tolist() == [2.0, 1.0]
    assert short.tolist() == [1.0, 0.0]


def _bars(n: int, seed: int, minutes: int = 15) -> pd.DataFrame:
    c = random_walk(n, seed, sigma=0.004, substeps=6, tf_seconds=minutes * 60)
    idx = pd.DatetimeIndex(pd.to_datetime(c.ts + 1_700_000_000 - 1_700_000_000 % 604800, unit="s", utc=True),
                           name="timestamp")
    return pd.DataFrame({"open": c.open, "high": c.high, "low": c.low, "close": c.close,
                         "volume": np.ones(n)}, index=idx)


def _streamed(df: pd.DataFrame, **params) -> np.ndarray:
    s = stream("powertrader_levels", **params)
    rows = [s.update({"open": r.open, "high": r.high, "low": r.low, "close": r.close,
                      "timestamp": float(t.value)}) for t, r in zip(df.index, df.itertuples(), strict=True)]
    return np.array(rows)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return _bars(6000, 3)


@pytest.fixture(scope="module")
def improved_dir(tmp_path_factory, bars) -> Path:
    out = tmp_path_factory.mktemp("improved")
    train(coin="RW", out_dir=out, candles=candles_from_frame(bars.iloc[:3000]),
          improved_cfg=ImprovedConfig(k=16, min_neighbours=4))
    return out


@pytest.mark.parametrize("memory", ["golden", "improved", "self"])
def test_streaming_equals_batch(bars, improved_dir, memory: str) -> None:
    df = bars.iloc[:2500]
    params = {"golden": {"memory_dir": str(GOLDEN), "mode": "compat"},
              "improved": {"memory_dir": str(improved_dir)}, "self": {}}[memory]
    batch = compute("powertrader_levels", df, **params).to_numpy()
    streamed = _streamed(df, **params)
    assert np.array_equal(batch, streamed, equal_nan=True)
    assert np.isfinite(batch[-200:, 0]).all() and (batch[-200:, 2] >= 1).all()  # levels exist at the end


@pytest.mark.parametrize("memory", ["golden", "improved", "self"])
def test_no_look_ahead(bars, improved_dir, memory: str) -> None:
    """Values up to bar i do not change when later bars are added (the improved memory was trained on bars
    that come later: only memories whose outcome had closed are used)."""
    params = {"golden": {"memory_dir": str(GOLDEN), "mode": "compat"},
              "improved": {"memory_dir": str(improved_dir)}, "self": {}}[memory]
    full = compute("powertrader_levels", bars.iloc[:2600], **params).to_numpy()
    part = compute("powertrader_levels", bars.iloc[:1700], **params).to_numpy()
    assert np.array_equal(full[:1700], part, equal_nan=True)


def test_compat_levels_count_timeframes_against_the_price(bars) -> None:
    """The published LONG equals the count recomputed from the per-timeframe lines (after the push-apart)."""
    from quantdesk.intel.powertrader.service import level_series
    from quantdesk.intel.powertrader.timeframes import TIMEFRAMES

    df = bars.iloc[:3000]
    out = level_series(str(GOLDEN), df, mode="compat")
    lower = np.column_stack([out[f"lower_{tf}"] for tf in TIMEFRAMES])
    upper = np.column_stack([out[f"upper_{tf}"] for tf in TIMEFRAMES])
    price = df["close"].to_numpy()
    with np.errstate(invalid="ignore"):
        long = np.sum(lower > price[:, None], axis=1)
        short = np.sum(upper < price[:, None], axis=1)
    ok = np.isfinite(out["long"])
    assert np.array_equal(out["long"][ok], long[ok]) and np.array_equal(out["short"][ok], short[ok])
    assert out["long"][ok].max() >= 1  # the memory does produce signals on this walk
    for a, b in zip(TIMEFRAMES, TIMEFRAMES[1:], strict=False):  # pushed apart (where both are active)
        both = np.isfinite(out[f"lower_{a}"]) & np.isfinite(out[f"lower_{b}"])
        assert (out[f"lower_{b}"][both] <= out[f"lower_{a}"][both] * (1 - 0.0025) + 1e-9).all()


def test_hour_timeframes_are_inactive_on_daily_bars() -> None:
    c = random_walk(400, 1, tf_seconds=86400)
    df = Candles(c.ts, c.open, c.high, c.low, c.close).to_frame()
    from quantdesk.intel.powertrader.service import level_series

    out = level_series("", df)
    assert np.isnan(out["lower_1hour"]).all() and np.isfinite(out["lower_1day"][-50:]).all()


def test_missing_memory_folder_is_a_clear_error(tmp_path: Path, bars) -> None:
    from quantdesk.core.errors import DataError, ParameterError

    with pytest.raises(DataError, match="memory folder not found"):
        compute("powertrader_levels", bars.iloc[:100], memory_dir=str(tmp_path / "nope"))
    with pytest.raises(DataError, match="holds no compat PowerTrader memory"):
        compute("powertrader_levels", bars.iloc[:100], memory_dir=str(tmp_path), mode="compat")
    with pytest.raises(ParameterError, match="mode"):
        compute("powertrader_levels", bars.iloc[:100], mode="other")
