"""Metrics and health of the running paper node, for real: uvicorn on 127.0.0.1, paper bots on the bundled
BTC/USDT 1m sample, /metrics parsed with prometheus_client's own parser and compared with the API's numbers."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import socket
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_api import END, START, Server  # the suite's uvicorn-in-a-thread helper

websockets = importlib.import_module("websockets")


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """/metrics as {sample name: [(labels, value), ...]}."""
    r = httpx.get(url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(m: dict, name: str, **labels: str) -> float:
    """The one sample of `name` whose labels include `labels` (0 when absent: a counter never incremented)."""
    got = [v for lab, v in m.get(name, []) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(got) <= 1, (name, labels, got)
    return got[0] if got else 0.0


def total(m: dict, name: str, **labels: str) -> float:
    return sum(v for lab, v in m.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


def _app_env(tmp_path_factory: Any, name: str, **overrides: Any) -> dict[str, Any]:
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    rate, burst = overrides.pop("_rate", 1000.0), overrides.pop("_burst", 2000)
    home = tmp_path_factory.mktemp(name) / "qdhome"
    os.environ["QD_HOME"] = str(home)
    os.environ.pop("QD_DATABASE__URL", None)
    set_settings(None)
    settings = load_settings()
    # /metrics open to a scraper without a key (api.public_metrics), every other read with the key
    overrides.setdefault("api", settings.api.model_copy(update={"public_metrics": True}))
    settings = settings.model_copy(update=overrides)
    set_settings(settings)
    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    app = create_app(settings, rate=rate, burst=burst)
    srv = Server(app)
    return {"srv": srv, "url": srv.url, "app": app, "rw": {"X-API-Key": rw},
            "client": httpx.Client(base_url=srv.url + "/api/v1", timeout=60, headers={"X-API-Key": rw})}


def _close(env: dict[str, Any], old: dict[str, str | None]) -> None:
    """Stop an `_app_env` server and put the environment and the settings back as they were."""
    from quantdesk.core.config import set_settings

    env["client"].close()
    env["srv"].stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    set_settings(None)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    old = {k: os.environ.get(k) for k in ("QD_HOME", "QD_DATABASE__URL")}
    env = _app_env(tmp_path_factory, "monitoring")
    yield env
    _close(env, old)


def start_bot(env: dict, name: str, *, risk: bool | dict, speed: Any = "max") -> None:
    r = env["client"].post("/paper-trading/start", headers=env["rw"], json={
        "name": name, "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"],
        "timeframe": "1m", "speed": speed, "cash": 10000, "risk": risk, "start": START, "end": END})
    assert r.status_code == 201, r.text


def wait_finished(env: dict, *names: str, timeout: float = 180) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        run = {b["bot"]: b for b in env["client"].get("/paper-trading/status").json()["running"]}
        if all(n in run and run[n]["bars"] >= run[n]["bars_total"] for n in names):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def test_metrics_agree_with_the_api(node) -> None:
    c = node["client"]
    start_bot(node, "m1", risk=False)
    # the configured limits with fit_to_limits off: max_position_pct 15% denies buy-all-cash entries
    start_bot(node, "m2", risk={"fit_to_limits": False})
    run = wait_finished(node, "m1", "m2")
    m = scrape(node["url"])
    for bot in ("m1", "m2"):
        assert run[bot]["bars_total"] == 1440
        assert value(m, "qd_paper_bars_processed_total", bot=bot) == run[bot]["bars"] == 1440
        assert value(m, "qd_paper_bar_processing_seconds_count", bot=bot) == 1440
        assert 0 < value(m, "qd_paper_bar_processing_seconds_sum", bot=bot) < 1440  # seconds, not ns
        fills = c.get("/fills", params={"bot": bot}).json()
        sides = Counter(f["side"] for f in fills)
        assert total(m, "qd_paper_fills_total", bot=bot) == len(fills) == run[bot]["fills"]
        for side in ("buy", "sell"):
            assert value(m, "qd_paper_fills_total", bot=bot, side=side) == sides[side]
        orders = c.get("/orders", params={"bot": bot}).json()
        by_status = Counter(o["status"] for o in orders)
        assert value(m, "qd_paper_orders_total", bot=bot, status="submitted") == len(orders)
        for status in ("filled", "canceled", "denied", "rejected", "expired"):
            assert value(m, "qd_paper_orders_total", bot=bot, status=status) == by_status[status], status
        acc = c.get("/paper-trading/account", params={"bot": bot}).json()
        cur = acc["currency"]
        assert cur == "USDT"
        assert value(m, "qd_paper_equity", bot=bot, currency=cur) == pytest.approx(float(acc["equity"]), rel=1e-9)
        assert value(m, "qd_paper_pnl", bot=bot, currency=cur, kind="realized") == pytest.approx(
            float(acc["realized_pnl"]), rel=1e-9, abs=1e-9)
        unreal = Decimal(acc["positions_value"]) - sum(
            (Decimal(p["cost"]) for p in c.get("/positions", params={"bot": bot}).json()), Decimal(0))
        assert value(m, "qd_paper_pnl", bot=bot, currency=cur, kind="unrealized") == pytest.approx(
            float(unreal), abs=1e-6)
        assert value(m, "qd_paper_feed_lag_seconds", bot=bot) >= 0
        assert value(m, "qd_paper_risk_halted", bot=bot) == 0
    # m1 traded, m2's entries were denied: the counters by rule are the risk engine's own counts
    assert total(m, "qd_paper_fills_total", bot="m1") > 10
    (state,) = [s for s in c.get("/risk/state").json() if s["bot"] == "m2"]
    assert state["denials"] and sum(state["denials"].values()) > 0
    for rule, n in state["denials"].items():
        assert value(m, "qd_paper_risk_denials_total", bot="m2", rule=rule) == n
    assert total(m, "qd_paper_risk_denials_total", bot="m2") == value(
        m, "qd_paper_orders_total", bot="m2", status="denied")
    assert total(m, "qd_paper_risk_denials_total", bot="m1") == 0
    assert value(m, "qd_paper_bots", status="finished") == 2
    assert value(m, "qd_db_up") == 1 and 0 < value(m, "qd_db_ping_seconds") < 1
    if os.environ.get("QD_REDIS__URL"):  # the Redis bus is on (make test-services): probed and up
        assert value(m, "qd_redis_up") == 1
    else:
        assert "qd_redis_up" not in m  # Redis is not configured: not probed
    assert value(m, "qd_event_loop_lag_seconds_count") > 0  # the lifespan's sampler runs

    # signals by source == the recorded signals; orders keep agreeing after manual trades. On a bot that is still
    # running (m1's replay is over: it refuses orders, 409), slow enough that no bar comes meanwhile
    assert c.post("/paper-trading/trade", headers=node["rw"], json={"bot": "m1", "side": "buy",
                                                                    "notional": 100}).status_code == 409
    start_bot(node, "m3", risk=False, speed=1)
    deadline = time.monotonic() + 60
    while not any(b["bot"] == "m3" and b["bars"] >= 1 for b in c.get("/paper-trading/status").json()["running"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    r = c.post("/paper-trading/simulate-signals", headers=node["rw"], json={"bot": "m3", "n": 3, "seed": 7})
    assert r.status_code == 201, r.text
    r = c.post("/paper-trading/trade", headers=node["rw"], json={"bot": "m3", "side": "buy", "notional": 100})
    assert r.status_code == 201, r.text
    m = scrape(node["url"])
    sig = Counter(s["source"] for s in c.get("/signals", params={"bot": "m3"}).json())
    assert sig["simulated"] == 3 and sig["manual"] == 1
    for source, n in sig.items():
        assert value(m, "qd_paper_signals_total", bot="m3", source=source) == n
    orders = c.get("/orders", params={"bot": "m3"}).json()
    assert value(m, "qd_paper_orders_total", bot="m3", status="submitted") == len(orders)
    assert value(m, "qd_paper_orders_total", bot="m3", status="filled") == sum(
        o["status"] == "filled" for o in orders)
    assert c.post("/paper-trading/stop", headers=node["rw"], json={"bot": "m3"}).status_code == 200


def test_request_latency_by_route_template(node) -> None:
    c = node["client"]
    route = "/api/v1/orders/{order_id}"
    before = scrape(node["url"])
    n0 = value(before, "qd_api_request_duration_seconds_count", method="GET", route=route, status="404")
    c0 = value(before, "qd_api_requests_total", method="GET", route=route, status="404")
    for i in range(7):
        assert c.get(f"/orders/nope-{i}").status_code == 404
    assert c.get("/no/such/path").status_code == 404
    after = scrape(node["url"])
    assert value(after, "qd_api_request_duration_seconds_count", method="GET", route=route, status="404") == n0 + 7
    assert value(after, "qd_api_requests_total", method="GET", route=route, status="404") == c0 + 7
    assert value(after, "qd_api_request_duration_seconds_sum", method="GET", route=route, status="404") > 0
    assert value(after, "qd_api_requests_total", method="GET", route="unmatched", status="404") >= 1
    routes = {lab["route"] for lab, _ in after["qd_api_requests_total"]}
    assert not any("nope" in r or "no/such" in r for r in routes), routes  # templates only, bounded
    assert "/metrics" in routes and "/api/v1/paper-trading/status" in routes


def test_websocket_clients_gauge(node) -> None:
    url = node["url"].replace("http", "ws") + "/ws"
    key, _ = node["app"].state.keys.create_key("ws-ro", read_only=True)

    async def go() -> tuple[float, float]:
        async with websockets.connect(url, additional_headers={"X-API-Key": key}) as ws:
            await ws.send(json.dumps({"op": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "pong"
            during = value(await asyncio.to_thread(scrape, node["url"]), "qd_ws_clients")
        deadline = time.monotonic() + 5
        while (after := value(await asyncio.to_thread(scrape, node["url"]), "qd_ws_clients")) != 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        return during, after

    assert asyncio.run(go()) == (1, 0)


def test_health_ok_then_degraded_by_a_risk_halt(node) -> None:
    c = node["client"]
    start_bot(node, "h1", risk=True, speed=600)  # 0.1 s per bar: still running during the test
    deadline = time.monotonic() + 30
    while True:
        h = httpx.get(node["url"] + "/health").json()
        feed = h["components"]["feed"]["bots"].get("h1", {})
        if feed.get("last_bar"):
            break
        assert time.monotonic() < deadline, h
        time.sleep(0.1)
    assert h["status"] == "ok" and h["degraded"] == [], h
    assert h["components"]["bots"]["bots"]["h1"] == {"status": "running", "risk": "ACTIVE"}
    assert feed["status"] == "ok" and feed["kind"] == "replay"
    assert h["components"]["venue"]["bots"]["h1"]["venue"] == "simulated"
    assert h["components"]["database"]["status"] == "ok" and h["components"]["database"]["latency_ms"] > 0
    if os.environ.get("QD_REDIS__URL"):
        assert h["components"]["redis"]["status"] == "ok", h
    else:
        assert h["components"]["redis"] == {"status": "disabled"}
    assert h["components"]["paper_node"]["runner"] == "running"
    assert isinstance(h["uptime_s"], float)
    r = c.post("/risk/halt", headers=node["rw"], json={"bot": "h1", "reason": "ops test"})
    assert r.status_code == 200, r.text
    h = httpx.get(node["url"] + "/health").json()
    assert h["status"] == "degraded"
    assert any(d.startswith("bot h1 halted") for d in h["degraded"]), h["degraded"]
    assert not any("m1" in d or "m2" in d for d in h["degraded"])  # only the halted bot is named
    entry = h["components"]["bots"]["bots"]["h1"]
    assert entry["status"] == "halted" and entry["risk"] == "HALTED" and h["components"]["bots"]["status"] == "degraded"
    assert value(scrape(node["url"]), "qd_paper_risk_halted", bot="h1") == 1
    assert c.post("/risk/resume", headers=node["rw"], json={"bot": "h1"}).status_code == 200
    h = httpx.get(node["url"] + "/health").json()
    assert h["status"] == "ok" and h["degraded"] == [], h
    r = c.post("/paper-trading/stop", headers=node["rw"], json={"bot": "h1"})
    assert r.status_code == 200, r.text
    h = httpx.get(node["url"] + "/health").json()
    assert "h1" not in h["components"]["bots"]["bots"]
    m = scrape(node["url"])
    assert value(m, "qd_paper_equity", bot="h1", currency="USDT") == 0  # a stopped bot's gauges are gone
    assert value(m, "qd_paper_bars_processed_total", bot="h1") > 0  # its counters stay


class SilentServer:
    """Accepts TCP connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["closed port", "silent server"])
