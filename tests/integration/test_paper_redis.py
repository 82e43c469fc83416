"""Paper node with Redis on, for real: `python -m quantdesk paper ...` runs in a subprocess with QD_REDIS__URL
and a unique QD_REDIS__PREFIX; this process reads the real Redis Streams with a RedisSubscriber while it runs and
checks the fills against what the node persisted, and the RedisCache against the final state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from quantdesk.settings import Settings
from quantdesk.storage.redis_bus import RedisCache, RedisSubscriber
from quantdesk.storage.trading import TradingStore


def test_paper_run_publishes_to_redis_streams_and_cache(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    home = tmp_path / "qdhome"
    env = {**os.environ, "QD_HOME": str(home), "QD_REDIS__URL": redis_url, "QD_REDIS__PREFIX": redis_prefix}
    cmd = [sys.executable, "-m", "quantdesk", "--json", "paper", "--strategy", "sma_cross", "--param", "fast=3",
           "--param", "slow=8", "--symbol", "BTC/USDT", "--timeframe", "1m", "--speed", "max", "--no-risk",
           "--bot-name", "rb", "--max-bars", "400"]
    sub = RedisSubscriber(["fills", "bars", "orders", "signals"], url=redis_url, prefix=redis_prefix,
                          start_id="0", block_ms=100)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: dict[str, list] = {"fills": [], "bars": [], "orders": [], "signals": []}
    try:
        deadline = time.monotonic() + 120
        idle_after_exit = None
        while time.monotonic() < deadline:  # read while the node runs, from another process
            batch = sub.read()
            for d in batch:
                got[d.topic].append(d.message)
            if proc.poll() is not None:
                if batch:
                    idle_after_exit = None
                elif idle_after_exit is None:
                    idle_after_exit = time.monotonic()
                elif time.monotonic() - idle_after_exit > 1.0:
                    break
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["bars"] == 400

    store = TradingStore(Settings(home=home).database_url)  # the subprocess's database (same environment)
    try:
        bot = store.get_bot("rb")
        st = store.load_state(bot["id"])
    finally:
        store.close()
    # the fills on Redis, in order, are the fills the node persisted
    assert len(st.fills) > 10
    assert [f["bot"] for f in got["fills"]] == ["rb"] * len(st.fills)
    keys = ("trade_id", "client_order_id", "symbol", "side", "price", "quantity", "fee", "ts", "seq")
    assert [tuple(str(f[k]) for k in keys) for f in got["fills"]] == [tuple(str(r[k]) for k in keys)
                                                                        for r in st.fills]
    # market data: every bar, in order; the engine's fill events on `orders`
    ts = [b.ts_ns for b in got["bars"]]
    assert len(ts) == 400 and ts == sorted(ts) and len(set(ts)) == 400
    filled = [e for e in got["orders"] if type(e).__name__ == "OrderFilled"]
    assert [e.trade_id for e in filled] == [f["trade_id"] for f in st.fills]

    # the cache: latest price of the symbol, and the bot's final state
    cache = RedisCache(redis_url, prefix=redis_prefix)
    try:
        price, pts = cache.get_price("BTC/USDT")
        assert pts == ts[-1] and float(price) == got["bars"][-1].close
        state = cache.get_state("rb")
    finally:
        cache.close()
    assert state["cash"] == bot["cash"] == doc["cash"]
    assert Decimal(state["equity"]) == Decimal(doc["equity"])
    assert state["positions"] == {s: p["quantity"] for s, p in st.positions.items()}
    assert state["bar_index"] == 399 and state["fills"] == len(st.fills)


def test_restart_does_not_republish_and_signals_alerts_go_to_redis(tmp_path: Path, redis_url: str,
                                                                    redis_prefix: str, qd_home: Path,
                                                                    db_url) -> None:
    """In-process node, stopped and recovered: the recovery replay publishes nothing, so the streams hold every
    fill exactly once; manual trades go to `signals`, risk denials to `alerts` (fit_to_limits off: with it on, the
    default, an order over max_position_pct is resized instead of denied)."""
    from quantdesk.data import load
    from quantdesk.paper import BotSpec, PaperNode
    from quantdesk.settings import Settings

    settings = Settings(home=qd_home, redis={"url": redis_url, "prefix": redis_prefix})
    frames = {"BTC/USDT": load("BTC/USDT", "1m").iloc[:400]}
    spec = BotSpec(name="rr", strategy="sma_cross", params={"fast": 3, "slow": 8}, symbols=["BTC/USDT"],
                   timeframe="1m", risk={"max_position_pct": 0.5, "fit_to_limits": False}, speed="max")
    url = db_url("p")
    node = PaperNode(url, settings=settings)
    node.add_bot(spec, frames=frames)
    node.run(max_steps=150)
    node.manual_trade("rr", "buy", notional=200, reason="redis test")
    node.shutdown()
    node2 = PaperNode(url, settings=settings)
    bot = node2.add_bot(spec, frames=frames, resume=True)
    assert bot.next_index == 150
    node2.run()
    node2.shutdown()

    with RedisSubscriber(["fills", "bars", "signals", "alerts"], url=redis_url, prefix=redis_prefix,
                         start_id="0", block_ms=50) as sub:
        got: dict[str, list] = {"fills": [], "bars": [], "signals": [], "alerts": []}
        for d in sub.iter(timeout=0.5):
            got[d.topic].append(d.message)
    store = TradingStore(url)
    try:
        st = store.load_state(store.get_bot("rr")["id"])
    finally:
        store.close()
    assert [f["trade_id"] for f in got["fills"]] == [r["trade_id"] for r in st.fills] and len(st.fills) >= 2
    assert [b.ts_ns for b in got["bars"]] == [int(t.value) for t in frames["BTC/USDT"].index]
    assert [(s["side"], s["notional"], s["reason"]) for s in got["signals"]] == [("buy", "200", "redis test")]
    assert got["signals"][0]["client_order_id"] in st.orders
    assert got["alerts"] and [a["seq"] for a in got["alerts"]] == [e["seq"] for e in st.risk_events]
    assert got["alerts"][0]["type"] == "OrderDenied"
    cache = RedisCache(redis_url, prefix=redis_prefix)
    try:
        state = cache.get_state("rr")
    finally:
        cache.close()
    assert state["bar_index"] == 399 and state["cash"] == str(bot.engine.portfolio.cash())
