"""Strategy parameters: typed, ranged declarations (`IntParam(10, 2, 200)`) that validate user input with a clear
message and tell optimisers and UIs their ranges (`as_dict`); `Params` gives attribute access (`self.p.fast`).
Re-exported by quantdesk.strategies.base (the Strategy API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantdesk.core.errors import ParameterError


@dataclass(frozen=True)
class _ParamBase:
    default: Any  # each kind is a dataclass whose first field is its default
    def validate(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items()}
        data["type"] = type(self).__name__.removesuffix("Param").lower()
        return data


@dataclass(frozen=True)
class IntParam(_ParamBase):
    default: int
    minimum: int | None = None
    maximum: int | None = None
    step: int = 1
    description: str = ""

    def validate(self, name: str, value: Any) -> int:
        if isinstance(value, bool):
            raise ParameterError(f"parameter {name!r} must be an integer, got {value!r}")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {name!r} must be an integer, got {value!r}") from None
        if not as_float.is_integer():
            raise ParameterError(f"parameter {name!r} must be an integer, got {value!r}")
        v = int(as_float)
        _check_range(name, v, self.minimum, self.maximum)
        return v


@dataclass(frozen=True)
class FloatParam(_ParamBase):
    default: float
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""

    def validate(self, name: str, value: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter {name!r} must be a number, got {value!r}") from None
        if v != v or v in (float("inf"), float("-inf")):
            raise ParameterError(f"parameter {name!r} must be finite, got {value!r}")
        _check_range(name, v, self.minimum, self.maximum)
        return v


@dataclass(frozen=True)
class BoolParam(_ParamBase):
    default: bool
    description: str = ""

    def validate(self, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        if value in (0, 1):
            return bool(value)
        raise ParameterError(f"parameter {name!r} must be true or false, got {value!r}")


@dataclass(frozen=True)
class ChoiceParam(_ParamBase):
    default: Any
    choices: tuple[Any, ...] = ()
    description: str = ""

    def validate(self, name: str, value: Any) -> Any:
        if value not in self.choices:
            raise ParameterError(f"parameter {name!r} must be one of {list(self.choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class TextParam(_ParamBase):
    """A short text value, e.g. a model id (`pattern`: a regular expression the whole value must match)."""

    default: str = ""
    pattern: str | None = None
    max_length: int = 500
    description: str = ""

    def validate(self, name: str, value: Any) -> str:
        import re

        if not isinstance(value, str):
            raise ParameterError(f"parameter {name!r} must be text, got {value!r}")
        v = value.strip()
        if len(v) > self.max_length:
            raise ParameterError(f"parameter {name!r} is longer than {self.max_length} characters")
        if self.pattern is not None and v != self.default and not re.fullmatch(self.pattern, v):
            raise ParameterError(f"parameter {name!r} must match {self.pattern}, got {value!r}")
        return v


def _check_range(name: str, v: float, lo: float | None, hi: float | None) -> None:
    if lo is not None and v < lo:
        raise ParameterError(f"parameter {name!r} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ParameterError(f"parameter {name!r} must be <= {hi}, got {v}")


class Params:
    """Validated parameter values: `p.fast`, `p["fast"]`, `dict(p)`. Read-only."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; have {sorted(self._values)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("parameters are read-only")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def keys(self):
        return self._values.keys()

    def __iter__(self):
        return iter(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values})"
