"""`quantdesk optimize` end to end: bundled sample and a small file, --json, files, resume, one-line errors."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.cli.backtest_cmds import read_data_file

DATA = Path(__file__).resolve().parents[1] / "data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("qdhome")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "btc_1h_small.csv"
    lines = DATA.read_text().splitlines()[:1201]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def sample_run(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("opt") / "sample"
    proc = run_cli("--json", "optimize", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--start", "2018-01-01", "--end", "2018-06-30", "--space", "fast=5:20:5",
                   "--space", "slow=30,60,90", "--constraint", "slow>fast", "--constraint", "trades>=2",
                   "--objective", "sharpe", "--jobs", "1", "--out", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out


def test_sample_run_json_and_files(sample_run, home) -> None:
    doc, out = sample_run
    for name in ("results.csv", "best_config.json", "report.html", "summary.json", "trials.jsonl"):
        assert (out / name).is_file(), name
    assert doc["trials"] == 12 and doc["engine"] == "fast" and doc["method"] == "grid"
    assert set(doc["overfitting"]) >= {"dsr", "psr", "pbo", "n_trials"}
    assert doc["overfitting"]["n_trials"] == 12
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 12 and {"rank", "feasible", "fast", "slow", "sharpe", "num_trades"} <= set(table.columns)
    assert table.loc[0, "rank"] == 1
    cfg = BacktestConfig.model_validate_json((out / "best_config.json").read_text())
    assert cfg.params == doc["best_params"] and cfg.start == "2018-01-01"
    assert doc["backtest_command"].startswith("quantdesk backtest --strategy sma_cross --param fast=")
    html = (out / "report.html").read_text()
    assert "Heat map" in html and "Probability of backtest overfitting".lower() in html.lower()


def test_printed_backtest_command_reproduces_the_best(sample_run, home, tmp_path) -> None:
    doc, _out = sample_run
    args = doc["backtest_command"].split()[1:]  # drop "quantdesk"
    proc = run_cli("--json", *args, "--out", str(tmp_path / "bt"), "--no-html", "--no-record", home=home)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    for key in ("sharpe", "total_return_pct", "num_trades", "max_drawdown_pct"):
        assert metrics[key] == pytest.approx(doc["best_metrics"][key], rel=1e-9), key


def test_file_run_resume_and_human_output(small_file, home, tmp_path) -> None:
    out = tmp_path / "opt"
    args = ["optimize", "--strategy", "sma_cross", "--data", str(small_file), "--space", "fast=5,10",
            "--space", "slow=20,40", "--jobs", "1", "--out", str(out)]
    first = run_cli(*args, home=home)
    assert first.returncode == 0, first.stderr
    assert "Overfitting" in first.stdout and "deflated Sharpe ratio" in first.stdout
    assert "quantdesk backtest --strategy sma_cross" in first.stdout
    again = run_cli(*args, home=home)  # the store exists: needs --resume
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr
    resumed = run_cli("--json", *args, "--resume", home=home)
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["resumed"] == 4 and doc["evaluated"] == 0
    frame, _ = read_data_file(small_file, None)
    best = BacktestConfig.model_validate_json((out / "best_config.json").read_text())
    assert run_backtest(best, frame).metrics["sharpe"] == pytest.approx(doc["best_metrics"]["sharpe"], rel=1e-9)


def test_bayes_on_file(small_file, home, tmp_path) -> None:
    importlib.import_module("optuna")
    proc = run_cli("--json", "optimize", "--strategy", "sma_cross", "--data", str(small_file), "--method", "bayes",
                   "--trials", "6", "--space", "fast=2:20", "--space", "slow=25:100", "--jobs", "1",
                   "--out", str(tmp_path / "b"), home=home)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["trials"] == 6 and doc["method"] == "bayes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown strategy"),
        (["--strategy", "sma_cross", "--space", "fast=5:1:1"], "--space"),
        (["--strategy", "sma_cross", "--space", "bogus=1,2"], "no parameter 'bogus'"),
        (["--strategy", "sma_cross", "--constraint", "trades>>2"], "--constraint"),
        (["--strategy", "sma_cross", "--constraint", "wat>2"], "neither a strategy parameter"),
        (["--strategy", "sma_cross", "--objective", "sharp"], "unknown metric"),
        (["--strategy", "sma_cross", "--method", "anneal"], "--method"),
        (["--strategy", "sma_cross", "--jobs", "0"], "--jobs"),
        (["--strategy", "sma_cross", "--space", "fast=50", "--space", "slow=20", "--constraint", "slow>fast"],
         "no parameter combination"),
    ],
)
def test_bad_inputs_one_line_exit_2(args, message, small_file, home, tmp_path) -> None:
    proc = run_cli("optimize", *args, "--data", str(small_file), "--out", str(tmp_path / "x"), home=home)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_missing_out_and_missing_data(home, tmp_path) -> None:
    proc = run_cli("optimize", "--strategy", "sma_cross", "--symbol", "BTC/USDT", home=home)
    assert proc.returncode == 2 and "--out" in proc.stderr
    proc = run_cli("optimize", "--strategy", "sma_cross", "--data", str(tmp_path / "none.csv"), "--out",
                   str(tmp_path / "o"), home=home)
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_sigint_keeps_finished_trials_and_resume_completes(small_file, home, tmp_path) -> None:
    import signal
    import time

    out = tmp_path / "sig"
    args = ["optimize", "--strategy", "sma_cross", "--data", str(small_file), "--engine", "event",
            "--space", "fast=3:18:1", "--space", "slow=20,30,40", "--jobs", "1", "--out", str(out)]
    total = 16 * 3  # enough trials that an interrupt after the first two lands mid-run on a fast machine
    env = {**os.environ, "QD_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "quantdesk", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    store = out / "trials.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if store.exists() and len(store.read_text().splitlines()) >= 3:  # header + 2 trials
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=120)
    kept = len(store.read_text().splitlines()) - 1
    if proc.returncode == 0 or kept == total:  # pragma: no cover - the machine finished every trial first
        pytest.skip("the run finished before the interrupt")
    assert proc.returncode == 130 and "--resume" in stderr and "Traceback" not in stderr
    assert 2 <= kept < total
    resumed = run_cli("--json", *args, "--resume", home=home)
    assert resumed.returncode == 0, resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["resumed"] == kept and doc["evaluated"] == total - kept and doc["trials"] == total
    fresh = run_cli("--json", *args[:-1], str(tmp_path / "fresh"), home=home)
    assert fresh.returncode == 0, fresh.stderr
    a = pd.read_csv(out / "results.csv")
    b = pd.read_csv(tmp_path / "fresh" / "results.csv")
    pd.testing.assert_frame_equal(a, b)
