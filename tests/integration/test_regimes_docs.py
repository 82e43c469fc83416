"""docs/regimes.md: every shell command and Python block runs as written (in a scratch folder holding
`btc_1d.csv` = the BTC daily test file and a synthetic `trades.csv`), and every TOML block is a valid config."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "regimes.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(DOC.read_text()) if kind == lang]


@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "tests" / "data" / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv", tmp_path / "btc_1d.csv")
    rng = np.random.default_rng(0)
    n = 3000
    amount = np.exp(rng.normal(-2, 0.8, n))
    amount[[1000, 2000]] *= 500
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="1s", tz="UTC").strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "price": 40_000.0, "amount": amount,
        "side": np.where(rng.random(n) < 0.5, "buy", "sell")}).to_csv(tmp_path / "trades.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_shell_examples_run(scratch: Path) -> None:
    env = {**os.environ, "QD_HOME": str(scratch / "home"), "COLUMNS": "200"}
    env.pop("QD_CONFIG", None)
    commands = [line for body in blocks("bash") for line in body.splitlines() if line.strip()]
    assert len(commands) >= 8
    for line in commands:
        args = shlex.split(line)
        assert args[0] == "quantdesk", line
        proc = subprocess.run([sys.executable, "-m", "quantdesk", *args[1:]], capture_output=True, text=True,
                              env=env, cwd=scratch, timeout=300)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    assert (scratch / "out" / "hmm" / "regimes.csv").exists()
    assert (scratch / "out" / "anom" / "anomalies.csv").exists()
    whales = pd.read_csv(scratch / "out" / "whales" / "whales.csv")
    assert len(whales) == 2


def test_python_examples_run(scratch: Path) -> None:
    for body in blocks("python"):
        exec(compile(body, str(DOC), "exec"), {"__name__": "docs_example"})


def test_toml_examples_are_valid_configs() -> None:
    from quantdesk.monitoring.alert_config import AlertRule
    from quantdesk.risk.config import parse_risk_config

    found = 0
    for body in blocks("toml"):
        doc = tomllib.loads(body)
        if "risk" in doc:
            assert parse_risk_config(doc["risk"]).regime is not None
            found += 1
        for rule in doc.get("alerts", {}).get("rules", []):
            assert AlertRule(**rule).kind == "anomaly"
            found += 1
    assert found == 2
