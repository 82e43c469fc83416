"""The streaming base accepts dicts, mappings, objects with attributes and plain numbers alike."""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest

from quantdesk.core.errors import DataError
from quantdesk.indicators.streaming import StreamingIndicator
from quantdesk.indicators.validation import check_array


class _Spread(StreamingIndicator):
    inputs = ("high", "low")

    def step(self, high: float, low: float) -> float:
        return high - low


class _Last(StreamingIndicator):
    def step(self, close: float) -> float:
        return close * 2


def test_bar_forms_agree() -> None:
    forms = [{"high": 5, "low": 2}, OrderedDict(high=5.0, low=2.0), SimpleNamespace(high=5, low=2, close=3)]
    assert [_Spread().update(b) for b in forms] == [3.0, 3.0, 3.0]
    assert _Last().update(4) == 8.0 and _Last().update({"close": 1.5}) == 3.0


def test_number_for_multi_input_is_refused() -> None:
    with pytest.raises(TypeError, match="high"):
        _Spread().update(3.0)


def test_check_array_names_first_inner_nan() -> None:
    arr = np.array([np.nan, 1.0, 2.0, np.nan, 3.0, np.inf])
    with pytest.raises(DataError, match=r"'close' has 2 NaN/inf value\(s\) inside the data, first at index 3"):
        check_array(arr, name="close", indicator="sma")
    leading = check_array(np.array([np.nan, 1.0, 2.0]), name="close", indicator="sma")
    assert np.isnan(leading[0]) and leading[2] == 2.0


def test_timestamp_input_is_nanoseconds_whatever_the_unit(real_ohlcv) -> None:
    """A datetime column in µs (pandas' CSV default) or the index gives the same session VWAP."""
    from quantdesk.indicators import compute

    df = real_ohlcv["btc_1h"].iloc[:3000]
    from_index = compute("vwap", df, session="1d")["vwap"]
    as_us = df.assign(timestamp=df.index.as_unit("us"))
    from_us_column = compute("vwap", as_us, session="1d")["vwap"]
    naive_s = df.assign(timestamp=df.index.tz_localize(None).as_unit("s"))
    from_s_column = compute("vwap", naive_s, session="1d")["vwap"]
    assert from_index.equals(from_us_column) and from_index.equals(from_s_column)
    # the session really resets: the first bar of each UTC day equals that bar's typical price
    day_start = df.index.hour == 0
    typical = (df["high"] + df["low"] + df["close"]) / 3
    np.testing.assert_allclose(from_index[day_start], typical[day_start], rtol=1e-12)
