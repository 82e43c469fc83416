"""`quantdesk indicators ...` end to end, in a subprocess with a fresh QD_HOME (bundled sample data only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env, timeout=300
    )


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_list_table(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "indicators", "list", "--group", "pattern")
    assert proc.returncode == 0, proc.stderr
    assert "cdl_engulfing" in proc.stdout
    assert "CDLENGULFING" in proc.stdout
    assert "rsi" not in proc.stdout.split()


def test_list_json_is_the_full_catalog(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--json", "indicators", "list")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    from quantdesk.indicators import catalog

    assert entries == json.loads(json.dumps(catalog()))
    rsi = next(e for e in entries if e["name"] == "rsi")
    assert rsi["talib"] == "RSI" and rsi["params"][0]["name"] == "period"


def test_list_search(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--json", "indicators", "list", "--search", "keltner")
    assert proc.returncode == 0, proc.stderr
    assert [e["name"] for e in json.loads(proc.stdout)] == ["keltner"]


def test_compute_rsi_json_on_bundled_sample(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--json", "indicators", "compute", "rsi", "--symbol", "BTC/USDT", "--timeframe", "1h",
                   "--param", "period=14")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["indicator"] == "rsi" and doc["params"] == {"period": 14}
    rows = doc["rows"]
    assert rows[0]["time"].endswith("Z") and set(rows[0]) == {"time", "rsi"}
    assert all(r["rsi"] is None for r in rows[:14]) and rows[14]["rsi"] is not None
    # same numbers as TA-Lib on the bundled file
    import talib

    from quantdesk.indicators import registry

    sample = Path(registry.__file__).parents[1] / "sample_data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"
    close = pd.read_csv(sample)["close"].to_numpy(np.float64)
    want = talib.RSI(close, timeperiod=14)
    got = np.array([np.nan if r["rsi"] is None else r["rsi"] for r in rows])
    assert len(got) == len(want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_compute_tail_csv_and_table(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "indicators", "compute", "bbands", "-t", "1h", "-p", "period=20", "--tail", "5",
                   "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "time,upper,middle,lower" and len(lines) == 6
    proc = run_cli(tmp_path, "indicators", "compute", "vwap", "-t", "1m", "--tail", "3")
    assert proc.returncode == 0, proc.stderr
    assert "vwap" in proc.stdout


@pytest.mark.parametrize(
    "args,words",
    [
        (("indicators", "compute", "no_such_thing"), ("no_such_thing",)),
        (("indicators", "compute", "rsi", "--param", "speriod=3"), ("speriod",)),
        (("indicators", "compute", "rsi", "--param", "period=abc"), ("period", "abc")),
        (("indicators", "compute", "rsi", "--param", "period=0"), ("period",)),
        (("indicators", "compute", "rsi", "--param", "period"), ("key=value",)),
        (("indicators", "list", "--group", "nope"), ("nope",)),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]) -> None:
    one_line_error(run_cli(tmp_path, *args), *words)
