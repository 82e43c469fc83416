"""Bayesian search for quantdesk.research.optimize: Optuna's TPE sampler, asked in batches of `BAYES_BATCH` so the
sequence does not depend on the executor; a point asked twice reuses the first result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from quantdesk.core.errors import ParameterError
from quantdesk.research.objectives import Constraint, Objective
from quantdesk.research.space import (
    Dimension,
    grid_size,
    params_key,
)
from quantdesk.research.trial_progress import TrialProgress
from quantdesk.research.trial_workers import run_trial_batch

BAYES_BATCH = 8


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


def run_bayes(dims, n_trials, seed, obj, param_cons, metric_cons, done, ex, ctx, item, accept, progress, strategy):
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
            extra: dict[str, Any] = (
                {"constraints": {"metrics": violation}} if new_api else {"user_attrs": {"violation": violation}}
            )
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
    bar = TrialProgress(progress, n_trials - len(order), f"optimize {strategy} (bayes)")
    try:
        with ex.session(run_trial_batch, ctx) as sess:
            while len(order) < n_trials and asks < 20 * n_trials + 100:
                if cap is not None and len(order) >= cap:
                    break
                want = min(BAYES_BATCH, n_trials - len(order))
                batch: list[tuple[Any, dict[str, Any]]] = []  # (optuna trial, work item)
                pending: list[tuple[Any, str]] = []  # (optuna trial, params key)
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


