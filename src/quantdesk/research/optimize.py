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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError, QuantDeskError
from quantdesk.research.executors import Executor, InProcessExecutor
from quantdesk.research.objectives import Constraint, Objective, metric_keys, parse_constraints
from quantdesk.research.overfitting import moments, overfitting_report
from quantdesk.research.space import (
    Dimension,
    grid,
    grid_size,
    params_key,
    sample_one,
    strategy_constraints,
    strategy_space,
)
from quantdesk.research.trial_store import TrialStore, decode_array, encode_array

METHODS = ("grid", "random", "bayes")
DEFAULT_TRIALS = 50
BAYES_BATCH = 8


@dataclass
class OptimizationResult:
    table: pd.DataFrame
    best_params: dict[str, Any]
    best_metrics: dict[str, float]
    returns_matrix: pd.DataFrame
    overfitting: dict[str, Any]
    strategy: str = ""
    method: str = "grid"
    objective: str = "sharpe"
    direction: str = "maximize"
    engine: str = "event"
    executor: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Dimension] = field(default_factory=dict)
    constraints: list[str] = field(default_factory=list)
    best_config: BacktestConfig | None = None
    n_evaluated: int = 0  # trials run by this call
    n_resumed: int = 0  # trials taken from the store
    n_skipped: int = 0  # combinations removed by parameter-only constraints

    @property
    def param_names(self) -> list[str]:
        return list(self.space)

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.table.head(n)

    def summary(self, top: int = 10) -> dict[str, Any]:
        """A JSON-able document (what `quantdesk optimize --json` prints, plus file paths)."""
        cols = ["trial", "rank", "feasible", "score", *self.param_names, *metric_keys(), "error"]
        head = self.table.head(top)
        return {
            "strategy": self.strategy,
            "method": self.method,
            "objective": self.objective,
            "direction": self.direction,
            "engine": self.engine,
            "executor": self.executor,
            "constraints": self.constraints,
            "space": {k: d.as_dict() for k, d in self.space.items()},
            "trials": int(len(self.table)),
            "feasible": int(self.table["feasible"].sum()) if len(self.table) else 0,
            "evaluated": self.n_evaluated,
            "resumed": self.n_resumed,
            "skipped_by_constraints": self.n_skipped,
            "best_params": self.best_params,
            "best_metrics": self.best_metrics,
            "best_config": self.best_config.model_dump(mode="json") if self.best_config else None,
            "overfitting": self.overfitting,
            "top": head[[c for c in cols if c in head.columns]].to_dict(orient="records"),
        }


# ---- workers (module level: picklable for process pools and Ray) ---------------------------------------------
def _bucket_returns(r: np.ndarray, max_periods: int | None) -> np.ndarray:
    if max_periods is None or len(r) <= max_periods:
        return r
    size = math.ceil(len(r) / max_periods)
    starts = np.arange(0, len(r), size)
    with np.errstate(divide="ignore"):
        logs = np.log1p(r)
    return np.expm1(np.add.reduceat(logs, starts))


def _bucket_index(index: pd.Index, max_periods: int | None) -> pd.Index:
    idx = index[1:]
    if max_periods is None or len(idx) <= max_periods:
        return idx
    size = math.ceil(len(idx) / max_periods)
    ends = np.minimum(np.arange(0, len(idx), size) + size - 1, len(idx) - 1)
    return idx[ends]


def _record(item: Mapping[str, Any], metrics: Mapping[str, float] | None, equity: np.ndarray | None,
            error: str | None, max_periods: int | None) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": item["id"], "key": item["key"], "params": dict(item["params"]),
                           "metrics": {}, "stats": {}, "error": error, "returns": None}
    if metrics is not None and equity is not None:
        rec["metrics"] = {k: float(v) for k, v in metrics.items()}
        eq = np.asarray(equity, dtype=np.float64)
        r = eq[1:] / eq[:-1] - 1.0 if len(eq) >= 2 else np.zeros(0)
        rec["stats"] = moments(r)
        rec["returns"] = encode_array(_bucket_returns(r, max_periods))
    return rec


