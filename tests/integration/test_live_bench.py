"""The scaled-down run of benchmarks/bench_live.py: its measurements run, count what they claim, and the node's
books equal the venue's at the end (else the figures would be void)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from live_support import sim_settings, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_live.py"
pytestmark = pytest.mark.slow


def _bench():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_live", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_measurements_on_a_small_scale(tmp_path, monkeypatch):
    from quantdesk.core.config import set_settings

    monkeypatch.setenv("QD_HOME", str(tmp_path / "home"))  # restored after the bench's own home
    bench = _bench()
    with ExchangeSimulator(data=write_sample(tmp_path, rows=300), **sim_settings(
            speed=0, balances={"USDT": Decimal(10**6), "BTC": Decimal(10)})) as sim:
        node = bench.live_node(sim.rest_url, 5, 10, 1.0)
        bare = asyncio.run(bench.bare_ccxt(sim.rest_url, 5, 10))
        state = sim.state()
    set_settings(None)
    assert node["books_equal_venue"] is True
    assert node["event_to_wire"]["n"] == 5 and node["orders"] == 10
    assert 0 < node["event_to_wire"]["p50_ms"] <= node["event_to_ack"]["p50_ms"]
    assert bare["call_to_wire"]["n"] == 5 and bare["orders"] == 10
    ours = [s for s in state["submissions"] if s["client_order_id"].startswith("qd")]
    assert len(ours) == 5 + 5 + 10  # warm-up, measured events, sustained orders: one order per bar each
