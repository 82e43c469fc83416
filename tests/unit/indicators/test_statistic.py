from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import get
from quantdesk.indicators import statistic as st

CASES = [
    ("var", {"period": 5}), ("var", {"period": 1}), ("var", {"period": 30}),
    ("stddev", {"period": 5, "nbdev": 1.0}), ("stddev", {"period": 20, "nbdev": 2.0}),
    ("stddev", {"period": 2, "nbdev": -1.5}),
    ("avgdev", {"period": 14}), ("avgdev", {"period": 2}), ("avgdev", {"period": 50}),
    ("beta", {"period": 5}), ("beta", {"period": 1}), ("beta", {"period": 30}),
    ("correl", {"period": 30}), ("correl", {"period": 1}), ("correl", {"period": 2}), ("correl", {"period": 10}),
    ("linearreg", {"period": 14}), ("linearreg", {"period": 2}), ("linearreg", {"period": 50}),
    ("linearreg_slope", {"period": 14}), ("linearreg_slope", {"period": 3}),
    ("linearreg_intercept", {"period": 14}), ("linearreg_intercept", {"period": 30}),
    ("linearreg_angle", {"period": 14}), ("linearreg_angle", {"period": 2}),
    ("tsf", {"period": 14}), ("tsf", {"period": 5}),
]  # fmt: skip
NAMES = sorted({n for n, _ in CASES})


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
    check_spec(name, "statistic")


def test_overlays():
    assert get("linearreg").overlay and get("tsf").overlay and not get("linearreg_slope").overlay


def test_two_series_on_other_data(real_ohlcv):
    """BETA/CORREL kernels take any two aligned series, e.g. BTC vs GOOG closes."""
    import talib

    a = real_ohlcv["btc_1d"]["close"].to_numpy()[-1000:]
    b = real_ohlcv["goog_1d"]["close"].to_numpy()[-1000:]
    np.testing.assert_allclose(st.beta(a, b, 20), talib.BETA(a, b, 20), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(st.correl(a, b, 20), talib.CORREL(a, b, 20), rtol=1e-9, atol=1e-12)


def test_bad_inputs():
    x = np.linspace(1.0, 2.0, 40)
    with pytest.raises(DataError, match="different lengths"):
        st.correl(x, x[:-1])
    with pytest.raises(ParameterError, match="'period'"):
        st.stddev(x, period=1)
    with pytest.raises(ParameterError, match="'nbdev'"):
        st.stddev(x, nbdev=float("nan"))
    with pytest.raises(ParameterError, match="'period'"):
        st.linearreg(x, period=100_001)
    with pytest.raises(ParameterError, match="'period'"):
        st.BETA(period=0)
    bad = x.copy()
    bad[10] = np.nan
    with pytest.raises(DataError, match="'real1'"):
        st.beta(x, bad)