def _fail(item: Mapping[str, Any], exc: BaseException, max_periods: int | None) -> dict[str, Any]:
    msg = str(exc) if isinstance(exc, QuantDeskError) else f"{type(exc).__name__}: {exc}"
    return _record(item, None, None, msg, max_periods)


def _event_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from quantdesk.backtest.runner import run_backtest

    base = BacktestConfig(**ctx["base_config"])
    out = []
    for item in batch:
        try:
            cfg = base.model_copy(update={"params": dict(item["run_params"])})
            res = run_backtest(cfg, ctx["data"])
            out.append(_record(item, res.metrics, res.equity.to_numpy(), None, ctx["max_periods"]))
        except Exception as exc:  # noqa: BLE001 - a failing parameter set is an infeasible trial, not a crash
            out.append(_fail(item, exc, ctx["max_periods"]))
    return out


def _fast_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from quantdesk.backtest import signals as sig
    from quantdesk.backtest.fastpath import simulate
    from quantdesk.backtest.metrics import compute_metrics

    cfg = BacktestConfig(**ctx["base_config"])
    cls = sig.strategy_class(cfg.strategy)
    frame: pd.DataFrame = ctx["data"]
    out: dict[int, dict[str, Any]] = {}
    ok: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for item in batch:
        try:
            ok.append((item, cls.validate_params(dict(item["run_params"]))))
        except Exception as exc:  # noqa: BLE001
            out[item["id"]] = _fail(item, exc, ctx["max_periods"])
    if ok:
        # one signal column per trial, each distinct indicator computed once; one simulate call for all
        ent, ext = sig.signals_many(cfg.strategy, frame, [p for _, p in ok])
        fr = simulate(frame, ent, ext, cash=cfg.cash, fee=cfg.fee, slippage_bps=cfg.slippage_bps,
                      **ctx["precision"])
        close = frame["close"]
        recs = fr.trades
        cols = recs["col"]
        for j, (item, _p) in enumerate(ok):
            trades = _trades_frame(recs[cols == j], frame.index)
            equity = pd.Series(fr.equity[:, j], index=frame.index, name="equity")
            metrics = compute_metrics(trades, equity, close=close)
            out[item["id"]] = _record(item, metrics, fr.equity[:, j], None, ctx["max_periods"])
    return [out[item["id"]] for item in batch]


