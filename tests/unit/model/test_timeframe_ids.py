"""Timeframe and instrument id parsing: the strings users type."""

from __future__ import annotations

import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.model import InstrumentId, Timeframe


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("15m", 900), ("1h", 3600), ("4H", 14400), ("1d", 86400), ("1w", 604800), ("30s", 30)])
def test_parse_timeframes(text: str, seconds: int) -> None:
    tf = Timeframe.parse(text)
    assert tf.seconds == seconds
    assert Timeframe.parse(str(tf)) == tf


@pytest.mark.parametrize("text", ["0m", "1M", "1mo", "h", "1y", "-1h", ""])
def test_bad_timeframes_are_refused(text: str) -> None:
    with pytest.raises(ParameterError, match="timeframe"):
        Timeframe.parse(text)


def test_multiples() -> None:
    assert Timeframe.parse("1h").is_multiple_of(Timeframe.parse("15m"))
    assert not Timeframe.parse("1h").is_multiple_of(Timeframe.parse("7m"))


def test_instrument_id_normalises() -> None:
    iid = InstrumentId("btc-usdt", "Binance")
    assert (iid.symbol, iid.venue, iid.base, iid.quote) == ("BTC/USDT", "binance", "BTC", "USDT")
    assert InstrumentId.parse(str(iid)) == iid
    with pytest.raises(ParameterError, match="BASE/QUOTE"):
        InstrumentId("BTCUSDT", "binance")
