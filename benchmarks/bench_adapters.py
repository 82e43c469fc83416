"""How fast the venue adapter layer is: market-data event to order, and orders per second with reconciliation.

    .venv/bin/python benchmarks/bench_adapters.py            # about a minute
    .venv/bin/python benchmarks/bench_adapters.py --quick    # about 15 s

The exchange simulator runs in its own process (`quantdesk exchange-sim`, as users run it), on loopback, with a
manual clock. Every figure is shown next to its baseline: the same thing done with the bare ccxt.pro client
(no QuantDesk layer), so the ratio is the cost of the adapter layer itself.

1. Event to order. The bench moves the simulator's clock by one trade (POST /_sim/advance) and a consumer of
   the public trade stream sends a market order as soon as it sees the trade.
   From the advance request to: the trade in the consumer's hands (`to_event`), the order handed to the HTTP
   client's socket (`to_wire`: the request headers sent, from an aiohttp trace), the venue's acknowledgement
   (`to_ack`); and `event_to_wire`, the in-process part: trade in hand -> order on the wire. p50/p99.
   Adapter: `MarketDataClient.trades()` + `ExecutionClient.submit()` (validation, client-id rules, rate gate,
   classification); baseline: `watch_trades` + `create_order`.
2. Orders per second, sustained: N market orders one after the other, with the private streams feeding the
   exactly-once books (`private_events` -> OrderTracker, FillBook) and a REST snapshot + reconciliation every
   `--recon-every` orders; at the end the books must equal the venue (else the figure is void). Also the
   adapter's submit path alone (no streams, no reconciliation). Baseline: `create_order` in a loop.
Results: benchmarks/results/bench_adapters.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_exchange_sim import start_server  # noqa: E402

from quantdesk.adapters.ccxt import (  # noqa: E402
    AdapterConfig,
    Backoff,
    ExecutionClient,
    MarketDataClient,
    OrderRate,
    OrderRequest,
    capabilities_for,
    private_events,
)
from quantdesk.adapters.simulator import binance_client  # noqa: E402
from quantdesk.data.sample import sample_path  # noqa: E402
from quantdesk.execution import (  # noqa: E402
    ActionKind,
    ClientIdScheme,
    FillBook,
    OrderTracker,
    Reconciler,
    Verdict,
    apply_actions,
)
from quantdesk.model.enums import OrderSide, OrderStatus  # noqa: E402

SYM = "BTC/USDT"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stats_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50_ms": round(pct(ms, 0.5), 3), "p99_ms": round(pct(ms, 0.99), 3), "mean_ms": round(statistics.fmean(ms), 3)}


def adapter_config(url: str, **extra: Any) -> AdapterConfig:
    # the simulator serves /api/v3/trades, not aggTrades: ccxt's documented option picks it for the gap fill
    return AdapterConfig.for_simulator(url, options={"recvWindow": 5000, "fetchTradesMethod": "publicGetTrades"},
                                       reconnect=Backoff(0.05, 2.0, 0.5, 0.0), ccxt_extra=extra)


def traced_session(wire: list[float]) -> Any:
    """An aiohttp session that notes when the headers of each new-order request have been sent."""
    import aiohttp

    async def sent(session: Any, ctx: Any, params: Any) -> None:
        if params.method == "POST" and params.url.path == "/api/v3/order":
            wire.append(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(sent)
    return aiohttp.ClientSession(trace_configs=[trace])


def execution_client(url: str, **extra: Any) -> ExecutionClient:
    cfg = adapter_config(url, **extra)
    ex = cfg.make_client()
    return ExecutionClient(ex, capabilities_for("binance", exchange=ex, order_rate=OrderRate(10**6, 1.0)))


async def advance(url: str, ms: int) -> None:
    import httpx

    await asyncio.to_thread(httpx.post, f"{url}/_sim/advance", json={"ms": ms}, timeout=10)


async def event_to_order(url: str, n: int) -> dict[str, Any]:
    """See the module docstring (1.). Both consumers are subscribed all along; they take turns to be the one
    that reacts to the next replayed trade, so both see the same simulator state and machine load."""
    marks = {side: {"to_event": [], "to_wire": [], "to_ack": [], "event_to_wire": []} for side in ("adapter", "ccxt")}
    wire: list[float] = []
    session = traced_session(wire)
    seen = asyncio.Event()
    armed: list[str | None] = [None]
    t0 = [0.0]
    scheme = ClientIdScheme("bench", capabilities_for("binance").client_id)
    md = MarketDataClient(adapter_config(url).make_client(), SYM, reconnect=Backoff(0.05, 2.0, 0.5, 0.0))
    await md.start()
    client = execution_client(url, session=session)
    await client.start()
    raw_trades = binance_client(url, pro=True)
    raw_orders = binance_client(url, pro=True, session=session)
    await raw_trades.load_markets()
    await raw_orders.load_markets()
    count = [0]

    async def react(side: str) -> None:
        if armed[0] != side:  # not this side's turn, or a trade of our own order's fill
            return
        armed[0] = None
        event = time.perf_counter()
        wire.clear()
        count[0] += 1
        if side == "adapter":
            result = await client.submit(OrderRequest(scheme.make(1, count[0]), SYM, OrderSide.BUY, "market",
                                                      Decimal("0.001")))
            assert result.outcome.value == "accepted", result.reason
        else:
            await raw_orders.create_order(SYM, "market", "buy", 0.001, None, {"newClientOrderId": f"raw-{count[0]}"})
        m = marks[side]
        m["to_event"].append(event - t0[0])
        m["to_wire"].append(wire[0] - t0[0])
        m["to_ack"].append(time.perf_counter() - t0[0])
        m["event_to_wire"].append(wire[0] - event)
        seen.set()

    async def adapter_side() -> None:
        async for _ in md.trades():
            await react("adapter")

    async def ccxt_side() -> None:
        while True:
            for _ in await raw_trades.watch_trades(SYM):
                await react("ccxt")

    tasks = [asyncio.ensure_future(adapter_side()), asyncio.ensure_future(ccxt_side())]
    try:
        await asyncio.sleep(0.5)  # subscribed
        for i in range(2 * (n + 5)):
            if i == 10:  # warm-up done
                for m in marks.values():
                    for v in m.values():
                        v.clear()
            seen.clear()
            armed[0] = "adapter" if i % 2 == 0 else "ccxt"
            t0[0] = time.perf_counter()
            await advance(url, 15_000)  # one replayed trade
            await asyncio.wait_for(seen.wait(), 10)
            armed[0] = None
            await asyncio.sleep(0.02)  # the fill's own trade passes unanswered
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await md.close()
        await client.close()
        await raw_trades.close()
        await raw_orders.close()
        await session.close()
    return {side: {"n": len(m["to_ack"]), **{k: stats_ms(v) for k, v in m.items()}} for side, m in marks.items()}


async def orders_per_second(url: str, n: int, recon_every: int, block: int = 25) -> dict[str, Any]:
    """See the module docstring (2.). The three ways take turns in blocks of `block` orders."""
    client = execution_client(url)  # with the private streams, the books and the reconciliation
    await client.start()
    solo = execution_client(url)  # submit only
    await solo.start()
    raw = binance_client(url, pro=True)
    await raw.load_markets()
    scheme = ClientIdScheme("ops", capabilities_for("binance").client_id)
    solo_ids = ClientIdScheme("solo", capabilities_for("binance").client_id)
    tracker, fills, positions = OrderTracker(), FillBook(), {SYM: Decimal(0)}
    recon = Reconciler("ops", scheme.owns)
    seq = [0]
    since = int((await client.exchange.fetch_ticker(SYM))["timestamp"])  # the venue's clock: this run's trades
    events = private_events(client, [SYM], since_ms=since, settle_s=0.3, snapshot_every_s=3600, seq=lambda: seq[0])
    started = asyncio.Event()
    reconciliations: list[str] = []

    async def reconcile(snapshot: Any) -> None:
        result = recon.reconcile(tracker, fills, positions, snapshot, seq[0])
        if result.verdict is Verdict.INCOMPLETE:
            ids = [(a.client_order_id, SYM) for a in result.of(ActionKind.QUERY_ORDER)]
            snapshot = await client.snapshot([SYM], since, requested_at_seq=seq[0], query_ids=ids)
            result = recon.reconcile(tracker, fills, positions, snapshot, seq[0])
        reconciliations.append(result.verdict.value)
        if result.halted:
            halt_reasons.append(result.reason)
        seq[0] += apply_actions(result, tracker, fills, positions)

    async def consume() -> None:
        async for ev in events:
            if ev.kind == "snapshot":
                await reconcile(ev.snapshot)
                started.set()
            elif ev.kind == "order" and ev.order is not None:
                seq[0] += tracker.apply(ev.order) is not None
            elif ev.kind == "fill" and ev.fill is not None and fills.book(ev.fill):
                seq[0] += 1

    halt_reasons: list[str] = []
    counts = {"adapter_with_reconciliation": 0, "adapter_submit_only": 0, "ccxt": 0}
    walls = dict.fromkeys(counts, 0.0)

    async def one(way: str) -> None:
        k = counts[way]
        counts[way] += 1
        if way == "ccxt":
            await raw.create_order(SYM, "market", "buy", 0.001, None, {"newClientOrderId": f"raw-{since}-{k}"})
        elif way == "adapter_submit_only":
            result = await solo.submit(OrderRequest(solo_ids.make(3, k), SYM, OrderSide.BUY, "market",
                                                    Decimal("0.001")))
            assert result.outcome.value == "accepted", result.reason
        else:
            cid = scheme.make(2, k)
            tracker.expect(cid, SYM, OrderSide.BUY, Decimal("0.001"))
            result = await client.submit(OrderRequest(cid, SYM, OrderSide.BUY, "market", Decimal("0.001")))
            assert result.outcome.value == "accepted", result.reason
            if result.report is not None:
                seq[0] += tracker.apply(result.report) is not None
            if recon_every and counts[way] % recon_every == 0:
                await reconcile(await client.snapshot([SYM], since, requested_at_seq=seq[0]))

    task = asyncio.ensure_future(consume())
    try:
        await asyncio.wait_for(started.wait(), 10)
        ways = list(counts)
        for b in range(max(1, n // block)):
            for way in ways[b % 3:] + ways[:b % 3]:  # rotate which goes first
                t = time.perf_counter()
                for _ in range(block):
                    await one(way)
                walls[way] += time.perf_counter() - t
        await asyncio.sleep(0.3)
        await reconcile(await client.snapshot([SYM], since, requested_at_seq=seq[0]))
        venue = await client.my_trades(SYM, since)
        mine = {o.client_order_id for o in tracker if scheme.owns(o.client_order_id)}
        agree = ({f.key for f in venue if f.client_order_id in mine}
                 == {f.key for f in fills if f.client_order_id in mine}
                 and len(mine) == counts["adapter_with_reconciliation"]
                 and all(tracker.get(c).status is OrderStatus.FILLED for c in mine))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await events.aclose()
        await client.close()
        await solo.close()
        await raw.close()
    out: dict[str, Any] = {way: {"n": counts[way], "seconds": round(walls[way], 3),
                                 "orders_per_s": round(counts[way] / walls[way], 1)} for way in counts}
    out["adapter_with_reconciliation"].update(
        reconcile_every=recon_every, reconciliations=len(reconciliations), halts=reconciliations.count("halt"),
        halt_reasons=halt_reasons[:3], books_equal_venue=agree)
    return out


async def run_all(url: str, events: int, orders: int, recon_every: int) -> dict[str, Any]:
    out: dict[str, Any] = {"event_to_order": await event_to_order(url, events),
                           "orders": await orders_per_second(url, orders, recon_every)}
    a, b = out["event_to_order"]["adapter"], out["event_to_order"]["ccxt"]
    o = out["orders"]
    out["ratios"] = {
        "event_to_ack_p50_adapter_over_ccxt": round(a["to_ack"]["p50_ms"] / b["to_ack"]["p50_ms"], 2),
        "event_to_wire_p50_adapter_over_ccxt": round(a["event_to_wire"]["p50_ms"] / b["event_to_wire"]["p50_ms"], 2),
        "orders_per_s_submit_only_over_ccxt": round(o["adapter_submit_only"]["orders_per_s"]
                                                    / o["ccxt"]["orders_per_s"], 2),
        "orders_per_s_with_reconciliation_over_ccxt": round(o["adapter_with_reconciliation"]["orders_per_s"]
                                                            / o["ccxt"]["orders_per_s"], 2)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--recon-every", type=int, default=50)
    args = parser.parse_args()
    events = args.events or (50 if args.quick else 300)
    orders = args.orders or (100 if args.quick else 1000)
    proc, info = start_server(sample_path("BTC/USDT", "1m"))
    try:
        results = asyncio.run(run_all(info["rest_url"], events, orders, args.recon_every))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    text = json.dumps(results, indent=2)
    print(text)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_adapters.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
