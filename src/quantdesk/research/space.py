"""Search spaces: what values each strategy parameter may take in an optimisation.

A space maps parameter names to `Dimension`s. Ways to give one (CLI `--space` text or library values):

- `fast=5:50:5`       stepped range, both ends inclusive (ints when every number is an int): 5, 10, ..., 50
- `mode=roc,donchian` an explicit list (numbers parsed as numbers, true/false as booleans, else text)
- `nbdev=1.0:3.0`     a continuous range: random/bayes sample inside it; a grid uses ~10 points (ints: a sensible
                      step, see `default_values`)
- library: a list `[5, 10, 20]` (explicit values), a tuple `(low, high)` (range) or `(low, high, step)`.

Parameters not given keep their default (or the base config's value). With no space at all, the strategy's
declared default space is searched (`Strategy.search_space`, next to its parameters, with its validity
constraints `Strategy.search_constraints` such as "slow>fast"; see `strategy_space`); a strategy that declares
none has every numeric/bool/choice parameter searched over its declared range (`Strategy.param_space()`):
ints with a range of at most ~10 values: every value; wider int ranges: ~10 values, geometrically spaced when
the range spans more than 20x (periods: 1, 2, 3, 5, 9, ... ), else evenly; floats: `linspace(min, max, 10)`;
bools: both; choices: all.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantdesk.core.errors import ParameterError

GRID_POINTS = 10
MAX_GRID = 200_000


@dataclass(frozen=True)
class Dimension:
    """One searched parameter. `kind`: 'int' | 'float' (ranges) or 'cat' (explicit values).

    `values` is the grid (always set); `low`/`high` the continuous range for random/bayes sampling (None for
    'cat'); `step` the step of a stepped range (random/bayes then sample on that lattice)."""

    name: str
    kind: str
    values: tuple[Any, ...]
    low: float | None = None
    high: float | None = None
    step: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "values": list(self.values), "low": self.low,
                "high": self.high, "step": self.step}


def _num(text: str) -> int | float:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        raise ParameterError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise ParameterError(f"expected a finite number, got {text!r}")
    return v


def _scalar(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return _num(t)
    except ParameterError:
        return t


def _stepped(name: str, low: float, high: float, step: float) -> Dimension:
    if step <= 0:
        raise ParameterError(f"--space {name}: the step must be > 0, got {step}")
    if high < low:
        raise ParameterError(f"--space {name}: the range end {high} is below its start {low}")
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (low, high, step)):
        vals = tuple(range(int(low), int(high) + 1, int(step)))
        return Dimension(name, "int", vals, low=low, high=vals[-1], step=step)
    count = int(math.floor((high - low) / step + 1e-9)) + 1
    fvals = tuple(float(round(low + i * step, 12)) for i in range(count))
    return Dimension(name, "float", fvals, low=float(low), high=fvals[-1], step=float(step))


def _ranged(name: str, low: float, high: float, spec: Mapping[str, Any] | None = None) -> Dimension:
    if high < low:
        raise ParameterError(f"--space {name}: the range end {high} is below its start {low}")
    is_int = (spec or {}).get("type") == "int" if spec else all(isinstance(x, int) for x in (low, high))
    if is_int:
        vals = tuple(int_grid(int(low), int(high)))
        return Dimension(name, "int", vals, low=int(low), high=int(high), step=1)
    fvals = tuple(float(round(v, 12)) for v in np.linspace(float(low), float(high), GRID_POINTS))
    return Dimension(name, "float", fvals, low=float(low), high=float(high))


def int_grid(low: int, high: int, points: int = GRID_POINTS) -> list[int]:
    """~`points` ints in [low, high]: all when few, geometric when the range spans > 20x, else even steps."""
    if high - low + 1 <= points:
        return list(range(low, high + 1))
    if low >= 1 and high / low > 20:
        geo = np.unique(np.round(np.geomspace(low, high, points)).astype(np.int64))
        return [int(v) for v in geo]
    step = max(1, math.ceil((high - low) / (points - 1)))
    vals = list(range(low, high + 1, step))
    if vals[-1] != high:
        vals.append(high)
    return vals


def parse_space_item(text: str, specs: Mapping[str, Mapping[str, Any]] | None = None) -> Dimension:
    """`name=low:high:step` | `name=v1,v2,v3` | `name=low:high` -> Dimension (see the module docstring)."""
    name, sep, rhs = text.partition("=")
    name, rhs = name.strip(), rhs.strip()
    if not sep or not name or not rhs:
        raise ParameterError(f"--space {text!r}: expected name=low:high:step, name=v1,v2,v3 or name=low:high")
    spec = (specs or {}).get(name)
    if ":" in rhs:
        parts = rhs.split(":")
        if len(parts) not in (2, 3):
            raise ParameterError(f"--space {text!r}: expected low:high:step or low:high")
        try:
            nums = [_num(p) for p in parts]
        except ParameterError as exc:
            raise ParameterError(f"--space {text!r}: {exc}") from None
        if spec is not None and spec.get("type") == "float":
            nums = [float(x) for x in nums]
        if len(nums) == 3:
            return _stepped(name, nums[0], nums[1], nums[2])
        return _ranged(name, nums[0], nums[1], spec)
    values = [_scalar(p) for p in rhs.split(",") if p.strip()]
    if not values:
        raise ParameterError(f"--space {text!r}: no values")
    return _from_values(name, values)


def _from_values(name: str, values: Iterable[Any]) -> Dimension:
    vals = list(dict.fromkeys(values))  # unique, order kept
    if not vals:
        raise ParameterError(f"space {name!r}: no values")
    return Dimension(name, "cat", tuple(vals))


def dimension_from_value(name: str, value: Any, spec: Mapping[str, Any] | None = None) -> Dimension:
    """Library form: Dimension | str (CLI text after '=') | list (values) | tuple (low, high[, step])."""
    if isinstance(value, Dimension):
        return value
    if isinstance(value, str):
        return parse_space_item(f"{name}={value}", {name: spec} if spec else None)
    if isinstance(value, tuple):
        if len(value) == 3:
            return _stepped(name, value[0], value[1], value[2])
        if len(value) == 2:
            return _ranged(name, value[0], value[1], spec)
        raise ParameterError(f"space {name!r}: a tuple must be (low, high) or (low, high, step), got {value!r}")
    if isinstance(value, (list, np.ndarray, range)):
        return _from_values(name, [v.item() if isinstance(v, np.generic) else v for v in value])
    return _from_values(name, [value])


def default_dimension(name: str, spec: Mapping[str, Any]) -> Dimension | None:
    """The declared range of one parameter as a Dimension (None when it cannot be searched)."""
    kind = spec.get("type")
    lo, hi = spec.get("minimum"), spec.get("maximum")
    if kind == "int" and lo is not None and hi is not None:
        step = int(spec.get("step") or 1)
        if step > 1:
            vals = list(range(int(lo), int(hi) + 1, step))
            if len(vals) > GRID_POINTS:
                vals = [vals[int(i)] for i in np.unique(np.linspace(0, len(vals) - 1, GRID_POINTS).round())]
            return Dimension(name, "int", tuple(vals), low=int(lo), high=int(hi), step=step)
        return Dimension(name, "int", tuple(int_grid(int(lo), int(hi))), low=int(lo), high=int(hi), step=1)
    if kind == "float" and lo is not None and hi is not None:
        return _ranged(name, float(lo), float(hi), spec)
    if kind == "bool":
        return Dimension(name, "cat", (False, True))
    if kind == "choice" and spec.get("choices"):
        return Dimension(name, "cat", tuple(spec["choices"]))
    return None


def build_space(
    param_specs: Mapping[str, Mapping[str, Any]], space: Mapping[str, Any] | None
) -> dict[str, Dimension]:
    """The search space for a strategy (its `param_space()`), from user values or the declared defaults."""
    if not space and not param_specs:
        return {}  # a parameterless strategy (e.g. buy_and_hold): its one configuration is the whole grid
    if not space:
        out = {}
        for name, spec in param_specs.items():
            dim = default_dimension(name, spec)
            if dim is not None:
                out[name] = dim
        if not out:
            raise ParameterError("the strategy declares no searchable parameters; give a space (--space)")
        return out
    out = {}
    for name, value in space.items():
        if name not in param_specs:
            raise ParameterError(f"space: the strategy has no parameter {name!r}; it has {sorted(param_specs)}")
        out[name] = dimension_from_value(name, value, param_specs[name])
    return out


def parse_space_args(items: Iterable[str], param_specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Dimension]:
    out: dict[str, Dimension] = {}
    for item in items:
        dim = parse_space_item(item, param_specs)
        if dim.name not in param_specs:
            raise ParameterError(
                f"--space {item!r}: the strategy has no parameter {dim.name!r}; it has {sorted(param_specs)}"
            )
        if dim.name in out:
            raise ParameterError(f"--space {dim.name} is given twice")
        out[dim.name] = dim
    return out


def grid_size(space: Mapping[str, Dimension]) -> int:
    return int(np.prod([len(d.values) for d in space.values()], dtype=np.float64))


def grid(space: Mapping[str, Dimension]) -> list[dict[str, Any]]:
    """Every combination, in a fixed order (the first parameter varies slowest)."""
    n = grid_size(space)
    if n > MAX_GRID:
        raise ParameterError(
            f"the grid has {n:,} combinations (more than {MAX_GRID:,}): narrow --space or use --method random/bayes"
        )
    names = list(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(space[k].values for k in names))]


def sample_one(space: Mapping[str, Dimension], rng: np.random.Generator) -> dict[str, Any]:
    """One random point: categorical dims pick a value, ranges sample uniformly (on the step lattice if any)."""
    out: dict[str, Any] = {}
    for name, d in space.items():
        if d.kind == "cat" or d.low is None or d.high is None:
            out[name] = d.values[int(rng.integers(len(d.values)))]
        elif d.step is not None:
            k = int(math.floor((d.high - d.low) / d.step + 1e-9))
            v = d.low + int(rng.integers(k + 1)) * d.step
            out[name] = int(v) if d.kind == "int" else float(round(v, 12))
        elif d.kind == "int":
            out[name] = int(rng.integers(int(d.low), int(d.high) + 1))
        else:
            out[name] = float(rng.uniform(d.low, d.high))
    return out


def params_key(params: Mapping[str, Any]) -> str:
    """Canonical text of a parameter set (the trial's identity in the store)."""
    return json.dumps({k: _plain(params[k]) for k in sorted(params)}, sort_keys=True, separators=(",", ":"))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v  # keep floats floats: 2.0 stays 2.0
    return v


def describe(space: Mapping[str, Dimension]) -> dict[str, Any]:
    return {k: d.as_dict() for k, d in space.items()}


def strategy_space(cls: Any, space: Mapping[str, Any] | None = None) -> dict[str, Dimension]:
    """The space searched for strategy class `cls`: `space` when given; else the strategy's declared default
    `search_space` (as freqtrade strategies declare their hyperopt spaces); else every declared parameter over
    its declared range."""
    specs = cls.param_space()
    if space:
        return build_space(specs, space)
    declared = dict(getattr(cls, "search_space", None) or {})
    return build_space(specs, declared or None)


def refuse_unsearchable(cls: Any, params: Mapping[str, Any], what: str = "optimize") -> None:
    """A clear error before a search whose every trial would fail or never trade."""
    name = getattr(cls, "name", "") or cls.__name__
    if getattr(cls, "instruments", 1) > 1:
        raise ParameterError(f"{what}: {name} trades {cls.instruments} instruments at once; {what} runs on one "
                             f"series (backtest it with --symbol A,B)")
    reason = cls.idle_reason(cls.validate_params(dict(params)))
    if reason:
        raise ParameterError(f"{what}: {reason}")


def strategy_constraints(cls: Any, constraints: Iterable[str] = ()) -> list[str]:
    """The user's constraints plus the strategy's declared validity constraints (`search_constraints`, e.g.
    "slow>fast"), each once."""
    out = [c for c in constraints]
    for c in getattr(cls, "search_constraints", ()) or ():
        if c.replace(" ", "") not in {x.replace(" ", "") for x in out}:
            out.append(c)
    return out
