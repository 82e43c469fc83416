"""Features for ML models: indicator-catalog entries (any entry, any parameters, any higher timeframe), returns and
volatility over several horizons, extra columns by name, and the causality guard that refuses a leaking feature.

    spec = FeatureSpec.parse(["rsi:period=14", "bbands:period=20", "atr:period=14@4h"], returns=(1, 4, 16))
    X = build_features(frame, spec)                 # one column per feature, index = the frame's bar times
    check_causality(frame, spec, samples=8)         # LeakageError naming the first feature that reads the future

TEXT FORM of an indicator feature: `name[.output][:param=value...][@timeframe]`, e.g. `macd.macdsignal`,
`rsi:period=7`, `bbands:period=20:nbdev_up=2.5`, `adx:period=14@1d`. Without `.output` every output is a feature.

SCALING (trees do not care about monotone transforms, but they do care about non-stationarity): overlay
indicators are price levels and become `value / close - 1`; indicators in price units (ATR, MACD, standard
deviation, momentum...) become `value / close`; the others (RSI, ADX, ...) stay raw. `scale=raw|close|rel` on a
feature overrides it (`atr:period=14:scale=raw`).

HIGHER TIMEFRAMES (`@4h`): the base bars are aggregated into higher-timeframe bars (same buckets as
`quantdesk.data.resample`), the indicator is computed on them, and base bar t (closing at t + base timeframe)
sees the latest higher-timeframe bar that had CLOSED by then: never the one still forming.

EXTRA COLUMNS (`extra=("regime", "sentiment", "my_col")`): a catalog entry of that name (e.g. the intel layer's
`regime`) is computed with its defaults; otherwise a column of that name in the input frame is used as given. A
given column cannot be re-derived, so the guard can only check it by truncation: supply columns that were
computed causally.

CAUSALITY GUARD: a feature at bar t must be the same whether it is computed on the data up to t or on the whole
series. `check_causality` recomputes every feature on prefixes ending at random bars and compares them with the
full computation; the first feature that differs is refused by name (`LeakageError`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.ml.errors import LeakageError

Scale = Literal["auto", "raw", "close", "rel"]
CustomFeatures = Mapping[str, Callable[[pd.DataFrame], Any]]
OHLCV = ("open", "high", "low", "close", "volume")
# not overlays but measured in price units: divided by close to be comparable across price levels
PRICE_UNITS = frozenset({
    "atr", "trange", "stddev", "avgdev", "mom", "macd", "macdext", "macdfix", "apo", "plus_dm", "minus_dm",
    "linearreg_intercept", "linearreg_slope", "elder_ray", "awesome_oscillator",
})


class IndicatorFeature(BaseModel):
    """One catalog indicator as features (one per selected output)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    outputs: tuple[str, ...] | None = None
    timeframe: str | None = None
    scale: Scale = "auto"

    @classmethod
    def parse(cls, text: str) -> IndicatorFeature:
        """`name[.output][:k=v...][@tf]` (see the module docstring)."""
        raw = text.strip()
        if not raw:
            raise ParameterError("feature: empty text")
        body, _, tf = raw.partition("@")
        head, *pairs = body.split(":")
        name, _, output = head.partition(".")
        params: dict[str, Any] = {}
        scale: str = "auto"
        for pair in pairs:
            k, eq, v = pair.partition("=")
            if not eq or not k.strip():
                raise ParameterError(f"feature {text!r}: expected param=value, got {pair!r}")
            if k.strip() == "scale":
                scale = v.strip()
                continue
            params[k.strip()] = _number(v.strip())
        if scale not in ("auto", "raw", "close", "rel"):
            raise ParameterError(f"feature {text!r}: scale must be auto, raw, close or rel, got {scale!r}")
        return cls(name=name.strip().lower(), params=params, outputs=(output.strip(),) if output else None,
                   timeframe=tf.strip() or None, scale=scale)  # type: ignore[arg-type]


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


DEFAULT_INDICATORS: tuple[IndicatorFeature, ...] = tuple(IndicatorFeature.parse(t) for t in (
    "rsi:period=14", "rsi:period=6", "macd", "bbands:period=20", "atr:period=14", "adx:period=14",
    "cci:period=20", "willr:period=14", "mfi:period=14", "roc:period=10", "stoch", "natr:period=14",
))