def test_dead_redis_is_reported_and_metrics_stay_fast(tmp_path_factory, kind) -> None:
    from quantdesk.core.config import RedisSettings

    silent = SilentServer() if kind == "silent server" else None
    port = silent.port if silent else _closed_port()
    old = {k: os.environ.get(k) for k in ("QD_HOME", "QD_DATABASE__URL")}
    env = _app_env(tmp_path_factory, "deadredis", redis=RedisSettings(url=f"redis://127.0.0.1:{port}/0"),
                   _rate=1.0, _burst=2)
    try:
        for _ in range(3):  # a dead Redis never makes /metrics or /health hang (nor piles up probes)
            t0 = time.monotonic()
            m = scrape(env["url"])
            assert time.monotonic() - t0 < 3.0
            assert value(m, "qd_redis_up") == 0 and value(m, "qd_db_up") == 1
        t0 = time.monotonic()
        h = httpx.get(env["url"] + "/health", timeout=10).json()
        assert time.monotonic() - t0 < 3.0
        assert h["status"] == "degraded" and h["components"]["redis"]["status"] == "down", h
        assert h["components"]["database"]["status"] == "ok"
        assert [d for d in h["degraded"] if d.startswith("redis down")], h["degraded"]
        probes = [t for t in threading.enumerate() if t.name == "qd-probe-redis"]
        assert len(probes) <= 1
        # the rate limiter's refusals are counted (rate 1/s, burst 2)
        codes = [env["client"].get("/risk/limits").status_code for _ in range(4)]
        assert 429 in codes
        assert value(scrape(env["url"]), "qd_api_rate_limited_total") == codes.count(429)
    finally:
        _close(env, old)
        if silent:
            silent.close()


