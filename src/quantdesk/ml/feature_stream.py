"""The streaming twin of `features.build_features`: one bar in, the feature row of that bar out.

Paper and live bots see one bar at a time; the row `FeatureStream.update(bar)` returns equals the row
`build_features` computes for the same bar on the whole history (tests compare them bar for bar):
- catalog indicators update their own streaming implementations (exact twins of the batch kernels); an entry
  without a streaming form (candle patterns, some provider columns) is recomputed in batch on a bounded window of
  recent bars (`buffer`), exact for finite look-backs;
- higher-timeframe features aggregate the bars into the same buckets as the batch path and update their
  indicator when a bucket has closed (its end time <= the base bar's close);
- returns and volatility keep the last closes / returns they need;
- extra data columns are read from the bar when it is a mapping that has them (NaN otherwise); custom features
  are recomputed on the bounded window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.ml.features import (
    OHLCV,
    CustomFeatures,
    FeatureSpec,
    IndicatorFeature,
    _all_indicators,
    _is_catalog,
    _name,
    _scaled,
)

NAN = math.nan


def bar_values(bar: Any) -> dict[str, float]:
    """open..volume and timestamp (UTC ns) of a bar given as a Mapping, a model Bar or an engine BarView."""
    if isinstance(bar, Mapping):
        out = {k: float(bar[k]) for k in OHLCV}
        ts = bar.get("timestamp", bar.get("ts_ns"))
    else:
        out = {k: float(getattr(bar, k)) for k in OHLCV}
        ts = getattr(bar, "ts_ns", getattr(bar, "timestamp", None))
    if isinstance(ts, pd.Timestamp):
        ts = ts.value
    out["timestamp"] = float(ts) if ts is not None else NAN
    return out


class _Catalog:
    """One catalog indicator (base timeframe) via its streaming class, or a bounded batch window."""

    def __init__(self, f: IndicatorFeature, buffer: int) -> None:
        from quantdesk.indicators import registry

        self.f = f
        self.spec = registry.get(f.name)
        self.params = self.spec.validate_params(f.params)
        self.keep = [i for i, o in enumerate(self.spec.outputs) if f.outputs is None or o in f.outputs]
        self.names = [_name(f, self.spec, self.spec.outputs[i]) for i in self.keep]
        self.stream = self.spec.streaming(**self.params) if self.spec.streaming is not None else None
        self.window: deque[dict[str, float]] | None = deque(maxlen=buffer) if self.stream is None else None

    def values(self, bar: dict[str, float], close: float) -> list[float]:
        if self.stream is not None:
            raw = self.stream.update({k: bar[k] for k in self.spec.inputs if k in bar})
            outs = raw if isinstance(raw, tuple) else (raw,)
        else:
            assert self.window is not None
            self.window.append(bar)
            frame = _frame(self.window)
            from quantdesk.indicators import registry

            result = self.spec.kernel(*registry.input_arrays(self.spec, frame), **self.params)
            outs = tuple(a[-1] for a in (result if isinstance(result, tuple) else (result,)))
        c = np.array([close])
        return [float(_scaled(np.array([float(outs[i])]), c, self.f.scale, self.f, self.spec.overlay)[0])
                for i in self.keep]


def _frame(window: deque[dict[str, float]]) -> pd.DataFrame:
    rows = list(window)
    idx = pd.to_datetime(np.array([r["timestamp"] for r in rows], dtype=np.int64), unit="ns", utc=True)
    return pd.DataFrame({k: np.array([r[k] for r in rows]) for k in OHLCV}, index=idx)


class _Higher:
    """Aggregates base bars into one higher timeframe's buckets; `closed` = the HTF bars completed by this bar."""

    def __init__(self, timeframe: str, base_ns: int) -> None:
        from quantdesk.data.resample import bucket_origin
        from quantdesk.model.timeframe import Timeframe

        tf = Timeframe.parse(timeframe)
        self.h, self.origin, self.base_ns = tf.nanos, bucket_origin(tf), base_ns
        self.bucket: int | None = None
        self.agg: dict[str, float] = {}
        self.pushed = True
        self.closed: list[dict[str, float]] = []

    def step(self, bar: dict[str, float]) -> None:
        self.closed = []
        ts = int(bar["timestamp"])
        b = (ts - self.origin) // self.h
        if self.bucket is not None and b != self.bucket and not self.pushed:
            self.closed.append(self._bar())
        if b != self.bucket:
            self.bucket, self.pushed = b, False
            self.agg = dict(bar)
        else:
            a = self.agg
            a["high"] = max(a["high"], bar["high"])
            a["low"] = min(a["low"], bar["low"])
            a["close"] = bar["close"]
            a["volume"] = a["volume"] + bar["volume"]
        if (b + 1) * self.h + self.origin <= ts + self.base_ns:
            self.closed.append(self._bar())
            self.pushed = True

    def _bar(self) -> dict[str, float]:
        assert self.bucket is not None
        return {**self.agg, "timestamp": float(self.bucket * self.h + self.origin)}


