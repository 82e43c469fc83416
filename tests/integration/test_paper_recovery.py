"""Crash recovery FOR REAL: a paper node process is SIGKILLed at random moments and restarted until its replay is
done; the persisted orders, fills, positions and cash must equal those of an uninterrupted run, and no client
order id may ever be handed to the venue twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

START, END = "2022-01-05T00:00:00Z", "2022-01-06T00:59:00Z"  # 1500 one-minute bars of the bundled sample
N_BARS = 1500
KILLS = 10
ARGS = ["paper", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--symbol", "BTC/USDT",
        "--timeframe", "1m", "--speed", "max", "--start", START, "--end", END, "--bot-name", "crashy", "--no-risk",
        "--resume"]


def _env(home: Path, db: str, log: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("QD_REDIS__")})  # Redis bus on: QD_TEST_REDIS
    env["QD_HOME"] = str(home)
    env["QD_DATABASE__URL"] = db
    if log is not None:
        env["QD_PAPER_SUBMISSION_LOG"] = str(log)
    return env


def _state(db: str) -> dict:
    from quantdesk.storage.trading import TradingStore

    store = TradingStore(db)
    try:
        bot = store.get_bot("crashy")
        st = store.load_state(bot["id"])
    finally:
        store.close()
    orders = {cid: (r["status"], r["side"], r["type"], r["quantity"], r["filled_qty"], r["avg_price"], r["fees"],
                    r["bar_index"], r["ts_init"]) for cid, r in st.orders.items()}
    fills = [(f["seq"], f["trade_id"], f["client_order_id"], f["side"], f["price"], f["quantity"], f["fee"], f["ts"])
             for f in st.fills]
    positions = {s: (p["quantity"], p["cost"], p["realized_pnl"], p["fees"]) for s, p in st.positions.items()}
    trades = [(t["seq"], t["entry_ts"], t["exit_ts"], t["quantity"], t["realized_pnl"], t["status"]) for t in st.trades]
    return {"bot": (bot["status"], bot["cursor_index"], bot["cash"]), "orders": orders, "fills": fills,
            "positions": positions, "trades": trades}


def test_sigkill_at_random_points_then_restart_gives_the_uninterrupted_result(tmp_path: Path, db_url) -> None:
    t0 = time.monotonic()
    exe = [sys.executable, "-m", "quantdesk"]
    # the uninterrupted reference run
    ref_db = db_url("ref")
    ref = subprocess.run(exe + ["--json"] + ARGS, env=_env(tmp_path / "home_ref", ref_db, None),
                         capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr[-2000:]
    expected = _state(ref_db)
    assert expected["bot"][0] == "finished" and expected["bot"][1] == N_BARS - 1
    assert len(expected["fills"]) > 60  # it trades a lot

    # the crashing run: a short sleep per bar so that the kills land mid-run
    db = db_url("crash")
    log = tmp_path / "submissions.log"
    env = _env(tmp_path / "home_crash", db, log)
    rng = random.Random(20261121)
    kills = 0
    cursors: list[int] = []
    for attempt in range(40):
        errfile = tmp_path / f"stderr{attempt}.txt"
        with open(errfile, "w") as err_fh:
            proc = subprocess.Popen(exe + ARGS + ["--bar-sleep", "0.004"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=err_fh, text=True)
            if kills < KILLS:
                # wait until the node is trading (recovered, replay running), then kill it at a random moment;
                # every third kill lands at a random moment of start-up / recovery instead
                if kills % 3 == 2:
                    time.sleep(rng.uniform(0.5, 3.0))
                else:
                    deadline = time.monotonic() + 60
                    while "bot crashy:" not in errfile.read_text() and proc.poll() is None:
                        assert time.monotonic() < deadline, "the node did not start"
                        time.sleep(0.02)
                    time.sleep(rng.uniform(0.05, 2.0))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    assert proc.returncode == -signal.SIGKILL
                    kills += 1
                    try:
                        cursors.append(_state(db)["bot"][1])
                    except Exception:  # noqa: BLE001 - killed before the bot row existed
                        cursors.append(-1)
                    continue
            proc.wait(timeout=120)
        assert proc.returncode == 0, errfile.read_text()[-3000:]
        break
    else:
        pytest.fail("the node never finished")
    mid_run = len({c for c in cursors if 0 < c < N_BARS - 1})
    got = _state(db)
    assert kills == KILLS
    assert mid_run >= 5, f"distinct mid-run cursors at the kills: {mid_run} (cursors {cursors})"
    assert got["bot"] == expected["bot"]
    assert got["orders"] == expected["orders"]
    assert got["fills"] == expected["fills"]
    assert got["positions"] == expected["positions"]
    assert got["trades"] == expected["trades"]
    # never handed to the venue twice, and every submission is in the database
    submitted = [line.split("\t")[1] for line in log.read_text().splitlines() if line.strip()]
    assert len(submitted) == len(set(submitted)), "a client order id was submitted twice"
    assert set(submitted) <= set(got["orders"])
    assert len(submitted) >= len(got["orders"]) * 0.9
    elapsed = time.monotonic() - t0
    print(f"\nkills={kills} mid_run={mid_run} cursors={cursors} orders={len(got['orders'])} "
          f"fills={len(got['fills'])} submissions={len(submitted)} elapsed={elapsed:.1f}s")
    assert elapsed < 150


def test_ctrl_c_stops_cleanly_and_resume_continues(tmp_path: Path, db_url) -> None:
    db = db_url("p")
    env = _env(tmp_path / "home", db, None)
    args = [sys.executable, "-m", "quantdesk", "paper", "--strategy", "sma_cross", "--param", "fast=5", "--param",
            "slow=20", "--start", START, "--end", "2022-01-05T03:00:00Z", "--bot-name", "crashy", "--no-risk",
            "--resume"]
    errfile = tmp_path / "err.txt"
    with open(errfile, "w") as fh:
        proc = subprocess.Popen(args + ["--speed", "3000"], env=env, stdout=subprocess.PIPE, stderr=fh, text=True)
        deadline = time.monotonic() + 60
        while "bot crashy:" not in errfile.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, errfile.read_text()
            time.sleep(0.05)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, errfile.read_text()[-2000:]
    assert "interrupted: state persisted" in errfile.read_text()
    st = _state(db)
    assert st["bot"][0] == "stopped" and 0 < st["bot"][1] < 180
    fills_before = len(st["fills"])
    done = subprocess.run(args[:3] + ["--json"] + args[3:] + ["--speed", "max"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    assert json.loads(done.stdout)["status"] == "finished"
    st = _state(db)
    assert st["bot"][0] == "finished" and st["bot"][1] == 180 and len(st["fills"]) >= fills_before
