"""Helpers for the pattern, extras and catalog-wide tests: TA-Lib references through the catalog's own
mapping, streaming replay, synthetic candles with many gaps and equal prices (to exercise rare patterns)."""

from __future__ import annotations

import numpy as np
import pandas as pd

FILES = ("btc_1m", "btc_1h", "btc_1d", "goog_1d")


def with_timestamp(df: pd.DataFrame) -> pd.DataFrame:
    """The frame plus a `timestamp` column (UTC epoch ns as float64) for indicators that read bar times."""
    if "timestamp" in df.columns:
        return df
    return df.assign(timestamp=df.index.as_unit("ns").asi8.astype(np.float64))


def talib_reference(spec, df: pd.DataFrame, params: dict | None = None) -> tuple[np.ndarray, ...]:
    """TA-Lib's output for a catalog entry, called via talib.abstract with the spec's parameter mapping."""
    import talib.abstract

    values = spec.validate_params(params or {})
    fn = talib.abstract.Function(spec.talib)
    fn.parameters = {spec.talib_params[k]: v for k, v in values.items()}
    names = fn.input_names
    price_inputs = [x for v in names.values() for x in (v if isinstance(v, list) else [v])]
    if len(price_inputs) != len(spec.inputs):
        raise AssertionError(f"{spec.name}: {len(spec.inputs)} inputs but TA-Lib {spec.talib} takes {price_inputs}")
    arrays = [df[c].to_numpy(np.float64) for c in spec.inputs]
    res = getattr(talib, spec.talib)(*arrays, **fn.parameters)
    res = res if isinstance(res, tuple) else (res,)
    return tuple(np.asarray(r) for r in res)


def talib_lookback(spec, params: dict | None = None) -> int:
    import talib.abstract

    values = spec.validate_params(params or {})
    fn = talib.abstract.Function(spec.talib)
    fn.parameters = {spec.talib_params[k]: v for k, v in values.items()}
    return int(fn.lookback)


def stream_all(spec, df: pd.DataFrame, params: dict | None = None) -> np.ndarray:
    """Feed every bar to a fresh streaming object; (n, n_outputs) float array."""
    obj = spec.streaming(**spec.validate_params(params or {}))
    rows = []
    for rec in df[list(spec.inputs)].to_dict("records"):
        v = obj.update(rec)
        rows.append(v if isinstance(v, tuple) else (v,))
    return np.asarray(rows, dtype=np.float64)


def gappy_candles(n: int, seed: int) -> pd.DataFrame:
    """Random candles rounded to 0.1 with frequent gaps, dojis and shaved shadows, so rare patterns occur."""
    rng = np.random.default_rng(seed)
    c = np.round(100 + np.cumsum(rng.normal(0, 1, n)), 1)
    o = np.round(np.r_[c[0], c[:-1]] + rng.normal(0, 1.2, n) * (rng.random(n) < 0.5), 1)
    o = np.where(rng.random(n) < 0.1, c, o)
    h = np.maximum(o, c) + np.round(np.abs(rng.normal(0, 0.6, n)) * (rng.random(n) < 0.7), 1)
    low = np.minimum(o, c) - np.round(np.abs(rng.normal(0, 0.6, n)) * (rng.random(n) < 0.7), 1)
    idx = pd.date_range("2020-01-01", periods=n, freq="1h", tz="UTC", name="timestamp")
    vol = np.round(rng.uniform(1, 100, n), 2)
    return pd.DataFrame({"open": o, "high": h, "low": low, "close": c, "volume": vol}, index=idx)


def assert_same(name: str, got: np.ndarray, want: np.ndarray, rtol: float = 1e-9) -> None:
    """Same NaN positions; values equal within rtol (relative to the series' scale)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    gn, wn = np.isnan(got), np.isnan(want)
    if not np.array_equal(gn, wn):
        i = int(np.flatnonzero(gn != wn)[0])
        raise AssertionError(f"{name}: NaN positions differ, first at {i}: got {got[i]!r}, want {want[i]!r}")
    if (~wn).any():
        scale = max(1.0, float(np.nanmax(np.abs(want))))
        err = np.abs(got[~wn] - want[~wn])
        tol = rtol * np.maximum(np.abs(want[~wn]), scale)
        if (err > tol).any():
            i = int(np.flatnonzero(~wn)[np.argmax(err - tol)])
            raise AssertionError(f"{name}: value differs at {i}: got {got[i]!r}, want {want[i]!r}")