class _HigherCatalog:
    def __init__(self, f: IndicatorFeature, higher: _Higher, buffer: int) -> None:
        self.inner = _Catalog(f.model_copy(update={"timeframe": None}), buffer)
        self.inner.names = [f"{n}@{f.timeframe}" for n in self.inner.names]
        self.names = self.inner.names
        self.higher = higher
        self.last = [NAN] * len(self.names)

    def values(self, bar: dict[str, float], close: float) -> list[float]:
        for hb in self.higher.closed:
            self.last = self.inner.values(hb, hb["close"])
        return self.last


class FeatureStream:
    """`update(bar)` -> the feature row (float64 array in `names` order) of that bar."""

    def __init__(self, spec: FeatureSpec, *, base_ns: int, extra_columns: tuple[str, ...] = (),
                 custom: CustomFeatures | None = None, buffer: int = 2000) -> None:
        self.spec = spec
        self.parts: list[Any] = []
        self.highers: dict[str, _Higher] = {}
        catalog_extra = [e for e in spec.extra if _is_catalog(e)]
        self.user_extra = [e for e in spec.extra if not _is_catalog(e)]
        for f in _all_indicators(spec, [*catalog_extra, *self.user_extra, *extra_columns]):
            if f.timeframe is None:
                self.parts.append(_Catalog(f, buffer))
            else:
                if f.timeframe not in self.highers:
                    self.highers[f.timeframe] = _Higher(f.timeframe, base_ns)
                self.parts.append(_HigherCatalog(f, self.highers[f.timeframe], buffer))
        self.rets = tuple(spec.returns)
        self.vols = tuple(spec.volatility)
        self.logc: deque[float] = deque(maxlen=max(self.rets, default=0) + 1)
        self.r1: deque[float] = deque(maxlen=max(self.vols, default=1))
        self.custom = dict(custom or {})
        self.window: deque[dict[str, float]] = deque(maxlen=buffer)
        self.names = [n for p in self.parts for n in p.names] + [f"ret_{k}" for k in self.rets] + \
            [f"vol_{k}" for k in self.vols] + self.user_extra + list(self.custom)

    def update(self, bar: Any) -> np.ndarray:
        values = bar_values(bar)
        close = values["close"]
        for h in self.highers.values():
            h.step(values)
        row: list[float] = []
        for p in self.parts:
            row.extend(p.values(values, close))
        lc = math.log(close) if close > 0 else NAN
        if self.logc:
            self.r1.append(lc - self.logc[-1])
        self.logc.append(lc)
        for k in self.rets:
            row.append(lc - self.logc[-1 - k] if len(self.logc) > k else NAN)
        for k in self.vols:
            row.append(float(np.std(list(self.r1)[-k:])) if len(self.r1) >= k else NAN)
        for e in self.user_extra:
            v = bar.get(e, NAN) if isinstance(bar, Mapping) else getattr(bar, e, NAN)
            row.append(float(v) if v is not None else NAN)
        if self.custom:
            self.window.append(values)
            frame = _frame(self.window)
            for fn in self.custom.values():
                row.append(float(np.asarray(fn(frame), dtype=np.float64).reshape(-1)[-1]))
        out = np.array(row, dtype=np.float64)
        out[~np.isfinite(out)] = NAN
        return out
