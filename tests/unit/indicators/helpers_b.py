"""Shared test helpers for the TA-Lib-exact indicator modules (momentum, volume, volatility, ...)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import talib
import talib.abstract

from quantdesk.indicators.registry import _REGISTRY, IndicatorSpec

MODULES = ("momentum", "volume", "volatility", "price_transform", "statistic", "math_ops")


def get(name: str) -> IndicatorSpec:
    """Look a spec up after importing only our modules (so that a half-written module elsewhere in the
    package cannot break these tests)."""
    import importlib

    for mod in MODULES:
        try:
            importlib.import_module(f"quantdesk.indicators.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"quantdesk.indicators.{mod}":
                raise
    return _REGISTRY[name]


def compute(name: str, df: pd.DataFrame, **params) -> pd.DataFrame:
    """registry.compute() without the package-wide import."""
    from quantdesk.indicators.registry import input_arrays

    spec = get(name)
    values = spec.validate_params(params)
    res = spec.kernel(*input_arrays(spec, df), **values)
    res = res if isinstance(res, tuple) else (res,)
    return pd.DataFrame(dict(zip(spec.outputs, res, strict=True)), index=df.index)


FILES = ("btc_1m", "btc_1h", "btc_1d", "goog_1d")
_BARS: dict[int, list[dict[str, float]]] = {}


def inputs_for(name: str, df: pd.DataFrame) -> list[np.ndarray]:
    spec = get(name)
    return [df[c].to_numpy(dtype=np.float64) for c in spec.inputs]


def talib_result(name: str, df: pd.DataFrame, **params) -> tuple[np.ndarray, ...]:
    spec = get(name)
    mapped = {spec.talib_params[k]: v for k, v in params.items()}
    res = getattr(talib, spec.talib)(*inputs_for(name, df), **mapped)
    res = res if isinstance(res, tuple) else (res,)
    if any(np.issubdtype(r.dtype, np.integer) for r in res):
        # talib's Python wrapper returns integer index arrays with 0 in the warm-up; ours are float with NaN
        fn = talib.abstract.Function(spec.talib)
        fn.parameters = mapped
        lookback = fn.lookback
        res = tuple(r.astype(np.float64) for r in res)
        for r in res:
            r[:lookback] = np.nan
    return res


def ours(name: str, df: pd.DataFrame, **params) -> tuple[np.ndarray, ...]:
    spec = get(name)
    res = spec.kernel(*inputs_for(name, df), **params)
    return res if isinstance(res, tuple) else (res,)


def assert_close(name: str, got: np.ndarray, want: np.ndarray, scale: float, label: str = "") -> float:
    """Same NaN positions, values within rtol 1e-9 / atol 1e-9*scale. Returns the max abs error."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{name}{label}: shape {got.shape} != {want.shape}"
    gn, wn = np.isnan(got), np.isnan(want)
    if not np.array_equal(gn, wn):
        diff = np.flatnonzero(gn != wn)
        raise AssertionError(
            f"{name}{label}: NaN positions differ at {diff[:5]} (ours nan={gn[diff[:5]]}); "
            f"first valid ours={np.argmax(~gn)} talib={np.argmax(~wn)}"
        )
    ok = ~gn
    err = np.abs(got[ok] - want[ok])
    tol = 1e-9 * np.abs(want[ok]) + 1e-9 * scale
    bad = np.flatnonzero(err > tol)
    if bad.size:
        i = np.flatnonzero(ok)[bad[0]]
        raise AssertionError(
            f"{name}{label}: {bad.size} values differ, first at {i}: ours={got[i]!r} talib={want[i]!r}"
        )
    return float(err.max()) if err.size else 0.0


def scale_of(name: str, df: pd.DataFrame) -> float:
    return max(float(np.median(np.abs(a))) for a in inputs_for(name, df))


def check_vs_talib(name: str, df: pd.DataFrame, **params) -> None:
    got = ours(name, df, **params)
    want = talib_result(name, df, **params)
    assert len(got) == len(want) == len(get(name).outputs)
    scale = scale_of(name, df)
    for out, g, w in zip(get(name).outputs, got, want, strict=True):
        assert_close(name, g, w, scale, f"[{out}] {params}")


def bars(df: pd.DataFrame) -> list[dict[str, float]]:
    key = id(df)
    if key not in _BARS:
        cols = ["open", "high", "low", "close", "volume"]
        _BARS[key] = [
            dict(zip(cols, row, strict=True)) for row in df[cols].itertuples(index=False, name=None)
        ]
    return _BARS[key]


def check_streaming(name: str, df: pd.DataFrame, **params) -> None:
    """The streaming object gives the kernel's values, value for value (warm-up NaN included)."""
    spec = get(name)
    batch = ours(name, df, **params)
    obj = spec.streaming(**params)
    values = [obj.update(b) for b in bars(df)]
    if len(batch) == 1:
        cols = [np.array([math.nan if v is None else v for v in values], dtype=np.float64)]
    else:
        assert all(isinstance(v, tuple) and len(v) == len(batch) for v in values)
        cols = [np.array([v[k] for v in values], dtype=np.float64) for k in range(len(batch))]
    for out, g, w in zip(spec.outputs, cols, batch, strict=True):
        gn, wn = np.isnan(g), np.isnan(w)
        assert np.array_equal(gn, wn), (
            f"{name}[{out}] streaming NaN positions differ at {np.flatnonzero(gn != wn)[:5]}"
        )
        np.testing.assert_allclose(g[~gn], w[~wn], rtol=1e-9, atol=1e-12, err_msg=f"{name}[{out}] streaming")


def check_spec(name: str, group: str) -> None:
    spec = get(name)
    assert spec.name == name and spec.group == group
    assert spec.description and len(spec.description) > 20
    assert spec.streaming is not None and spec.talib is not None
    fn = getattr(talib, spec.talib)
    assert callable(fn)
    for p in spec.params:
        assert p.minimum is not None and p.maximum is not None, f"{name}.{p.name} has no range"
        assert p.minimum <= p.default <= p.maximum
        assert p.description
        assert p.name in spec.talib_params
    assert set(spec.talib_params) == {p.name for p in spec.params}
    entry = spec.as_dict()
    assert entry["talib"] == spec.talib
    info = talib.abstract.Function(spec.talib).info
    assert len(info["output_names"]) == len(spec.outputs)
    talib_param_names = set(info["parameters"])
    assert set(spec.talib_params.values()) <= talib_param_names
    check_ranges_match_talib(name)


def check_ranges_match_talib(name: str) -> None:
    """Our integer minimum is TA-Lib's: TA-Lib accepts it and rejects one less."""
    spec = get(name)
    x = np.linspace(100.0, 120.0, 300) + np.sin(np.arange(300.0))
    data = {"open": x, "high": x + 1.0, "low": x - 1.0, "close": x + 0.5, "volume": x * 10.0}
    arrays = [data[c] for c in spec.inputs]
    fn = getattr(talib, spec.talib)
    for p in spec.params:
        if p.type is not int:
            continue
        base = {spec.talib_params[q.name]: q.default for q in spec.params}
        fn(*arrays, **{**base, spec.talib_params[p.name]: int(p.minimum)})
        ours = spec.kernel(*arrays, **{**spec.defaults(), p.name: int(p.minimum)})
        assert ours is not None
        try:
            fn(*arrays, **{**base, spec.talib_params[p.name]: int(p.minimum) - 1})
        except Exception:  # noqa: BLE001 - talib raises its own error type
            pass
        else:
            raise AssertionError(
                f"{name}.{p.name}: TA-Lib accepts {int(p.minimum) - 1}, our minimum is too high"
            )
