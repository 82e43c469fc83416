"""Features: values against hand computations, higher timeframes joined causally, the causality guard refusing
planted leaks by name, and the streaming twin equal to the batch computation bar for bar."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.indicators.registry import _REGISTRY, IndicatorSpec, Param, register
from quantdesk.ml.errors import LeakageError
from quantdesk.ml.feature_stream import FeatureStream
from quantdesk.ml.features import (
    FeatureSpec,
    IndicatorFeature,
    build_features,
    check_causality,
    feature_names,
)


def _peek_kernel(close: np.ndarray, period: int = 1) -> np.ndarray:
    """A planted look-ahead: tomorrow's close over today's."""
    out = np.full(len(close), np.nan)
    out[:-period] = close[period:] / close[:-period]
    return out


@pytest.fixture
def future_peek() -> Iterator[IndicatorSpec]:
    """A test-only catalog entry that reads the future, registered for one test and removed after it (a
    module-level registration would leak into every other test of the worker, e.g. the catalog listing)."""
    spec = register(IndicatorSpec(name="test_future_peek", group="other", inputs=("close",),
                                  params=(Param("period", int, 1, 1, 10),), outputs=("value",), kernel=_peek_kernel,
                                  description="test-only: reads the future"))
    try:
        yield spec
    finally:
        _REGISTRY.pop(spec.name, None)


def test_values_match_hand_computations(btc_small: pd.DataFrame) -> None:
    spec = FeatureSpec.parse(["sma:period=20", "rsi:period=14", "atr:period=14", "atr:period=14:scale=raw"],
                             returns=(1, 5), volatility=(10,))
    X = build_features(btc_small, spec)
    assert list(X.columns) == feature_names(spec) == ["sma_20", "rsi_14", "atr_14", "atr_14~raw", "ret_1",
                                                      "ret_5", "vol_10"]
    close = btc_small["close"]
    sma = close.rolling(20).mean()
    np.testing.assert_allclose(X["sma_20"], sma / close - 1, rtol=1e-9)  # overlay: relative to close
    np.testing.assert_allclose(X["atr_14"], X["atr_14~raw"] / close, rtol=1e-12)  # price units: / close
    np.testing.assert_allclose(X["ret_5"], np.log(close / close.shift(5)), rtol=1e-9, atol=1e-14)
    r1 = np.log(close / close.shift(1))
    np.testing.assert_allclose(X["vol_10"], r1.rolling(10).std(ddof=0), rtol=1e-9)
    assert X["rsi_14"].dropna().between(0, 100).all()


def test_higher_timeframe_uses_only_closed_bars(btc_small: pd.DataFrame) -> None:
    frame = btc_small.iloc[5:400]  # starts mid-bucket on purpose
    X = build_features(frame, FeatureSpec.parse(["sma:period=3:scale=raw@4h"], returns=(), volatility=()))
    col = X["sma_3~raw@4h"].to_numpy()
    # hand: 4h closes of complete buckets, SMA(3) of those, visible from the bar that closes the bucket
    closes = frame["close"].resample("4h", origin="epoch").last()
    starts = frame.index.floor("4h")
    hand = np.full(len(frame), np.nan)
    htf_close = frame["close"].groupby(starts).last()
    sma = htf_close.rolling(3).mean()
    for i, t in enumerate(frame.index):
        done = sma[sma.index + pd.Timedelta("4h") <= t + pd.Timedelta("1h")]
        hand[i] = done.iloc[-1] if len(done) else np.nan
    np.testing.assert_allclose(col, hand, rtol=1e-12)
    assert len(closes) > 3
    # the value changes only on the last hour of a 4h bucket (when that bucket closes)
    changes = np.flatnonzero(np.diff(np.nan_to_num(col)) != 0) + 1
    assert ((frame.index[changes].hour + 1) % 4 == 0).all()


def test_catalog_leak_is_refused_by_name(btc_small: pd.DataFrame, future_peek: IndicatorSpec) -> None:
    spec = FeatureSpec.parse(["rsi:period=14", "test_future_peek:period=2"], returns=(1,), volatility=())
    with pytest.raises(LeakageError, match="test_future_peek_2") as err:
        check_causality(btc_small, spec, samples=3)
    assert err.value.feature == "test_future_peek_2"


@pytest.mark.parametrize("leak", [
    lambda f: f["close"].shift(-1),                                   # next bar
    lambda f: f["close"].rolling(5, center=True).mean(),             # a centred window: subtle
    lambda f: (f["close"] - f["close"].mean()) / f["close"].std(),  # normalised with whole-series statistics
])
def test_custom_leaks_are_refused(btc_small: pd.DataFrame, leak) -> None:
    spec = FeatureSpec.parse(["rsi:period=14"], returns=(1,), volatility=())
    with pytest.raises(LeakageError, match="'planted'"):
        check_causality(btc_small.iloc[:800], spec, samples=4, custom={"planted": leak})


def test_causal_features_pass(btc_small: pd.DataFrame) -> None:
    spec = FeatureSpec.parse(["rsi:period=14", "macd", "bbands:period=20", "adx@4h", "cdl_engulfing"],
                             returns=(1, 4), volatility=(8,))
    cuts = check_causality(btc_small, spec, samples=4,
                           custom={"causal_z": lambda f: (f["close"] - f["close"].rolling(50).mean())})
    assert len(cuts) == 4


def test_stream_equals_batch_bar_for_bar(btc_small: pd.DataFrame) -> None:
    frame = btc_small.iloc[:700]
    spec = FeatureSpec.parse(["rsi:period=14", "macd", "bbands:period=20", "atr:period=14", "stoch",
                              "sma:period=5@4h", "adx:period=7@1d", "cdl_engulfing"],
                             returns=(1, 2, 8), volatility=(8, 32))
    X = build_features(frame, spec).to_numpy()
    stream = FeatureStream(spec, base_ns=3_600_000_000_000)
    rows = np.array([stream.update({**r._asdict(), "timestamp": t.value})
                     for t, r in zip(frame.index, frame.itertuples(index=False), strict=True)])
    assert stream.names == list(build_features(frame.iloc[:50], spec).columns)
    assert np.array_equal(np.isnan(rows), np.isnan(X))
    ok = ~np.isnan(X)
    np.testing.assert_allclose(rows[ok], X[ok], rtol=1e-9, atol=1e-12)
    assert ok[-1].all()


def test_extra_columns_and_errors(btc_small: pd.DataFrame) -> None:
    frame = btc_small.assign(my_signal=np.arange(len(btc_small), dtype=float))
    X = build_features(frame, FeatureSpec.parse([], returns=(1,), volatility=(), extra=["my_signal", "obv"]))
    assert list(X.columns) == ["obv", "ret_1", "my_signal"]
    np.testing.assert_array_equal(X["my_signal"], frame["my_signal"])
    with pytest.raises(NotFoundError, match="nope"):
        build_features(btc_small, FeatureSpec.parse([], extra=["nope"]))
    with pytest.raises(NotFoundError, match="unknown indicator"):
        FeatureSpec.parse(["rsx:period=3"])
    with pytest.raises(ParameterError, match="period"):
        FeatureSpec.parse(["rsi:period=0"])
    with pytest.raises(ParameterError, match="outputs"):
        FeatureSpec.parse(["macd.nope"])
    with pytest.raises(ParameterError, match="param=value"):
        IndicatorFeature.parse("rsi:14")
    with pytest.raises(ParameterError, match="longer"):
        build_features(btc_small, FeatureSpec.parse(["rsi@1h"]))
