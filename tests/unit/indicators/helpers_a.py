"""Helpers for the TA-Lib comparison tests of overlap / cycle / momentum_ma indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quantdesk.indicators import get

RTOL = 1e-9


def talib_outputs(name: str, df: pd.DataFrame, extra: dict | None = None, **params) -> tuple[np.ndarray, ...]:
    """Call TA-Lib through the spec's own `talib` name and parameter mapping (so the catalog is checked too)."""
    import talib

    spec = get(name)
    func = getattr(talib, spec.talib)
    arrays = [
        df[c].to_numpy(np.float64) if c in df else np.asarray(extra[c], np.float64) for c in spec.inputs
    ]
    kwargs = {spec.talib_params[k]: v for k, v in spec.validate_params(params).items()}
    res = func(*arrays, **kwargs)
    res = res if isinstance(res, tuple) else (res,)
    return tuple(np.asarray(r, dtype=np.float64) for r in res)


def our_outputs(name: str, df: pd.DataFrame, extra: dict | None = None, **params) -> tuple[np.ndarray, ...]:
    spec = get(name)
    arrays = [
        df[c].to_numpy(np.float64) if c in df else np.asarray(extra[c], np.float64) for c in spec.inputs
    ]
    res = spec.kernel(*arrays, **spec.validate_params(params))
    return res if isinstance(res, tuple) else (res,)


def max_scaled_error(ours: np.ndarray, ref: np.ndarray, scale: float) -> float:
    """Largest |ours-ref| / (rtol*|ref| + rtol*scale) over the valid part; <= 1 passes."""
    m = ~np.isnan(ref)
    if not m.any():
        return 0.0
    return float(np.max(np.abs(ours[m] - ref[m]) / (RTOL * np.abs(ref[m]) + RTOL * scale)))


def assert_same(ours, ref, scale: float, label: str, skip_warmup_of_ref: int | None = None) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, f"{label}: shape {ours.shape} != {ref.shape}"
    if skip_warmup_of_ref is not None:  # TA-Lib integer outputs have 0 (not NaN) in their warm-up
        assert np.isnan(ours[:skip_warmup_of_ref]).all(), f"{label}: expected NaN warm-up"
        ours = ours[skip_warmup_of_ref:]
        ref = ref[skip_warmup_of_ref:]
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    if not np.array_equal(nan_o, nan_r):
        diff = np.flatnonzero(nan_o != nan_r)
        raise AssertionError(
            f"{label}: NaN positions differ (ours {nan_o.sum()}, talib {nan_r.sum()}), first at {diff[0]}"
        )
    err = max_scaled_error(ours, ref, scale)
    assert err <= 1.0, f"{label}: max error {err:.3g} x tolerance"


def stream_all(
    obj, df: pd.DataFrame, inputs: tuple[str, ...], extra: dict | None = None
) -> tuple[np.ndarray, ...]:
    """Feed a streaming object bar by bar (as dict bars); stack its outputs."""
    cols = [df[c].to_numpy(np.float64) if c in df else np.asarray(extra[c], np.float64) for c in inputs]
    rows = []
    for vals in zip(*cols, strict=True):
        rows.append(obj.update(dict(zip(inputs, vals, strict=True))))
    arr = np.array(rows, dtype=np.float64)
    if arr.ndim == 1:
        return (arr,)
    return tuple(arr[:, j] for j in range(arr.shape[1]))


def assert_stream_equal(stream_out, batch_out, label: str) -> None:
    for j, (s, b) in enumerate(zip(stream_out, batch_out, strict=True)):
        s = np.asarray(s)
        b = np.asarray(b)
        assert np.array_equal(np.isnan(s), np.isnan(b)), f"{label}[{j}]: streaming NaN positions differ"
        m = ~np.isnan(b)
        np.testing.assert_allclose(s[m], b[m], rtol=1e-9, atol=1e-12, err_msg=f"{label}[{j}]")


FILES = ("btc_1m", "btc_1h", "btc_1d", "goog_1d")
# TA-Lib gives integer outputs (HT_TRENDMODE) 0 during the warm-up where we give NaN.
INTEGER_OUTPUT_LOOKBACK = {"ht_trendmode": 63}


def periods_column(n: int, seed: int = 7) -> np.ndarray:
    """A deterministic per-bar period column for MAVP (values around and outside the default range)."""
    return np.random.default_rng(seed).uniform(0.0, 40.0, n)


def check_vs_talib(name: str, params: dict, df: pd.DataFrame, label: str = "") -> None:
    extra = {"periods": periods_column(len(df))}
    ours = our_outputs(name, df, extra, **params)
    ref = talib_outputs(name, df, extra, **params)
    assert len(ours) == len(ref) == len(get(name).outputs)
    scale = float(np.median(np.abs(df["close"].to_numpy())))
    for j, (a, b) in enumerate(zip(ours, ref, strict=True)):
        assert_same(
            a, b, scale, f"{label}{name}{params}[{get(name).outputs[j]}]", INTEGER_OUTPUT_LOOKBACK.get(name)
        )


def check_streaming(name: str, params: dict, df: pd.DataFrame) -> None:
    from quantdesk.indicators import stream

    spec = get(name)
    extra = {"periods": periods_column(len(df))}
    batch = our_outputs(name, df, extra, **params)
    streamed = stream_all(stream(name, **params), df, spec.inputs, extra)
    assert len(streamed) == len(batch)
    assert_stream_equal(streamed, batch, f"{name}{params}")


def check_spec(name: str) -> None:
    """The catalog entry is complete and honest: TA-Lib name/params exist, ranges set, outputs match."""
    import talib
    from talib import abstract

    spec = get(name)
    assert spec.name == name and spec.description and len(spec.description) > 20
    assert spec.streaming is not None
    assert spec.talib is not None and hasattr(talib, spec.talib)
    info = abstract.Function(spec.talib).info
    assert len(spec.outputs) == len(info["output_names"])
    assert set(spec.talib_params) == {p.name for p in spec.params}
    assert set(spec.talib_params.values()) == set(info["parameters"])
    for p in spec.params:
        assert p.minimum is not None and p.maximum is not None, p
        assert p.minimum <= p.default <= p.maximum
        assert p.description
        # our default is TA-Lib's default
        assert info["parameters"][spec.talib_params[p.name]] == p.default, (name, p.name)
    entry = spec.as_dict()
    assert entry["talib"] == spec.talib and entry["streaming"]
