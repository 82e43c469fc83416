"""The optimiser: spaces, objectives, constraints, methods, fast path vs event engine, store and resume."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.errors import ParameterError
from quantdesk.research.objectives import Objective, parse_constraint, resolve_metric
from quantdesk.research.optimize import OptimizationResult, optimize
from quantdesk.research.space import build_space, grid, int_grid, parse_space_item
from quantdesk.research.trial_store import read_trials

DATA = Path(__file__).resolve().parents[2] / "data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"
KEYS = ["sharpe", "sortino", "total_return_pct", "max_drawdown_pct", "num_trades", "final_equity", "calmar",
        "win_rate_pct", "profit_factor", "exposure_pct", "total_fees"]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64").iloc[:1500]


def _same(a: float, b: float, rel: float = 1e-9) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=rel, abs=1e-9)


# ---- spaces, objectives, constraints ---------------------------------------------------------------------
def test_space_parsing():
    d = parse_space_item("fast=5:50:5")
    assert d.kind == "int" and d.values == tuple(range(5, 51, 5))
    d = parse_space_item("mode=roc,donchian")
    assert d.kind == "cat" and d.values == ("roc", "donchian")
    d = parse_space_item("x=1,2,3")
    assert d.values == (1, 2, 3)
    d = parse_space_item("nbdev=1.0:3.0")
    assert d.kind == "float" and len(d.values) == 10 and d.values[0] == 1.0 and d.values[-1] == 3.0
    d = parse_space_item("nbdev=0.5:1.5:0.25")
    assert d.values == (0.5, 0.75, 1.0, 1.25, 1.5)
    d = parse_space_item("period=10:40", {"period": {"type": "int"}})
    assert d.kind == "int" and d.values[0] == 10 and d.values[-1] == 40 and d.low == 10 and d.high == 40
    for bad in ("fast", "fast=", "fast=5:1:1", "fast=1:5:0", "fast=a:b", "fast=1:2:3:4"):
        with pytest.raises(ParameterError):
            parse_space_item(bad)


def test_default_space_from_declared_ranges():
    from quantdesk.strategies.loader import load_strategy

    space = build_space(load_strategy("sma_cross").param_space(), None)
    assert set(space) == {"fast", "slow"}
    assert space["fast"].values[0] == 1 and space["fast"].values[-1] == 1000
    assert 5 <= len(space["fast"].values) <= 10  # geometric: 1, 2, 5, 10, ...
    assert int_grid(2, 9) == list(range(2, 10))
    assert int_grid(10, 100) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    rsi = build_space(load_strategy("rsi_reversion").param_space(), None)
    assert len(rsi["lower"].values) == 10 and rsi["lower"].values[0] == 1.0
    with pytest.raises(ParameterError, match="no parameter"):
        build_space(load_strategy("sma_cross").param_space(), {"nope": [1]})


def test_objectives_and_aliases():
    assert resolve_metric("trades") == "num_trades"
    assert resolve_metric("return") == "total_return_pct"
    assert resolve_metric("dd") == "max_drawdown_pct"
    dd = Objective.parse("dd")
    assert dd.sign == 1 and dd.score({"max_drawdown_pct": -10.0}) > dd.score({"max_drawdown_pct": -20.0})
    vol = Objective.parse("vol")
    assert vol.sign == -1 and vol.direction == "minimize"
    assert Objective.parse("min:exposure").sign == -1
    assert math.isnan(Objective.parse("sharpe").score({"sharpe": math.nan}))
    with pytest.raises(ParameterError, match="unknown metric"):
        Objective.parse("sharp")


def test_constraints():
    c = parse_constraint("trades>=20", ["fast", "slow"])
    assert c.uses_metrics and c.holds({}, {"num_trades": 20.0}) and not c.holds({}, {"num_trades": 19.0})
    assert not c.holds({}, {"num_trades": math.nan})
    p = parse_constraint("slow > 2 * fast", ["fast", "slow"])
    assert not p.uses_metrics and p.holds({"fast": 10, "slow": 21}) and not p.holds({"fast": 10, "slow": 20})
    assert parse_constraint("-30 < dd <= 0", ["fast"]).holds({}, {"max_drawdown_pct": -10.0})
    for bad in ("trades", "bogus>1", "slow>fast; import os", "__import__('os')>1", "fast>1 and slow>2", ""):
        with pytest.raises(ParameterError):
            parse_constraint(bad, ["fast", "slow"])


# ---- the optimiser ----------------------------------------------------------------------------------------
def test_grid_fast_path_best_reproduces_with_run_backtest(bars):
    res = optimize("sma_cross", bars, {"fast": [5, 10, 20], "slow": [30, 50, 80]}, objective="sharpe",
                   constraints=["slow>fast", "trades>=3"])
    assert isinstance(res, OptimizationResult)
    assert res.engine == "fast"
    assert len(res.table) == 9
    assert list(res.table["rank"].dropna()) == list(range(1, int(res.table["feasible"].sum()) + 1))
    scores = res.table.loc[res.table["rank"].notna(), "score"].to_numpy()
    assert np.all(np.diff(scores) <= 0)
    assert res.best_params == {k: int(res.table.loc[0, k]) for k in ("fast", "slow")}
    assert res.best_config == BacktestConfig(strategy="sma_cross", params=res.best_params)
    rerun = run_backtest(res.best_config, bars)
    for key in KEYS:
        assert _same(rerun.metrics[key], res.best_metrics[key]), key
    assert res.returns_matrix.shape == (len(bars) - 1, 9)
    assert set(res.overfitting) >= {"dsr", "psr", "pbo", "n_trials"}
    assert res.overfitting["n_trials"] == 9
    assert 0 <= res.overfitting["pbo"] <= 1 and 0 <= res.overfitting["dsr"] <= 1


def test_event_engine_gives_the_fast_path_metrics(bars):
    data = bars.iloc[:800]
    space = {"fast": [5, 12], "slow": [30, 40]}
    fast = optimize("sma_cross", data, space)
    event = optimize("sma_cross", data, space, engine="event")
    assert event.engine == "event"
    assert list(fast.table["trial"]) == list(event.table["trial"])
    for key in KEYS:
        for a, b in zip(fast.table[key], event.table[key], strict=True):
            assert _same(float(a), float(b)), key
    np.testing.assert_allclose(fast.returns_matrix.to_numpy(), event.returns_matrix.to_numpy(), rtol=1e-9,
                               atol=1e-12)


def test_parameter_constraint_skips_and_metric_constraint_marks_infeasible(bars):
    res = optimize("sma_cross", bars, {"fast": [5, 10, 40], "slow": [10, 30]},
                   constraints=["slow>fast", "trades>=1000"])
    assert res.n_skipped == 3  # (10,10), (40,10), (40,30)
    assert len(res.table) == 3
    assert not res.table["feasible"].any() and res.table["rank"].isna().all()
    assert res.best_params == {} and res.best_config is None


def test_parameter_error_trial_is_infeasible_not_a_crash(bars):
    # rsi_reversion raises ParameterError for 0 < exit_level <= lower (no declared constraint covers it):
    # recorded, infeasible, with the message
    res = optimize("rsi_reversion", bars.iloc[:400], {"lower": [30], "exit_level": [0, 20]})
    bad = res.table[res.table["exit_level"] == 20].iloc[0]
    assert not bad["feasible"] and "must be > 'lower'" in bad["error"] and math.isnan(bad["rank"])
    assert res.best_params["exit_level"] == 0
    assert res.overfitting["n_trials"] == 1


def test_declared_validity_constraints_skip_invalid_combinations(bars):
    # ema_cross declares search_constraints = ("slow>fast",): fast >= slow is never tried (skipped, not failed)
    res = optimize("ema_cross", bars.iloc[:400], {"fast": [10, 30], "slow": [20]})
    assert list(res.table["fast"]) == [10] and res.n_skipped == 1
    assert "slow>fast" in [c.replace(" ", "") for c in res.constraints]


def test_constraint_on_a_parameter_the_search_holds_fixed(bars):
    # only `fast` is searched: `slow>fast` compares against slow's fixed value (base config), else its default (30)
    res = optimize("sma_cross", bars.iloc[:400], {"fast": [10, 25, 40]}, constraints=["slow>fast"])
    assert sorted(res.table["fast"]) == [10, 25] and res.n_skipped == 1
    fixed = BacktestConfig(strategy="sma_cross", params={"slow": 20})
    res = optimize("sma_cross", bars.iloc[:400], {"fast": [10, 25, 40]}, constraints=["slow>fast"],
                   base_config=fixed)
    assert list(res.table["fast"]) == [10] and res.n_skipped == 2


def test_all_trials_failing_is_a_parameter_error(bars):
    with pytest.raises(ParameterError, match="all 1 trials failed"):
        optimize("rsi_reversion", bars.iloc[:300], {"lower": [30], "exit_level": [20]})


def test_random_is_seeded_and_stays_in_the_space(bars):
    space = {"fast": (2, 40), "slow": (20, 120, 10)}
    a = optimize("sma_cross", bars, space, method="random", trials=12, seed=3, constraints=["slow>fast"])
    b = optimize("sma_cross", bars, space, method="random", trials=12, seed=3, constraints=["slow>fast"])
    c = optimize("sma_cross", bars, space, method="random", trials=12, seed=4, constraints=["slow>fast"])
    assert len(a.table) == 12
    pd.testing.assert_frame_equal(a.table, b.table)
    assert set(map(tuple, a.table[["fast", "slow"]].to_numpy())) != set(map(tuple, c.table[["fast", "slow"]].to_numpy()))
    assert a.table["fast"].between(2, 40).all() and a.table["slow"].isin(range(20, 121, 10)).all()
    assert (a.table["slow"] > a.table["fast"]).all()


def test_bayes_optuna_is_seeded(bars):
    importlib.import_module("optuna")
    space = {"fast": (2, 30), "slow": (30, 150, 5)}
    a = optimize("sma_cross", bars, space, method="bayes", trials=14, seed=1)
    b = optimize("sma_cross", bars, space, method="bayes", trials=14, seed=1)
    assert len(a.table) == 14 and a.method == "bayes"
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.best_params == b.best_params
    rerun = run_backtest(a.best_config, bars)
    assert _same(rerun.metrics["sharpe"], a.best_metrics["sharpe"])


def test_report_has_heatmap_or_importance(bars, tmp_path):
    from quantdesk.research.optimize_report import parameter_importance, write_report

    res = optimize("sma_cross", bars, {"fast": [5, 10], "slow": [30, 60]})
    html = write_report(res, tmp_path / "r.html").read_text()
    assert "Heat map" in html and "plotly" in html.lower() and "deflated Sharpe ratio" in html
    table = pd.DataFrame({"a": np.arange(40) % 5, "b": np.arange(40) % 3, "c": np.arange(40) % 7,
                          "feasible": True})
    table["score"] = table["a"] * 2.0 + 0.01 * table["b"]
    imp, method = parameter_importance(table, ["a", "b", "c"])
    assert "random forest" in method and imp["a"] > 0.8 and sum(imp.values()) == pytest.approx(1.0)


def test_report_importance_for_three_parameters(bars, tmp_path):
    from quantdesk.research.optimize_report import write_report

    res = optimize("rsi_reversion", bars.iloc[:500], {"period": [7, 14], "lower": [25.0, 35.0], "upper": [65.0, 75.0]},
                   method="random", trials=5, seed=2)
    assert res.engine == "fast" and len(res.table) == 5  # rsi_reversion is vectorised (backtest/signals.py)
    html = write_report(res, tmp_path / "r.html").read_text()
    assert "Parameter importance" in html


# ---- store and resume -------------------------------------------------------------------------------------
SPACE = {"fast": [4, 8, 12, 16], "slow": [20, 30, 45]}


def test_interrupt_and_resume_equals_uninterrupted_run(bars, tmp_path):
    full = optimize("sma_cross", bars, SPACE)
    store = tmp_path / "trials.jsonl"
    seen: list[str] = []

    def stop_after_5(rec):
        seen.append(rec["key"])
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        optimize("sma_cross", bars, SPACE, store_path=store, on_trial=stop_after_5)
    first = read_trials(store)
    assert 5 <= len(first) < 12  # whole finished batches are stored before the callback runs
    second_seen: list[str] = []
    res = optimize("sma_cross", bars, SPACE, store_path=store, on_trial=lambda r: second_seen.append(r["key"]))
    assert res.n_resumed == len(first) and res.n_evaluated == 12 - len(first)
    assert not set(second_seen) & {r["key"] for r in first}  # no trial ran twice
    keys = [r["key"] for r in read_trials(store)]
    assert len(keys) == 12 == len(set(keys))
    pd.testing.assert_frame_equal(res.table, full.table)
    pd.testing.assert_frame_equal(res.returns_matrix, full.returns_matrix)
    assert res.overfitting == full.overfitting
    # a third call runs nothing
    again = optimize("sma_cross", bars, SPACE, store_path=store)
    assert again.n_evaluated == 0 and again.n_resumed == 12


def test_event_engine_store_roundtrip_with_torn_line(bars, tmp_path):
    data = bars.iloc[:300]
    store = tmp_path / "t.jsonl"
    full = optimize("sma_cross", data, {"fast": [5, 8], "slow": [20]}, engine="event", store_path=store)
    lines = store.read_text().splitlines()
    store.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # header, one trial, a torn line
    res = optimize("sma_cross", data, {"fast": [5, 8], "slow": [20]}, engine="event", store_path=store)
    assert res.n_resumed == 1 and res.n_evaluated == 1
    pd.testing.assert_frame_equal(res.table, full.table)
    assert all(json.loads(x) for x in store.read_text().splitlines())


def test_store_for_other_data_is_refused(bars, tmp_path):
    store = tmp_path / "t.jsonl"
    optimize("sma_cross", bars.iloc[:500], {"fast": [5], "slow": [20]}, store_path=store)
    with pytest.raises(ParameterError, match="different data fingerprint"):
        optimize("sma_cross", bars.iloc[:600], {"fast": [5], "slow": [20]}, store_path=store)


def test_returns_are_bucketed_by_compounding(bars):
    res = optimize("sma_cross", bars, {"fast": [5], "slow": [20, 40]}, max_return_periods=100)
    fine = optimize("sma_cross", bars, {"fast": [5], "slow": [20, 40]})
    assert res.returns_matrix.shape == (100, 2)
    size = math.ceil((len(bars) - 1) / 100)
    r = fine.returns_matrix[0].to_numpy()
    np.testing.assert_allclose(res.returns_matrix[0].iloc[0], np.prod(1 + r[:size]) - 1, rtol=1e-10)
    assert res.returns_matrix.index[0] == fine.returns_matrix.index[size - 1]


def test_bad_inputs(bars):
    with pytest.raises(ParameterError, match="--method"):
        optimize("sma_cross", bars, {"fast": [5], "slow": [20]}, method="anneal")
    with pytest.raises(ParameterError):
        optimize("sma_cross", bars, {"fast": [5], "slow": [20]}, objective="nope")
    with pytest.raises(ParameterError, match="no parameter combination"):
        optimize("sma_cross", bars, {"fast": [50], "slow": [20]}, constraints=["slow>fast"])
    with pytest.raises(ParameterError, match="fast engine"):
        optimize("scalping", bars, {"threshold": [0.6]}, engine="fast")  # brackets: not vectorised
    assert len(grid(build_space({"a": {"type": "bool"}}, None))) == 2


def test_bayes_interrupt_and_resume(bars, tmp_path):
    importlib.import_module("optuna")
    store = tmp_path / "bayes.jsonl"
    space = {"fast": (2, 30), "slow": (30, 150, 5)}
    count = {"n": 0}

    def stop_after_4(rec):
        count["n"] += 1
        if count["n"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        optimize("sma_cross", bars, space, method="bayes", trials=10, seed=5, store_path=store,
                 constraints=["trades>=2"], on_trial=stop_after_4)
    stored = len(read_trials(store))
    assert stored >= 4
    res = optimize("sma_cross", bars, space, method="bayes", trials=10, seed=5, store_path=store,
                   constraints=["trades>=2"])
    assert len(res.table) == 10 and res.n_resumed == stored and res.n_evaluated == 10 - stored
    keys = [r["key"] for r in read_trials(store)]
    assert len(keys) == len(set(keys)) == 10
    assert sorted(res.table["trial"]) == list(range(10))


def test_store_reused_by_a_larger_grid(bars, tmp_path):
    store = tmp_path / "t.jsonl"
    optimize("sma_cross", bars, {"fast": [5, 10], "slow": [20]}, store_path=store)
    res = optimize("sma_cross", bars, {"fast": [2, 5, 10], "slow": [20]}, store_path=store)
    fresh = optimize("sma_cross", bars, {"fast": [2, 5, 10], "slow": [20]})
    assert res.n_resumed == 2 and res.n_evaluated == 1
    pd.testing.assert_frame_equal(res.table, fresh.table)


def test_overfitting_stats_match_a_direct_computation(bars):
    from quantdesk.research.overfitting import deflated_sharpe_ratio, moments, pbo_cscv

    res = optimize("sma_cross", bars, {"fast": [3, 5, 10, 20], "slow": [30, 50, 80, 120]})
    m = res.returns_matrix  # per-bar returns here (fewer bars than max_return_periods)
    assert m.shape == (len(bars) - 1, 16)
    best = int(res.table.loc[0, "trial"])
    mo = moments(m[best].to_numpy())
    srs = np.array([moments(m[c].to_numpy())["sr"] for c in m.columns])
    srs = srs[np.isfinite(srs)]
    dsr = deflated_sharpe_ratio(mo["sr"], mo["n_obs"], mo["skew"], mo["kurtosis"], 16, float(np.var(srs, ddof=1)))
    assert res.overfitting["dsr"] == pytest.approx(dsr, rel=1e-9)
    assert res.overfitting["n_trials"] == 16 and res.overfitting["n_obs"] == len(bars) - 1
    assert res.overfitting["pbo"] == pytest.approx(pbo_cscv(m.to_numpy(), 16)["pbo"])
