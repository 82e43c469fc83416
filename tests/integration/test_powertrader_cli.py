"""`quantdesk powertrader ...` for real (subprocesses): compat training = the golden files, errors, import, levels,
and a training killed with SIGKILL that resumes to the same model as an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parents[1] / "data" / "powertrader"


def qd(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QD_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "quantdesk", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_compat_training_writes_the_golden_files(tmp_path: Path) -> None:
    out = tmp_path / "mem"
    proc = qd("--json", "powertrader", "train", "--coin", "BTC", "--candles-dir", str(DATA / "candles"), "--compat",
              "--out", str(out), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["mode"] == "compat" and doc["state"] == "done"
    assert doc["timeframes"]["1day"]["memories"] == 488
    for p in (DATA / "golden").iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name
    status = qd("--json", "powertrader", "status", "--out", str(out), home=tmp_path / "home")
    assert json.loads(status.stdout)["timeframes"]["1week"]["state"] == "done"


@pytest.mark.parametrize("args, needle", [
    (["train", "--coin", "BTC", "--out", "X"], "exactly one candle source"),
    (["train", "--coin", "B/TC", "--candles-dir", str(DATA / "candles")], "coin 'B/TC'"),
    (["train", "--coin", "BTC", "--candles-dir", "/no/such/dir"], "candle folder not found"),
    (["train", "--coin", "BTC", "--candles-dir", str(DATA / "candles"), "--compat", "--flag-off", "nope"],
     "unknown compat flag 'nope'"),
    (["train", "--coin", "BTC", "--candles-dir", str(DATA / "candles"), "--timeframes", "3hour"],
     "unknown PowerTrader timeframe '3hour'"),
    (["import-memories", "/no/such/dir", "--coin", "BTC"], "memory folder not found"),
    (["levels", "--memory", "/no/such/dir", "--candles-dir", str(DATA / "candles")], "memory folder not found"),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = qd("powertrader", *args, home=tmp_path)
    assert proc.returncode != 0
    assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_import_memories_then_levels_equal_the_originals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = qd("--json", "powertrader", "import-memories", str(DATA / "golden"), "--coin", "BTC", home=home)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["timeframes"]["1hour"]["memories"] == 380
    imported = home / "powertrader" / "BTC"
    for p in (DATA / "golden").iterdir():
        assert (imported / p.name).read_bytes() == p.read_bytes()
    a = qd("--json", "powertrader", "levels", "--coin", "BTC", "--candles-dir", str(DATA / "candles"), "--tail", "5",
           home=home)
    b = qd("--json", "powertrader", "levels", "--memory", str(DATA / "golden"), "--candles-dir", str(DATA / "candles"),
           "--tail", "5", home=home)
    assert a.returncode == 0, a.stderr
    assert json.loads(a.stdout)["rows"] == json.loads(b.stdout)["rows"]
    assert json.loads(a.stdout)["model"]["mode"] == "compat"


def _big_candles(d: Path, n: int = 24000) -> None:
    """One long 1-hour series (and nothing else is trained): enough work to kill it half way."""
    from quantdesk.intel.powertrader.evaluation import random_walk

    c = random_walk(n, 77)
    d.mkdir()
    with (d / "1hour.csv").open("w") as fh:
        fh.write("timestamp,open,high,low,close\n")
        for i in range(n):
            row = ",".join(repr(float(a[i])) for a in (c.open, c.high, c.low, c.close))
            fh.write(f"{int(c.ts[i])},{row}\n")


def test_sigkill_during_training_resumes_to_the_same_model(tmp_path: Path) -> None:
    from quantdesk.intel.powertrader.improved import TimeframeModel

    cdir = tmp_path / "candles"
    _big_candles(cdir)
    home = tmp_path / "home"
    args = ["powertrader", "train", "--coin", "RW", "--candles-dir", str(cdir), "--timeframes", "1hour"]
    ref = qd(*args, "--out", str(tmp_path / "ref"), home=home)
    assert ref.returncode == 0, ref.stderr
    killed_dir = tmp_path / "killed"
    env = {**os.environ, "QD_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "quantdesk", *args, "--out", str(killed_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = killed_dir / "training_status.json"
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            tf = json.loads(status.read_text())["timeframes"]["1hour"]
        except (OSError, ValueError, KeyError):
            tf = {}
        started = (killed_dir / "improved_1hour.npz").exists()
        if started and tf.get("total") and 0 < tf.get("done", 0) < tf["total"] * 0.8:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = tf["done"]
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    assert killed_at is not None, "the training finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    partial = TimeframeModel.load(killed_dir / "improved_1hour.npz")  # the checkpoint is a whole, readable file
    assert 0 < partial.steps < 24000
    resumed = qd(*args, "--out", str(killed_dir), home=home)  # the dead trainer's lock is taken over
    assert resumed.returncode == 0, resumed.stderr
    a = TimeframeModel.load(tmp_path / "ref" / "improved_1hour.npz")
    b = TimeframeModel.load(killed_dir / "improved_1hour.npz")
    assert a.n_mem == b.n_mem and a.steps == b.steps
    for name in ("mem_x", "mem_y", "mem_w", "mem_last", "mem_created"):
        assert np.array_equal(getattr(a, name)[: a.n_mem], getattr(b, name)[: b.n_mem]), name
    assert np.array_equal(a.pit_lo, b.pit_lo)
