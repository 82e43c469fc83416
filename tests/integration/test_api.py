"""The HTTP API for real: uvicorn on 127.0.0.1 (free port, background thread), httpx and a real WebSocket client,
QD_HOME = a temporary directory."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

importlib.import_module("fastapi")
importlib.import_module("uvicorn")
websockets = importlib.import_module("websockets")

START, END = "2022-01-05T00:00:00Z", "2022-01-05T23:59:00Z"  # 1440 one-minute bars of the bundled sample


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app) -> None:
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", ws="websockets-sansio"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import os

    from quantdesk.core.config import load_settings, set_settings

    home = tmp_path_factory.mktemp("api") / "qdhome"
    old = {k: os.environ.get(k) for k in ("QD_HOME",)}
    os.environ["QD_HOME"] = str(home)  # database and Redis: the module's (QD_TEST_DATABASE, QD_TEST_REDIS)
    set_settings(None)
    settings = load_settings()
    # many deliberate bad keys below: a failed-authentication budget that does not get in the way
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"auth_failure_burst": 10_000})})
    set_settings(settings)
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore

    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    app = create_app(settings, rate=200.0, burst=400)
    srv = Server(app)
    # reads carry the read-only key (every route but /health needs one); `bare` sends none
    client = httpx.Client(base_url=srv.url + "/api/v1", timeout=60, headers={"X-API-Key": ro})
    bare = httpx.Client(base_url=srv.url + "/api/v1", timeout=60)
    yield {"url": srv.url, "client": client, "bare": bare, "rw": {"X-API-Key": rw}, "ro": {"X-API-Key": ro},
           "rw_key": rw, "ro_key": ro, "home": home, "settings": settings, "app": app}
    client.close()
    bare.close()
    srv.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    set_settings(None)


MUTATING = [
    ("POST", "/paper-trading/start", {"strategy": "sma_cross"}),
    ("POST", "/paper-trading/stop", {}),
    ("POST", "/paper-trading/trade", {"side": "buy", "notional": 100}),
    ("POST", "/paper-trading/simulate-signals", {"n": 1}),
    ("POST", "/orders", {"side": "buy", "notional": 100}),
    ("DELETE", "/orders/abc", None),
    ("POST", "/backtests", {"strategy": "sma_cross"}),
    ("POST", "/risk/halt", {}),
    ("POST", "/risk/resume", {}),
    ("POST", "/risk/kill-switch", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), MUTATING)
def test_mutating_endpoints_need_a_writable_key(env, method, path, body) -> None:
    c = env["bare"]
    r = c.request(method, path, json=body)
    assert r.status_code == 401, r.text
    r = c.request(method, path, json=body, headers={"X-API-Key": "qd_nope_nope"})
    assert r.status_code == 401
    r = c.request(method, path, json=body, headers={"Authorization": "Bearer qd_nope_nope"})
    assert r.status_code == 401
    r = c.request(method, path, json=body, headers=env["ro"])
    assert r.status_code == 403, r.text
    r = c.request(method, path, json=body, headers={"Authorization": f"Bearer {env['ro_key']}"})
    assert r.status_code == 403


def test_websocket_needs_a_key(env) -> None:
    url = env["url"].replace("http", "ws") + "/ws"

    async def go():
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:  # no key: the first message must be it
            async with websockets.connect(url) as ws:
                await ws.send(json.dumps({"op": "subscribe", "channels": ["events"]}))
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 4401
        async with websockets.connect(url, additional_headers=env["ro"]) as ws:  # read-only may subscribe
            await ws.send(json.dumps({"op": "subscribe", "channels": ["events"]}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "subscribed"

    asyncio.run(go())


def test_keys_are_hashed_at_rest(env) -> None:
    home: Path = env["home"]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "api_keys.json" for p in files)
    for p in files:
        blob = p.read_bytes()
        for key in (env["rw_key"], env["ro_key"]):
            assert key.encode() not in blob, p
            assert key.split("_", 2)[2].encode() not in blob, p
    # and never echoed: the key list / health / errors carry no secret
    r = env["client"].get("/health")
    assert env["rw_key"] not in r.text


def test_rate_limit_gives_429_with_retry_after(env) -> None:
    from quantdesk.api import create_app

    srv = Server(create_app(env["settings"], rate=1.0, burst=3))
    try:
        with httpx.Client(base_url=srv.url + "/api/v1", timeout=30) as c:
            codes = [c.get("/risk/limits", headers=env["ro"]).status_code for _ in range(6)]
            assert codes[:3] == [200, 200, 200]
            assert 429 in codes
            r = c.get("/risk/limits", headers=env["ro"])
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            # per key: another key still has its tokens
            assert c.get("/risk/limits", headers=env["rw"]).status_code == 200
    finally:
        srv.stop()


def test_paper_bot_end_to_end_over_http_and_websocket(env) -> None:
    c = env["client"]
    url = env["url"].replace("http", "ws") + "/ws"
    received: list[dict] = []

    async def go():
        async with websockets.connect(url, additional_headers=env["ro"]) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["trades", "orders", "candles"]}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "subscribed"
            r = await asyncio.to_thread(c.post, "/paper-trading/start", headers=env["rw"], json={
                "name": "api1", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
                "symbols": ["BTC/USDT"], "timeframe": "1m", "speed": "max", "cash": 10000, "risk": False,
                "start": START, "end": END})
            assert r.status_code == 201, r.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                except TimeoutError:
                    break
                received.append(msg)
                if sum(1 for m in received if m["channel"] == "trades" and m.get("type") == "Fill") >= 3:
                    break

    asyncio.run(go())
    fills_ws = [m for m in received if m["channel"] == "trades" and m.get("type") == "Fill"]
    assert len(fills_ws) >= 3, [m.get("type") for m in received[:20]]
    assert {"candles", "orders"} <= {m["channel"] for m in received}
    # wait for the replay to finish
    deadline = time.monotonic() + 120
    while True:
        st = c.get("/paper-trading/status").json()
        run = [b for b in st["running"] if b["bot"] == "api1"]
        if run and run[0]["bars"] >= run[0]["bars_total"]:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.3)
    assert run[0]["bars_total"] == 1440
    # fills over the WebSocket are the persisted fills
    fills = c.get("/fills", params={"bot": "api1"}).json()
    ws_ids = [m["data"]["trade_id"] for m in fills_ws]
    assert ws_ids == [f["trade_id"] for f in fills][: len(ws_ids)]
    # account: cash + positions = equity
    acc = c.get("/paper-trading/account", params={"bot": "api1"}).json()
    assert Decimal(acc["cash"]) + Decimal(acc["positions_value"]) == pytest.approx(Decimal(acc["equity"]))
    pos = {p["symbol"]: p["quantity"] for p in c.get("/paper-trading/positions", params={"bot": "api1"}).json()}
    assert {p["symbol"]: p["quantity"] for p in acc["positions"]} == {s: q for s, q in pos.items()} or not pos
    trades = c.get("/paper-trading/trades", params={"bot": "api1"}).json()
    assert trades and all(t["bot"] == "api1" for t in trades)
    realized = sum(Decimal(t["realized_pnl"]) for t in trades)
    assert realized == Decimal(acc["realized_pnl_gross"])
    # "Realized P&L" is net of every fee paid (the open trade's entry fee too), and the cards add up
    assert realized - sum(Decimal(t["fees"]) for t in trades) == Decimal(acc["realized_pnl"])
    assert Decimal(acc["realized_pnl"]) + Decimal(acc["unrealized_pnl"]) == Decimal(acc["total_pnl"])
    assert Decimal(acc["total_pnl"]) == Decimal(acc["equity"]) - Decimal(acc["starting_cash"])
    # the replay is over: an order could never fill (no next bar), so it is refused with the reason, not
    # accepted to stay "accepted" forever; nothing is recorded
    n_fills, n_orders = len(fills), len(c.get("/orders", params={"bot": "api1"}).json())
    n_signals = len(c.get("/signals", params={"bot": "api1"}).json())
    r = c.post("/paper-trading/trade", headers=env["rw"], json={"bot": "api1", "side": "buy", "notional": 500,
                                                               "reason": "api test"})
    assert r.status_code == 409 and "finished" in r.json()["detail"], r.text
    r = c.post("/orders", headers=env["rw"], json={"bot": "api1", "side": "buy", "type": "limit", "price": 1,
                                                  "quantity": 1})
    assert r.status_code == 409, r.text
    r = c.post("/paper-trading/simulate-signals", headers=env["rw"], json={"bot": "api1", "n": 3, "seed": 7})
    assert r.status_code == 409, r.text
    assert len(c.get("/orders", params={"bot": "api1"}).json()) == n_orders
    assert len(c.get("/signals", params={"bot": "api1"}).json()) == n_signals
    assert len(c.get("/fills", params={"bot": "api1"}).json()) == n_fills
    acc2 = c.get("/paper-trading/account", params={"bot": "api1"}).json()
    assert Decimal(acc2["cash"]) + Decimal(acc2["positions_value"]) == pytest.approx(Decimal(acc2["equity"]))
    perf = c.get("/paper-trading/performance", params={"bot": "api1"}).json()
    assert perf["bot"] == "api1" and perf["equity_curve"]
    assert c.get("/bots/api1").json()["bot"] == "api1"
    assert c.get("/risk/state").json()[0]["bot"] == "api1"
    # stop
    r = c.post("/paper-trading/stop", headers=env["rw"], json={"bot": "api1"})
    assert r.status_code == 200, r.text
    assert c.get("/bots/api1").json()["status"] in ("finished", "stopped")
    r = c.post("/paper-trading/stop", headers=env["rw"], json={"bot": "api1"})
    assert r.status_code == 404 and "api1" in r.json()["detail"]
    m = httpx.get(env["url"] + "/metrics", headers=env["ro"]).text
    assert "qd_paper_fills" in m and "qd_api_requests_total" in m


def test_backtest_over_http_equals_run_backtest(env) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.cli.output import to_jsonable

    c = env["client"]
    cfg = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbol": "BTC/USDT", "timeframe": "1h",
           "start": "2018-01-01", "end": "2018-06-30"}
    r = c.post("/backtests", headers=env["rw"], json=cfg)
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        doc = c.get(f"/backtests/{run_id}").json()
        if doc["status"] != "running":
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert doc["status"] == "completed", doc
    ref = run_backtest(BacktestConfig(**cfg))
    assert doc["metrics"] == json.loads(json.dumps(to_jsonable(ref.metrics)))
    assert len(doc["trades"]) == len(ref.trades) and len(doc["equity"]) == len(ref.equity)
    assert any(b["id"] == run_id for b in c.get("/backtests").json())
    assert c.get("/backtests/00000000-0000-0000-0000-000000000000").status_code == 404
    assert c.get("/backtests/not-an-id").status_code == 404


def test_candles_and_indicators_equal_the_library(env) -> None:
    from quantdesk import data as qdata
    from quantdesk.cli.output import to_jsonable
    from quantdesk.indicators import registry

    c = env["client"]
    q = {"symbol": "BTC/USDT", "timeframe": "1h", "start": "2019-01-01", "end": "2019-02-01"}
    got = c.get("/market/candles", params=q).json()
    df = qdata.load("BTC/USDT", "1h", None, q["start"], q["end"])
    assert len(got) == len(df)
    assert [g["close"] for g in got] == df["close"].tolist()
    assert got[0]["timestamp"] == to_jsonable(df.index[0])
    assert got == to_jsonable(df)  # every field of every row, as the generic conversion gives it
    tail = c.get("/market/candles", params={**q, "limit": 7}).json()  # the last 7 of the range, in order
    assert tail == got[-7:]
    syms = c.get("/market/symbols").json()
    assert any(s["symbol"] == "BTC/USDT" and s["timeframe"] == "1m" for s in syms)
    cat = c.get("/indicators").json()
    assert any(i["name"] == "rsi" for i in cat)
    got = c.get("/indicators/rsi", params={**q, "period": 10}).json()
    ref = registry.compute("rsi", df, period=10)
    assert got["params"] == {"period": 10}
    assert [v["rsi"] for v in got["values"]] == to_jsonable(ref["rsi"].tolist())
    var = c.get("/risk/var", params={"symbols": "BTC/USDT", "timeframe": "1h"}).json()
    assert var["var"]["BTC/USDT"]["historical_var"] > 0
    assert c.get("/risk/limits").status_code == 200
    h = c.get("/health").json()
    assert h["status"] == "ok" and {"database", "candle_store", "paper_node"} <= set(h["components"])


@pytest.mark.parametrize(("method", "path", "kw", "field"), [
    ("POST", "/paper-trading/start", {"json": {"strategy": "sma_cross", "cash": -5}}, "cash"),
    ("POST", "/paper-trading/start", {"json": {"strategy": "sma_cross", "timeframe": "banana"}}, "timeframe"),
    ("POST", "/paper-trading/start", {"json": {"strategy": "sma_cross", "bogus": 1}}, "bogus"),
    ("POST", "/paper-trading/trade", {"json": {"side": "hold", "notional": 5}}, "side"),
    ("POST", "/paper-trading/start", {"json": {"strategy": "os:system"}}, "strategy"),
    ("POST", "/backtests", {"json": {"strategy": "evil.module:Thing"}}, "strategy"),
    ("POST", "/paper-trading/simulate-signals", {"json": {"n": 0}}, "n"),
    ("POST", "/backtests", {"json": {"strategy": "sma_cross", "fee": 2}}, "fee"),
    ("POST", "/backtests", {"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
    ("GET", "/market/candles", {"params": {"symbol": "BTC/USDT"}}, "timeframe"),
    ("GET", "/market/candles", {"params": {"symbol": "BTC/USDT", "timeframe": "1m", "limit": -1}}, "limit"),
    ("GET", "/risk/var", {"params": {"symbols": "", "timeframe": "1h"}}, "symbols"),
    ("GET", "/backtests", {"params": {"limit": "x"}}, "limit"),
])
def test_bad_inputs_are_422_naming_the_field(env, method, path, kw, field) -> None:
    headers = {**env["rw"], **kw.pop("headers", {})}
    r = env["client"].request(method, path, headers=headers, **kw)
    assert r.status_code == 422, r.text
    assert field in r.text


@pytest.mark.parametrize(("path", "params", "code"), [
    ("/bots/nobody", None, 404),
    ("/orders/nope", None, 404),
    ("/market/candles", {"symbol": "NOPE/USDT", "timeframe": "1m"}, 404),
    ("/indicators/nope", {"symbol": "BTC/USDT", "timeframe": "1h"}, 404),
    ("/indicators/rsi", {"symbol": "BTC/USDT", "timeframe": "1h", "period": 0}, 400),
    ("/indicators/rsi", {"symbol": "BTC/USDT", "timeframe": "1h", "bogus": 3}, 400),
    ("/market/candles", {"symbol": "BTC/USDT", "timeframe": "1h", "start": "yesterday-ish"}, 422),  # schema: TIME
    ("/paper-trading/account", {"bot": "ghost"}, 404),
    ("/paper-trading/positions", {"bot": "ghost"}, 404),
    ("/backtests/nope", None, 404),
])
def test_unknown_ids_and_bad_values_are_4xx_with_a_message(env, path, params, code) -> None:
    r = env["client"].get(path, params=params)
    assert r.status_code == code, r.text
    assert r.json()["detail"]
    r = env["client"].delete("/orders/nope", headers=env["rw"])
    assert r.status_code == 404


def test_quantdesk_serve_and_api_key_cli(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_")}
    env["QD_HOME"] = str(tmp_path / "home")
    exe = [sys.executable, "-m", "quantdesk"]
    out = subprocess.run(exe + ["api-key", "create", "--name", "cli"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert key.startswith("qd_") and key not in (tmp_path / "home" / "api_keys.json").read_text()
    listed = subprocess.run(exe + ["--json", "api-key", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert key not in listed.stdout and json.loads(listed.stdout)[0]["name"] == "cli"
    port = _free_port()
    proc = subprocess.Popen(exe + ["serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/risk/halt", json={}, headers={"X-API-Key": key})
        assert r.status_code == 404  # authorised; no bot is running
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert key not in err


def test_a_bad_start_is_a_4xx_and_leaves_no_running_bot(env) -> None:
    c = env["client"]
    r = c.post("/paper-trading/start", headers=env["rw"], json={"name": "bad1", "strategy": "nosuch"})
    assert r.status_code == 404 and "nosuch" in r.json()["detail"]
    r = c.post("/paper-trading/start", headers=env["rw"], json={"name": "bad2", "strategy": "sma_cross",
                                                               "params": {"fast": "x"}})
    assert r.status_code == 400 and "fast" in r.json()["detail"]
    r = c.post("/paper-trading/start", headers=env["rw"], json={"name": "bad3", "strategy": "sma_cross",
                                                               "symbols": ["NOPE/USDT"]})
    assert r.status_code == 404 and "NOPE/USDT" in r.json()["detail"]
    names = {b["bot"] for b in c.get("/bots").json()}
    assert not names & {"bad1", "bad2", "bad3"}
