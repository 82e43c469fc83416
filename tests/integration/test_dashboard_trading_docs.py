"""docs/dashboard-trading.md as a user follows it: the strategy file saved as written, the `quantdesk paper` command
run as written (fresh QD_HOME, the bundled sample), and what the bot's chart then draws (GET /bots/{name}/indicators
through the service the API uses) is what the guide says: the EMA on the price and the RSI in a pane called "RSI",
with the values of an independent EMA / RSI written here (TA-Lib's definitions: SMA seed, Wilder smoothing)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "dashboard-trading.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


def ema(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    out[n - 1] = x[:n].mean()
    a = 2.0 / (n + 1)
    for i in range(n, len(x)):
        out[i] = out[i - 1] + a * (x[i] - out[i - 1])
    return out


def rsi(x: np.ndarray, n: int) -> np.ndarray:
    d = np.diff(x)
    up, dn = np.clip(d, 0, None), np.clip(-d, 0, None)
    out = np.full(len(x), np.nan)
    au, ad = up[:n].mean(), dn[:n].mean()
    out[n] = 100 - 100 / (1 + au / ad) if ad else 100.0
    for i in range(n + 1, len(x)):
        au = (au * (n - 1) + up[i - 1]) / n
        ad = (ad * (n - 1) + dn[i - 1]) / n
        out[i] = 100 - 100 / (1 + au / ad) if ad else 100.0
    return out


def test_the_guide_runs_as_written_and_the_chart_draws_what_it_says(qd_home: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (source,) = blocks("python")
    (work / "ema_rsi.py").write_text(source)  # "Save this as ema_rsi.py"
    (command,) = [line.strip() for b in blocks("bash") for line in b.splitlines() if line.strip()]
    argv = shlex.split(command)
    assert argv[:2] == ["quantdesk", "paper"]
    env = {**os.environ, "QD_HOME": str(qd_home), "COLUMNS": "160",
           "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "quantdesk", *argv[1:]], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"

    from quantdesk import data as qdata
    from quantdesk.core.config import load_settings
    from quantdesk.service.facade import QuantDeskService

    monkeypatch.chdir(work)  # "quantdesk serve started in the same folder"
    svc = QuantDeskService(load_settings())
    bot = svc.bot("ema-rsi")
    assert bot["status"] == "finished" and bot["fills"] > 0  # it traded
    trades, total = svc.trades("ema-rsi")  # a page of rows and the count of all (GET /paper-trading/trades)
    assert 0 < len(trades) == total
    assert {t["entry_tag"] for t in trades} == {"above EMA, RSI < 60"}
    assert {t["exit_reason"] for t in trades if t["status"] == "closed"} <= {"below EMA", "RSI > 75"}

    shown = svc.bot_indicators("ema-rsi", limit=360)
    plots = {p["id"]: p for p in shown["plots"]}
    assert list(plots) == ["ema", "pane:RSI"]
    assert plots["ema"]["overlay"] is True and plots["ema"]["outputs"] == ["ema"]
    assert plots["pane:RSI"]["overlay"] is False and plots["pane:RSI"]["label"] == "RSI"
    assert plots["pane:RSI"]["outputs"] == ["rsi"]
    # the values: computed over the whole stored history up to the bot's last bar (what it traded on)
    candles = qdata.load("BTC/USDT", "1m", None, None, "2022-01-05T06:00:00Z")
    close = candles["close"].to_numpy(dtype=float)
    stamps = [pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ") for t in candles.index[-360:]]
    for key, ref in (("ema", ema(close, 50)[-360:]), ("pane:RSI", rsi(close, 14)[-360:])):
        values = plots[key]["values"]
        out = plots[key]["outputs"][0]
        assert [v["timestamp"] for v in values] == stamps
        np.testing.assert_allclose([v[out] for v in values], ref, rtol=1e-9, atol=1e-9)
    assert stamps[-1] == "2022-01-05T06:00:00Z"
    svc.node.shutdown()
    assert pytest.approx(float(bot["equity"]), rel=0.2) == 10_000  # a few trades, not a wipe-out