@pytest.mark.redis
def test_live_redis_is_up(tmp_path_factory, redis_url: str) -> None:
    from quantdesk.core.config import RedisSettings

    old = {k: os.environ.get(k) for k in ("QD_HOME", "QD_DATABASE__URL")}
    env = _app_env(tmp_path_factory, "liveredis", redis=RedisSettings(url=redis_url, prefix="qdtest:mon:"))
    try:
        m = scrape(env["url"])
        assert value(m, "qd_redis_up") == 1 and 0 < value(m, "qd_redis_ping_seconds") < 1
        h = httpx.get(env["url"] + "/health").json()
        assert h["components"]["redis"]["status"] == "ok" and h["status"] == "ok", h
    finally:
        _close(env, old)


def test_exchange_feed_lag_errors_and_stall(tmp_path, db_url) -> None:
    """A live exchange feed (the local Binance-compatible server, the feed's own clock): lag = clock - bar close,
    failed polls degrade the venue, no closed bar for 3 periods is a stalled feed; all named in the health."""
    from test_exchange_feed import (
        DATA_FILE,
        FAST,
        MIN_MS,
        MIN_NS,
        T0,
        T0_MS,
        LiveFakeBinance,
        _settings,
        _spec,
    )

    from quantdesk.core.clock import SimulatedClock
    from quantdesk.core.config import set_settings
    from quantdesk.core.timeutil import iso
    from quantdesk.data.ccxt_client import make_exchange
    from quantdesk.monitoring import health as mh
    from quantdesk.monitoring.metrics import PlatformMetrics
    from quantdesk.paper import PaperNode
    from quantdesk.paper.exchange_feed import ExchangeFeed

    live = LiveFakeBinance(DATA_FILE, horizon_ms=T0_MS + 9 * MIN_MS).start()  # bars 0..9 exist
    try:
        settings = _settings(tmp_path, live.base_url)
        set_settings(settings)
        clock = SimulatedClock(T0.value + 10 * MIN_NS + 15 * 10**9)  # bar 9 closed 15 s ago
        feed = ExchangeFeed("binance", "BTC/USDT", "1m", start=T0, settings=settings, clock=clock, retry=FAST,
                            close_delay_s=0.0, client=make_exchange("binance", settings, rate_limit_ms=0))
        node = PaperNode(db_url("live"), settings=settings)
        bot = node.add_bot(_spec("lx"), feed=feed)
        metrics = PlatformMetrics(process=False)
        metrics.attach_bot(bot)

        def sample(name: str) -> float | None:
            return metrics.registry.get_sample_value(name, {"bot": "lx"})

        lags = []
        while bot.step():  # the backfill: bars 0..9
            lags.append(sample("qd_paper_feed_lag_seconds"))
        assert sample("qd_paper_bars_processed_total") == 10 == len(lags)
        # bar k (opened T0 + k min) closed at T0 + (k+1) min; the clock is T0 + 10 min 15 s
        assert lags == pytest.approx([(9 - k) * 60 + 15.0 for k in range(10)])
        reasons: list[str] = []
        comps = mh.bot_components([bot], metrics.tracks(), reasons)
        assert reasons == [] and comps["feed"]["bots"]["lx"]["status"] == "ok"
        assert comps["feed"]["bots"]["lx"]["kind"] == "exchange"
        assert comps["feed"]["bots"]["lx"]["last_bar"] == iso(T0.value + 9 * MIN_NS)
        # an outage: a poll fails after its retries -> the venue is degraded, named
        live.inject("status", status=502, count=3)
        live.advance(1)
        clock.advance_to(clock.now_ns() + MIN_NS)
        assert not bot.step() and feed.failed_polls == 1
        reasons = []
        comps = mh.bot_components([bot], metrics.tracks(), reasons)
        assert comps["venue"]["status"] == "degraded" and comps["venue"]["bots"]["lx"]["failed_polls"] == 1
        assert reasons == ["exchange feed of bot lx failing (1 failed poll(s) since the last bar)"]
        # the exchange answers again: the missed bar arrives, the venue is fine again
        assert bot.step() and sample("qd_paper_feed_lag_seconds") == pytest.approx(15.0)
        reasons = []
        assert mh.bot_components([bot], metrics.tracks(), reasons)["venue"]["status"] == "ok" and reasons == []
        # no new closed bar for more than 3 periods (the exchange stops publishing): stalled
        clock.advance_to(clock.now_ns() + 4 * MIN_NS)
        assert not bot.step()
        reasons = []
        comps = mh.bot_components([bot], metrics.tracks(), reasons)
        assert comps["feed"]["bots"]["lx"]["status"] == "stalled" and comps["feed"]["status"] == "degraded"
        assert reasons == ["feed of bot lx stalled (no bar for 255 s)"]
        node.shutdown()
    finally:
        live.stop()
        set_settings(None)


def test_unreachable_database_makes_health_503(tmp_path_factory) -> None:
    """Down (the database cannot be reached) is a 503, so a load balancer or orchestrator takes the node out."""
    from quantdesk.core.config import DatabaseSettings

    old = {k: os.environ.get(k) for k in ("QD_HOME", "QD_DATABASE__URL")}
    url = f"postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{_closed_port()}/test?connect_timeout=2"
    env = _app_env(tmp_path_factory, "deaddb", database=DatabaseSettings(url=url))
    try:
        deadline = time.monotonic() + 15
        while True:  # the probe runs in the background: the first answers may still be "pending"
            r = httpx.get(env["url"] + "/api/v1/health", timeout=10)
            if r.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        h = r.json()
        assert r.status_code == 503, h
        assert h["status"] == "down" and h["components"]["database"]["status"] == "down", h
        assert "s3cret-pw" not in r.text  # the password in the URL is never shown
        m = scrape(env["url"])
        assert value(m, "qd_db_up") == 0
    finally:
        _close(env, old)
