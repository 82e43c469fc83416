"""API backtests with bounded resources, from outside: `quantdesk serve` in a subprocess, 200 backtests over HTTP.

Before: every API backtest kept its result (~17 MB) for the life of the process and ran on a thread of its own
(60 jobs: 469 -> 1,516 MB). Now a fixed pool runs them, a full queue answers 429, each result is persisted (the
run in the database, trades and equity in QD_HOME/backtests/<id>/) and released: the server's memory and thread
count stay flat, and a finished run reads back equal to what the job computed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# one day of the bundled 1m sample (1440 bars): quick, and a result big enough that keeping it shows (the former
# code kept ~1.25 MB per job of 3 days: measured against main, 40 jobs, +50 MB, this code +4 MB; ~0.4 MB a day)
CFG = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbol": "BTC/USDT", "timeframe": "1m",
       "start": "2022-01-05", "end": "2022-01-05T23:59:00Z"}
BARS = 1440


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("bt")
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_")}
    env.update({k: v for k, v in os.environ.items() if k == "QD_DATABASE__URL"})  # the suite's database switch
    env["QD_HOME"] = str(tmp_path / "home")
    env["QD_API_RATE"], env["QD_API_BURST"] = "1000", "2000"  # the polling below is not what is under test
    exe = [sys.executable, "-m", "quantdesk"]
    key = subprocess.run(exe + ["api-key", "create", "--name", "bt"], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    port = _port()
    proc = subprocess.Popen(exe + ["serve", "--port", str(port), "--no-access-log"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code in (200, 503):
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
    client = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60)
    yield {"c": client, "pid": proc.pid, "home": tmp_path / "home"}
    client.close()
    proc.terminate()
    proc.communicate(timeout=30)


def _run(c: httpx.Client, n: int, pid: int | None = None) -> tuple[list[str], int, int]:
    """Submit n backtests as fast as the server takes them (429 -> wait Retry-After), wait for all; returns
    (run ids, how many 429s were seen, the most threads the server process had meanwhile)."""
    ids: list[str] = []
    busy = peak = 0
    while len(ids) < n:
        if pid is not None:
            peak = max(peak, _proc_status(pid)["Threads"])
        r = c.post("/backtests", json=CFG)
        if r.status_code == 429:
            busy += 1
            assert int(r.headers["Retry-After"]) >= 1 and "running or queued" in r.json()["detail"], r.text
            time.sleep(0.3)
            continue
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    deadline = time.monotonic() + 120
    for rid in ids:
        while (doc := c.get(f"/backtests/{rid}").json()).get("status") == "running":
            assert time.monotonic() < deadline, "backtests did not finish"
            if pid is not None:
                peak = max(peak, _proc_status(pid)["Threads"])
            time.sleep(0.1)
        assert doc["status"] == "completed", doc
    return ids, busy, peak


def test_200_api_backtests_keep_memory_and_threads_flat(server) -> None:
    c, pid = server["c"], server["pid"]
    first, _, _ = _run(c, 20)  # warm-up: imports, numba caches, data, connection pools
    before = _proc_status(pid)
    t0 = time.monotonic()
    later, busy, peak = _run(c, 180, pid)
    secs = time.monotonic() - t0
    after = _proc_status(pid)
    grown_mb = (after["VmRSS"] - before["VmRSS"]) / 1024
    print(f"\n200 API backtests: RSS {before['VmRSS'] / 1024:.0f} -> {after['VmRSS'] / 1024:.0f} MB after 20 and "
          f"after 200 (+{grown_mb:.1f} MB for 180 more; the former code: ~0.4 MB a job, ~75 MB), threads "
          f"{before['Threads']} -> {after['Threads']} (peak {peak}), {secs:.1f} s for 180, {busy} x 429 on a full queue")
    assert grown_mb < 25, grown_mb  # the former code: ~0.4 MB x 180 = ~75 MB
    assert peak <= before["Threads"] + 2 and after["Threads"] <= before["Threads"] + 2  # a pool, no thread per job
    assert busy > 0  # 180 submitted at once overflow the 2 workers + 16 queued: refused with 429, not piled up
    # every run reads back whole: from the database and the result file, the same for the first and the last
    docs = [c.get(f"/backtests/{rid}").json() for rid in (first[0], later[-1])]
    assert docs[0]["metrics"] == docs[1]["metrics"] and docs[0]["trades"] == docs[1]["trades"]
    assert len(docs[0]["equity"]) == BARS and docs[0]["trades"]
    files = sorted((server["home"] / "backtests").glob("*/result.json.gz"))
    assert len(files) == 200
    listed = c.get("/backtests", params={"limit": 500})
    assert int(listed.headers["X-Total-Count"]) == 200 and len(listed.json()) == 200
    page = c.get("/backtests", params={"limit": 50, "offset": 150}).json()
    assert [r["id"] for r in page] == [r["id"] for r in listed.json()[150:200]]


def test_api_backtest_equals_the_library_run(server, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.cli.output import to_jsonable

    (rid,), _, _ = _run(server["c"], 1)
    doc = server["c"].get(f"/backtests/{rid}").json()
    monkeypatch.setenv("QD_HOME", str(server["home"]))
    from quantdesk.core.config import set_settings

    set_settings(None)
    try:
        ref = run_backtest(BacktestConfig(**CFG))
    finally:
        set_settings(None)
    assert doc["metrics"] == json.loads(json.dumps(to_jsonable(ref.metrics)))
    assert len(doc["trades"]) == len(ref.trades) and len(doc["equity"]) == len(ref.equity)
