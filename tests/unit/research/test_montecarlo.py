"""Monte Carlo: resampling properties, hand-computed probabilities, reproducibility, speed, run folders."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.research.montecarlo import (
    block_bootstrap_indices,
    bootstrap_matrix,
    load_run_dir,
    monte_carlo,
    path_statistics,
    prob_loss,
    prob_ruin,
    shuffle_matrix,
    trade_equity_returns,
    write_outputs,
)


@pytest.fixture()
def trade_returns() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(0.004, 0.03, 200)


def test_shuffle_is_a_permutation_and_keeps_the_final_return(trade_returns: np.ndarray) -> None:
    mat = shuffle_matrix(trade_returns, 300, np.random.default_rng(1))
    assert mat.shape == (300, 200)
    for row in mat[:20]:
        np.testing.assert_array_equal(np.sort(row), np.sort(trade_returns))  # without replacement
    mc = monte_carlo(returns=trade_returns, method="trades-shuffle", sims=300, seed=1)
    final = mc.stats["final_return_pct"]
    # the product of (1 + r) does not depend on the order
    expected = (np.prod(1.0 + trade_returns) - 1.0) * 100.0
    np.testing.assert_allclose(final, expected, rtol=1e-10)
    assert mc.original["final_return_pct"] == pytest.approx(expected, rel=1e-12)
    # ... while the path (drawdowns) changes
    dd = mc.stats["max_drawdown_pct"]
    assert np.ptp(dd) > 1.0
    assert len(np.unique(np.round(dd, 9))) > 50
    assert mc.prob_loss in (0.0, 1.0)


def test_bootstrap_percentiles_contain_the_original(trade_returns: np.ndarray) -> None:
    mc = monte_carlo(returns=trade_returns, method="trades-bootstrap", sims=2000, seed=11)
    for key in ("final_return_pct", "max_drawdown_pct", "sharpe"):
        p = mc.percentiles[key]
        assert p["p5"] <= mc.original[key] <= p["p95"], key
        assert p["p5"] <= p["p25"] <= p["p50"] <= p["p75"] <= p["p95"]
    # draws with replacement: some rows repeat values
    mat = bootstrap_matrix(trade_returns, 50, np.random.default_rng(2))
    assert any(len(np.unique(row)) < len(row) for row in mat)
    assert np.isin(mat, trade_returns).all()


def test_circular_block_bootstrap_with_block_n_reproduces_the_series() -> None:
    r = np.random.default_rng(5).normal(0, 0.01, 97)
    idx = block_bootstrap_indices(len(r), 40, len(r), np.random.default_rng(9), "circular")
    for row in idx:
        s = row[0]
        np.testing.assert_array_equal(row, (np.arange(len(r)) + s) % len(r))  # the series, rotated
    mc = monte_carlo(returns=r, method="returns-block-bootstrap", block=len(r), sims=40, seed=9)
    np.testing.assert_allclose(mc.stats["final_return_pct"], mc.original["final_return_pct"], rtol=1e-10)
    # with one start only (no rotation possible), the series itself comes back
    idx1 = block_bootstrap_indices(1, 3, 1, np.random.default_rng(0))
    assert idx1.tolist() == [[0], [0], [0]]


def test_block_bootstrap_blocks_are_contiguous() -> None:
    n, b = 100, 10
    idx = block_bootstrap_indices(n, 20, b, np.random.default_rng(4), "circular")
    assert idx.shape == (20, n)
    for row in idx:
        blocks = row.reshape(-1, b)
        assert ((np.diff(blocks, axis=1) % n) == 1).all()
    st = block_bootstrap_indices(n, 200, b, np.random.default_rng(4), "stationary")
    assert st.shape == (200, n) and st.min() >= 0 and st.max() < n
    # mean block length ~ b: the share of "continue" steps is ~ 1 - 1/b
    cont = ((np.diff(st, axis=1) % n) == 1).mean()
    assert 0.85 < cont < 0.95


def test_hand_computed_loss_and_ruin() -> None:
    assert prob_loss(np.array([-1.0, 0.0, 2.0, -0.5])) == 0.5
    assert prob_ruin(np.array([-10.0, -50.0, -49.9, -70.0]), 50) == 0.5
    # two trades +100% and -50%: every order ends at 0 %; the path -50% first has a 50% drawdown, the other
    # order (+100% then -50%) also draws down 50% from the peak: ruin at 50% is certain, loss impossible
    r = np.array([1.0, -0.5])
    mc = monte_carlo(returns=r, method="trades-shuffle", sims=100, seed=0, ruin_dd_pct=50)
    assert mc.prob_loss == 0.0
    assert mc.prob_ruin == 1.0
    # three returns, bootstrap: loss iff the draw has more -50% than +100%... hand-check with path stats
    st = path_statistics(np.array([[0.1, -0.2], [-0.2, 0.1], [0.5, 0.5]]))
    np.testing.assert_allclose(st["final_return_pct"], [-12.0, -12.0, 125.0])
    np.testing.assert_allclose(st["max_drawdown_pct"], [-20.0, -20.0, 0.0])
    assert prob_loss(st["final_return_pct"]) == pytest.approx(2 / 3)
    assert prob_ruin(st["max_drawdown_pct"], 20) == pytest.approx(2 / 3)
    assert prob_ruin(st["max_drawdown_pct"], 21) == 0.0


def test_sharpe_is_annualised_and_nan_without_variance() -> None:
    st = path_statistics(np.array([[0.01, 0.03], [0.02, 0.02]]), periods_per_year=4)
    r = np.array([0.01, 0.03])
    assert st["sharpe"][0] == pytest.approx(r.mean() / r.std(ddof=1) * 2)
    assert math.isnan(st["sharpe"][1])


@pytest.mark.parametrize("method", ["trades-shuffle", "trades-bootstrap", "returns-block-bootstrap"])
def test_same_seed_same_numbers(method: str, trade_returns: np.ndarray) -> None:
    a = monte_carlo(returns=trade_returns, method=method, sims=200, seed=7, block=5)
    b = monte_carlo(returns=trade_returns, method=method, sims=200, seed=7, block=5)
    c = monte_carlo(returns=trade_returns, method=method, sims=200, seed=8, block=5)
    for k in a.stats:
        np.testing.assert_array_equal(a.stats[k], b.stats[k])
    assert a.summary() == b.summary() or str(a.summary()) == str(b.summary())
    assert not np.array_equal(a.stats["max_drawdown_pct"], c.stats["max_drawdown_pct"])


def test_thousand_sims_of_thousand_trades_is_fast() -> None:
    r = np.random.default_rng(0).normal(0.001, 0.02, 1000)
    monte_carlo(returns=r, method="trades-shuffle", sims=10, seed=1)  # warm caches
    for method in ("trades-shuffle", "trades-bootstrap", "returns-block-bootstrap"):
        t = time.perf_counter()
        monte_carlo(returns=r, method=method, sims=1000, seed=1)
        assert time.perf_counter() - t < 2.0, method  # ~0.2 s on an idle core; generous for shared CI


def test_trade_equity_returns_compound_to_the_total_pnl() -> None:
    trades = pd.DataFrame({
        "entry_time": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-03", "2024-01-04"], utc=True),
        "pnl": [-50.0, 100.0, 30.0, 999.0],
        "is_open": [False, False, False, True],
    })
    r = trade_equity_returns(trades, 1000.0)
    np.testing.assert_allclose(r, [100 / 1000, -50 / 1100, 30 / 1050])  # entry order, open trade left out
    assert np.prod(1 + r) * 1000.0 == pytest.approx(1080.0)


def test_errors() -> None:
    with pytest.raises(ParameterError):
        monte_carlo(returns=np.ones(3), method="nope")
    with pytest.raises(ParameterError):
        monte_carlo(returns=np.ones(3), sims=0)
    with pytest.raises(ParameterError):
        monte_carlo(returns=np.ones(3), method="returns-block-bootstrap", block=0)
    with pytest.raises(DataError):
        monte_carlo(trades=pd.DataFrame({"pnl": []}), method="trades-shuffle")
    with pytest.raises(DataError):
        monte_carlo(trades=None, equity=None, method="returns-block-bootstrap")


def test_run_folder_round_trip(tmp_path) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.report import write_report
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.data import synth_ohlcv

    df = synth_ohlcv(1500, "1h", seed=3)
    res = run_backtest(BacktestConfig(strategy="sma_cross", params={"fast": 5, "slow": 20}), df)
    write_report(res, tmp_path / "run", data=df, html_report=False)
    trades, equity = load_run_dir(tmp_path / "run")
    assert len(trades) == len(res.trades)
    np.testing.assert_allclose(equity.to_numpy(), res.equity.to_numpy(), rtol=1e-9)
    mc = monte_carlo(trades=trades, equity=equity, method="trades-shuffle", sims=50, seed=1)
    closed = res.trades.loc[~res.trades["is_open"]]
    assert mc.n == len(closed)
    expected = closed["pnl"].sum() / float(res.equity.iloc[0]) * 100.0
    assert mc.original["final_return_pct"] == pytest.approx(expected, rel=1e-6)
    mc2 = monte_carlo(trades=trades, equity=equity, method="returns-block-bootstrap", sims=50, seed=1)
    assert mc2.original["final_return_pct"] == pytest.approx(res.metrics["total_return_pct"], rel=1e-6)
    paths = write_outputs(mc2, tmp_path / "mc")
    html = paths["montecarlo.html"].read_text()
    assert "Plotly.newPlot" in html and "<script src=\"http" not in html  # plotly.js embedded: offline
    assert len(pd.read_csv(paths["simulations.csv"])) == 50
    with pytest.raises(DataError):
        load_run_dir(tmp_path / "nothing")


def test_identical_numbers_whichever_executor_runs_the_chunks() -> None:
    """Chunks carry their own child seeds: in-process and a process pool give the same simulations."""
    from quantdesk.research import montecarlo as mcmod
    from quantdesk.research.executors import make_executor

    rng = np.random.default_rng(3)
    returns = rng.normal(0.0005, 0.01, 5_000)
    old = mcmod._CHUNK_CELLS
    mcmod._CHUNK_CELLS = 5_000 * 40  # 40 simulations per chunk -> 5 chunks for 200 sims
    try:
        serial = mcmod.monte_carlo(returns=returns, method="returns-block-bootstrap", sims=200, block=50, seed=11)
        pool = make_executor(jobs=2)
        try:
            pooled = mcmod.monte_carlo(returns=returns, method="returns-block-bootstrap", sims=200, block=50, seed=11,
                                       executor=pool)
        finally:
            pool.close()
    finally:
        mcmod._CHUNK_CELLS = old
    for key in serial.stats:
        np.testing.assert_array_equal(serial.stats[key], pooled.stats[key])
    assert serial.prob_ruin == pooled.prob_ruin and serial.percentiles == pooled.percentiles
