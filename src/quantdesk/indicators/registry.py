"""The indicator catalog: one `IndicatorSpec` per indicator, registered by the module that implements it.

A spec ties together the batch kernel (numpy arrays in, array or tuple of arrays out), the streaming class
(one bar in, the latest value out), the inputs it reads, its parameters with defaults and ranges, the names of
its outputs and, where TA-Lib has the same indicator, the TA-Lib function and parameter-name mapping that the
tests use to check exactness. The dashboard, the CLI, strategies and ML features all read this catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, NotFoundError, ParameterError

Group = Literal[
    "overlap",
    "momentum",
    "volume",
    "volatility",
    "cycle",
    "price_transform",
    "statistic",
    "math",
    "pattern",
    "trend",
    "other",
]
# `timestamp`: bar open time as UTC epoch ns (float64; exact for whole-second bars), e.g. for session VWAP.
# `periods`: MAVP's per-bar period column.
InputName = Literal["open", "high", "low", "close", "volume", "timestamp", "periods"]


@dataclass(frozen=True, slots=True)
class Param:
    """One indicator parameter. `minimum`/`maximum` are inclusive; `choices` restricts to listed values."""

    name: str
    type: type  # int, float or str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    description: str = ""

    def validate(self, indicator: str, value: Any) -> Any:
        """Coerce and range-check; raises ParameterError naming the indicator and parameter."""
        where = f"{indicator}: parameter {self.name!r}"
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, str)):
                raise ParameterError(f"{where} must be an integer, got {value!r}")
            try:
                as_float = float(value)
            except ValueError:
                raise ParameterError(f"{where} must be an integer, got {value!r}") from None
            if not as_float.is_integer():
                raise ParameterError(f"{where} must be an integer, got {value!r}")
            value = int(as_float)
        elif self.type is float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"{where} must be a number, got {value!r}") from None
            if not np.isfinite(value):
                raise ParameterError(f"{where} must be finite, got {value!r}")
        elif self.type is str:
            value = str(value)
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"{where} must be one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ParameterError(f"{where} must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ParameterError(f"{where} must be <= {self.maximum}, got {value!r}")
        return value

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "min": self.minimum,
            "max": self.maximum,
            "choices": list(self.choices) if self.choices else None,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """Everything known about one indicator."""

    name: str  # lower-case, e.g. "rsi", "bbands", "cdl_engulfing"
    group: Group
    inputs: tuple[InputName, ...]  # order = kernel's positional array arguments
    params: tuple[Param, ...]
    outputs: tuple[str, ...]  # one name per returned array, e.g. ("upper", "middle", "lower")
    kernel: Callable[..., np.ndarray | tuple[np.ndarray, ...]]
    description: str
    streaming: type | None = None  # class with __init__(**params) and update(bar) -> value
    talib: str | None = None  # TA-Lib function name, e.g. "RSI"
    talib_params: Mapping[str, str] = field(default_factory=dict)  # our param name -> TA-Lib's
    overlay: bool = False  # drawn on the price chart (True) or in its own pane (False)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        known = {p.name: p for p in self.params}
        unknown = set(params) - set(known)
        if unknown:
            raise ParameterError(
                f"{self.name}: unknown parameter(s) {sorted(unknown)}; expected {sorted(known) or 'none'}"
            )
        values = self.defaults()
        for key, value in params.items():
            values[key] = known[key].validate(self.name, value)
        return values

    def as_dict(self) -> dict[str, Any]:
        """The public catalog entry (JSON-able)."""
        return {
            "name": self.name,
            "group": self.group,
            "inputs": list(self.inputs),
            "params": [p.as_dict() for p in self.params],
            "outputs": list(self.outputs),
            "talib": self.talib,
            "talib_params": dict(self.talib_params) if self.talib else None,
            "streaming": self.streaming.__name__ if self.streaming is not None else None,
            "overlay": self.overlay,
            "description": self.description,
        }


_REGISTRY: dict[str, IndicatorSpec] = {}


def register(spec: IndicatorSpec) -> IndicatorSpec:
    """Add a spec to the catalog (module import time). Names are unique."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise RuntimeError(f"indicator {spec.name!r} registered twice")
    if spec.name != spec.name.lower():
        raise RuntimeError(f"indicator names are lower-case: {spec.name!r}")
    _REGISTRY[spec.name] = spec
    return spec


