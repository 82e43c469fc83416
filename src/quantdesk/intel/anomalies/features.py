"""Bar features the anomaly detectors score: log return, log relative range, log volume (NaN where undefined).

    ret    = log(close_t / close_{t-1})
    range  = log(max((high - low) / close, 1e-4))      (a frozen bar has the floor, not -inf)
    volume = log(1 + volume)
"""

from __future__ import annotations

import math

import numpy as np

RANGE_FLOOR = 1e-4
FEATURES = ("ret", "range", "volume")


def bar_feature_row(high: float, low: float, close: float, volume: float, prev_close: float
                    ) -> tuple[float, float, float]:
    ret = math.log(close / prev_close) if prev_close > 0 and close > 0 else math.nan
    rel = (high - low) / close if close > 0 else math.nan
    rng = math.log(max(rel, RANGE_FLOOR)) if rel == rel else math.nan
    vol = math.log1p(volume) if volume >= 0 else math.nan
    return ret, rng, vol


def bar_features(df) -> np.ndarray:  # noqa: ANN001 - an OHLCV DataFrame
    """(n, 3) features of an OHLCV frame, computed with the same scalar code as the streaming path."""
    h, lo, c, v = (df[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close", "volume"))
    out = np.empty((len(c), 3))
    prev = math.nan
    for i in range(len(c)):
        out[i] = bar_feature_row(h[i], lo[i], c[i], v[i], prev)
        prev = c[i]
    return out
