"""Overlap studies vs TA-Lib on the real data files, streaming parity, bad input, catalog entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from talib_reference import FILES, check_spec, check_streaming, check_vs_talib

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import compute, get
from quantdesk.indicators import overlap as ov

NAMES = [
    "sma", "ema", "wma", "dema", "tema", "trima", "kama", "mama", "t3", "bbands", "midpoint", "midprice",
    "sar", "sarext", "ht_trendline", "ma", "mavp", "accbands",
]  # fmt: skip

CASES = [
    ("sma", {}), ("sma", {"period": 2}), ("sma", {"period": 200}), ("sma", {"period": 1}),
    ("ema", {}), ("ema", {"period": 2}), ("ema", {"period": 12}), ("ema", {"period": 1}),
    ("wma", {}), ("wma", {"period": 2}), ("wma", {"period": 9}),
    ("dema", {}), ("dema", {"period": 2}), ("dema", {"period": 9}),
    ("tema", {}), ("tema", {"period": 2}), ("tema", {"period": 9}),
    ("trima", {}), ("trima", {"period": 2}), ("trima", {"period": 7}), ("trima", {"period": 10}),
    ("kama", {}), ("kama", {"period": 2}), ("kama", {"period": 10}), ("kama", {"period": 1}),
    ("mama", {}), ("mama", {"fast_limit": 0.3, "slow_limit": 0.1}), ("mama", {"fast_limit": 0.9, "slow_limit": 0.01}),
    ("t3", {}), ("t3", {"period": 2, "vfactor": 0.0}), ("t3", {"period": 10, "vfactor": 1.0}),
    ("bbands", {}), ("bbands", {"period": 5, "nbdev_up": 1.5, "nbdev_dn": 2.5}),
    ("bbands", {"period": 10, "matype": 1}), ("bbands", {"period": 10, "matype": 3}),
    ("bbands", {"matype": 6}), ("bbands", {"matype": 7}), ("bbands", {"period": 50, "matype": 7}),
    ("bbands", {"period": 7, "matype": 8}), ("bbands", {"period": 2, "nbdev_up": 0.0, "nbdev_dn": -1.0}),
    ("midpoint", {}), ("midpoint", {"period": 2}), ("midpoint", {"period": 50}),
    ("midprice", {}), ("midprice", {"period": 2}), ("midprice", {"period": 50}),
    ("sar", {}), ("sar", {"acceleration": 0.05, "maximum": 0.3}), ("sar", {"acceleration": 0.3, "maximum": 0.2}),
    ("sarext", {}),
    ("sarext", {"start_value": 100.0, "offset_on_reverse": 0.01, "acceleration_long": 0.03, "acceleration_max_short": 0.1}),
    ("sarext", {"start_value": -100.0, "acceleration_init_short": 0.05, "acceleration_init_long": 0.5}),
    ("ht_trendline", {}),
    ("ma", {}), ("ma", {"period": 1, "matype": 4}),
    *[("ma", {"period": 10, "matype": t}) for t in range(9)],
    ("mavp", {}), ("mavp", {"min_period": 5, "max_period": 20, "matype": 1}),
    ("mavp", {"matype": 6}), ("mavp", {"min_period": 2, "max_period": 10, "matype": 8}),
    ("mavp", {"min_period": 1, "max_period": 12, "matype": 7}),
    ("accbands", {}), ("accbands", {"period": 2}), ("accbands", {"period": 50}),
]  # fmt: skip


def _id(case):
    name, params = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_talib_on_real_files(case, real_ohlcv):
    name, params = case
    for key in FILES:
        check_vs_talib(name, real_ohlcv[key], params, f"{key}: ")


STREAM_CASES = [c for c in CASES if c[1] == {}] + [
    ("bbands", {"period": 10, "matype": 3}), ("bbands", {"period": 50, "matype": 7}), ("ma", {"period": 1, "matype": 4}),
    *[("ma", {"period": 10, "matype": t}) for t in range(9)],
    ("trima", {"period": 10}), ("t3", {"period": 2, "vfactor": 0.0}),
    ("sarext", {"start_value": -100.0, "acceleration_init_short": 0.05, "offset_on_reverse": 0.01}),
    ("mavp", {"min_period": 1, "max_period": 12, "matype": 1}),
]  # fmt: skip


@pytest.mark.parametrize("case", STREAM_CASES, ids=_id)
def test_streaming_equals_batch(case, real_ohlcv):
    name, params = case
    check_streaming(name, real_ohlcv["goog_1d"], params)
    check_streaming(name, real_ohlcv["btc_1h"].iloc[:6000], params)


@pytest.mark.parametrize("name", NAMES)
def test_catalog_entry_is_complete(name):
    check_spec(name, "overlap")
    assert get(name).group == "overlap" and get(name).overlay


def test_leading_nan_shifts_warmup_like_talib(real_ohlcv):
    import talib

    close = real_ohlcv["goog_1d"]["close"].to_numpy().copy()
    close[:7] = np.nan
    for fn, ref in [(ov.sma, talib.SMA), (ov.ema, talib.EMA), (ov.kama, talib.KAMA), (ov.t3, talib.T3)]:
        a, b = fn(close), ref(close)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-9, equal_nan=True)
    m, f = ov.mama(close)
    rm, rf = talib.MAMA(close)
    np.testing.assert_allclose(m, rm, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(f, rf, rtol=1e-9, equal_nan=True)
    s = ov.SMA(5)
    out = [s.update(x) for x in close[:20]]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ov.sma(close[:20], 5)))


def test_short_input_is_all_nan():
    x = np.arange(5, dtype=float) + 1.0
    assert np.isnan(ov.sma(x, 10)).all()
    assert np.isnan(ov.mama(x)[0]).all()
    assert all(np.isnan(a).all() for a in ov.bbands(x, 20))
    assert np.isnan(ov.sar(x[:1], x[:1])).all()
    assert len(ov.ema(np.array([]), 3)) == 0


def test_bad_input_errors():
    x = np.linspace(1, 2, 100)
    bad = x.copy()
    bad[50] = np.nan
    with pytest.raises(DataError, match="close.*index 50"):
        ov.sma(bad, 5)
    with pytest.raises(DataError, match="different lengths"):
        ov.midprice(x, x[:-1])
    with pytest.raises(DataError, match="1-D"):
        ov.ema(np.ones((3, 3)))
    with pytest.raises(ParameterError, match="'period'"):
        ov.sma(x, 0)
    with pytest.raises(ParameterError, match="'period'"):
        ov.ema(x, 100_001)
    with pytest.raises(ParameterError, match="'matype'"):
        ov.ma(x, 5, 9)
    with pytest.raises(ParameterError, match="'vfactor'"):
        ov.t3(x, 5, 1.5)
    with pytest.raises(ParameterError, match="'fast_limit'"):
        ov.mama(x, 0.0)
    with pytest.raises(ParameterError, match="'period'"):
        ov.bbands(x, 1)
    with pytest.raises(ParameterError, match="min_period"):
        ov.mavp(x, x, 10, 5)
    with pytest.raises(ParameterError, match="'period'"):
        ov.SMA(period=-1)
    with pytest.raises(ParameterError, match="'matype'"):
        compute("bbands", pd.DataFrame({"close": x}), matype=11)
    s = ov.EMA(3)
    s.update(1.0)
    with pytest.raises(DataError):
        s.update(float("nan"))


def test_compute_and_stream_through_registry(real_ohlcv):
    from quantdesk.indicators import stream

    df = real_ohlcv["goog_1d"]
    res = compute("bbands", df, period=20)
    assert list(res.columns) == ["upper", "middle", "lower"] and res.index.equals(df.index)
    bb = stream("bbands", period=20)
    last = None
    for row in df.iloc[:40].itertuples():
        last = bb.update(row)
    np.testing.assert_allclose(last, res.iloc[39].to_numpy(), rtol=1e-12)


def test_update_accepts_dicts_numbers_and_bar_objects():
    from types import SimpleNamespace

    xs = [1.0, 2.0, 4.0, 3.0, 5.0]
    expect = ov.sma(np.array(xs), 3)
    for make in (float, np.float64, lambda v: {"close": v}, lambda v: SimpleNamespace(close=v)):
        s = ov.SMA(3)
        got = [s.update(make(v)) for v in xs]
        np.testing.assert_array_equal(got, expect)
    s = ov.SAR()
    with pytest.raises(TypeError):
        s.update(1.0)
    assert np.isnan(s.update(SimpleNamespace(high=2.0, low=1.0)))
