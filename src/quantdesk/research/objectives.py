"""Objectives and constraints of an optimisation.

Objective: any metric key of `quantdesk.backtest.metrics.METRIC_KEYS` or a short alias (`ALIASES`). The
optimiser always MAXIMISES a score:

- most metrics: score = value (sharpe, sortino, calmar, total_return_pct, profit_factor, win_rate_pct, ...);
- drawdown-like metrics are <= 0 (`max_drawdown_pct`, `var_95_pct`, `cvar_95_pct`, `avg_loss`): maximising the
  value means the SMALLEST loss (closest to 0), so the score is the value itself (also when given as `dd`);
- "lower is better" metrics (`MINIMISE`: volatility, drawdown duration, fees, ...): score = -value.
A prefix `min:` / `max:` forces the direction (`min:exposure_pct`). NaN scores rank last; +inf ranks first
(profit_factor of a run without losing trades).

Constraints (several; all must hold): `"trades>=20"`, `"dd>-30"`, `"sharpe>0.5"`, `"slow>fast"`,
`"slow>=2*fast"`. Names are metric keys, aliases or strategy parameter names; numbers, `+ - * /`, parentheses
and `< <= > >= == !=` (chained comparisons too) are allowed. A constraint that only uses parameters filters the
combinations BEFORE they run (they are skipped, not trials); one that uses metrics marks a finished trial
infeasible (`feasible=False`, kept in the results, never ranked). A NaN metric fails the constraint.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from quantdesk.core.errors import ParameterError

ALIASES = {
    "trades": "num_trades",
    "return": "total_return_pct",
    "ret": "total_return_pct",
    "cagr": "annual_return_pct",
    "annual_return": "annual_return_pct",
    "vol": "annual_volatility_pct",
    "volatility": "annual_volatility_pct",
    "dd": "max_drawdown_pct",
    "drawdown": "max_drawdown_pct",
    "max_drawdown": "max_drawdown_pct",
    "dd_days": "max_drawdown_duration_days",
    "dd_bars": "max_drawdown_duration_bars",
    "pf": "profit_factor",
    "win_rate": "win_rate_pct",
    "winrate": "win_rate_pct",
    "exposure": "exposure_pct",
    "fees": "total_fees",
    "var": "var_95_pct",
    "cvar": "cvar_95_pct",
    "final": "final_equity",
    "equity": "final_equity",
}
MINIMISE = frozenset({
    "annual_volatility_pct",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "total_fees",
})


def metric_keys() -> tuple[str, ...]:
    from quantdesk.backtest.metrics import METRIC_KEYS

    return tuple(METRIC_KEYS)


def resolve_metric(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in metric_keys():
        raise ParameterError(
            f"unknown metric {name!r}; use a metric key ({', '.join(metric_keys())}) "
            f"or an alias ({', '.join(sorted(ALIASES))})"
        )
    return key


@dataclass(frozen=True)
class Objective:
    """`key`: the metric; `sign`: +1 maximise the value, -1 minimise it. `score(metrics)` is maximised."""

    key: str
    sign: int = 1
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Objective:
        t = (text or "").strip()
        if not t:
            raise ParameterError("--objective must not be empty (e.g. sharpe)")
        forced = None
        low = t.lower()
        for prefix, sign in (("min:", -1), ("max:", 1), ("-", -1), ("+", 1)):
            if low.startswith(prefix):
                forced, t = sign, t[len(prefix):]
                break
        key = resolve_metric(t)
        sign = forced if forced is not None else (-1 if key in MINIMISE else 1)
        return cls(key, sign, text.strip())

    @property
    def direction(self) -> str:
        return "maximize" if self.sign > 0 else "minimize"

    def score(self, metrics: Mapping[str, Any]) -> float:
        v = metrics.get(self.key)
        if v is None:
            return math.nan
        v = float(v)
        return v * self.sign if not math.isnan(v) else math.nan


# ---- constraints --------------------------------------------------------------------------------------------
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Constraint:
    text: str
    tree: ast.Expression
    params: frozenset[str]
    metrics: frozenset[str]
    # values of parameters the search does not vary (fixed or default): `fast < slow` with only `fast` searched
    constants: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_constants(self, values: Mapping[str, Any]) -> Constraint:
        """This constraint with the values of the parameters a search holds fixed."""
        return replace(self, constants={k: values[k] for k in self.params if k in values})

    @property
    def uses_metrics(self) -> bool:
        return bool(self.metrics)

    def holds(self, params: Mapping[str, Any], metrics: Mapping[str, Any] | None = None) -> bool:
        env: dict[str, Any] = {}
        for k in self.params:
            if k in params:
                env[k] = params[k]
            elif k in self.constants:
                env[k] = self.constants[k]
            else:
                raise ParameterError(f"--constraint {self.text!r}: parameter {k!r} is neither searched nor fixed")
        if self.metrics:
            if metrics is None:
                raise ValueError("metric constraint evaluated without metrics")
            for k in self.metrics:
                v = metrics.get(k)
                env[k] = math.nan if v is None else float(v)
        try:
            return bool(_eval(self.tree.body, env))
        except ZeroDivisionError:
            return False


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    raise ValueError(f"unsupported expression {ast.dump(node)}")  # pragma: no cover - parse() rejects these


def parse_constraint(text: str, param_names: Sequence[str]) -> Constraint:
    t = (text or "").strip()
    if not t:
        raise ParameterError("--constraint must not be empty (e.g. \"trades>=20\")")
    try:
        tree = ast.parse(t.replace("=>", ">=").replace("=<", "<="), mode="eval")
    except SyntaxError:
        raise ParameterError(f"--constraint {text!r}: not an expression like \"trades>=20\" or \"slow>fast\"") \
            from None
    if not isinstance(tree.body, ast.Compare):
        raise ParameterError(f"--constraint {text!r}: needs a comparison (<, <=, >, >=, ==, !=)")
    params: set[str] = set()
    metrics: set[str] = set()
    pnames = set(param_names)

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            if not all(type(op) in _CMP for op in node.ops):
                raise ParameterError(f"--constraint {text!r}: only < <= > >= == != comparisons are allowed")
            for child in (node.left, *node.comparators):
                check(child)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN:
                raise ParameterError(f"--constraint {text!r}: only + - * / are allowed")
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            check(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            pass
        elif isinstance(node, ast.Name):
            if node.id in pnames:
                params.add(node.id)
            else:
                try:
                    key = resolve_metric(node.id)
                except ParameterError:
                    raise ParameterError(
                        f"--constraint {text!r}: {node.id!r} is neither a strategy parameter "
                        f"({', '.join(sorted(pnames)) or 'none'}) nor a metric (key or alias such as trades, "
                        f"return, dd, sharpe)"
                    ) from None
                node.id = key
                metrics.add(key)
        else:
            raise ParameterError(f"--constraint {text!r}: unsupported expression")

    check(tree.body)
    return Constraint(t, tree, frozenset(params), frozenset(metrics))


def parse_constraints(texts: Sequence[str], param_names: Sequence[str],
                      constants: Mapping[str, Any] | None = None) -> list[Constraint]:
    """Parse `--constraint` texts; `constants` gives the values of the parameters the search holds fixed."""
    cons = [parse_constraint(t, param_names) for t in texts or ()]
    return [c.with_constants(constants) for c in cons] if constants else cons
