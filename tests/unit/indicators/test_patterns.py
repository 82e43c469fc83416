"""Candlestick patterns: equal to TA-Lib bar for bar (integers, lookback zeros included)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from talib_reference import FILES, gappy_candles, talib_lookback, talib_outputs

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import compute, get
from quantdesk.indicators import patterns as P

NAMES = sorted(f"cdl_{k}" for k in P.EXACT)


def test_at_least_35_patterns_registered() -> None:
    assert len(NAMES) >= 35
    for name in NAMES:
        spec = get(name)
        assert spec.group == "pattern"
        assert spec.inputs == ("open", "high", "low", "close")
        assert spec.outputs == ("signal",)
        assert spec.talib == name.replace("cdl_", "CDL").upper()


@pytest.mark.parametrize("file", FILES)
def test_equal_to_talib_on_real_files(real_ohlcv, file: str) -> None:
    df = real_ohlcv[file]
    failures = []
    for name in NAMES:
        spec = get(name)
        got = compute(name, df)["signal"].to_numpy()
        (want,) = talib_outputs(spec, df)
        if not np.array_equal(got, want):
            i = int(np.flatnonzero(got != want)[0])
            failures.append(f"{name}@{i}: {got[i]} != {want[i]}")
    assert not failures, failures


def test_equal_to_talib_on_gappy_synthetic_candles() -> None:
    """Rare patterns (kicking, mat hold, breakaway...) never occur in the real files; gaps make them occur."""
    fired = dict.fromkeys(NAMES, 0)
    for seed in (1, 2):
        df = gappy_candles(60_000, seed)
        for name in NAMES:
            spec = get(name)
            got = compute(name, df)["signal"].to_numpy()
            (want,) = talib_outputs(spec, df)
            assert np.array_equal(got, want), f"{name} seed {seed}: first diff at {np.flatnonzero(got != want)[:3]}"
            fired[name] += int((want != 0).sum())
    assert sum(1 for v in fired.values() if v > 0) >= len(NAMES) - 5, fired


def test_lookback_is_zero_like_talib(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"]
    for name in NAMES:
        spec = get(name)
        lb = talib_lookback(spec)
        assert P.lookback(name[4:]) == lb, name
        out = compute(name, df)["signal"].to_numpy()
        assert out.dtype == np.int32
        assert (out[:lb] == 0).all(), name


def test_values_are_talib_codes(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"]
    assert set(np.unique(compute("cdl_engulfing", df)["signal"])) <= {-100, -80, 0, 80, 100}
    hik = compute("cdl_hikkake", df)["signal"].to_numpy()
    assert set(np.unique(hik)) == {-200, -100, 0, 100, 200}


@pytest.mark.parametrize("name,pen", [("cdl_morningstar", 0.1), ("cdl_eveningstar", 0.6), ("cdl_darkcloudcover", 0.2),
                                      ("cdl_abandonedbaby", 0.0), ("cdl_mathold", 0.3)])
def test_penetration_parameter(real_ohlcv, name: str, pen: float) -> None:
    df = real_ohlcv["goog_1d"]
    spec = get(name)
    got = compute(name, df, penetration=pen)["signal"].to_numpy()
    (want,) = talib_outputs(spec, df, {"penetration": pen})
    assert np.array_equal(got, want)
    with pytest.raises(ParameterError, match="penetration"):
        compute(name, df, penetration=-1)


def test_leading_nan_shift_like_talib(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"].iloc[:400].copy()
    df.iloc[:7, :4] = np.nan
    for name in ("cdl_doji", "cdl_engulfing", "cdl_3whitesoldiers", "cdl_hikkake", "cdl_morningstar"):
        got = compute(name, df)["signal"].to_numpy()
        (want,) = talib_outputs(get(name), df)
        assert np.array_equal(got, want), name


def test_short_input_is_all_zero() -> None:
    df = gappy_candles(5, 0)
    assert (compute("cdl_morningstar", df)["signal"] == 0).all()
    assert (compute("cdl_doji", df.iloc[:0])["signal"].to_numpy().shape == (0,))


def test_nan_inside_is_refused(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"].iloc[:100].copy()
    df.iloc[50, 1] = np.nan
    with pytest.raises(DataError, match="high"):
        compute("cdl_doji", df)


def test_kernel_direct_call_matches_talib() -> None:
    df = gappy_candles(3000, 7)
    o, h, lo, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert np.array_equal(P.cdl_engulfing(o, h, lo, c), talib.CDLENGULFING(o, h, lo, c))
    assert np.array_equal(P.cdl_morningstar(o, h, lo, c, 0.3), talib.CDLMORNINGSTAR(o, h, lo, c, penetration=0.3))
    frame = pd.DataFrame({"open": o, "high": h, "low": lo, "close": c})
    assert np.array_equal(compute("cdl_hammer", frame)["signal"].to_numpy(), talib.CDLHAMMER(o, h, lo, c))
