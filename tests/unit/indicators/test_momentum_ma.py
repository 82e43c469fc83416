"""MACD family, APO/PPO, TRIX, stochastics and StochRSI vs TA-Lib on the real files, streaming, errors."""

from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import get
from quantdesk.indicators import momentum_ma as mm

NAMES = ["macd", "macdext", "macdfix", "apo", "ppo", "trix", "stoch", "stochf", "stochrsi"]

CASES = [
    ("macd", {}), ("macd", {"fast_period": 26, "slow_period": 12, "signal_period": 5}),
    ("macd", {"fast_period": 5, "slow_period": 35, "signal_period": 1}), ("macd", {"fast_period": 2, "slow_period": 2}),
    ("macdfix", {}), ("macdfix", {"signal_period": 4}), ("macdfix", {"signal_period": 1}),
    ("macdext", {}), ("macdext", {"fast_matype": 1, "slow_matype": 1, "signal_matype": 1}),
    ("macdext", {"fast_matype": 7, "slow_matype": 2, "signal_matype": 6, "slow_period": 20}),
    ("macdext", {"fast_matype": 8, "slow_matype": 3, "signal_matype": 5, "fast_period": 30}),
    ("macdext", {"fast_matype": 4, "slow_matype": 0, "signal_matype": 8, "signal_period": 3}),
    ("apo", {}), ("apo", {"matype": 0, "fast_period": 5, "slow_period": 10}), ("apo", {"matype": 7}),
    ("apo", {"matype": 3, "fast_period": 30, "slow_period": 10}),
    ("ppo", {}), ("ppo", {"matype": 6}), ("ppo", {"matype": 3, "fast_period": 30, "slow_period": 10}),
    ("ppo", {"matype": 8, "fast_period": 3, "slow_period": 7}),
    ("trix", {}), ("trix", {"period": 5}), ("trix", {"period": 1}),
    ("stoch", {}), ("stoch", {"fastk_period": 14, "slowk_period": 5, "slowk_matype": 1, "slowd_period": 4, "slowd_matype": 2}),
    ("stoch", {"slowk_matype": 7, "slowd_matype": 8}), ("stoch", {"fastk_period": 1, "slowk_period": 1, "slowd_period": 1}),
    ("stochf", {}), ("stochf", {"fastk_period": 14, "fastd_period": 5, "fastd_matype": 1}), ("stochf", {"fastd_matype": 6}),
    ("stochrsi", {}), ("stochrsi", {"period": 9, "fastk_period": 14, "fastd_period": 5, "fastd_matype": 1}),
    ("stochrsi", {"fastk_period": 1, "fastd_period": 1}), ("stochrsi", {"period": 2, "fastd_matype": 4}),
]  # fmt: skip


def _id(case):
    name, params = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_talib_on_real_files(case, real_ohlcv):
    name, params = case
    for key in FILES:
        check_vs_talib(name, real_ohlcv[key], params, f"{key}: ")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_streaming_equals_batch(case, real_ohlcv):
    name, params = case
    check_streaming(name, real_ohlcv["goog_1d"], params)
    check_streaming(name, real_ohlcv["btc_1h"].iloc[:5000], params)


@pytest.mark.parametrize("name", NAMES)
def test_catalog_entry_is_complete(name):
    check_spec(name, "momentum")
    assert get(name).group == "momentum" and not get(name).overlay


def test_private_rsi_is_talib_exact(real_ohlcv):
    import talib

    for key in FILES:
        c = real_ohlcv[key]["close"].to_numpy()
        for p in (2, 14, 30):
            np.testing.assert_array_equal(mm._rsi(c, p), talib.RSI(c, p))


def test_bad_input_errors():
    x = np.linspace(1, 2, 100)
    with pytest.raises(ParameterError, match="'fast_period'"):
        mm.macd(x, fast_period=1)
    with pytest.raises(ParameterError, match="'signal_matype'"):
        mm.macdext(x, signal_matype=9)
    with pytest.raises(ParameterError, match="'period'"):
        mm.stochrsi(x, period=1)
    with pytest.raises(ParameterError, match="'fastk_period'"):
        mm.STOCH(fastk_period=0)
    with pytest.raises(DataError, match="different lengths"):
        mm.stoch(x, x, x[:50])
    bad = x.copy()
    bad[10] = np.nan
    with pytest.raises(DataError, match="'low'.*index 10"):
        mm.stochf(x, bad, x)
    st = mm.MACD()
    st.update(1.0)
    with pytest.raises(DataError):
        st.update(float("nan"))


def test_flat_prices_give_zero_not_noise():
    # a machine-flat window must read 0 (TA-Lib's scaled zero test), not a division of rounding residue
    x = np.full(200, 6556.25)
    k, d = mm.stochf(x + 1, x - 1, x)
    assert np.isnan(k[:6]).all() and np.allclose(k[6:], 50.0)
    k, d = mm.stochrsi(np.r_[np.linspace(100, 110, 30), np.full(100, 110.0)])
    assert np.isfinite(k[-1])
