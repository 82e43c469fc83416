"""The scaled-down run of benchmarks/bench_exchange_sim.py: its measurements run and count what they claim."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from exsim_support import sim_settings, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_exchange_sim.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_exchange_sim", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_measurements_on_a_small_scale(tmp_path):
    bench = _bench()
    replay = bench.bench_replay(300)
    assert replay["candles"] == 300
    for label in ("no_orders", "50_resting_orders", "no_orders_depth_diffs"):
        row = replay[label]
        assert row["candles_per_s"] > 0
        assert abs(row["max_speed_1m"] - 60 * 300 / row["seconds"]) <= 0.01 * row["max_speed_1m"] + 60
    with ExchangeSimulator(data=write_sample(tmp_path, rows=100), **sim_settings(
            balances={"USDT": 10**8, "BTC": 10})) as sim:
        rest = bench.bench_rest(sim.rest_url, 5)
        reports = asyncio.run(bench.bench_reports(sim.rest_url, 3))
        state = sim.state()
    assert all(rest[k]["n"] == 5 and rest[k]["p50_ms"] <= rest[k]["p99_ms"] for k in rest)
    statuses = [(o["type"], o["status"]) for o in state["orders"]]
    # 5 warm-up + 5 measured of each: market orders filled, limit orders canceled; then 3 for the reports
    assert statuses.count(("MARKET", "FILLED")) == 10 + 3 and statuses.count(("LIMIT", "CANCELED")) == 10
    assert reports["n"] == 3 and reports["p50_ms"] > 0
