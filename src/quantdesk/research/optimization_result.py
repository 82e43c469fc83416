"""`OptimizationResult` and how it is assembled: the ranked trial table, the best trial, the returns matrix and
the overfitting statistics (DSR, PSR, PBO) of quantdesk.research.optimize.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError
from quantdesk.research.objectives import Constraint, metric_keys
from quantdesk.research.space import (
    Dimension,
)
from quantdesk.research.trial_store import decode_array
from quantdesk.research.trial_workers import bucket_index


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




def _feasible(rec: Mapping[str, Any], metric_cons: Sequence[Constraint]) -> bool:
    if rec.get("error"):
        return False
    return all(c.holds(rec["params"], rec["metrics"]) for c in metric_cons)



def assemble_result(records, frame, dims, obj, metric_cons, cons, base, base_params, strategy, method, engine, ex,
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
    idx = bucket_index(frame.index, max_periods)
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
        first_trial: Any = table.loc[0, "trial"]
        best_id = int(first_trial)
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


