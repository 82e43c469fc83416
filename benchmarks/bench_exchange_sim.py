"""How fast the exchange simulator is, so that a client's benchmark against it measures the client.

    .venv/bin/python benchmarks/bench_exchange_sim.py            # about a minute
    .venv/bin/python benchmarks/bench_exchange_sim.py --quick    # about 15 s

1. Replay: the exchange core alone replays the bundled BTC/USDT 1m sample (45,031 candles, five events each)
   with no orders, with 50 resting limit orders, and with book diffs computed (what a `@depth` stream
   subscriber costs); reported as candles per second and as the largest --speed it sustains (candles/s x 60 s).
2. REST through the real ccxt.binance, the simulator in its own process (`quantdesk exchange-sim`, as users run
   it), one client on loopback, closed loop: the peer baseline is `fetch_time` (GET /api/v3/time: no signature,
   no work) on the same server; then signed market orders (sign, check, match, answer FULL) and limit
   create + cancel pairs. p50/p99 latency and requests per second.
3. Order to execution report: a ccxt.pro client sends a market order over REST and waits for its FILLED
   `executionReport` on the WebSocket API user stream; p50/p99 from send to report.
Results: benchmarks/results/bench_exchange_sim.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quantdesk.adapters.simulator import binance_client  # noqa: E402
from quantdesk.adapters.simulator.config import SimConfig  # noqa: E402
from quantdesk.adapters.simulator.engine import Exchange  # noqa: E402
from quantdesk.adapters.simulator.model import NewOrder  # noqa: E402
from quantdesk.adapters.simulator.tape import build_tape, load_frame  # noqa: E402
from quantdesk.data.sample import sample_path  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies_s: list[float], wall_s: float) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {"n": len(ms), "p50_ms": round(pct(ms, 0.50), 3), "p99_ms": round(pct(ms, 0.99), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "per_s": round(len(ms) / wall_s, 1)}


def bench_replay(candles: int) -> dict[str, Any]:
    data = sample_path("BTC/USDT", "1m")
    frame = load_frame(data, "BTC/USDT", "1m").iloc[:candles]
    tape = build_tape(frame, 60_000, None, str(data))
    out: dict[str, Any] = {"candles": len(tape)}
    for label, resting, diffs in (("no_orders", 0, False), ("50_resting_orders", 50, False),
                                  ("no_orders_depth_diffs", 0, True)):
        cfg = SimConfig(min_notional=Decimal(0), balances={"USDT": Decimal(10**9)}).validated()
        ex = Exchange(cfg, tape, int(tape.open_ms[0]))
        ex.set_book_diffs(diffs)
        low = min(int(x) for x in tape.ohlc[:, 2])
        for i in range(resting):  # far below every price: they stay open, checked at every trade
            ex.place(NewOrder("BUY", "LIMIT", f"r{i}", quantity=Decimal("0.001"), price=tape.price(low // 2),
                              time_in_force="GTC"))
        ex.drain()
        t0 = time.perf_counter()
        ex.advance_to(int(tape.event_ms[-1]))
        wall = time.perf_counter() - t0
        out[label] = {"seconds": round(wall, 6), "candles_per_s": round(len(tape) / wall),
                      "max_speed_1m": round(len(tape) / wall * 60)}
    return out


def start_server(data: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "quantdesk", "--json", "exchange-sim", "--port", "0", "--data",
                             str(data), "--speed", "0", "--balance", "USDT=100000000", "--balance", "BTC=1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        raise SystemExit(f"the simulator did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)


def bench_rest(url: str, n: int) -> dict[str, Any]:
    ex = binance_client(url)
    ex.load_markets()
    price = ex.fetch_ticker("BTC/USDT")["last"]

    def loop(fn: Any) -> dict[str, float]:
        for _ in range(min(20, n)):  # warm-up
            fn()
        lat = []
        t0 = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            fn()
            lat.append(time.perf_counter() - t)
        return summary(lat, time.perf_counter() - t0)

    def pair() -> None:
        order = ex.create_order("BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 2))
        ex.cancel_order(order["id"], "BTC/USDT")

    return {"baseline_fetch_time": loop(ex.fetch_time),
            "market_order": loop(lambda: ex.create_order("BTC/USDT", "market", "buy", 0.001)),
            "limit_create_cancel_pair": loop(pair)}


async def bench_reports(url: str, n: int) -> dict[str, Any]:
    ex = binance_client(url, pro=True)
    try:
        await ex.load_markets()
        watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
        await asyncio.sleep(0.5)
        lat = []
        t_all = time.perf_counter()
        for i in range(n):
            cid = f"lat-{i}"
            t0 = time.perf_counter()
            await ex.create_order("BTC/USDT", "market", "buy", 0.001, params={"newClientOrderId": cid})
            while True:
                orders = await watcher
                watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
                if any(o["clientOrderId"] == cid and o["status"] == "closed" for o in orders):
                    break
            lat.append(time.perf_counter() - t0)
        watcher.cancel()
        return summary(lat, time.perf_counter() - t_all)
    finally:
        await ex.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200 if args.quick else 1000
    results: dict[str, Any] = {"replay": bench_replay(5_000 if args.quick else 45_031)}
    print("replay:", json.dumps(results["replay"]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        lines = sample_path("BTC/USDT", "1m").read_text().splitlines()[:2001]
        data = Path(tmp) / "btc_1m.csv"
        data.write_text("\n".join(lines) + "\n")
        proc, info = start_server(data)
        try:
            results["rest"] = bench_rest(info["rest_url"], n)
            for name, row in results["rest"].items():
                print(f"REST {name:26s} p50 {row['p50_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  "
                      f"{row['per_s']:8.1f}/s", flush=True)
            base = results["rest"]["baseline_fetch_time"]["p50_ms"]
            results["rest"]["market_order_p50_vs_baseline"] = round(results["rest"]["market_order"]["p50_ms"] / base, 2)
            print(f"market order p50 = {results['rest']['market_order_p50_vs_baseline']}x the no-work request")
            results["order_to_report"] = asyncio.run(bench_reports(info["rest_url"], n // 4))
            row = results["order_to_report"]
            print(f"order -> FILLED executionReport  p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    out = ROOT / "benchmarks" / "results" / "bench_exchange_sim.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
