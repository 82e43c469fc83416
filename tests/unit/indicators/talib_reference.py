"""TA-Lib as the reference for the indicator tests: its outputs through each catalog entry's own name and
parameter mapping (so the catalog is checked too), our kernel's outputs, the comparison of the two, streaming
replays, catalog-entry checks, and test data (the real files' keys, bar times, gappy synthetic candles).

One tolerance everywhere: same NaN positions, then |ours - talib| <= rtol * max(|talib|, scale), rtol 1e-9,
where `scale` is the magnitude of the inputs (so values near zero are compared at the series' scale).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import talib
import talib.abstract

from quantdesk.indicators import get
from quantdesk.indicators.registry import IndicatorSpec

FILES = ("btc_1m", "btc_1h", "btc_1d", "goog_1d")
RTOL = 1e-9
STREAM_RTOL, STREAM_ATOL = 1e-9, 1e-12


# ------------------------------------------------------------------ test data
def with_timestamp(df: pd.DataFrame) -> pd.DataFrame:
    """The frame plus a `timestamp` column (UTC epoch ns as float64) for indicators that read bar times."""
    if "timestamp" in df.columns:
        return df
    return df.assign(timestamp=df.index.as_unit("ns").asi8.astype(np.float64))


def periods_column(n: int, seed: int = 7) -> np.ndarray:
    """A deterministic per-bar period column for MAVP (values around and outside its default range)."""
    return np.random.default_rng(seed).uniform(0.0, 40.0, n)


def with_inputs(spec: IndicatorSpec, df: pd.DataFrame) -> pd.DataFrame:
    """The frame plus the non-OHLCV inputs the entry reads: MAVP's `periods`, bar times."""
    if "periods" in spec.inputs and "periods" not in df.columns:
        df = df.assign(periods=periods_column(len(df)))
    if "timestamp" in spec.inputs:
        df = with_timestamp(df)
    return df


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


# ------------------------------------------------------------------ TA-Lib and our kernels
def _arrays(spec: IndicatorSpec, df: pd.DataFrame) -> list[np.ndarray]:
    return [df[c].to_numpy(np.float64) for c in spec.inputs]


def _talib_params(spec: IndicatorSpec, params: dict[str, Any] | None) -> dict[str, Any]:
    """Our validated parameters (defaults filled in) under TA-Lib's names."""
    return {spec.talib_params[k]: v for k, v in spec.validate_params(params or {}).items()}


def talib_outputs(spec: IndicatorSpec, df: pd.DataFrame, params: dict[str, Any] | None = None
                  ) -> tuple[np.ndarray, ...]:
    """TA-Lib's outputs for a catalog entry, as TA-Lib returns them (integer arrays stay integer)."""
    assert spec.talib is not None, f"{spec.name} has no TA-Lib twin"
    kwargs = _talib_params(spec, params)
    names = talib.abstract.Function(spec.talib).input_names
    talib_inputs = [x for v in names.values() for x in (v if isinstance(v, list) else [v])]
    if len(talib_inputs) != len(spec.inputs):
        raise AssertionError(
            f"{spec.name}: {len(spec.inputs)} inputs but TA-Lib {spec.talib} takes {talib_inputs}"
        )
    res = getattr(talib, spec.talib)(*_arrays(spec, df), **kwargs)
    res = res if isinstance(res, tuple) else (res,)
    return tuple(np.asarray(r) for r in res)


def talib_lookback(spec: IndicatorSpec, params: dict[str, Any] | None = None) -> int:
    """How many leading bars TA-Lib leaves without a value for these parameters."""
    fn = talib.abstract.Function(spec.talib)
    fn.parameters = _talib_params(spec, params)
    return int(fn.lookback)


def talib_as_float(spec: IndicatorSpec, df: pd.DataFrame, params: dict[str, Any] | None = None
                   ) -> tuple[np.ndarray, ...]:
    """TA-Lib's outputs as float64, NaN in the warm-up: TA-Lib's integer outputs (HT_TRENDMODE, MAXINDEX...)
    hold 0 there, where ours hold NaN like every other output."""
    res = talib_outputs(spec, df, params)
    if not any(np.issubdtype(r.dtype, np.integer) for r in res):
        return tuple(r.astype(np.float64) for r in res)
    lookback = talib_lookback(spec, params)
    out = tuple(r.astype(np.float64) for r in res)
    for r in out:
        r[:lookback] = np.nan
    return out


