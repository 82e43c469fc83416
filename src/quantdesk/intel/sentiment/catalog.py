"""Registers the per-asset sentiment series as the catalog indicator `sentiment` (see series.py).

    Ind("sentiment", symbol="BTC/USDT", half_life_h=12, window_h=24)   # in a strategy
    compute("sentiment", df, symbol="ETH/USDT")                        # columns mean, count, pos_share, ...
"""

from __future__ import annotations

from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.intel.sentiment.series import OUTPUTS, SentimentStream, sentiment_kernel

SENTIMENT = register(IndicatorSpec(
    name="sentiment",
    group="other",
    inputs=("timestamp", "close"),
    params=(
        Param("symbol", str, "BTC/USDT", description="asset whose texts count (its base currency: BTC)"),
        Param("half_life_h", float, 12.0, 0.01, 8760.0, description="half-life of a text's weight, hours"),
        Param("window_h", float, 24.0, 0.01, 8760.0, description="window of count/shares/events, hours"),
    ),
    outputs=OUTPUTS,
    kernel=sentiment_kernel,
    description="News/social sentiment of one asset, causal: time-decayed mean score, texts in the window, "
                "share positive/negative, negative events (hack, exploit...); texts from the sentiment store.",
    streaming=SentimentStream,
))
