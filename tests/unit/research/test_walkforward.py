"""Walk-forward: windows, out-of-sample runs with warm-up (no trade before the test window), stitching, WFE."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.research.walkforward import make_windows, parse_span, run_oos, walk_forward, write_outputs

SPACE = {"fast": [5, 10], "slow": [30, 60]}
BUY_WHEN_FLAT = f"{Path(__file__).resolve().parents[2] / 'fixtures' / 'research_strategies.py'}:BuyWhenFlat"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    from quantdesk.data import synth_ohlcv

    return synth_ohlcv(1400, "1h", seed=5)


@pytest.fixture(scope="module")
def wf(frame: pd.DataFrame):
    return walk_forward("sma_cross", frame, train="400b", test="200b", space=SPACE)


def test_parse_span() -> None:
    assert parse_span("500b").bars == 500
    assert parse_span("180d").delta == pd.Timedelta(days=180)
    assert parse_span("12h").delta == pd.Timedelta(hours=12)
    assert parse_span("4w").delta == pd.Timedelta(weeks=4)
    for bad in ("", "10", "abc", "0d", "-5d", "1.5b", "3y"):
        with pytest.raises(ParameterError):
            parse_span(bad)


def test_rolling_and_anchored_bar_windows(frame: pd.DataFrame) -> None:
    idx = frame.index[:1000]
    ws = make_windows(idx, parse_span("400b"), parse_span("200b"))
    assert [(w.train_start, w.train_end, w.test_start, w.test_end) for w in ws] == [
        (0, 400, 400, 600), (200, 600, 600, 800), (400, 800, 800, 1000)]
    wa = make_windows(idx, parse_span("400b"), parse_span("200b"), anchored=True)
    assert [(w.train_start, w.train_end, w.test_end) for w in wa] == [(0, 400, 600), (0, 600, 800), (0, 800, 1000)]
    gap = make_windows(idx, parse_span("400b"), parse_span("100b"), parse_span("300b"))
    assert [(w.test_start, w.test_end) for w in gap] == [(400, 500), (700, 800)]


def test_duration_windows(frame: pd.DataFrame) -> None:
    ws = make_windows(frame.index, parse_span("20d"), parse_span("10d"))
    assert ws
    for w in ws:
        train_len = frame.index[w.train_end] - frame.index[w.train_start]
        test_len = frame.index[w.test_end - 1] - frame.index[w.test_start] + pd.Timedelta(hours=1)
        assert train_len == pd.Timedelta(days=20)
        assert test_len == pd.Timedelta(days=10)
    # only complete test windows
    assert frame.index[ws[-1].test_end - 1] <= frame.index[-1]


def test_no_oos_trade_starts_before_its_test_window(wf, frame: pd.DataFrame) -> None:
    assert len(wf.results) == 5
    total = 0
    for r in wf.results:
        t0, t1 = frame.index[r.window.test_start], frame.index[r.window.test_end - 1]
        if len(r.trades):
            assert (pd.to_datetime(r.trades["entry_time"], utc=True) > t0).all()  # fills at the next bar's open
            assert (pd.to_datetime(r.trades["entry_time"], utc=True) <= t1).all()
        assert r.equity.index[0] == t0 and r.equity.index[-1] == t1
        assert r.equity.iloc[0] == pytest.approx(10_000.0)  # warm-up bars leave the cash untouched
        assert r.warmup_bars == 400
        total += len(r.trades)
    assert total > 0
    assert len(wf.oos_trades) == total
    assert (wf.oos_trades.groupby("window")["entry_time"].min().index >= 0).all()


def test_orders_are_blocked_during_warmup(frame: pd.DataFrame) -> None:
    """BuyWhenFlat buys on every flat bar: with warm-up it must first buy on the first TEST bar."""
    cfg = BacktestConfig(strategy=BUY_WHEN_FLAT)
    trades, equity, metrics, used = run_oos(BUY_WHEN_FLAT, {}, frame, 300, 400, 100, cfg)
    assert used == 100
    assert len(trades) == 1
    assert trades["entry_time"].iloc[0] == frame.index[301]  # ordered on bar 300's close, filled at 301's open
    assert len(equity) == 100 and equity.index[0] == frame.index[300]
    assert metrics["bars"] == 100
    # warm-up is capped by the bars available before the window
    _, _, _, used0 = run_oos(BUY_WHEN_FLAT, {}, frame, 30, 100, 100, cfg)
    assert used0 == 30


def test_warm_indicators_trade_early_in_the_window(frame: pd.DataFrame) -> None:
    """slow=60: with no warm-up no cross can happen in the first 60 test bars; with warm-up it can."""
    cfg = BacktestConfig(strategy="sma_cross")
    firsts_warm, firsts_cold = [], []
    for start in range(200, 1300, 100):
        tw, _, _, _ = run_oos("sma_cross", {"fast": 5, "slow": 60}, frame, start, start + 100, 400, cfg)
        tc, _, _, _ = run_oos("sma_cross", {"fast": 5, "slow": 60}, frame, start, start + 100, 0, cfg)
        if len(tw):
            firsts_warm.append(frame.index.get_loc(tw["entry_time"].iloc[0]) - start)
        if len(tc):
            firsts_cold.append(frame.index.get_loc(tc["entry_time"].iloc[0]) - start)
    assert all(f >= 60 for f in firsts_cold)
    assert any(f < 60 for f in firsts_warm)


def test_stitched_equity_compounds_window_returns(wf) -> None:
    eq = wf.oos_equity
    assert eq["equity"].iloc[0] == pytest.approx(10_000.0)
    level = 10_000.0
    for r in wf.results:
        part = eq.loc[eq["window"] == r.window.number, "equity"]
        assert part.iloc[0] == pytest.approx(level)
        growth = float(r.equity.iloc[-1] / r.equity.iloc[0])
        assert part.iloc[-1] == pytest.approx(level * growth)
        np.testing.assert_allclose(part.to_numpy() / part.iloc[0], (r.equity / r.equity.iloc[0]).to_numpy())
        level = part.iloc[-1]
    assert wf.oos_metrics["final_equity"] == pytest.approx(level)
    assert not eq.index.has_duplicates and eq.index.is_monotonic_increasing


def test_params_are_the_train_window_optimum_and_wfe(wf, frame: pd.DataFrame) -> None:
    from quantdesk.research.optimize import optimize

    r = wf.results[2]
    opt = optimize("sma_cross", frame.iloc[r.window.train_start : r.window.train_end], SPACE)
    assert r.params == opt.best_params
    assert r.is_metrics["sharpe"] == pytest.approx(opt.best_metrics["sharpe"])
    # WFE annualises linearly (Pardo): the ratio of the windows' returns per bar, from the equity curves
    for r in wf.results:
        train_bars = r.window.train_end - r.window.train_start
        is_per_bar = r.is_metrics["total_return_pct"] / train_bars
        oos_per_bar = (r.equity.iloc[-1] / r.equity.iloc[0] - 1) * 100 / len(r.equity)
        if is_per_bar > 0:
            assert r.wfe == pytest.approx(oos_per_bar / is_per_bar)
        else:
            assert math.isnan(r.wfe)
    is_mean = np.mean([r.is_metrics["total_return_pct"] / (r.window.train_end - r.window.train_start)
                       for r in wf.results])
    eq = wf.oos_equity["equity"]
    if is_mean > 0:
        assert wf.wfe == pytest.approx((eq.iloc[-1] / wf.cash - 1) * 100 / len(eq) / is_mean)


def test_output_files(wf, tmp_path) -> None:
    paths = write_outputs(wf, tmp_path / "wf")
    windows = pd.read_csv(paths["windows.csv"])
    assert len(windows) == 5
    assert {"param_fast", "param_slow", "is_sharpe", "oos_sharpe", "wfe", "test_start"} <= set(windows.columns)
    eq = pd.read_csv(paths["oos_equity.csv"])
    assert list(eq.columns) == ["timestamp", "equity", "window", "drawdown_pct"]
    assert len(eq) == 5 * 200
    doc = json.loads(paths["summary.json"].read_text())
    assert doc["n_windows"] == 5 and "oos" in doc and "is_mean" in doc and "wfe" in doc
    assert len(doc["windows"]) == 5 and doc["windows"][0]["params"]
    html = paths["report.html"].read_text()
    assert "Plotly.newPlot" in html and '<script src="http' not in html


def test_anchored_run(frame: pd.DataFrame) -> None:
    wfa = walk_forward("sma_cross", frame.iloc[:1000], train="400b", test="300b", anchored=True,
                       space={"fast": [5], "slow": [30, 60]})
    assert [r.window.train_start for r in wfa.results] == [0, 0]
    assert [r.window.train_end for r in wfa.results] == [400, 700]


def test_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(ParameterError):
        walk_forward("sma_cross", frame, train="400b", test="200b", step="100b", space=SPACE)
    with pytest.raises(DataError):
        walk_forward("sma_cross", frame.iloc[:300], train="400b", test="200b", space=SPACE)
    with pytest.raises(ParameterError):
        walk_forward("sma_cross", frame, train="400x", test="200b", space=SPACE)
    with pytest.raises(ParameterError):
        walk_forward("sma_cross", frame, train="400b", test="200b", space={"nope": [1]})