_PROVIDER_PACKAGES = ("quantdesk.intel", "quantdesk.ml")
_loaded = False


def _load_all() -> None:
    """Import every implementation module so that they register themselves.

    Besides this package's modules, catalog columns computed by the intelligence layers (regimes, sentiment,
    PowerTrader levels...) are *providers*: any module named `catalog` in a sub-package of `quantdesk.intel` or
    `quantdesk.ml` registers its specs here, so `compute("regime", df)` and `Ind("regime")` work like any
    indicator without this module naming them.
    """
    global _loaded
    if _loaded:
        return
    import importlib
    import importlib.util
    import pkgutil

    import quantdesk.indicators as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_") and info.name not in {"registry", "validation"}:
            importlib.import_module(f"quantdesk.indicators.{info.name}")
    for provider in _PROVIDER_PACKAGES:
        root = importlib.import_module(provider)
        for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
            if info.ispkg and importlib.util.find_spec(f"{provider}.{info.name}.catalog") is not None:
                importlib.import_module(f"{provider}.{info.name}.catalog")
            elif info.name == "catalog":
                importlib.import_module(f"{provider}.catalog")
    _loaded = True


def get(name: str) -> IndicatorSpec:
    _load_all()
    key = name.strip().lower()
    if key not in _REGISTRY:
        close = [n for n in _REGISTRY if key in n or n in key][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `quantdesk indicators list`"
        raise NotFoundError(f"unknown indicator {name!r}{hint}")
    return _REGISTRY[key]


def catalog() -> list[dict[str, Any]]:
    """One JSON-able entry per indicator, sorted by group then name."""
    _load_all()
    return [s.as_dict() for s in sorted(_REGISTRY.values(), key=lambda s: (s.group, s.name))]


def specs() -> list[IndicatorSpec]:
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda s: (s.group, s.name))


def input_arrays(spec: IndicatorSpec, df: pd.DataFrame) -> list[np.ndarray]:
    """Pull the spec's input columns from an OHLCV frame as contiguous float64 arrays, checking them."""
    from quantdesk.indicators.validation import check_array

    columns = {c.lower(): c for c in df.columns}
    arrays = []
    for name in spec.inputs:
        if name == "timestamp" and name not in columns:
            if not isinstance(df.index, pd.DatetimeIndex):
                raise DataError(f"{spec.name}: needs bar times: a DatetimeIndex or a 'timestamp' column")
            idx = df.index.tz_convert("UTC") if df.index.tz is not None else df.index
            arrays.append(idx.as_unit("ns").asi8.astype(np.float64))
            continue
        if name not in columns:
            raise DataError(f"{spec.name}: input column {name!r} is missing (have {list(df.columns)})")
        column = df[columns[name]]
        is_time = isinstance(column.dtype, pd.DatetimeTZDtype) or (
            isinstance(column.dtype, np.dtype) and np.issubdtype(column.dtype, np.datetime64)
        )
        if is_time:
            # bar times always reach kernels as epoch nanoseconds, whatever unit pandas parsed them in
            times = column.dt.tz_convert("UTC") if isinstance(column.dtype, pd.DatetimeTZDtype) else column
            arrays.append(pd.DatetimeIndex(times).as_unit("ns").asi8.astype(np.float64))
            continue
        arrays.append(check_array(column.to_numpy(dtype=np.float64), name=name, indicator=spec.name))
    return arrays


def compute(name: str, df: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """Compute an indicator on an OHLCV DataFrame: one column per output, same index as `df`."""
    spec = get(name)
    values = spec.validate_params(params)
    result = spec.kernel(*input_arrays(spec, df), **values)
    arrays = result if isinstance(result, tuple) else (result,)
    return pd.DataFrame({out: arr for out, arr in zip(spec.outputs, arrays, strict=True)}, index=df.index)


def stream(name: str, **params: Any) -> Any:
    """A fresh streaming object for indicator `name` (validated parameters)."""
    spec = get(name)
    if spec.streaming is None:
        raise NotFoundError(f"indicator {spec.name!r} has no streaming form")
    return spec.streaming(**spec.validate_params(params))
