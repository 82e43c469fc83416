"""Catalog entry `powertrader_levels`: the PowerTrader LONG/SHORT levels and each timeframe's bounds.

    compute("powertrader_levels", df, memory_dir="~/pt/BTC")        # in a strategy: Ind("powertrader_levels", ...)

Outputs: `long`, `short` (0-7), `active` (timeframes with a prediction), `lower`/`upper` (the nearest active
bound below/above: where LONG/SHORT would start counting; the per-timeframe lines are in
`quantdesk.intel.powertrader.signals.levels_batch` and on the Markets chart). Every timeframe's candles are
built from the bars (timeframes shorter than the bars stay inactive). Memories come from `memory_dir` (the
original's files or an improved model); without one the improved model trains on the bars themselves,
walk-forward (no look-ahead).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from quantdesk.indicators.registry import IndicatorSpec, Param, register
from quantdesk.indicators.streaming import StreamingIndicator
from quantdesk.intel.powertrader.signals import CATALOG_OUTPUTS, LevelsStream, levels_batch, load_levels_model
from quantdesk.intel.powertrader.timeframes import parse_timeframes

PARAMS = (
    Param("memory_dir", str, "", description="folder of a trained PowerTrader memory (train or import-memories); "
          "empty: the improved model trains on these bars, walk-forward"),
    Param("mode", str, "auto", choices=("auto", "compat", "improved"),
          description="auto: the improved model when the folder has one, else the original's memory files"),
    Param("alpha", float, 0.1, 0.01, 0.49, description="improved bounds: P(low <= lower) = P(high >= upper)"),
    Param("bar_seconds", int, 0, 0, 604800, description="bar length in seconds (0 = smallest step seen so far)"),
    Param("timeframes", str, "all", description="comma-separated subset of 1hour,...,1week (default all)"),
)


def _model(memory_dir: str, mode: str, timeframes: str) -> Any:
    return load_levels_model(memory_dir, mode, parse_timeframes(timeframes))


def powertrader_levels(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                       timestamp: np.ndarray, memory_dir: str = "", mode: str = "auto", alpha: float = 0.1,
                       bar_seconds: int = 0, timeframes: str = "all") -> tuple[np.ndarray, ...]:
    """Batch kernel (timestamps in epoch ns, as the catalog passes them)."""
    model = _model(memory_dir, mode, timeframes)
    ts = np.asarray(timestamp, dtype=np.float64) / 1e9
    out = levels_batch(model, ts, open_, high, low, close, bar_seconds=bar_seconds, alpha=alpha)
    return tuple(out[name] for name in CATALOG_OUTPUTS)


class PowerTraderLevels(StreamingIndicator):
    """Streaming twin: `update(bar)` with open/high/low/close and `ts_ns` (or a `timestamp` in epoch ns)."""

    inputs = ("open", "high", "low", "close", "timestamp")

    def __init__(self, memory_dir: str = "", mode: str = "auto", alpha: float = 0.1, bar_seconds: int = 0,
                 timeframes: str = "all") -> None:
        self._stream = LevelsStream(_model(memory_dir, mode, timeframes), bar_seconds, alpha)

    def update(self, bar: Any) -> tuple[float, ...]:
        if isinstance(bar, Mapping):
            get = bar.__getitem__
            ts_ns = bar["timestamp"] if "timestamp" in bar else bar["ts_ns"]
        else:
            def get(name: str) -> Any:
                return getattr(bar, name)
            ts_ns = getattr(bar, "ts_ns", None)
            if ts_ns is None:
                ts_ns = bar.timestamp
        return self.step(get("open"), get("high"), get("low"), get("close"), ts_ns)

    def step(self, *values: float) -> tuple[float, ...]:
        o, h, lo, c, ts_ns = (float(v) for v in values)
        out = self._stream.update(ts_ns / 1e9, o, h, lo, c)
        return tuple(out[name] for name in CATALOG_OUTPUTS)


register(IndicatorSpec(
    name="powertrader_levels",
    group="other",
    inputs=("open", "high", "low", "close", "timestamp"),
    params=PARAMS,
    outputs=CATALOG_OUTPUTS,
    kernel=powertrader_levels,
    description="PowerTrader multi-timeframe LONG/SHORT levels (0-7) and per-timeframe bounds from a trained "
                "pattern memory (original files or the improved model).",
    streaming=PowerTraderLevels,
    overlay=True,
))
