"""The scaled-down run of benchmarks/bench_adapters.py: its measurements run and count what they claim."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections import Counter
from pathlib import Path

from adapter_support import sim_settings, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_adapters.py"


def _bench():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_adapters", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_measurements_on_a_small_scale(tmp_path):
    bench = _bench()
    with ExchangeSimulator(data=write_sample(tmp_path, rows=200), **sim_settings(
            balances={"USDT": 10**8, "BTC": 10})) as sim:
        latency = asyncio.run(bench.event_to_order(sim.rest_url, 4))
        orders = asyncio.run(bench.orders_per_second(sim.rest_url, 30, 10, block=5))
        state = sim.state()
    for side in ("adapter", "ccxt"):
        row = latency[side]
        assert row["n"] == 4
        assert row["to_event"]["p50_ms"] <= row["to_wire"]["p50_ms"] <= row["to_ack"]["p50_ms"]
        assert 0 < row["event_to_wire"]["p50_ms"] <= row["event_to_wire"]["p99_ms"]
    assert {w: orders[w]["n"] for w in ("adapter_with_reconciliation", "adapter_submit_only", "ccxt")} == {
        "adapter_with_reconciliation": 30, "adapter_submit_only": 30, "ccxt": 30}
    recon = orders["adapter_with_reconciliation"]
    assert recon["books_equal_venue"] and recon["halts"] == 0 and recon["reconciliations"] >= 3
    ids = Counter(s["client_order_id"] for s in state["submissions"])
    assert max(ids.values()) == 1 and len(ids) == 2 * (4 + 5) + 90  # 2 x (4 + 5 warm-up) events, 90 orders