def our_outputs(spec: IndicatorSpec, df: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> tuple[np.ndarray, ...]:
    """Our kernel called directly on the frame's input columns with validated parameters."""
    res = spec.kernel(*_arrays(spec, df), **spec.validate_params(params or {}))
    return res if isinstance(res, tuple) else (res,)


def input_scale(spec: IndicatorSpec, df: pd.DataFrame) -> float:
    """The magnitude of the entry's inputs (largest median |value|): the absolute part of the tolerance."""
    return max(float(np.median(np.abs(a))) for a in _arrays(spec, df))


def stream_all(spec: IndicatorSpec, df: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
    """Feed every bar (a dict of the entry's inputs) to a fresh streaming object: (n, n_outputs) float64."""
    obj = spec.streaming(**spec.validate_params(params or {}))
    rows = []
    for rec in df[list(spec.inputs)].to_dict("records"):
        v = obj.update(rec)
        rows.append(v if isinstance(v, tuple) else (v,))
    return np.asarray(rows, dtype=np.float64).reshape(len(df), len(spec.outputs))


# ------------------------------------------------------------------ comparisons
def assert_same(label: str, got: np.ndarray, want: np.ndarray, *, scale: float | None = None,
                rtol: float = RTOL) -> None:
    """Same shape and NaN positions; |got - want| <= rtol * max(|want|, scale) elsewhere.
    `scale` defaults to the reference's own magnitude (at least 1)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{label}: shape {got.shape} != {want.shape}"
    gn, wn = np.isnan(got), np.isnan(want)
    if not np.array_equal(gn, wn):
        i = int(np.flatnonzero(gn != wn)[0])
        raise AssertionError(
            f"{label}: NaN positions differ (ours {gn.sum()}, reference {wn.sum()}), first at {i}: "
            f"ours {got[i]!r}, reference {want[i]!r}"
        )
    if wn.all():
        return
    if scale is None:
        scale = max(1.0, float(np.nanmax(np.abs(want))))
    ok = np.flatnonzero(~wn)
    err = np.abs(got[ok] - want[ok])
    bad = np.flatnonzero(err > rtol * np.maximum(np.abs(want[ok]), scale))
    if bad.size:
        i = int(ok[bad[0]])
        raise AssertionError(
            f"{label}: {bad.size} values differ, first at {i}: ours {got[i]!r}, reference {want[i]!r}"
        )


def check_vs_talib(name: str, df: pd.DataFrame, params: dict[str, Any] | None = None,
                   label: str = "") -> None:
    """Every output of our kernel equals TA-Lib's on `df` (see the module docstring for the tolerance)."""
    spec = get(name)
    df = with_inputs(spec, df)
    ours = our_outputs(spec, df, params)
    ref = talib_as_float(spec, df, params)
    assert len(ours) == len(ref) == len(spec.outputs)
    scale = input_scale(spec, df)
    for out, a, b in zip(spec.outputs, ours, ref, strict=True):
        assert_same(f"{label}{name}{params or {}}[{out}]", a, b, scale=scale)


def check_streaming(name: str, df: pd.DataFrame, params: dict[str, Any] | None = None) -> None:
    """The streaming object gives the kernel's values bar for bar, warm-up NaN included."""
    spec = get(name)
    df = with_inputs(spec, df)
    batch = our_outputs(spec, df, params)
    streamed = stream_all(spec, df, params)
    assert streamed.shape[1] == len(batch)
    for j, (out, b) in enumerate(zip(spec.outputs, batch, strict=True)):
        s = streamed[:, j]
        sn, bn = np.isnan(s), np.isnan(b)
        assert np.array_equal(sn, bn), (
            f"{name}{params or {}}[{out}] streaming NaN positions differ at {np.flatnonzero(sn != bn)[:5]}"
        )
        np.testing.assert_allclose(s[~sn], b[~bn], rtol=STREAM_RTOL, atol=STREAM_ATOL,
                                   err_msg=f"{name}{params or {}}[{out}] streaming")


def check_spec(name: str, group: str) -> None:
    """The catalog entry is complete and honest: in `group`, TA-Lib name and parameter names real, our
    defaults TA-Lib's, every parameter documented with a range whose integer minimum is TA-Lib's own."""
    spec = get(name)
    assert spec.name == name and spec.group == group, (spec.name, spec.group)
    assert spec.description and len(spec.description) > 20
    assert spec.streaming is not None
    assert spec.talib is not None and hasattr(talib, spec.talib)
    info = talib.abstract.Function(spec.talib).info
    assert len(spec.outputs) == len(info["output_names"])
    assert set(spec.talib_params) == {p.name for p in spec.params}
    assert set(spec.talib_params.values()) <= set(info["parameters"])
    check_unmapped_talib_params_are_inert(spec)
    for p in spec.params:
        assert p.minimum is not None and p.maximum is not None, f"{name}.{p.name} has no range"
        assert p.minimum <= p.default <= p.maximum
        assert p.description
        talib_default = info["parameters"][spec.talib_params[p.name]]
        assert talib_default == p.default, f"{name}.{p.name}: {p.default}, TA-Lib's is {talib_default}"
    entry = spec.as_dict()
    assert entry["talib"] == spec.talib and entry["streaming"]
    check_ranges_match_talib(name)


def check_unmapped_talib_params_are_inert(spec: IndicatorSpec) -> None:
    """A TA-Lib parameter the entry does not expose (VAR's `nbdev`) must not change TA-Lib's output."""
    x = np.linspace(100.0, 120.0, 300) + np.sin(np.arange(300.0))
    data = {"open": x, "high": x + 1.0, "low": x - 1.0, "close": x + 0.5, "volume": x * 10.0,
            "periods": np.full(300, 10.0)}
    info = talib.abstract.Function(spec.talib).info
    fn = getattr(talib, spec.talib)
    arrays = [data[c] for c in spec.inputs]
    for tname, default in info["parameters"].items():
        if tname in spec.talib_params.values():
            continue
        changed = type(default)(default * 2 + 1)
        as_is, other = np.atleast_2d(fn(*arrays)), np.atleast_2d(fn(*arrays, **{tname: changed}))
        assert np.array_equal(as_is, other, equal_nan=True), f"{spec.name}: unmapped {tname!r} matters"


def check_ranges_match_talib(name: str) -> None:
    """Our integer minimum is TA-Lib's: TA-Lib accepts it and rejects one less. Parameters bound to each
    other (MAVP's max_period >= min_period) are tried with the others at their minimum when the defaults
    conflict."""
    spec = get(name)
    x = np.linspace(100.0, 120.0, 300) + np.sin(np.arange(300.0))
    data = {"open": x, "high": x + 1.0, "low": x - 1.0, "close": x + 0.5, "volume": x * 10.0,
            "periods": np.full(300, 10.0)}
    arrays = [data[c] for c in spec.inputs]
    fn = getattr(talib, spec.talib)
    lowest = {q.name: (int(q.minimum) if q.type is int else q.default) for q in spec.params}
    for p in spec.params:
        if p.type is not int:
            continue
        ours = None
        for values in ({**spec.defaults(), p.name: int(p.minimum)}, lowest):
            talib_kwargs = {spec.talib_params[k]: v for k, v in values.items()}
            try:
                fn(*arrays, **talib_kwargs)
            except Exception:  # noqa: BLE001 - talib raises its own error type
                continue
            ours = values
            break
        assert ours is not None, f"{name}.{p.name}: TA-Lib refuses our minimum {int(p.minimum)}"
        assert spec.kernel(*arrays, **ours) is not None
        talib_kwargs = {spec.talib_params[k]: v for k, v in ours.items()}
        try:
            fn(*arrays, **{**talib_kwargs, spec.talib_params[p.name]: int(p.minimum) - 1})
        except Exception:  # noqa: BLE001 - talib raises its own error type
            pass
        else:
            raise AssertionError(
                f"{name}.{p.name}: TA-Lib accepts {int(p.minimum) - 1}, our minimum is too high"
            )
