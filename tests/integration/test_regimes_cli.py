"""`quantdesk regime ...` as a real process against an isolated QD_HOME: detect writes what the library computes,
the report of a backtest folder adds up to the backtest's own numbers, bad input is one line and exit != 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
BTC_1D = DATA / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv"


def run(home: Path, *args: str, check: bool = True, env_extra: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home), "COLUMNS": "200", **(env_extra or {})}
    env.pop("QD_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          cwd=home.parent, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"quantdesk {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_detect_writes_the_library_values_and_a_chart(tmp_path, real_ohlcv) -> None:
    from quantdesk.intel.regimes import detect_regimes

    home, out = tmp_path / "home", tmp_path / "out"
    doc = json.loads(run(home, "--json", "regime", "detect", "--data", str(BTC_1D), "--method", "bocpd",
                         "--param", "train=200", "--out", str(out)).stdout)
    csv = pd.read_csv(out / "regimes.csv")
    assert list(csv.columns) == ["timestamp", "regime", "regime_name", "p_regime_0", "p_regime_1", "p_regime_2",
                                 "p_regime_3", "p_changepoint", "bars_since_change"]
    want = detect_regimes(real_ohlcv["btc_1d"], "bocpd", train=200)
    assert len(csv) == len(want) and csv["timestamp"].iloc[0] == "2014-12-01T00:00:00Z"
    np.testing.assert_allclose(csv["p_changepoint"].to_numpy(), want["p_changepoint"].to_numpy(), rtol=1e-9)
    assert np.array_equal(csv["regime"].to_numpy(), want["regime"].to_numpy(), equal_nan=True)
    zeros = int(((want["bars_since_change"] == 0) & (want.index > want["regime"].first_valid_index())).sum())
    assert doc["changes"] == zeros and doc["method"] == "bocpd" and doc["bars"] == len(want)
    html = (out / "regimes.html").read_text()
    assert "plotly" in html and "<script src=" not in html  # plotly.js embedded: it opens offline


def test_report_of_a_backtest_folder_adds_up(tmp_path) -> None:
    home, bt = tmp_path / "home", tmp_path / "bt"
    run(home, "backtest", "--strategy", "sma_cross", "--data", str(BTC_1D), "--param", "fast=10",
        "--param", "slow=40", "--out", str(bt), "--no-record")
    doc = json.loads(run(home, "--json", "regime", "report", "--run", str(bt), "--method", "rules").stdout)
    table = pd.DataFrame(doc["by_regime"]).set_index("regime")
    summary = json.loads((bt / "summary.json").read_text())
    trades = pd.read_csv(bt / "trades.csv")
    assert table.loc["all", "trades"] == len(trades)
    assert table.loc["all", "return_pct"] == pytest.approx(summary["metrics"]["total_return_pct"], rel=1e-6)
    parts = table.drop(index="all")
    assert parts["trades"].sum() == len(trades) and parts["bars"].sum() == table.loc["all", "bars"]
    growth = np.prod(1 + parts["return_pct"].to_numpy() / 100)  # compounding per regime multiplies back up
    assert growth == pytest.approx(1 + table.loc["all", "return_pct"] / 100, rel=1e-9)


@pytest.mark.parametrize(("args", "needle"), [
    (("regime", "detect", "--data", str(BTC_1D), "--method", "nope"), "method"),
    (("regime", "detect", "--data", str(BTC_1D), "--param", "train=3"), "train"),
    (("regime", "detect", "--data", str(BTC_1D), "--param", "bogus=1"), "bogus"),
    (("regime", "detect", "--data", "missing.csv"), "not found"),
    (("regime", "report", "--run", "nowhere"), "not found"),
])
def test_bad_input_is_one_line_and_a_failure(tmp_path, args, needle) -> None:
    proc = run(tmp_path / "home", *args, check=False)
    assert proc.returncode != 0
    assert needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_report_of_a_paper_bot(tmp_path) -> None:
    home = tmp_path / "home"
    run(home, "paper", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol",
        "BTC/USDT", "--timeframe", "1m", "--speed", "max", "--start", "2022-01-05T00:00:00Z",
        "--end", "2022-01-05T12:00:00Z", "--bot-name", "rp", "--no-risk")
    doc = json.loads(run(home, "--json", "regime", "report", "--bot", "rp", "--method", "bocpd", "--param",
                         "train=100").stdout)
    table = pd.DataFrame(doc["by_regime"]).set_index("regime")
    status = json.loads(run(home, "--json", "paper", "status").stdout)
    assert doc["bot"] == "rp" and table.loc["all", "trades"] > 0
    assert table.drop(index="all")["trades"].sum() == table.loc["all", "trades"]
    # the equity curve of a bot = its committed snapshots (on fills, status changes and every N bars)
    from quantdesk.storage.trading import TradingStore

    store = TradingStore(os.environ.get("QD_DATABASE__URL") or f"sqlite:///{home / 'quantdesk.db'}")
    try:
        snaps = store.snapshots(store.get_bot("rp")["id"])
    finally:
        store.close()
    assert table.loc["all", "bars"] == len({s["ts"] for s in snaps}) - 1 > 20
    assert "rp" in json.dumps(status)
    bad = run(home, "regime", "report", "--bot", "rp", "--run", "x", check=False)
    assert bad.returncode != 0 and "exactly one" in bad.stderr
