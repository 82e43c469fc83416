from __future__ import annotations

import numpy as np
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import momentum as m

CASES = [
    ("rsi", {"period": 14}), ("rsi", {"period": 2}), ("rsi", {"period": 30}),
    ("cmo", {"period": 14}), ("cmo", {"period": 5}),
    ("mom", {"period": 10}), ("mom", {"period": 1}),
    ("roc", {"period": 10}), ("roc", {"period": 3}),
    ("rocp", {"period": 10}), ("rocp", {"period": 1}),
    ("rocr", {"period": 10}), ("rocr", {"period": 25}),
    ("rocr100", {"period": 10}), ("rocr100", {"period": 2}),
    ("willr", {"period": 14}), ("willr", {"period": 2}), ("willr", {"period": 50}),
    ("cci", {"period": 14}), ("cci", {"period": 2}), ("cci", {"period": 40}),
    ("mfi", {"period": 14}), ("mfi", {"period": 2}), ("mfi", {"period": 30}),
    ("bop", {}),
    ("imi", {"period": 14}), ("imi", {"period": 3}),
    ("ultosc", {"period1": 7, "period2": 14, "period3": 28}),
    ("ultosc", {"period1": 20, "period2": 3, "period3": 10}),
    ("ultosc", {"period1": 1, "period2": 1, "period3": 2}),
    ("aroon", {"period": 14}), ("aroon", {"period": 2}), ("aroon", {"period": 25}),
    ("aroonosc", {"period": 14}), ("aroonosc", {"period": 3}),
    ("plus_dm", {"period": 14}), ("plus_dm", {"period": 1}), ("plus_dm", {"period": 2}),
    ("minus_dm", {"period": 14}), ("minus_dm", {"period": 1}), ("minus_dm", {"period": 30}),
    ("plus_di", {"period": 14}), ("plus_di", {"period": 1}), ("plus_di", {"period": 5}),
    ("minus_di", {"period": 14}), ("minus_di", {"period": 1}), ("minus_di", {"period": 5}),
    ("dx", {"period": 14}), ("dx", {"period": 2}), ("dx", {"period": 30}),
    ("adx", {"period": 14}), ("adx", {"period": 2}), ("adx", {"period": 30}),
    ("adxr", {"period": 14}), ("adxr", {"period": 2}), ("adxr", {"period": 9}),
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
    check_spec(name, "momentum")


def test_bad_inputs():
    x = np.linspace(1.0, 2.0, 50)
    with pytest.raises(ParameterError, match="'period'"):
        m.rsi(x, period=1)
    with pytest.raises(ParameterError, match="'period'"):
        m.RSI(period=0)
    with pytest.raises(ParameterError, match="'period3'"):
        m.ultosc(x, x, x, period3=0)
    with pytest.raises(DataError, match="different lengths"):
        m.adx(x, x[:-1], x)
    with pytest.raises(DataError, match="different lengths"):
        m.mfi(x, x, x, x[:10])
    bad = x.copy()
    bad[20] = np.nan
    with pytest.raises(DataError, match="'close'.*index 20"):
        m.rsi(bad)
    with pytest.raises(DataError, match="'high'"):
        m.willr(bad, x, x)


def test_short_inputs_all_nan():
    x = np.linspace(1.0, 2.0, 5)
    for fn in (m.rsi, m.cmo, m.mom):
        assert np.isnan(fn(x, period=10)).all()
    for fn in (m.adx, m.adxr, m.dx, m.willr, m.cci, m.plus_di, m.minus_di):
        assert np.isnan(fn(x, x - 0.5, x - 0.2, period=10)).all()
    assert np.isnan(m.ultosc(x, x - 0.5, x - 0.2)).all()
    assert all(np.isnan(a).all() for a in m.aroon(x, x - 1, period=10))


def test_streaming_bundle_is_fast(real_ohlcv):
    """Ten common streaming indicators together must cost < 20 us per bar (scaled for an overloaded box)."""
    import time

    from quantdesk.indicators.statistic import STDDEV
    from quantdesk.indicators.volatility import ATR, TRANGE
    from quantdesk.indicators.volume import OBV

    df = real_ohlcv["btc_1h"].iloc[:3000]
    bars = df[["open", "high", "low", "close", "volume"]].to_dict("records")

    def reference() -> float:  # a fixed amount of plain Python work, ~0.2 us on an idle machine
        t = time.perf_counter()
        d = bars[0]
        for _ in range(20_000):
            max(d["high"], d["low"]) - min(d["close"], d["open"])
        return (time.perf_counter() - t) / 20_000

    best = float("inf")
    for _ in range(3):
        objs = [m.RSI(), ATR(), m.ADX(), m.CCI(), OBV(), m.MFI(), m.WILLR(), m.ROC(), STDDEV(), TRANGE()]
        t = time.perf_counter()
        for b in bars:
            for o in objs:
                o.update(b)
        best = min(best, (time.perf_counter() - t) / len(bars))
    slowdown = max(1.0, reference() / 0.2e-6)
    assert best < 20e-6 * slowdown, f"{best * 1e6:.1f} us per bar (machine slowdown x{slowdown:.1f})"


def test_streaming_accepts_bar_objects_and_numbers():
    from types import SimpleNamespace

    r1, r2, r3 = m.RSI(3), m.RSI(3), m.RSI(3)
    for x in (1.0, 2.0, 1.5, 3.0, 2.5, 4.0):
        a = r1.update(x)
        b = r2.update({"close": x})
        c = r3.update(SimpleNamespace(open=x, high=x, low=x, close=x, volume=1.0))
        assert (np.isnan(a) and np.isnan(b) and np.isnan(c)) or a == b == c
    with pytest.raises(TypeError):
        m.ADX().update(1.0)


def test_kernels_accept_series_and_lists(real_ohlcv):
    df = real_ohlcv["goog_1d"]
    np.testing.assert_array_equal(m.rsi(df["close"]), m.rsi(df["close"].to_numpy()))
    np.testing.assert_array_equal(m.rsi(list(df["close"])), m.rsi(df["close"].to_numpy()))
