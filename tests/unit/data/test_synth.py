"""Synthetic bars: determinism (same seed => same bytes), validity, stylised facts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.data.io import read_file, write_candles
from quantdesk.data.synth import synth_ohlcv
from quantdesk.data.validate import prepare


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = write_candles(synth_ohlcv(20_000, "1m", seed=7), tmp_path / "a.csv")
    b = write_candles(synth_ohlcv(20_000, "1m", seed=7), tmp_path / "b.csv")
    c = write_candles(synth_ohlcv(20_000, "1m", seed=8), tmp_path / "c.csv")
    assert _sha(a) == _sha(b)
    assert _sha(a) != _sha(c)


def test_passes_our_validation_with_no_issues(tmp_path: Path) -> None:
    df = synth_ohlcv(200_000, "1m", seed=3)
    path = write_candles(df, tmp_path / "s.csv")
    clean, report = prepare(read_file(path), "1m")
    assert report.issues == [] and report.gaps.count == 0
    assert clean.equals(df)
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    assert (df[["open", "high", "low", "close"]] > 0).all().all() and (df["volume"] >= 0).all()
    assert (df["open"].to_numpy()[1:] == df["close"].to_numpy()[:-1]).all()


def test_stylised_facts() -> None:
    df = synth_ohlcv(200_000, "1m", seed=11)
    r = np.diff(np.log(df["close"].to_numpy()))
    a = np.abs(r)
    # volatility clustering: |r| autocorrelated, r itself barely
    ac_abs = np.corrcoef(a[:-1], a[1:])[0, 1]
    ac_raw = np.corrcoef(r[:-1], r[1:])[0, 1]
    assert ac_abs > 0.1 and abs(ac_raw) < 0.05
    # fat tails: excess kurtosis
    z = (r - r.mean()) / r.std()
    assert (z**4).mean() > 4
    # volume rises with |return|
    assert np.corrcoef(a, df["volume"].to_numpy()[1:])[0, 1] > 0.3


def test_grid_and_start() -> None:
    df = synth_ohlcv(10, "4h", seed=1, start="2021-06-01T03:00:00Z")
    assert str(df.index[0]) == "2021-06-01 00:00:00+00:00"  # snapped to the 4h grid
    assert (np.diff(df.index.asi8) == 4 * 3600 * 10**9).all()


@pytest.mark.parametrize("kwargs", [{"bars": 0}, {"bars": -5}, {"bars": 10, "start_price": 0}])
def test_bad_parameters(kwargs: dict) -> None:
    bars = kwargs.pop("bars")
    with pytest.raises(ParameterError):
        synth_ohlcv(bars, "1m", **kwargs)