class FeatureSpec(BaseModel):
    """What the model sees. Frozen and canonical: its JSON is part of a model's content address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicators: tuple[IndicatorFeature, ...] = DEFAULT_INDICATORS
    returns: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    volatility: tuple[int, ...] = (8, 32, 96)
    extra: tuple[str, ...] = ()

    @field_validator("returns", "volatility")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        for k in v:
            if int(k) < 1:
                raise ValueError(f"horizons must be >= 1 bar, got {k}")
        return tuple(int(k) for k in v)

    @classmethod
    def parse(cls, indicators: Sequence[str] | None = None, *, returns: Sequence[int] | None = None,
              volatility: Sequence[int] | None = None, extra: Sequence[str] = ()) -> FeatureSpec:
        """From text (CLI/API); None keeps the defaults. Validates every catalog name and parameter now."""
        kw: dict[str, Any] = {"extra": tuple(e.strip() for e in extra if e.strip())}
        if indicators is not None:
            items = [t for item in indicators for t in item.split(",") if t.strip()]
            kw["indicators"] = tuple(IndicatorFeature.parse(t) for t in items)
        if returns is not None:
            kw["returns"] = tuple(returns)
        if volatility is not None:
            kw["volatility"] = tuple(volatility)
        try:
            spec = cls(**kw)
        except ValueError as exc:
            raise ParameterError(f"feature spec: {exc}") from None
        spec.validate_catalog()
        return spec

    def validate_catalog(self) -> None:
        """Every indicator exists, its parameters and outputs are valid, timeframes parse."""
        from quantdesk.indicators import registry
        from quantdesk.model.timeframe import Timeframe

        for f in self.indicators:
            spec = registry.get(f.name)
            spec.validate_params(f.params)
            for out in f.outputs or ():
                if out not in spec.outputs:
                    raise ParameterError(f"feature {f.name}.{out}: {f.name} has outputs {list(spec.outputs)}")
            if f.timeframe is not None:
                Timeframe.parse(f.timeframe)

    def canonical(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())


# ---- naming ------------------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def feature_names(spec: FeatureSpec, frame_columns: Sequence[str] = (), custom: CustomFeatures | None = None
                  ) -> list[str]:
    """Column names `build_features` produces, in order."""
    from quantdesk.indicators import registry

    names: list[str] = []
    for f in _all_indicators(spec, frame_columns):
        ispec = registry.get(f.name)
        for out in ispec.outputs:
            if f.outputs is None or out in f.outputs:
                names.append(_name(f, ispec, out))
    names += [f"ret_{k}" for k in spec.returns] + [f"vol_{k}" for k in spec.volatility]
    names += [e for e in spec.extra if not _is_catalog(e)]
    names += list(custom or {})
    return names


def _name(f: IndicatorFeature, ispec: Any, output: str) -> str:
    order = [p.name for p in ispec.params]
    base = f.name + "".join(f"_{_fmt(f.params[k])}" for k in order if k in f.params)
    if len(ispec.outputs) > 1:
        base += f".{output}"
    if f.scale != "auto":
        base += f"~{f.scale}"
    return base + (f"@{f.timeframe}" if f.timeframe else "")


def _is_catalog(name: str) -> bool:
    from quantdesk.indicators import registry

    try:
        registry.get(name)
    except NotFoundError:
        return False
    return True


def _all_indicators(spec: FeatureSpec, frame_columns: Sequence[str]) -> list[IndicatorFeature]:
    out = list(spec.indicators)
    for e in spec.extra:
        if _is_catalog(e):
            out.append(IndicatorFeature(name=e.lower()))
        elif e not in frame_columns:
            raise NotFoundError(f"extra feature {e!r}: neither an indicator-catalog entry nor a column of the data "
                                f"(columns: {list(frame_columns)})")
    return out


# ---- computation -----------------------------------------------------------------------------------------
def infer_timeframe_ns(index: pd.DatetimeIndex) -> int:
    ns = pd.DatetimeIndex(index).as_unit("ns").asi8
    if len(ns) < 2:
        raise DataError("features need at least two bars to infer the bar length; pass base_timeframe")
    d = np.diff(ns)
    d = d[d > 0]
    return int(np.median(d))


def _scaled(values: np.ndarray, close: np.ndarray, mode: str, f: IndicatorFeature, overlay: bool) -> np.ndarray:
    if mode == "auto":
        mode = "rel" if overlay else ("close" if f.name in PRICE_UNITS else "raw")
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == "rel":
            return values / close - 1.0
        if mode == "close":
            return values / close
    return values


def _indicator_columns(frame: pd.DataFrame, f: IndicatorFeature, close: np.ndarray) -> dict[str, np.ndarray]:
    from quantdesk.indicators import registry

    ispec = registry.get(f.name)
    params = ispec.validate_params(f.params)
    result = ispec.kernel(*registry.input_arrays(ispec, frame), **params)
    arrays = result if isinstance(result, tuple) else (result,)
    cols: dict[str, np.ndarray] = {}
    for out, arr in zip(ispec.outputs, arrays, strict=True):
        if f.outputs is None or out in f.outputs:
            cols[_name(f, ispec, out)] = _scaled(np.asarray(arr, dtype=np.float64), close, f.scale, f, ispec.overlay)
    return cols


def htf_bars(frame: pd.DataFrame, base_ns: int, timeframe: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Higher-timeframe bars of `frame` and, per base bar, the position of the latest HTF bar closed by the
    base bar's close (-1 = none yet). Buckets as `quantdesk.data.resample` (weeks start on Monday)."""
    from quantdesk.data.resample import bucket_origin
    from quantdesk.model.timeframe import Timeframe

    tf = Timeframe.parse(timeframe)
    if tf.nanos <= base_ns:
        raise ParameterError(f"feature timeframe @{timeframe} must be longer than the bars' "
                             f"({Timeframe(base_ns)})")
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    origin = bucket_origin(tf)
    bucket = (ts - origin) // tf.nanos
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(ts)])) - 1
    cols = {k: np.asarray(frame[k], dtype=np.float64) for k in OHLCV}
    agg = pd.DataFrame({
        "open": cols["open"][starts], "high": np.maximum.reduceat(cols["high"], starts),
        "low": np.minimum.reduceat(cols["low"], starts), "close": cols["close"][ends],
        "volume": np.add.reduceat(cols["volume"], starts),
    }, index=pd.to_datetime(bucket[starts] * tf.nanos + origin, unit="ns", utc=True))
    closed_at = bucket[starts] * tf.nanos + origin + tf.nanos
    pos = np.searchsorted(closed_at, ts + base_ns, side="right") - 1
    return agg, pos


