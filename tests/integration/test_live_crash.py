"""Crash proof of the live node (issue 15): `quantdesk live` is SIGKILLed at random (seeded) moments of a run
against the exchange simulator with faults on (responses dropped after the order was accepted, execution
reports duplicated and reordered), and restarted with --resume. After each kill a short clean run recovers,
reconciles and stops; then the node and the venue must agree: no client id submitted twice, every venue fill
booked exactly once, positions equal to the venue's, no venue-open order unknown to the node.

QD_LIVE_KILLS sets the number of kills (default 8; the issue's proof is 50 on each database:
`QD_LIVE_KILLS=50 pytest tests/integration/test_live_crash.py` and the same with QD_TEST_DATABASE=postgres).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import httpx
import pytest
from live_support import (
    churn_strategy,
    disagreements,
    live_args,
    live_env,
    run,
    sim_settings,
    status,
    write_sample,
)

from quantdesk.adapters.simulator import ExchangeSimulator

KILLS = int(os.environ.get("QD_LIVE_KILLS", "8"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(max(600, 45 * KILLS))]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("live_crash"), rows=600)


def test_sigkill_at_random_points_never_breaks_exactly_once(sample, tmp_path):
    rng = random.Random(15)
    env = live_env(tmp_path / "home")
    strategy = churn_strategy(tmp_path)
    args = live_args("URL", "crash", strategy)
    report = []
    with ExchangeSimulator(data=sample, **sim_settings(speed=60.0)) as sim:
        args[args.index("URL")] = sim.rest_url
        sim.faults("duplicate_reports", "reorder_reports")
        for i in range(KILLS):
            if rng.random() < 0.5:
                sim.faults("drop_response:count=1")
            sim.set_speed(60)
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(1.5, 7.0))  # startup, recovery, trading: any of them
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            sim.set_speed(0)  # the market stands still while the node recovers and the two are compared
            clean = run(args + ["--run-for", "2.5"], env, timeout=180)
            assert clean.returncode == 0, f"kill {i + 1}: restart failed: {clean.stderr[-2000:]}"
            node = status(env, "crash")
            truth = httpx.get(f"{sim.rest_url}/_sim/state").json()
            found = disagreements(node, truth)
            assert found == [], f"kill {i + 1}: {found}"
            report.append((len(truth["submissions"]), len(truth["fills"])))
            print(f"kill {i + 1}/{KILLS}: agree ({report[-1][0]} orders, {report[-1][1]} fills so far)",
                  file=sys.stderr, flush=True)
        assert not [n for n in report if n[0] == 0], "the bot never traded"
    submissions, fills = report[-1]
    print(f"{KILLS} kills: {submissions} orders submitted, {fills} fills, node and venue agree after each")
    assert fills >= KILLS  # it traded through the kills
