"""User files for the risk tools: stress scenarios and Black-Litterman views (YAML, TOML or JSON).

Both are validated with pydantic; any problem becomes one ConfigError line naming the file and the key,
e.g. `scen.yaml: scenarios.0.shocks.ETH/BTC: shock -1.5 is below -1 (a price cannot fall more than 100%)`.

Scenario file (one scenario, or a list under `scenarios`)::

    scenarios:
      - name: alt-crash
        description: alts fall 40 %, everything else 10 %
        default_shock: -0.10          # applied to every position not listed in shocks
        shocks: {ETH/BTC: -0.40, LTC/BTC: -0.35}

Views file (Black-Litterman)::

    prior: equal            # or market_cap (then market_caps is required)
    market_caps: {BTC/USDT: 1.2e12, ETH/BTC: 3.0e11}
    risk_aversion: 2.5      # delta; the prior is pi = delta * Sigma * w_prior
    tau: 0.05
    views:
      - {asset: BTC/USDT, return: 0.30, confidence: 0.6}                 # absolute, annual
      - {long: ETH/BTC, short: LTC/BTC, return: 0.05, confidence: 0.4}   # relative: long beats short by 5 %
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from quantdesk.core.errors import ConfigError


def read_structured_file(path: str | Path) -> Any:
    """Parse a .yaml/.yml, .toml or .json file; ConfigError names the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: file not found")
    suffix = p.suffix.lower()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read ({exc})") from None
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except Exception as exc:  # yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError
        first = str(exc).strip().splitlines()
        raise ConfigError(f"{p}: not valid {suffix[1:].upper()} ({' '.join(s.strip() for s in first)})") from None
    raise ConfigError(f"{p}: unknown file type {suffix!r}; use .yaml, .yml, .toml or .json")


def _validation_message(path: Path, exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(x) for x in first.get("loc", ())) or "(top level)"
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{path}: {loc}: {msg}{more}"


def _check_shock(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")
    if value < -1:
        raise ValueError(f"{what} {value:g} is below -1 (a price cannot fall more than 100%)")
    return value


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str = ""
    default_shock: float = 0.0
    shocks: dict[str, float] = Field(default_factory=dict)

    @field_validator("default_shock")
    @classmethod
    def _default_ok(cls, v: float) -> float:
        return _check_shock(v, "default_shock")

    @field_validator("shocks", mode="after")
    @classmethod
    def _shocks_ok(cls, v: dict[str, float]) -> dict[str, float]:
        from quantdesk.model.identifiers import normalize_symbol

        out: dict[str, float] = {}
        for key, shock in v.items():
            try:
                sym = normalize_symbol(key)
            except Exception:
                raise ValueError(f"key {key!r} is not a symbol of the form BASE/QUOTE") from None
            out[sym] = _check_shock(shock, f"shock for {key}")
        return out


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[ScenarioSpec] = Field(min_length=1)


def load_scenarios(path: str | Path) -> list[ScenarioSpec]:
    """Scenarios from a file; unnamed scenarios are called `<file stem>` (or `<stem>#i` when several)."""
    p = Path(path)
    data = read_structured_file(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level (a scenario or `scenarios: [...]`)")
    try:
        specs = ScenarioFile.model_validate(data).scenarios if "scenarios" in data else [ScenarioSpec.model_validate(data)]
    except ValidationError as exc:
        raise ConfigError(_validation_message(p, exc)) from None
    for i, spec in enumerate(specs):
        if not spec.name:
            spec.name = p.stem if len(specs) == 1 else f"{p.stem}#{i}"
    return specs


# ---- Black-Litterman views ------------------------------------------------------------------------------
class View(BaseModel):
    """An absolute view (`asset`) or a relative one (`long` outperforms `short`) on annual returns."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    asset: str | None = None
    long: str | None = None
    short: str | None = None
    return_: float = Field(alias="return")
    confidence: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _kind(self) -> View:
        if self.asset is not None and (self.long is not None or self.short is not None):
            raise ValueError("give either `asset` (absolute view) or `long` and `short` (relative view), not both")
        if self.asset is None and (self.long is None or self.short is None):
            raise ValueError("a view needs `asset` (absolute) or both `long` and `short` (relative)")
        if self.long is not None and self.long == self.short:
            raise ValueError("a relative view needs two different assets")
        if not math.isfinite(self.return_):
            raise ValueError("return must be a finite number")
        return self

    @property
    def relative(self) -> bool:
        return self.asset is None


class ViewsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prior: Literal["equal", "market_cap"] = "equal"
    market_caps: dict[str, float] | None = None
    risk_aversion: float = Field(default=2.5, gt=0)
    tau: float = Field(default=0.05, gt=0, le=1)
    views: list[View] = Field(min_length=1)

    @model_validator(mode="after")
    def _caps(self) -> ViewsFile:
        if self.prior == "market_cap":
            if not self.market_caps:
                raise ValueError("prior 'market_cap' needs `market_caps: {SYMBOL: cap, ...}`")
            bad = [k for k, v in self.market_caps.items() if not (v > 0 and math.isfinite(v))]
            if bad:
                raise ValueError(f"market cap of {bad[0]} must be a positive number")
        return self


def load_views(path: str | Path) -> ViewsFile:
    p = Path(path)
    data = read_structured_file(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level with a `views` list")
    try:
        return ViewsFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(p, exc)) from None