def _rolling_std(r: np.ndarray, k: int) -> np.ndarray:
    """Population std of each window, computed per window (np.std): the same arithmetic as the streaming twin,
    bit for bit, whatever bar the data starts at."""
    from numpy.lib.stride_tricks import sliding_window_view

    out = np.full(len(r), np.nan)
    if len(r) >= k:
        out[k - 1:] = np.std(sliding_window_view(r, k), axis=1)
    return out


def build_features(frame: pd.DataFrame, spec: FeatureSpec | None = None, *, base_timeframe: str | int | None = None,
                   custom: CustomFeatures | None = None) -> pd.DataFrame:
    """All features of `spec` on `frame` (OHLCV, UTC DatetimeIndex; extra columns allowed). Float64 columns,
    NaN where a feature is not defined yet (warm-up)."""
    spec = spec or FeatureSpec()
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise DataError(f"features: the data lacks column(s) {missing}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("features: the data needs a DatetimeIndex of bar open times (UTC)")
    close = frame["close"].to_numpy(dtype=np.float64)
    cols: dict[str, np.ndarray] = {}
    base_ns: int | None = None
    htf_cache: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    for f in _all_indicators(spec, list(frame.columns)):
        if f.timeframe is None:
            cols.update(_indicator_columns(frame, f, close))
            continue
        if base_ns is None:
            base_ns = _base_ns(frame, base_timeframe)
        if f.timeframe not in htf_cache:
            htf_cache[f.timeframe] = htf_bars(frame, base_ns, f.timeframe)
        agg, pos = htf_cache[f.timeframe]
        sub = _indicator_columns(agg, f, agg["close"].to_numpy(dtype=np.float64))
        ok = pos >= 0
        for name, arr in sub.items():
            out = np.full(len(frame), np.nan)
            out[ok] = arr[pos[ok]]
            cols[name] = out
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.log(close)
    for k in spec.returns:
        r = np.full(len(close), np.nan)
        r[k:] = logc[k:] - logc[:-k]
        cols[f"ret_{k}"] = r
    r1 = np.full(len(close), np.nan)
    r1[1:] = np.diff(logc)
    for k in spec.volatility:
        cols[f"vol_{k}"] = _rolling_std(r1, k)
    for e in spec.extra:
        if not _is_catalog(e):
            cols[e] = pd.to_numeric(frame[e], errors="coerce").to_numpy(dtype=np.float64)
    for name, fn in (custom or {}).items():
        values = np.asarray(fn(frame), dtype=np.float64).reshape(-1)
        if len(values) != len(frame):
            raise DataError(f"custom feature {name!r} returned {len(values)} values for {len(frame)} bars")
        cols[name] = values
    table = pd.DataFrame(cols, index=frame.index)
    return table.replace([np.inf, -np.inf], np.nan)


def _base_ns(frame: pd.DataFrame, base_timeframe: str | int | None) -> int:
    from quantdesk.model.timeframe import Timeframe

    if base_timeframe is None:
        return infer_timeframe_ns(pd.DatetimeIndex(frame.index))
    if isinstance(base_timeframe, int):
        return base_timeframe
    return Timeframe.parse(base_timeframe).nanos


def lookback(features: pd.DataFrame) -> int:
    """Bars before every feature is defined (the first all-finite row); len(features) when never."""
    ok = np.isfinite(features.to_numpy(dtype=np.float64)).all(axis=1)
    return int(np.argmax(ok)) if ok.any() else len(features)


# ---- the causality guard -------------------------------------------------------------------------------------
def check_causality(frame: pd.DataFrame, spec: FeatureSpec | None = None, *, samples: int = 8, seed: int = 0,
                    base_timeframe: str | int | None = None, custom: CustomFeatures | None = None,
                    full: pd.DataFrame | None = None, rtol: float = 1e-9) -> list[int]:
    """Recompute the features on the data up to `samples` random bars t and compare every value at or before t
    with the full-series computation. Returns the bars checked; raises LeakageError naming the first feature
    (in column order) that differs."""
    spec = spec or FeatureSpec()
    if samples < 1:
        raise ParameterError(f"causality samples must be >= 1, got {samples}")
    full = full if full is not None else build_features(frame, spec, base_timeframe=base_timeframe, custom=custom)
    n = len(frame)
    if n < 4:
        raise DataError(f"the causality check needs at least 4 bars, got {n}")
    bts = base_timeframe if base_timeframe is not None else infer_timeframe_ns(pd.DatetimeIndex(frame.index))
    rng = np.random.default_rng(seed)
    lo = max(1, min(lookback(full), n // 2))
    pool = np.arange(lo, n - 1)
    cuts = sorted(int(c) for c in rng.choice(pool, size=min(samples, len(pool)), replace=False))
    values = full.to_numpy(dtype=np.float64)
    for t in cuts:
        pre = build_features(frame.iloc[: t + 1], spec, base_timeframe=bts, custom=custom)
        a, b = values[: t + 1], pre.to_numpy(dtype=np.float64)
        na, nb = np.isnan(a), np.isnan(b)
        with np.errstate(invalid="ignore"):
            close = np.abs(a - b) <= rtol * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
        bad = ~((na & nb) | (~na & ~nb & close))
        if bad.any():
            col = int(np.argmax(bad.any(axis=0)))
            row = int(np.argmax(bad[:, col]))
            name = str(full.columns[col])
            raise LeakageError(name, (
                f"feature {name!r} reads the future: at {_iso(frame.index[row])} it is {_num(a[row, col])} "
                f"computed on the whole series but {_num(b[row, col])} on the data up to "
                f"{_iso(frame.index[t])}; refused"))
    return cuts


def _iso(ts: Any) -> str:
    from quantdesk.core.timeutil import iso

    return iso(ts)


def _num(x: float) -> str:
    return "NaN" if math.isnan(x) else f"{x:.10g}"


def custom_fingerprint(custom: CustomFeatures | None) -> dict[str, str]:
    """Name -> sha256 of the function's source (or qualified name), for the model's content address."""
    out: dict[str, str] = {}
    for name, fn in (custom or {}).items():
        try:
            text = inspect.getsource(fn)
        except (OSError, TypeError):
            text = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
        out[name] = hashlib.sha256(text.encode()).hexdigest()
    return out
