"""Model search: a grid of model parameters, each cross-validated with the SAME purged splits, the best chosen by
out-of-sample log loss, and its Sharpe DEFLATED for the number of configurations tried.

    res = search(frame, spec, {"num_leaves": [4, 8, 16], "learning_rate": [0.03, 0.1]}, executor=ex)
    res.table          # one row per configuration: params, auc, logloss, brier, accuracy, baseline, sharpe
    res.best_params    # the winner's parameters
    res.result         # the winner trained like `train` (spec.trials = number of configurations)

Every (configuration, fold) pair is one task of one executor session (in-process, process pool or Ray), so a
search parallelises over both; each task is a pure function of (data, spec, split) and every executor gives the
same table. Selecting the best of N configurations inflates its Sharpe: the deflated Sharpe ratio uses
N = the number of configurations and the variance of their out-of-sample Sharpe ratios.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError

Progress = Callable[[int, int, str], None]


@dataclass
class SearchResult:
    table: pd.DataFrame
    best_params: dict[str, Any]
    result: Any  # TrainResult of the winner

    def summary(self) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        return to_jsonable({**self.result.summary(), "search": {"configurations": len(self.table),
                                                                 "best_params": self.best_params,
                                                                 "table": self.table.to_dict(orient="records")}})


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """`name=v1,v2,...` (repeat) -> {name: [v1, v2, ...]} with numbers parsed."""
    from quantdesk.ml.features import _number

    grid: dict[str, list[Any]] = {}
    for item in items:
        name, eq, values = item.partition("=")
        vals = [_number(v.strip()) for v in values.split(",") if v.strip()]
        if not eq or not name.strip() or not vals:
            raise ParameterError(f"--search {item!r}: expected name=v1,v2,... e.g. num_leaves=4,8,16")
        grid[name.strip()] = vals
    return grid


def search(frame: pd.DataFrame, spec: Any, grid: Mapping[str, Sequence[Any]], *, symbol: str = "",
           timeframe: str = "", executor: Any = None, progress: Progress | None = None,
           max_configs: int = 200) -> SearchResult:
    from quantdesk.ml.evaluation import signal_strategy
    from quantdesk.ml.training import assemble, prepare_dataset, run_folds, train

    if not grid:
        raise ParameterError("a search needs at least one --search name=v1,v2")
    names = list(grid)
    combos = list(itertools.product(*(list(grid[n]) for n in names)))
    if len(combos) > max_configs:
        raise ParameterError(f"the grid has {len(combos)} configurations (at most {max_configs})")
    specs = [spec.model_copy(update={"params": {**spec.params, **dict(zip(names, c, strict=True))}}) for c in combos]
    ds = prepare_dataset(frame, spec, base_timeframe=timeframe or None)
    splitter, splits, results = run_folds(ds, specs, executor=executor, progress=progress)
    index = pd.DatetimeIndex(frame.index)
    rows = []
    for c, (sp, res) in enumerate(zip(specs, results, strict=True)):
        cv = assemble(ds, sp, splitter, splits, res, index)
        s = cv.summary
        rows.append({"config": c, **dict(zip(names, combos[c], strict=True)), "auc": s["auc"],
                     "logloss": s["logloss"], "brier": s["brier"], "accuracy": s["accuracy"],
                     "baseline_accuracy": s["baseline_accuracy"], "sharpe": s["strategy"]["sharpe"]})
        rows[-1]["_oos"] = cv.oos
    table = pd.DataFrame(rows)
    best = int(table.sort_values(["logloss", "config"]).iloc[0]["config"])
    sharpes = table["sharpe"].to_numpy(dtype=np.float64)
    var = float(np.nanvar(sharpes, ddof=1)) if np.isfinite(sharpes).sum() > 1 else None
    oos: Any = table.loc[best, "_oos"]  # the cell holds the config's out-of-sample frame
    first = oos[oos["path"] == 0]
    deflated = signal_strategy(first["proba"].to_numpy(), first["next_ret"].to_numpy(), upper=spec.upper,
                               lower=spec.lower, allow_short=spec.allow_short, fee=spec.fee,
                               trials=max(spec.trials, len(combos)), sr_variance=var)
    table = table.drop(columns=["_oos"])
    best_params: dict[str, Any] = {n: table.loc[best, n] for n in names}
    best_params = {k: (v.item() if hasattr(v, "item") else v) for k, v in best_params.items()}
    winner = spec.model_copy(update={"params": {**spec.params, **best_params},
                                     "trials": max(spec.trials, len(combos))})
    result = train(frame, winner, symbol=symbol, timeframe=timeframe, executor=executor, progress=progress)
    strat = result.cv["strategy"]
    strat["dsr"] = deflated["dsr"]
    strat["dsr_significant"] = bool(math.isfinite(deflated["dsr"]) and deflated["dsr"] > 0.95)
    strat["search_sr_variance"] = var
    result.meta["cv"] = result.cv
    return SearchResult(table, best_params, result)
