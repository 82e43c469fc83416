"""Every built-in strategy can be optimised and walked forward with its declared default space (no --space),
on the bundled BTC/USDT sample: the best parameters lie in that space and satisfy its declared constraints.
Strategies that cannot run on one series, or would never trade, are refused up front with a reason."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from tests.conftest import REAL_FILES

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError
from quantdesk.research.objectives import parse_constraints
from quantdesk.research.optimize import optimize
from quantdesk.research.space import strategy_constraints, strategy_space
from quantdesk.research.walkforward import walk_forward
from quantdesk.strategies.loader import builtin_strategies

# what a default search of these needs besides the space (ml_signal: no registered model here, so online mode)
BASE_PARAMS = {"ml_signal": {"online": True, "online_window": 300, "online_retrain": 100}}
REFUSED = {"pairs": "trades 2 instruments", "ml_signal": "no model given"}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    df = pd.read_csv(REAL_FILES["btc_1h"])
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64").iloc[-1500:]


def _in_space(dim, value) -> bool:
    if dim.low is not None:  # a range: random search samples it (on its step's lattice when it has one)
        return dim.low - 1e-9 <= value <= dim.high + 1e-9
    return any(value == v or (isinstance(v, float) and math.isclose(value, v)) for v in dim.values)


@pytest.mark.parametrize("name", sorted(builtin_strategies()))
def test_optimize_and_walk_forward_with_the_default_space(name, bars) -> None:
    cls = builtin_strategies()[name]
    dims = strategy_space(cls)
    base = BacktestConfig(strategy=name, params=BASE_PARAMS.get(name, {}))
    if name in REFUSED:
        with pytest.raises(ParameterError, match=REFUSED[name]):
            optimize(name, bars, None, method="random", trials=3, seed=1)
        with pytest.raises(ParameterError, match=REFUSED[name]):
            walk_forward(name, bars, train="30d", test="15d", method="random", trials=2)
        if name not in BASE_PARAMS:
            return
    res = optimize(name, bars, None, method="random", trials=3, seed=1, base_config=base)
    assert res.best_config is not None, f"{name}: no feasible trial with the default space"
    searched = {k: v for k, v in res.best_params.items() if k in dims}
    assert set(searched) == set(dims)
    assert all(_in_space(dims[k], v) for k, v in searched.items()), (searched, dims)
    held = {k: spec.get("default") for k, spec in cls.param_space().items()} | dict(base.params)
    cons = parse_constraints(strategy_constraints(cls), list(cls.param_space()), held)
    assert all(c.holds(res.best_params) for c in cons if not c.uses_metrics)

    wf = walk_forward(name, bars, train="30d", test="15d", method="random", trials=4, base_config=base)
    assert len(wf.windows) >= 2 and len(wf.results) == len(wf.windows)
    for window in wf.results:
        chosen = {k: v for k, v in window.params.items() if k in dims}
        assert set(chosen) == set(dims) and all(_in_space(dims[k], v) for k, v in chosen.items())
