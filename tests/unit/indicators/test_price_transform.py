from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError
from quantdesk.indicators import get
from quantdesk.indicators.price_transform import avgprice, medprice, typprice, wclprice

NAMES = ["avgprice", "medprice", "typprice", "wclprice"]


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("name", NAMES)
def test_matches_talib(real_ohlcv, file, name):
    check_vs_talib(name, real_ohlcv[file])


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("name", NAMES)
def test_streaming_matches_batch(real_ohlcv, file, name):
    check_streaming(name, real_ohlcv[file])


@pytest.mark.parametrize("name", NAMES)
def test_spec(name):
    check_spec(name, "price_transform")
    assert get(name).overlay


def test_bad_inputs():
    x = np.linspace(1.0, 2.0, 10)
    with pytest.raises(DataError, match="different lengths"):
        medprice(x, x[:3])
    bad = x.copy()
    bad[4] = np.nan
    with pytest.raises(DataError, match="'close'"):
        typprice(x, x, bad)
    with pytest.raises(DataError, match="'open'"):
        avgprice(bad, x, x, x)
    assert wclprice(x, x, x).shape == x.shape
