"""The whole indicator catalog: metadata is complete and valid, every entry computes, errors are clear, and
(safety net over every module) TA-Lib parity for every entry with a TA-Lib twin and streaming == batch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
import talib.abstract
from talib_reference import FILES, assert_same, stream_all, talib_outputs

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import catalog, compute, get, specs, stream

SPECS = specs()
NAMES = [s.name for s in SPECS]
TALIB_NAMES = [s.name for s in SPECS if s.talib]
STREAMING_NAMES = [s.name for s in SPECS if s.streaming is not None]


def frame(df: pd.DataFrame) -> pd.DataFrame:
    """Real OHLCV plus the extra inputs some entries read: bar time (epoch ns) and MAVP's periods."""
    extra = {
        "timestamp": df.index.as_unit("ns").asi8.astype(np.float64),
        "periods": (2 + np.arange(len(df)) % 29).astype(np.float64),
    }
    return df.assign(**{k: v for k, v in extra.items() if k not in df.columns})


# ------------------------------------------------------------------ metadata
def test_catalog_has_at_least_140_entries() -> None:
    assert len(catalog()) >= 140, f"only {len(catalog())} indicators registered"


def test_catalog_entries_are_json_and_sorted() -> None:
    import json

    entries = catalog()
    json.dumps(entries)
    assert [(e["group"], e["name"]) for e in entries] == sorted((e["group"], e["name"]) for e in entries)
    assert len({e["name"] for e in entries}) == len(entries)


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete(name: str) -> None:
    spec = get(name)
    assert spec.description.strip(), "empty description"
    assert spec.outputs and all(isinstance(o, str) and o for o in spec.outputs)
    assert len(set(spec.outputs)) == len(spec.outputs)
    assert spec.inputs
    for p in spec.params:
        assert p.validate(name, p.default) == p.default, f"default of {p.name} does not validate"
        if p.minimum is not None:
            assert p.default >= p.minimum, p.name
        if p.maximum is not None:
            assert p.default <= p.maximum, p.name
        if p.choices is not None:
            assert p.default in p.choices, p.name
        assert isinstance(p.default, p.type), f"{p.name}: default {p.default!r} is not {p.type.__name__}"
    if spec.group != "pattern":
        assert spec.streaming is not None, "non-pattern indicator without a streaming class"


@pytest.mark.parametrize("name", TALIB_NAMES)
def test_talib_name_and_parameter_mapping_are_real(name: str) -> None:
    spec = get(name)
    assert hasattr(talib, spec.talib), f"talib has no {spec.talib}"
    fn = talib.abstract.Function(spec.talib)
    real = set(fn.parameters)
    ours = {p.name for p in spec.params}
    for key, tname in spec.talib_params.items():
        assert key in ours, f"mapping key {key!r} is not one of our params"
        assert tname in real, f"{tname!r} is not a parameter of talib {spec.talib} ({sorted(real)})"
    assert len(fn.output_names) == len(spec.outputs), (fn.output_names, spec.outputs)


# ------------------------------------------------------------------ compute on a small real frame
@pytest.fixture(scope="module")
def small(real_ohlcv) -> pd.DataFrame:
    return frame(real_ohlcv["btc_1d"].iloc[:400])


@pytest.mark.parametrize("name", NAMES)
def test_compute_with_defaults(small: pd.DataFrame, name: str) -> None:
    spec = get(name)
    out = compute(name, small)
    assert list(out.columns) == list(spec.outputs)
    assert out.index.equals(small.index)
    assert len(out) == len(small)
    for col in out.columns:
        values = out[col].to_numpy(dtype=np.float64)
        assert np.isfinite(values[-50:]).any() or spec.group == "pattern", f"{col}: no values at the end"


@pytest.mark.parametrize("name", NAMES)
def test_nan_inside_the_data_is_refused(small: pd.DataFrame, name: str) -> None:
    spec = get(name)
    df = small.copy()
    col = next(c for c in spec.inputs if c in ("open", "high", "low", "close", "volume"))
    df.iloc[200, df.columns.get_loc(col)] = np.nan
    with pytest.raises(DataError, match=col):
        compute(name, df)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_named(small: pd.DataFrame, name: str) -> None:
    with pytest.raises(ParameterError, match="no_such_param"):
        compute(name, small, no_such_param=3)


@pytest.mark.parametrize("name", [s.name for s in SPECS if any(p.type is int and p.minimum is not None for p in s.params)])
def test_out_of_range_period_is_named(small: pd.DataFrame, name: str) -> None:
    spec = get(name)
    p = next(p for p in spec.params if p.type is int and p.minimum is not None)
    with pytest.raises(ParameterError, match=p.name):
        compute(name, small, **{p.name: int(p.minimum) - 1})
    if spec.streaming is not None:
        with pytest.raises(ParameterError, match=p.name):
            stream(name, **{p.name: int(p.minimum) - 1})


def test_unknown_indicator_is_not_found() -> None:
    from quantdesk.core.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no_such_indicator"):
        get("no_such_indicator")


# ------------------------------------------------------------------ safety net: TA-Lib parity, streaming
@pytest.mark.parametrize("name", TALIB_NAMES)
def test_equal_to_talib_on_every_real_file(real_ohlcv, name: str) -> None:
    spec = get(name)
    for file in FILES:
        df = frame(real_ohlcv[file])
        got = compute(name, df)
        want = talib_outputs(spec, df)
        for col, w in zip(spec.outputs, want, strict=True):
            g = got[col].to_numpy()
            if spec.group == "pattern":
                assert np.array_equal(g, w), f"{file} {col}: first diff at {np.flatnonzero(g != w)[:3]}"
                continue
            w = w.astype(np.float64)
            if np.issubdtype(want[0].dtype, np.integer):  # TA-Lib puts 0 where we put NaN (warm-up)
                w[: int(np.argmax(~np.isnan(g))) if np.isnan(g).any() else 0] = np.nan
            assert_same(f"{name}.{col} on {file}", g, w, rtol=1e-9)


@pytest.mark.parametrize("name", STREAMING_NAMES)
def test_streaming_equals_batch(real_ohlcv, name: str) -> None:
    spec = get(name)
    df = frame(real_ohlcv["btc_1d"])
    batch = compute(name, df).to_numpy(dtype=np.float64)
    streamed = stream_all(spec, df)
    if not np.array_equal(batch, streamed, equal_nan=True):
        for j, col in enumerate(spec.outputs):
            assert_same(f"{name}.{col} streaming", streamed[:, j], batch[:, j], rtol=1e-12)


def test_every_group_is_populated() -> None:
    groups = {s.group for s in SPECS}
    assert {"overlap", "momentum", "volatility", "pattern"} <= groups
    assert math.isfinite(len(groups))
