"""How fast the live node is: market-data event to order on the wire, and orders per second with reconciliation on.

    .venv/bin/python benchmarks/bench_live.py            # about a minute
    .venv/bin/python benchmarks/bench_live.py --quick    # about 20 s

The exchange simulator runs in its own process (`quantdesk exchange-sim`, manual clock) on loopback. The node is
the real one (`LiveBot`: stream feed, engine step, risk engine, intent written to the database, exactly-once
submit, private stream, journal, periodic reconciliation), run in this process on a fresh QD_HOME (SQLite), with a
strategy that sends one market order per bar (in, out, in...).

1. Event to order: the bench moves the simulator's clock by one candle; from the closed candle in the node's
   feed to the new-order request's headers on the socket (`event_to_wire`, an aiohttp trace), and to the venue's
   acknowledgement (`event_to_ack`). p50/p99. Baseline: the bare ccxt.pro client's `create_order` alone, from
   call to wire and to acknowledgement (what any client pays): the ratios are the node's own cost.
2. Orders per second, sustained: candles as fast as the node takes them, one order each, with the private stream
   and a REST reconciliation every `--recon-every-s` seconds; at the end the node's fills and position must equal
   the venue's (else the figure is void). Baseline: `create_order` in a loop with the bare client.
Results: benchmarks/results/bench_live.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_exchange_sim import start_server  # noqa: E402

SYM = "BTC/USDT"
FLIP = '''
from quantdesk.strategies.base import Strategy


class Flip(Strategy):
    """One market order per bar: buy on even bars, sell on odd ones."""

    name = "flip"
    params = {}

    def on_bar(self, bar):
        if self.bar_index % 2 == 0:
            self.buy(0.001)
        else:
            self.sell(0.001)
'''


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stats_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"p50_ms": round(pct(ms, 0.5), 3), "p99_ms": round(pct(ms, 0.99), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "n": len(ms)}


async def _traced_session(wire: list[float]) -> Any:
    import aiohttp

    async def sent(session: Any, ctx: Any, params: Any) -> None:
        if params.method == "POST" and params.url.path == "/api/v3/order":
            wire.append(time.perf_counter())

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(sent)
    return aiohttp.ClientSession(trace_configs=[trace])


def advance(url: str, candles: int = 1) -> None:
    import httpx

    httpx.post(f"{url}/_sim/advance", json={"candles": candles}, timeout=10)


def open_node(url: str, home: Path, wire: list[float], recon_every_s: float) -> Any:
    """A LiveBot on the simulator, its stream started (what `LiveNode.start` does, with a traced HTTP session)."""
    os.environ["QD_HOME"] = str(home)
    from quantdesk.adapters.ccxt import AdapterConfig, Backoff, ExecutionClient, OrderRate, capabilities_for
    from quantdesk.adapters.ccxt.loop import LoopThread
    from quantdesk.core.config import set_settings
    from quantdesk.live.bot import LiveBot, LiveContext
    from quantdesk.paper.spec import BotSpec
    from quantdesk.storage.trading import TradingStore

    set_settings(None)
    loop = LoopThread("bench-live")
    session = loop.run(_traced_session(wire))
    config = AdapterConfig.for_simulator(url, options={"recvWindow": 1000}, reconnect=Backoff(0.05, 2.0, 0.5, 0.0))

    def client(**extra: Any) -> Any:
        exchange = replace(config, ccxt_extra=extra).make_client()
        caps = capabilities_for("binance", exchange=exchange, order_rate=OrderRate(10**6, 1.0))
        out = ExecutionClient(exchange, caps)
        loop.run(out.start())
        return out

    # orders through the traced session; the private streams on a connection of their own
    ctx = LiveContext(config, client(session=session), loop, recon_every_s, stream_client=client())
    strategy = home / "flip.py"
    strategy.write_text(FLIP)
    import httpx

    now = httpx.get(f"{url}/_sim/state", timeout=10).json()["now_iso"]  # the replay clock
    spec = BotSpec(name="bench", strategy=f"{strategy}:Flip", symbols=[SYM], timeframe="1m", exchange="binance",
                   feed="exchange", risk=False, start=now)
    bot = LiveBot.open_live(TradingStore(), spec, ctx)
    bot.reconcile(bot.snapshot())
    bot.start_stream()
    return bot, ctx, session


def next_bar(url: str, bot: Any, timeout: float = 10.0) -> float:
    """Advance one candle; the moment the closed candle is in the node's feed. Before it, the node drains what
    the venue said about its last order, as its run loop does while it waits for the next candle."""
    time.sleep(0.02)
    bot.drain()
    advance(url)
    deadline = time.monotonic() + timeout
    while bot.next_index >= len(bot.feed):
        bot.feed.poll()
        if time.monotonic() > deadline:
            raise SystemExit("no candle from the simulator")
        time.sleep(0.0002)
    return time.perf_counter()


def live_node(url: str, events: int, orders: int, recon_every_s: float) -> dict[str, Any]:
    wire: list[float] = []
    home = Path(tempfile.mkdtemp(prefix="bench_live_"))
    bot, ctx, session = open_node(url, home, wire, recon_every_s)
    to_wire, to_ack = [], []
    try:
        for i in range(events + 5):
            t_event = next_bar(url, bot)
            wire.clear()
            bot.step()  # the engine step: strategy -> risk -> intent -> submit (acknowledged on return)
            done = time.perf_counter()
            if i >= 5 and wire:  # warm-up excluded
                to_wire.append(wire[0] - t_event)
                to_ack.append(done - t_event)
        t0 = time.perf_counter()
        sent0 = bot.venue.counters["sent"]
        in_node = 0.0
        for _ in range(orders):
            next_bar(url, bot)
            t = time.perf_counter()
            bot.step()
            in_node += time.perf_counter() - t
        elapsed = time.perf_counter() - t0
        sent = bot.venue.counters["sent"] - sent0
        time.sleep(1.0)
        bot.drain()
        truth = bot.ctx.loop.run(bot.ctx.client.snapshot([SYM], bot.since_ms()))
        booked = {f.trade_id for f in bot.venue.fills}
        venue = {f.trade_id for f in truth.trades}
        agree = booked == venue and bot.venue.positions[SYM] == truth.positions[SYM]
        if not agree:
            print(f"books differ: node only {sorted(booked - venue)[:5]}, venue only {sorted(venue - booked)[:5]}, "
                  f"position node {bot.venue.positions[SYM]} venue {truth.positions[SYM]}", file=sys.stderr)
        recon = dict(bot.reconciliation)
    finally:
        bot.stop()
        bot.feed.close()
        ctx.loop.run(session.close())
        ctx.close()
    return {"event_to_wire": stats_ms(to_wire), "event_to_ack": stats_ms(to_ack),
            "orders": sent, "seconds": round(elapsed, 3), "orders_per_s": round(sent / elapsed, 1),
            "orders_per_s_node_only": round(sent / in_node, 1),
            "books_equal_venue": agree, "last_reconciliation": recon.get("verdict"),
            "reconcile_every_s": recon_every_s}


async def bare_ccxt(url: str, events: int, orders: int) -> dict[str, Any]:
    from quantdesk.adapters.simulator import binance_client

    wire: list[float] = []
    session = await _traced_session(wire)
    ex = binance_client(url, pro=True, session=session)
    await ex.load_markets()
    to_wire, to_ack = [], []
    side = "buy"
    try:
        for i in range(events + 5):
            wire.clear()
            t = time.perf_counter()
            await ex.create_order(SYM, "market", side, 0.001, None, {"newClientOrderId": f"raw-l{i}"})
            if i >= 5:
                to_wire.append(wire[0] - t)
                to_ack.append(time.perf_counter() - t)
            side = "sell" if side == "buy" else "buy"
        t0 = time.perf_counter()
        for i in range(orders):
            await ex.create_order(SYM, "market", side, 0.001, None, {"newClientOrderId": f"raw-o{i}"})
            side = "sell" if side == "buy" else "buy"
        elapsed = time.perf_counter() - t0
    finally:
        await ex.close()
        await session.close()
    return {"call_to_wire": stats_ms(to_wire), "call_to_ack": stats_ms(to_ack), "orders": orders,
            "seconds": round(elapsed, 3), "orders_per_s": round(orders / elapsed, 1)}


def run_all(url: str, events: int, orders: int, recon_every_s: float) -> dict[str, Any]:
    node = live_node(url, events, orders, recon_every_s)
    bare = asyncio.run(bare_ccxt(url, events, orders))
    return {"live_node": node, "bare_ccxt": bare, "ratios": {
        "event_to_wire_p50_over_ccxt_call_to_wire": round(node["event_to_wire"]["p50_ms"]
                                                          / bare["call_to_wire"]["p50_ms"], 2),
        "event_to_ack_p50_over_ccxt_call_to_ack": round(node["event_to_ack"]["p50_ms"]
                                                        / bare["call_to_ack"]["p50_ms"], 2),
        "orders_per_s_over_ccxt": round(node["orders_per_s"] / bare["orders_per_s"], 2),
        "orders_per_s_node_only_over_ccxt": round(node["orders_per_s_node_only"] / bare["orders_per_s"], 2)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--recon-every-s", type=float, default=1.0)
    args = parser.parse_args()
    events = args.events or (30 if args.quick else 200)
    orders = args.orders or (60 if args.quick else 400)
    from quantdesk.data.sample import sample_path

    proc, info = start_server(sample_path("BTC/USDT", "1m"))
    try:
        results = run_all(info["rest_url"], events, orders, args.recon_every_s)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    text = json.dumps(results, indent=2)
    print(text)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_live.json").write_text(text + "\n")
    return 0 if results["live_node"]["books_equal_venue"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
