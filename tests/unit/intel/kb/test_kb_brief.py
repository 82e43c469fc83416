"""The market brief's numbers against independent computations (pandas, TA-Lib) on the real bundled candles, and
the intelligence packages' catalog columns picked up by name when registered."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from quantdesk.intel.kb.brief import intel_indicator_names, market_brief, pick_timeframe


def test_intel_names_and_timeframe_choice() -> None:
    specs = [SimpleNamespace(name=n) for n in ("rsi", "regime_hmm", "anomaly_score", "sentiment_vader", "sma")]
    assert intel_indicator_names(specs) == ["anomaly_score", "regime_hmm", "sentiment_vader"]
    assert pick_timeframe({"1m", "1h"}, None) == "1h" and pick_timeframe({"1m", "1d", "4h"}, None) == "1d"
    with pytest.raises(Exception, match="no 5m candles stored"):
        pick_timeframe({"1m", "1h"}, "5m")


def _number(text: str, pattern: str) -> float:
    return float(re.search(pattern, text).group(1).replace(",", ""))


def test_brief_numbers_match_pandas_and_talib(qd_home, real_ohlcv) -> None:
    import talib  # a dev dependency: missing, the test fails instead of skipping
    df = real_ohlcv["btc_1h"]  # the same file as the bundled sample BTC/USDT 1h, read independently
    doc = market_brief(["BTC/USDT"], "1h")
    texts = [s["text"] for s in doc["statements"]]
    close = df["close"].to_numpy()
    assert _number(texts[0], r"last closed at ([\d,.]+)") == pytest.approx(close[-1], abs=0.006)
    change = (close[-1] / close[-31] - 1) * 100
    assert _number(texts[1], r"(?:rose|fell) ([\d.]+)%") == pytest.approx(abs(change), abs=0.006)
    assert ("rose" in texts[1]) == (change > 0)
    window = df.iloc[-31:]
    assert _number(texts[2], r"was ([\d,.]+) \(on") == pytest.approx(window["low"].min(), abs=0.006)
    rsi = talib.RSI(close[-300:], timeperiod=14)[-1]
    rsi_text = next(t for t in texts if "RSI" in t)
    assert _number(rsi_text, r"RSI is ([\d.]+)") == pytest.approx(rsi, abs=0.06)
    sma50 = close[-50:].mean()
    trend = next(t for t in texts if "SMA" in t)
    assert _number(trend, r"50-bar SMA \(([\d,.]+)\)") == pytest.approx(sma50, abs=0.006)
    for s in doc["statements"]:
        assert s["citations"] and all(1 <= n <= len(doc["citations"]) for n in s["citations"])
    first = doc["citations"][0]
    assert first["source"] == "candles:sample:BTC/USDT:1h" and first["anchor"] == "2019-10-17T09:00:00Z"


def test_brief_reads_registered_regime_columns(qd_home, monkeypatch) -> None:
    from quantdesk.indicators import registry
    from quantdesk.indicators.registry import IndicatorSpec

    def kernel(close: np.ndarray) -> np.ndarray:
        return (close > np.nanmean(close)).astype(np.float64)  # 1 = above its mean: a toy two-state regime

    registry.get("sma")  # the catalog is loaded before the probe joins it
    spec = IndicatorSpec(name="kbtest_regime", group="other", inputs=("close",), params=(), outputs=("state",),
                         kernel=kernel, description="test regime")
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    doc = market_brief(["BTC/USDT"], "1h")
    regime = [s for s in doc["statements"] if s["text"].startswith("kbtest_regime on BTC/USDT")]
    assert len(regime) == 1 and regime[0]["text"] in ("kbtest_regime on BTC/USDT: state 1.", "kbtest_regime on BTC/USDT: state 0.")
    cited = doc["citations"][regime[0]["citations"][0] - 1]
    assert cited["source"] == "indicator:kbtest_regime"
