"""One executor interface: in-process, process pool and (local) Ray give identical optimisation results."""

from __future__ import annotations

import importlib
import operator
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.research.executors import (
    InProcessExecutor,
    ProcessPoolExecutor,
    RayExecutor,
    cpu_count,
    make_executor,
)
from quantdesk.research.optimize import optimize

DATA = Path(__file__).resolve().parents[2] / "data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"
SPACE = {"fast": [5, 10, 15], "slow": [30, 60]}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64").iloc[:1200]


@pytest.fixture(scope="module")
def reference(bars):
    return optimize("sma_cross", bars, SPACE, executor=InProcessExecutor())


def _assert_identical(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.returns_matrix, b.returns_matrix, check_exact=True)
    assert a.best_params == b.best_params and a.best_metrics == b.best_metrics
    assert a.overfitting == b.overfitting


def test_make_executor():
    assert isinstance(make_executor(1), InProcessExecutor)
    ex = make_executor(2)
    assert isinstance(ex, ProcessPoolExecutor) and ex.workers == 2
    default = make_executor()
    assert default.workers == cpu_count() or isinstance(default, InProcessExecutor)
    with pytest.raises(ParameterError):
        make_executor(0)


def test_map_keeps_task_order():
    assert InProcessExecutor().map(operator.mul, 3, [1, 2, 3]) == [3, 6, 9]
    assert ProcessPoolExecutor(2).map(operator.mul, 3, list(range(8))) == [3 * i for i in range(8)]


def test_process_pool_gives_identical_results(bars, reference):
    res = optimize("sma_cross", bars, SPACE, executor=ProcessPoolExecutor(2))
    assert res.executor["executor"] == "process-pool"
    _assert_identical(res, reference)


def test_process_pool_event_engine_identical(bars):
    data = bars.iloc[:300]
    space = {"fast": [5, 8], "slow": [20]}
    a = optimize("sma_cross", data, space, engine="event")
    b = optimize("sma_cross", data, space, engine="event", executor=ProcessPoolExecutor(2))
    _assert_identical(a, b)


@pytest.mark.slow
def test_local_ray_gives_identical_results(bars, reference):
    ray = importlib.import_module("ray")
    if ray.is_initialized():  # pragma: no cover - another test left it running
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ex = RayExecutor("auto")  # joins the instance this test started
        assert ex.workers == 2
        res = optimize("sma_cross", bars, SPACE, executor=ex)
        assert res.executor["executor"] == "ray"
        _assert_identical(res, reference)
        assert ex.map(operator.mul, 2, [1, 2, 3]) == [2, 4, 6]
        ex.close()  # not the owner: leaves the instance running
        assert ray.is_initialized()
    finally:
        ray.shutdown()
