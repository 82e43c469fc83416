"""Hilbert-transform cycle indicators vs TA-Lib on the real files, streaming parity, bad input, catalog."""

from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError
from quantdesk.indicators import cycle as cy
from quantdesk.indicators import get

NAMES = ["ht_dcperiod", "ht_dcphase", "ht_phasor", "ht_sine", "ht_trendmode"]
LOOKBACK = {
    "ht_dcperiod": 32,
    "ht_phasor": 32,
    "ht_dcphase": 63,
    "ht_sine": 63,
    "ht_trendmode": 63,
    "ht_trendline": 63,
}


@pytest.mark.parametrize("name", [*NAMES, "ht_trendline"])
def test_matches_talib_on_real_files(name, real_ohlcv):
    for key in FILES:
        check_vs_talib(name, real_ohlcv[key], {}, f"{key}: ")


@pytest.mark.parametrize("name", [*NAMES, "ht_trendline"])
def test_warmup_is_talib_lookback(name, real_ohlcv):
    out = get(name).kernel(real_ohlcv["goog_1d"]["close"].to_numpy())
    first = out[0] if isinstance(out, tuple) else out
    assert np.isnan(first[: LOOKBACK[name]]).all() and not np.isnan(first[LOOKBACK[name] :]).any()


def test_trendmode_is_zero_or_one(real_ohlcv):
    tm = cy.ht_trendmode(real_ohlcv["btc_1h"]["close"].to_numpy())
    assert set(np.unique(tm[63:])) <= {0.0, 1.0}


@pytest.mark.parametrize("name", [*NAMES, "ht_trendline"])
def test_streaming_equals_batch(name, real_ohlcv):
    check_streaming(name, real_ohlcv["goog_1d"])
    check_streaming(name, real_ohlcv["btc_1m"].iloc[:5000])


@pytest.mark.parametrize("name", NAMES)
def test_catalog_entry_is_complete(name):
    check_spec(name, "cycle")
    assert get(name).group == "cycle" and not get(name).overlay


def test_leading_nan_and_parity(real_ohlcv):
    import talib

    close = real_ohlcv["goog_1d"]["close"].to_numpy().copy()
    for lead in (0, 1, 6):  # the even/odd bar parity counts from the first valid value, like TA-Lib
        x = close.copy()
        x[:lead] = np.nan
        for ours, ref in ((cy.ht_sine(x), talib.HT_SINE(x)), (cy.ht_phasor(x), talib.HT_PHASOR(x))):
            for a, b in zip(ours, ref, strict=True):
                assert np.array_equal(np.isnan(a), np.isnan(b))
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_bad_input_errors():
    x = np.linspace(1, 2, 200)
    x[100] = np.inf
    with pytest.raises(DataError, match="index 100"):
        cy.ht_dcperiod(x)
    st = cy.HT_SINE()
    st.update(1.0)
    with pytest.raises(DataError):
        st.update(float("nan"))
    assert np.isnan(cy.ht_sine(np.ones(10))[0]).all()
