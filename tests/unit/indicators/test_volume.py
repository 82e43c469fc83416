from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators.volume import ADOSC, ad, adosc, obv

CASES = [
    ("ad", {}),
    ("adosc", {"fast": 3, "slow": 10}),
    ("adosc", {"fast": 12, "slow": 5}),
    ("adosc", {"fast": 2, "slow": 30}),
    ("obv", {}),
]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_matches_talib(real_ohlcv, file, name, params):
    check_vs_talib(name, real_ohlcv[file], params)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize(("name", "params"), CASES)
def test_streaming_matches_batch(real_ohlcv, file, name, params):
    check_streaming(name, real_ohlcv[file], params)


@pytest.mark.parametrize("name", ["ad", "adosc", "obv"])
def test_spec(name):
    check_spec(name, "volume")


def test_bad_inputs():
    x = np.linspace(1.0, 2.0, 20)
    with pytest.raises(DataError, match="different lengths"):
        obv(x, x[:5])
    bad = x.copy()
    bad[3] = np.inf
    with pytest.raises(DataError, match="'volume'"):
        ad(x, x, x, bad)
    with pytest.raises(ParameterError, match="'slow'"):
        adosc(x, x, x, x, slow=1)
    with pytest.raises(ParameterError, match="'fast'"):
        ADOSC(fast=0)
