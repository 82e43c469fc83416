from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import math_ops as mo

NAMES = ["max", "min", "minmax", "maxindex", "minindex", "minmaxindex", "sum"]
CASES = [(n, {"period": p}) for n in NAMES for p in (30, 2, 7)]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_matches_talib(real_ohlcv, file, name, params):
    check_vs_talib(name, real_ohlcv[file], params)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_streaming_matches_batch(real_ohlcv, file, name, params):
    check_streaming(name, real_ohlcv[file], params)


@pytest.mark.parametrize("name", NAMES)
def test_spec(name):
    check_spec(name, "math")


def test_ties_follow_talib():
    import talib

    x = np.array([1.0, 3, 3, 2, 3, 1, 1, 3, 3, 3, 0, 0, 5, 5, 1, 1, 1])
    for p in (2, 3, 4):
        np.testing.assert_array_equal(mo.maxindex(x, p)[p - 1 :], talib.MAXINDEX(x, p)[p - 1 :])
        np.testing.assert_array_equal(mo.minindex(x, p)[p - 1 :], talib.MININDEX(x, p)[p - 1 :])
        assert np.isnan(mo.maxindex(x, p)[: p - 1]).all()


def test_aliases():
    x = np.arange(10.0)
    np.testing.assert_array_equal(mo.max(x, 3), mo.max_(x, 3))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(mo.sum(x, 3), mo.sum_(x, 3))  # type: ignore[attr-defined]


def test_bad_inputs():
    x = np.arange(10.0)
    with pytest.raises(ParameterError, match="'period'"):
        mo.max_(x, 1)
    with pytest.raises(ParameterError, match="'period'"):
        mo.SUM(period=0)
    bad = x.copy()
    bad[5] = np.nan
    with pytest.raises(DataError, match="index 5"):
        mo.sum_(bad, 3)
    with pytest.raises(DataError, match="1-D"):
        mo.minmax(np.ones((3, 3)), 2)


def test_huge_finite_values_are_not_mistaken_for_nan():
    x = np.full(10, 1e308)
    assert np.array_equal(mo.max_(x, 2)[1:], x[1:])
