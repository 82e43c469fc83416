"""`quantdesk walk-forward | monte-carlo | check-bias` end to end on the bundled sample and tests/data files:
files written, --json documents, reproducibility, bias fixtures caught, one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import REAL_FILES

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=REPO)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdhome")


@pytest.fixture(scope="module")
def backtest_dir(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "run"
    proc = run_cli("--json", "backtest", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--start", "2018-01-01", "--end", "2018-12-31", "--no-record", "--no-html", "--out", str(out),
                   home=home)
    assert proc.returncode == 0, proc.stderr
    return out


# ---- monte-carlo -----------------------------------------------------------------------------------------
def test_monte_carlo_on_a_run_folder_is_reproducible(home: Path, backtest_dir: Path, tmp_path: Path) -> None:
    docs = []
    for name in ("a", "b"):
        proc = run_cli("--json", "monte-carlo", "--run", str(backtest_dir), "--method", "trades-bootstrap",
                       "--sims", "500", "--seed", "3", "--ruin-dd", "30", "--out", str(tmp_path / name), home=home)
        assert proc.returncode == 0, proc.stderr
        docs.append(json.loads(proc.stdout))
    a, b = docs
    assert a["distributions"] == b["distributions"] and a["prob_loss"] == b["prob_loss"]
    assert a["method"] == "trades-bootstrap" and a["sims"] == 500 and a["unit"] == "trades"
    for key in ("final_return_pct", "max_drawdown_pct", "sharpe"):
        d = a["distributions"][key]
        assert {"p5", "p25", "p50", "p75", "p95", "mean", "original"} <= set(d)
    assert 0.0 <= a["prob_ruin"] <= 1.0
    for f in ("summary.json", "simulations.csv", "montecarlo.html"):
        assert (tmp_path / "a" / f).is_file()
    assert len(pd.read_csv(tmp_path / "a" / "simulations.csv")) == 500
    summary = pd.read_csv(backtest_dir / "trades.csv")
    assert a["n"] == int((~summary["is_open"].astype(bool)).sum())


def test_monte_carlo_shuffle_keeps_the_final_return(home: Path, backtest_dir: Path, tmp_path: Path) -> None:
    proc = run_cli("--json", "monte-carlo", "--run", str(backtest_dir), "--sims", "300", "--out", str(tmp_path),
                   home=home)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)["distributions"]
    assert d["final_return_pct"]["p5"] == pytest.approx(d["final_return_pct"]["p95"], rel=1e-9)
    assert d["max_drawdown_pct"]["p5"] < d["max_drawdown_pct"]["p95"]


def test_monte_carlo_block_bootstrap_from_a_strategy(home: Path, tmp_path: Path) -> None:
    proc = run_cli("monte-carlo", "--strategy", "ema_cross", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--start", "2019-01-01", "--end", "2019-06-30", "--method", "returns-block-bootstrap",
                   "--block", "48", "--block-kind", "stationary", "--sims", "200", "--out", str(tmp_path), home=home)
    assert proc.returncode == 0, proc.stderr
    assert "Monte Carlo" in proc.stdout and "probability of loss" in proc.stdout
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["unit"] == "bars" and doc["block"] == 48 and doc["block_kind"] == "stationary"


# ---- walk-forward ----------------------------------------------------------------------------------------
def test_walk_forward_on_the_sample(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    proc = run_cli("--json", "walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--start", "2018-01-01", "--end", "2018-03-15", "--train", "20d", "--test", "10d",
                   "--space", "fast=5,10", "--space", "slow=30,60", "--constraint", "slow>fast", "--out", str(out),
                   home=home)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["n_windows"] >= 3 and len(doc["windows"]) == doc["n_windows"]
    assert "wfe" in doc and "oos" in doc and "is_mean" in doc
    for f in ("windows.csv", "oos_equity.csv", "oos_trades.csv", "summary.json", "report.html"):
        assert (out / f).is_file(), f
    windows = pd.read_csv(out / "windows.csv")
    trades = pd.read_csv(out / "oos_trades.csv")
    for _, w in windows.iterrows():
        mine = trades[trades["window"] == w["window"]]
        if len(mine):
            assert (pd.to_datetime(mine["entry_time"], utc=True) > pd.Timestamp(w["test_start"])).all()
    eq = pd.read_csv(out / "oos_equity.csv")
    assert eq["equity"].iloc[0] == pytest.approx(10_000.0)


def test_walk_forward_table_output(home: Path, tmp_path: Path) -> None:
    data = REAL_FILES["btc_1d"]
    proc = run_cli("walk-forward", "--strategy", "rsi_reversion", "--data", str(data), "--train", "300b",
                   "--test", "150b", "--anchored", "--method", "random", "--trials", "3", "--space", "period=7,14,21",
                   "--out", str(tmp_path / "wf"), home=home)
    assert proc.returncode == 0, proc.stderr
    assert "Walk-forward" in proc.stdout and "Totals" in proc.stdout


# ---- check-bias ------------------------------------------------------------------------------------------
def test_check_bias_catches_the_lookahead_fixture(home: Path) -> None:
    proc = run_cli("--json", "check-bias", "--strategy", "tests.fixtures.bias_strategies:LookaheadCentred",
                   "--symbol", "BTC/USDT", "--timeframe", "1h", "--samples", "4", "--bars", "400", home=home)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passed"] is False
    rep = doc["reports"][0]
    assert rep["status"] == "LOOK-AHEAD"
    assert any(f["name"] == "centred" for f in rep["lookahead"])


def test_check_bias_catches_the_warmup_fixture_in_the_table(home: Path) -> None:
    proc = run_cli("check-bias", "--strategy", "tests/fixtures/bias_strategies.py:WarmupBug",
                   "--symbol", "BTC/USDT", "--timeframe", "1h", "--samples", "2", "--bars", "600", home=home)
    assert proc.returncode == 1, proc.stderr
    assert "RECURSION" in proc.stdout and "'trend'" in proc.stdout


def test_check_bias_builtin_passes_on_a_file(home: Path) -> None:
    proc = run_cli("--json", "check-bias", "--strategy", "macd", "--data", str(REAL_FILES["btc_1d"]),
                   "--samples", "4", "--bars", "600", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = json.loads(proc.stdout)["reports"][0]
    assert rep["status"] == "PASS" and rep["checked"]


def test_check_bias_all_builtins_pass(home: Path) -> None:
    from quantdesk.strategies.loader import builtin_strategies

    proc = run_cli("--json", "check-bias", "--all-builtins", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--samples", "2", "--bars", "300", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passed"] is True
    assert {r["strategy"] for r in doc["reports"]} == set(builtin_strategies())
    assert all(r["status"] == "PASS" for r in doc["reports"])


# ---- errors ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["monte-carlo", "--out", "X"], "--run"),
        (["monte-carlo", "--run", "/no/such/dir", "--out", "X"], "not found"),
        (["monte-carlo", "--run", "R", "--method", "magic", "--out", "X"], "--method"),
        (["monte-carlo", "--run", "R", "--sims", "0", "--out", "X"], "--sims"),
        (["monte-carlo", "--run", "R", "--ruin-dd", "150", "--out", "X"], "--ruin-dd"),
        (["monte-carlo", "--strategy", "nope", "--symbol", "BTC/USDT", "--out", "X"], "unknown strategy"),
        (["walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--train", "10x", "--test", "5d",
          "--out", "X"], "--train"),
        (["walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--train", "100b", "--test", "50b",
          "--step", "10b", "--start", "2018-01-01", "--end", "2018-02-01", "--out", "X"], "--step"),
        (["walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--train", "100d", "--test", "50d",
          "--start", "2018-01-01", "--end", "2018-02-01", "--out", "X"], "too short"),
        (["walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--train", "100b", "--test", "50b",
          "--space", "nope=1,2", "--out", "X"], "nope"),
        (["walk-forward", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--test", "5d", "--out", "X"], "--train"),
        (["check-bias", "--strategy", "no_such_strategy", "--symbol", "BTC/USDT"], "unknown strategy"),
        (["check-bias", "--symbol", "BTC/USDT"], "--strategy"),
        (["check-bias", "--all-builtins", "--strategy", "sma_cross", "--symbol", "BTC/USDT"], "not both"),
        (["check-bias", "--strategy", "sma_cross", "--param", "fast=abc", "--symbol", "BTC/USDT"], "fast"),
        (["check-bias", "--strategy", "sma_cross", "--data", "/no/such/file.csv"], "not found"),
    ],
)
def test_errors_are_one_line_exit_2(home: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    args = [str(tmp_path / "out") if a == "X" else (str(tmp_path) if a == "R" else a) for a in args]
    proc = run_cli(*args, home=home)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
