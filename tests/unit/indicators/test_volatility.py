from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import compute
from quantdesk.indicators.volatility import ATR, atr, natr, trange

CASES = [
    ("trange", {}),
    ("atr", {"period": 14}),
    ("atr", {"period": 1}),
    ("atr", {"period": 2}),
    ("atr", {"period": 50}),
    ("natr", {"period": 14}),
    ("natr", {"period": 1}),
    ("natr", {"period": 7}),
]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_matches_talib(real_ohlcv, file, name, params):
    check_vs_talib(name, real_ohlcv[file], params)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_streaming_matches_batch(real_ohlcv, file, name, params):
    check_streaming(name, real_ohlcv[file], params)


@pytest.mark.parametrize("name", ["trange", "atr", "natr"])
def test_spec(name):
    check_spec(name, "volatility")


def test_bad_inputs():
    h = np.array([2.0, 3.0, 4.0, 5.0])
    lo = np.array([1.0, 2.0, 3.0, 4.0])
    c = np.array([1.5, 2.5, 3.5, 4.5])
    with pytest.raises(DataError, match="different lengths"):
        atr(h, lo[:3], c)
    with pytest.raises(DataError, match="'low'"):
        trange(h, np.array([1.0, np.nan, 3.0, 4.0]), c)
    with pytest.raises(ParameterError, match="'period'"):
        atr(h, lo, c, period=0)
    with pytest.raises(ParameterError, match="'period'"):
        natr(h, lo, c, period=2.5)
    with pytest.raises(ParameterError, match="'period'"):
        ATR(period=-1)


def test_short_input_is_all_nan():
    h = np.array([2.0, 3.0, 4.0])
    assert np.isnan(atr(h, h - 1, h - 0.5, period=14)).all()
    assert np.isnan(atr(h[:0], h[:0], h[:0])).shape == (0,)


def test_compute_via_registry(real_ohlcv):
    df = real_ohlcv["btc_1d"]
    out = compute("atr", df, period=10)
    assert list(out.columns) == ["atr"]
    np.testing.assert_array_equal(out["atr"].to_numpy(), atr(df.high, df.low, df.close, 10))
    with pytest.raises(ParameterError, match="period"):
        compute("atr", df, period=0)