def _trades_frame(recs: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """The columns of a BacktestResult trade list that `compute_metrics` reads, from fast-path records
    (the same values as `fastpath.records_to_frames`, without building the order list)."""
    is_open = recs["is_open"].astype(bool)
    entry = index[recs["entry_idx"]]
    exit_t = index[recs["exit_idx"]]
    if isinstance(index, pd.DatetimeIndex):
        exit_t = exit_t.where(~is_open, pd.NaT)
    return pd.DataFrame({
        "entry_time": entry,
        "exit_time": exit_t,
        "fees": recs["entry_fee"] + recs["exit_fee"],
        "pnl": recs["pnl"],
        "return_pct": recs["return_pct"],
        "bars_held": (recs["exit_idx"] - recs["entry_idx"]).astype(np.int64),
        "is_open": is_open,
    })


def run_trial_batch(ctx: Mapping[str, Any], batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The executor task: run a batch of trials, return one record per trial (same order)."""
    if ctx["engine"] == "fast":
        return _fast_batch(ctx, batch)
    return _event_batch(ctx, batch)


# ---- the optimiser --------------------------------------------------------------------------------------------
def _uses_fast_path(strategy_cls: type, space: Mapping[str, Dimension], base: BacktestConfig) -> bool:
    """A registered vectorisable built-in (the built-in class itself, not a user class of the same name), long
    only (no margin) and without pre-trade risk rules: any of its parameters may be searched."""
    from quantdesk.backtest import signals as sig

    if not sig.is_vectorised(base.strategy) or base.margin or base.risk:
        return False
    return strategy_cls is sig.strategy_class(base.strategy)


def _feasible(rec: Mapping[str, Any], metric_cons: Sequence[Constraint]) -> bool:
    if rec.get("error"):
        return False
    return all(c.holds(rec["params"], rec["metrics"]) for c in metric_cons)


def _fast_batch_size(rows: int, n_todo: int, workers: int) -> int:
    by_memory = int(max(1, min(64, 2.0e8 // max(1, rows * 8))))  # ~200 MB of equity curves per call
    balance = max(1, math.ceil(n_todo / max(1, 2 * workers)))
    return max(1, min(by_memory, balance))


class _Progress:
    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.bar = None
        if enabled and total > 0:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def extend(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=(self.bar.tasks[0].total or 0) + n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


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
    dims = strategy_space(cls, space)
    obj = Objective.parse(objective)
    cons = parse_constraints(strategy_constraints(cls, constraints or ()), list(specs))
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

    def accept(records: list[dict[str, Any]], bar: _Progress) -> None:
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
            bar = _Progress(progress, len(todo), f"optimize {strategy} ({method})")
            try:
                if batches:
                    with ex.session(run_trial_batch, ctx) as sess:
                        for _idx, records in sess.map(batches):
                            accept(records, bar)
            finally:
                bar.close()
        else:
            order, skipped = _bayes(dims, trials or DEFAULT_TRIALS, seed, obj, param_cons, metric_cons, done,
                                    ex, ctx, item, accept, progress, strategy)
    finally:
        if store is not None:
            store.close()

    # trial ids = positions in this study (a store may hold trials of an earlier, differently shaped study)
    records = [{**done[k], "id": i} for i, k in enumerate(k for k in order if k in done)]
    n_resumed = sum(1 for k in order if k in resumed_keys)
    return _assemble(records, frame, dims, obj, metric_cons, cons, base, base_params, strategy, method,
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


def _optuna_distributions(dims: Mapping[str, Dimension]) -> dict[str, Any]:
    import optuna

    out: dict[str, Any] = {}
    for name, d in dims.items():
        if d.kind == "cat" or d.low is None or d.high is None:
            out[name] = optuna.distributions.CategoricalDistribution(list(d.values))
        elif d.kind == "int":
            out[name] = optuna.distributions.IntDistribution(int(d.low), int(d.high), step=int(d.step or 1))
        else:
            out[name] = optuna.distributions.FloatDistribution(float(d.low), float(d.high), step=d.step)
    return out


def _optuna_value(rec: Mapping[str, Any], obj: Objective, metric_cons: Sequence[Constraint]
                  ) -> tuple[float | None, float]:
    """(objective value or None for a failed trial, constraint violation: 0 feasible, 1 not)."""
    if rec.get("error"):
        return None, 1.0
    score = obj.score(rec["metrics"])
    if math.isnan(score):
        return None, 1.0
    score = max(min(score, 1e300), -1e300)
    return score, 0.0 if all(c.holds(rec["params"], rec["metrics"]) for c in metric_cons) else 1.0


def _bayes(dims, n_trials, seed, obj, param_cons, metric_cons, done, ex, ctx, item, accept, progress, strategy):
    try:
        import optuna
    except ImportError:
        raise ParameterError("--method bayes needs Optuna: pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = _optuna_distributions(dims)
    new_api = hasattr(optuna.trial.Trial, "set_constraint")  # Optuna >= 5: constraints stored on the trial
    if new_api:
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:  # pragma: no cover - Optuna < 5
        sampler = optuna.samplers.TPESampler(
            seed=seed, constraints_func=lambda t: (t.user_attrs.get("violation", 0.0),)
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    states = optuna.trial.TrialState

    def mark(trial, violation):
        if new_api:
            trial.set_constraint("metrics", violation)
        else:  # pragma: no cover
            trial.set_user_attr("violation", violation)

    def tell(trial, rec):
        value, violation = _optuna_value(rec, obj, metric_cons)
        mark(trial, violation)
        if value is None:
            study.tell(trial, state=states.FAIL)
        else:
            study.tell(trial, value)

    # replay the stored trials in id order (resume), then ask for the rest
    stored = sorted(done.values(), key=lambda r: r.get("id", 0))
    order: list[str] = []
    for rec in stored:
        if set(rec["params"]) != set(dims):
            continue
        try:
            value, violation = _optuna_value(rec, obj, metric_cons)
            extra = {"constraints": {"metrics": violation}} if new_api else {"user_attrs": {"violation": violation}}
            study.add_trial(optuna.trial.create_trial(
                params=rec["params"], distributions=dists, value=value,
                state=states.COMPLETE if value is not None else states.FAIL, **extra))
        except ValueError:
            continue  # outside this space: not part of this study
        order.append(rec["key"])
    finite = all(d.kind == "cat" or d.step is not None for d in dims.values())
    cap = grid_size(dims) if finite else None
    next_id = max((r.get("id", -1) for r in stored), default=-1) + 1
    asks = 0
    skipped = 0
    bar = _Progress(progress, n_trials - len(order), f"optimize {strategy} (bayes)")
    try:
        with ex.session(run_trial_batch, ctx) as sess:
            while len(order) < n_trials and asks < 20 * n_trials + 100:
                if cap is not None and len(order) >= cap:
                    break
                want = min(BAYES_BATCH, n_trials - len(order))
                batch, pending = [], []
                keys_in_batch: set[str] = set()
                while len(batch) < want and asks < 20 * n_trials + 100:
                    t = study.ask(dists)
                    asks += 1
                    p = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in t.params.items()}
                    if not all(c.holds(p) for c in param_cons):
                        mark(t, 1.0)
                        study.tell(t, state=states.FAIL)
                        skipped += 1
                        continue
                    key = params_key(p)
                    if key in done and key in order:
                        tell(t, done[key])  # asked again: reuse the first result
                        continue
                    if key in keys_in_batch:
                        pending.append((t, key))
                        continue
                    if key in done:  # in the store but not yet in this study (changed space): reuse
                        tell(t, done[key])
                        order.append(key)
                        continue
                    it = item(next_id, p)
                    next_id += 1
                    keys_in_batch.add(key)
                    batch.append((t, it))
                if not batch:
                    for t, key in pending:
                        tell(t, done[key]) if key in done else study.tell(t, state=states.FAIL)
                    continue
                results: dict[str, dict[str, Any]] = {}
                for _i, records in sess.map([[it] for _t, it in batch]):
                    accept(records, bar)
                    for r in records:
                        results[r["key"]] = r
                for t, it in batch:  # tell in ask order: deterministic whatever finished first
                    tell(t, results[it["key"]])
                    order.append(it["key"])
                for t, key in pending:
                    tell(t, done[key])
    finally:
        bar.close()
    return order, skipped


def _assemble(records, frame, dims, obj, metric_cons, cons, base, base_params, strategy, method, engine, ex,
              max_periods, pbo_splits, n_eval, n_resumed, skipped) -> OptimizationResult:
    keys = metric_keys()
    names = list(dims)
    rows = []
    for rec in sorted(records, key=lambda r: r["id"]):
        feasible = _feasible(rec, metric_cons)
        score = obj.score(rec["metrics"]) if not rec.get("error") else math.nan
        row: dict[str, Any] = {"trial": int(rec["id"]), "rank": math.nan, "feasible": bool(feasible),
                               "score": score}
        for k in names:
            row[k if k not in keys else f"param_{k}"] = rec["params"].get(k)
        for k in keys:
            row[k] = rec["metrics"].get(k, math.nan)
        row["error"] = rec.get("error") or ""
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        raise ParameterError("no trial was run")
    if not (table["error"] == "").any():
        first = table["error"].iloc[0]
        raise ParameterError(f"all {len(table)} trials failed; the first: {first}")
    rankable = table["feasible"] & ~table["score"].isna()
    ranked = table[rankable].sort_values(["score", "trial"], ascending=[False, True], kind="mergesort")
    table.loc[ranked.index, "rank"] = np.arange(1, len(ranked) + 1, dtype=np.float64)
    table["_grp"] = np.where(rankable, 0, np.where(table["feasible"], 1, 2))
    table = table.sort_values(["_grp", "rank", "trial"], kind="mergesort").drop(columns="_grp")
    table = table.reset_index(drop=True)

    # returns matrix of every trial that ran
    by_id = {int(r["id"]): r for r in records}
    ran = [r for r in sorted(records, key=lambda r: r["id"]) if not r.get("error") and r.get("returns")]
    idx = _bucket_index(frame.index, max_periods)
    cols = {}
    for r in ran:
        arr = decode_array(r["returns"])
        if arr is not None and len(arr) == len(idx):
            cols[int(r["id"])] = arr
    returns_matrix = pd.DataFrame(cols, index=idx)
    returns_matrix.columns.name = "trial"

    best_params: dict[str, Any] = {}
    best_metrics: dict[str, float] = {}
    best_config = None
    over: dict[str, Any] = {"dsr": math.nan, "psr": math.nan, "pbo": math.nan, "n_trials": len(ran)}
    if len(ranked):
        best_id = int(table.loc[0, "trial"])
        best = by_id[best_id]
        best_params = {**base_params, **best["params"]}
        best_metrics = dict(best["metrics"])
        best_config = base.model_copy(update={"params": best_params})
        srs = [r["stats"].get("sr", math.nan) for r in ran]
        over = _overfitting(best, srs, returns_matrix, pbo_splits, n_ran=len(ran))
    return OptimizationResult(
        table=table, best_params=best_params, best_metrics=best_metrics, returns_matrix=returns_matrix,
        overfitting=over, strategy=strategy, method=method, objective=obj.key, direction=obj.direction,
        engine=engine, executor=ex.describe(), space=dict(dims), constraints=[c.text for c in cons],
        best_config=best_config, n_evaluated=n_eval, n_resumed=n_resumed, n_skipped=skipped,
    )


def _overfitting(best, srs, returns_matrix, pbo_splits, n_ran: int) -> dict[str, Any]:
    """overfitting_report from the stored per-bar moments of the best trial (no need for its raw returns).

    N (`n_trials`) = every trial that ran (errors excluded), also those without a Sharpe (flat equity: never
    traded); the variance of the Sharpes is taken over the trials that have one."""
    from quantdesk.research.overfitting import expected_max_sharpe, pbo_cscv, probabilistic_sharpe_ratio

    st = best["stats"]
    arr = np.asarray(srs, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    n = max(int(n_ran), int(len(arr)))
    var = float(np.var(arr, ddof=1)) if len(arr) > 1 else 0.0
    sr, n_obs = st.get("sr", math.nan), st.get("n_obs", 0.0)
    out: dict[str, Any] = {
        "dsr": math.nan, "psr": math.nan, "pbo": math.nan, "n_trials": n, "sr_best": sr, "sr_variance": var,
        "expected_max_sr": math.nan, "skew": st.get("skew", math.nan), "kurtosis": st.get("kurtosis", math.nan),
        "n_obs": int(n_obs or 0), "pbo_splits": 0, "pbo_combinations": 0, "pbo_trials": 0,
    }
    if n >= 1 and sr is not None and math.isfinite(sr):
        sr0 = expected_max_sharpe(n, var)
        out["expected_max_sr"] = sr0
        out["psr"] = probabilistic_sharpe_ratio(sr, n_obs, out["skew"], out["kurtosis"], 0.0)
        out["dsr"] = probabilistic_sharpe_ratio(sr, n_obs, out["skew"], out["kurtosis"], sr0)
    m = returns_matrix.to_numpy()
    if m.ndim == 2 and m.shape[1] >= 2 and m.shape[0] >= 4:
        p = pbo_cscv(m, pbo_splits)
        out.update(pbo=p["pbo"], pbo_splits=p["n_splits"], pbo_combinations=p["n_combinations"],
                   pbo_trials=p["n_trials"])
    return out


__all__ = ["OptimizationResult", "optimize", "run_trial_batch", "overfitting_report"]
