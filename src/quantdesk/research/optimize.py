"""Parameter optimisation: grid, random and Bayesian (Optuna TPE) search, with overfitting statistics.

    from quantdesk.research.optimize import optimize
    res = optimize("sma_cross", df, {"fast": (5, 50, 5), "slow": (20, 200, 10)}, objective="sharpe",
                   constraints=["trades>=20", "slow>fast"])
    res.table            # every trial, ranked: trial, rank, feasible, score, <params>, <every metric>, error
                         # (score = the objective signed so that higher is better; ranks 1..k over the
                         # feasible trials with a score; then feasible without a score, then infeasible)
    res.best_params      # {"fast": 10, "slow": 60}
    res.best_metrics     # the metrics of that trial (same as run_backtest with those params)
    res.returns_matrix   # T x N per-period returns of every trial that ran (columns = trial ids), for PBO
    res.overfitting      # {"dsr", "psr", "pbo", "n_trials", ...} (see quantdesk.research.overfitting)
    res.best_config      # a BacktestConfig: run it with run_backtest(res.best_config, df)

Space: see `quantdesk.research.space` (lists = values, `(low, high)` = range, `(low, high, step)` = stepped
range; None = the strategy's declared ranges). Objective and constraints: `quantdesk.research.objectives`.

Methods: `grid` (every combination; `trials` ignored), `random` (`trials` distinct points drawn with `seed`,
default 50), `bayes` (Optuna's TPE sampler seeded with `seed`, `trials` default 50, asked in batches of
`BAYES_BATCH` so the sequence does not depend on the executor; a point asked twice reuses the first result).

Engines: sweeps of a vectorisable built-in (`quantdesk.backtest.signals.REGISTRY`: sma_cross, ema_cross,
rsi_reversion, macd, bollinger, momentum, vwap_flow, buy_and_hold; any of their parameters searched; no margin,
no `risk`) run on the compiled fast path: each batch of trials builds its signal columns with
`signals.signals_many` (each distinct indicator computed once) and runs them in ONE
`quantdesk.backtest.fastpath.simulate` call (many parameter columns per call, in parallel), with the event
engine's rounding rules, so every metric equals `run_backtest`'s to ~1e-12 (parity tests in tests/unit/backtest
and tests/unit/research). Everything else runs `run_backtest` per trial. `engine="event"` forces the event engine.

Execution: every batch of trials goes through one `Executor` (in-process, process pool, Ray); results do not
depend on which one. With `store_path`, each finished trial is appended to a JSON-lines store as it finishes;
calling again with the same store (same strategy, data and base config) skips the trials already there (resume).
A parameter set that the strategy rejects (ParameterError, e.g. ema_cross fast >= slow) is a recorded,
infeasible trial with its `error`, not a crash.

Per-period returns: the per-bar returns of each trial's equity curve; when there are more than
`max_return_periods` bars, consecutive bars are compounded into equal buckets (the last may be shorter) so that
the matrix stays small. The DSR uses the per-BAR statistics (Sharpe, skewness, kurtosis, number of bars) of the
best trial, N = every trial that ran (errors excluded) and the variance of the per-bar Sharpes of those that
have one (a trial that never traded has a flat equity curve and no Sharpe); PBO uses `returns_matrix`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError
from quantdesk.research.bayes_search import run_bayes
from quantdesk.research.executors import Executor, InProcessExecutor
from quantdesk.research.objectives import Constraint, Objective, parse_constraints
from quantdesk.research.optimization_result import OptimizationResult, assemble_result
from quantdesk.research.overfitting import overfitting_report
from quantdesk.research.space import (
    Dimension,
    grid,
    grid_size,
    params_key,
    refuse_unsearchable,
    sample_one,
    strategy_constraints,
    strategy_space,
)
from quantdesk.research.trial_progress import TrialProgress
from quantdesk.research.trial_store import TrialStore
from quantdesk.research.trial_workers import run_trial_batch

METHODS = ("grid", "random", "bayes")
DEFAULT_TRIALS = 50


# ---- the optimiser --------------------------------------------------------------------------------------------
def _uses_fast_path(strategy_cls: type, space: Mapping[str, Dimension], base: BacktestConfig) -> bool:
    """A registered vectorisable built-in (the built-in class itself, not a user class of the same name), long
    only (no margin) and without pre-trade risk rules: any of its parameters may be searched."""
    from quantdesk.backtest import signals as sig

    if not sig.is_vectorised(base.strategy) or base.margin or base.risk:
        return False
    return strategy_cls is sig.strategy_class(base.strategy)


def _fast_batch_size(rows: int, n_todo: int, workers: int) -> int:
    by_memory = int(max(1, min(64, 2.0e8 // max(1, rows * 8))))  # ~200 MB of equity curves per call
    balance = max(1, math.ceil(n_todo / max(1, 2 * workers)))
    return max(1, min(by_memory, balance))




def optimize(
    strategy: str,
    data: pd.DataFrame,
    space: Mapping[str, Any] | None = None,
    *,
    method: str = "grid",
    objective: str = "sharpe",
    constraints: Sequence[str] = (),
    trials: int | None = None,
    base_config: BacktestConfig | None = None,
    executor: Executor | None = None,
    seed: int = 42,
    store_path: Path | None = None,
    progress: bool = False,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    engine: str = "auto",
    max_return_periods: int | None = 2500,
    pbo_splits: int = 16,
) -> OptimizationResult:
    """Search `space` for the parameters of `strategy` that maximise `objective` on `data` (module docstring).

    `on_trial(record)` is called after each finished trial has been stored (record: id, params, metrics, error);
    an exception it raises (e.g. KeyboardInterrupt) stops the run, keeping every stored trial.
    """
    from quantdesk.backtest.fastpath import describe_data, instrument_precision, prepare_frame
    from quantdesk.backtest.runner import fingerprint
    from quantdesk.strategies.loader import load_strategy

    if method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if engine not in ("auto", "fast", "event"):
        raise ParameterError(f"engine must be auto, fast or event, got {engine!r}")
    if trials is not None and trials < 1:
        raise ParameterError(f"--trials must be >= 1, got {trials}")
    cls = load_strategy(strategy)
    specs = cls.param_space()
    base = base_config or BacktestConfig(strategy=strategy)
    if base.strategy != strategy:
        base = base.model_copy(update={"strategy": strategy})
    refuse_unsearchable(cls, base.params)
    dims = strategy_space(cls, space)
    obj = Objective.parse(objective)
    held = {k: spec.get("default") for k, spec in specs.items()} | dict(base.params)
    cons = parse_constraints(strategy_constraints(cls, constraints or ()), list(specs), held)
    param_cons = [c for c in cons if not c.uses_metrics]
    metric_cons = [c for c in cons if c.uses_metrics]
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("optimize: data must be one OHLCV DataFrame")
    frame = prepare_frame(data, base)
    if len(frame) < 3:
        raise ParameterError(f"optimize: need at least 3 bars, got {len(frame)}")

    use_fast = engine == "fast" or (engine == "auto" and _uses_fast_path(cls, dims, base))
    if engine == "fast" and not _uses_fast_path(cls, dims, base):
        from quantdesk.backtest.signals import vectorised_strategies

        raise ParameterError(
            f"the fast engine runs only sweeps of the vectorised built-ins ({', '.join(vectorised_strategies())}) "
            "without margin or risk rules"
        )
    base_params = dict(base.params)
    ctx: dict[str, Any] = {
        "engine": "fast" if use_fast else "event",
        "data": frame,
        "base_config": base.model_dump(mode="json"),
        "max_periods": max_return_periods,
    }
    if use_fast:
        ctx["precision"] = instrument_precision(frame)
        info = describe_data(frame, base)
        info["price_precision"] = ctx["precision"]["price_precision"]
        ctx["data_info"] = info
    ex = executor or InProcessExecutor()

    def item(i: int, combo: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": i, "key": params_key(combo), "params": dict(combo), "run_params": {**base_params, **combo}}

    header = {
        "strategy": strategy,
        "data_fingerprint": fingerprint(frame),
        "base_config": {k: v for k, v in base.model_dump(mode="json").items() if k != "params"}
        | {"fixed_params": {k: v for k, v in base_params.items() if k not in dims}},
        "max_return_periods": max_return_periods,
        "method": method,
        "objective": obj.text,
        "space": {k: d.as_dict() for k, d in dims.items()},
        "constraints": [c.text for c in cons],
        "seed": seed,
    }
    store = TrialStore(Path(store_path), header) if store_path is not None else None
    done: dict[str, dict[str, Any]] = dict(store.records) if store is not None else {}
    resumed_keys = set(done)
    n_eval = 0
    skipped = 0

    def accept(records: list[dict[str, Any]], bar: TrialProgress) -> None:
        nonlocal n_eval
        for rec in records:  # store the whole batch first: an interrupt in a callback loses nothing
            if store is not None:
                store.append(rec)
            done[rec["key"]] = rec
            n_eval += 1
        bar.advance(len(records))
        if on_trial is not None:
            for rec in records:
                on_trial(rec)

    order: list[str] = []  # keys of this study's trials, in trial-id order
    try:
        if method in ("grid", "random"):
            if method == "grid":
                combos = grid(dims)
            else:
                combos = _random_points(dims, trials or DEFAULT_TRIALS, seed, param_cons)
            kept = [c for c in combos if all(pc.holds(c) for pc in param_cons)]
            skipped = len(combos) - len(kept) if method == "grid" else 0
            if not kept:
                raise ParameterError("no parameter combination satisfies the constraints "
                                     f"({'; '.join(c.text for c in param_cons)})")
            items = [item(i, c) for i, c in enumerate(kept)]
            order = [it["key"] for it in items]
            todo = [it for it in items if it["key"] not in done]
            if use_fast:
                size = _fast_batch_size(len(frame), len(todo), ex.workers)
            else:
                size = 1
            batches = [todo[i : i + size] for i in range(0, len(todo), size)]
            bar = TrialProgress(progress, len(todo), f"optimize {strategy} ({method})")
            try:
                if batches:
                    with ex.session(run_trial_batch, ctx) as sess:
                        for _idx, records in sess.map(batches):
                            accept(records, bar)
            finally:
                bar.close()
        else:
            order, skipped = run_bayes(dims, trials or DEFAULT_TRIALS, seed, obj, param_cons, metric_cons, done,
                                    ex, ctx, item, accept, progress, strategy)
    finally:
        if store is not None:
            store.close()

    # trial ids = positions in this study (a store may hold trials of an earlier, differently shaped study)
    records = [{**done[k], "id": i} for i, k in enumerate(k for k in order if k in done)]
    n_resumed = sum(1 for k in order if k in resumed_keys)
    return assemble_result(records, frame, dims, obj, metric_cons, cons, base, base_params, strategy, method,
                     "fast" if use_fast else "event", ex, max_return_periods, pbo_splits,
                     n_eval, n_resumed, skipped)


def _random_points(dims: Mapping[str, Dimension], n: int, seed: int,
                   param_cons: Sequence[Constraint]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    finite = all(d.kind == "cat" or d.step is not None or d.kind == "int" for d in dims.values())
    cap = grid_size(dims) if all(d.kind == "cat" or d.step is not None for d in dims.values()) else None
    seen: dict[str, dict[str, Any]] = {}
    attempts = 0
    while len(seen) < n and attempts < 50 * n + 1000:
        attempts += 1
        p = sample_one(dims, rng)
        if not all(c.holds(p) for c in param_cons):
            continue
        seen.setdefault(params_key(p), p)
        if finite and cap is not None and len(seen) >= cap:
            break
    return list(seen.values())




__all__ = ["OptimizationResult", "optimize", "run_trial_batch", "overfitting_report"]
