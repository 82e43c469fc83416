"""Alerts on the running paper node, end to end: uvicorn on 127.0.0.1 with a webhook channel pointing to a local
recording HTTP server, a bot started through the API on the bundled BTC/USDT 1m sample, a WebSocket client on
the `alerts` channel, the real PostgreSQL for the trading state and the alert store."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from test_api import END, START, Server  # the suite's uvicorn-in-a-thread helper

websockets = importlib.import_module("websockets")
SECRET = "node-hmac-secret"
pytestmark = pytest.mark.postgres


class Recorder:
    """Records every POST; answers 500 on paths starting with /broken."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with rec.lock:
                    rec.requests.append({"path": self.path, "headers": dict(self.headers), "raw": body,
                                         "json": json.loads(body)})
                status = 500 if self.path.startswith("/broken") else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


def reference_drawdown_alerts(equity: list[tuple[int, float]], threshold: float) -> list[int]:
    """Bar times at which a drawdown alert is raised and delivered: a crossing of `threshold` % below the running
    peak (re-armed when back above); a crossing from a peak already alerted on is de-duplicated."""
    peak, armed, keys, out = None, True, set(), []
    for ts, eq in equity:
        peak = eq if peak is None else max(peak, eq)
        dd = (peak - eq) / peak * 100 if peak > 0 else 0.0
        if dd >= threshold and armed:
            armed = False
            if f"{peak:g}" not in keys:
                keys.add(f"{peak:g}")
                out.append(ts)
        elif dd < threshold:
            armed = True
    return out


@pytest.fixture()
def node(tmp_path, postgres_url):
    from quantdesk.api import create_app
    from quantdesk.core.config import DatabaseSettings, load_settings, set_settings
    from quantdesk.monitoring.alert_config import load_alerts_settings

    rec = Recorder()
    old = {k: os.environ.get(k) for k in ("QD_HOME", "QD_DATABASE__URL")}
    os.environ["QD_HOME"] = str(tmp_path / "qdhome")
    os.environ.pop("QD_DATABASE__URL", None)
    set_settings(None)
    alerts = load_alerts_settings({
        "channels": [
            {"type": "webhook", "name": "hook", "url": f"{rec.base}/hook", "secret": SECRET, "burst": 10_000,
             "rate_per_min": 1e6},
            {"type": "webhook", "name": "broken", "url": f"{rec.base}/broken", "burst": 10_000,
             "rate_per_min": 1e6},
        ],
        "rules": [
            {"kind": "fill", "channels": ["hook"]},
            {"kind": "risk_halt"},
            {"kind": "drawdown", "name": "dd1", "threshold": 1.0, "channels": ["hook"]},
            # equity never falls 50% here; cash does on every buy-all-cash entry (the trap of the account topic)
            {"kind": "drawdown", "name": "dd50", "threshold": 50.0, "channels": ["hook"]},
        ],
        "retries": 1, "backoff_s": 0.01, "backoff_max_s": 0.02,
    })
    settings = load_settings().model_copy(update={"alerts": alerts,
                                                  "database": DatabaseSettings(url=postgres_url)})
    set_settings(settings)
    from quantdesk.api.keys import KeyStore

    rw, _ = KeyStore(settings.home).create_key("rw")
    app = create_app(settings, rate=1000.0, burst=2000)
    srv = Server(app)
    client = httpx.Client(base_url=srv.url + "/api/v1", timeout=60, headers={"X-API-Key": rw})  # a key: every read
    yield {"url": srv.url, "client": client, "rw": {"X-API-Key": rw}, "rec": rec, "app": app}
    client.close()
    srv.stop()
    rec.close()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    set_settings(None)


def _wait(pred: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_alerts_fire_on_the_node_and_reach_webhook_store_and_websocket(node) -> None:
    c, rec = node["client"], node["rec"]
    ws_url = node["url"].replace("http", "ws") + "/ws"
    received: list[dict[str, Any]] = []

    async def go() -> None:
        async with websockets.connect(ws_url, additional_headers=node["rw"]) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["alerts"]}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "subscribed"

            async def reader() -> None:
                while True:
                    received.append(json.loads(await ws.recv()))

            task = asyncio.create_task(reader())
            r = await asyncio.to_thread(c.post, "/paper-trading/start", headers=node["rw"], json={
                "name": "a1", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"],
                "timeframe": "1m", "speed": "max", "cash": 10000, "risk": False, "start": START, "end": END})
            assert r.status_code == 201, r.text

            def finished() -> bool:
                run = [b for b in c.get("/paper-trading/status").json()["running"] if b["bot"] == "a1"]
                return bool(run) and run[0]["bars"] >= run[0]["bars_total"]

            await asyncio.to_thread(_wait, finished, "the replay to finish", 180)
            r = await asyncio.to_thread(c.post, "/risk/halt", headers=node["rw"], json={"bot": "a1",
                                                                                       "reason": "ops drill"})
            assert r.status_code == 200, r.text
            deadline = time.monotonic() + 30
            while not any(m.get("type") == "Alert" and m["data"]["kind"] == "risk_halt" for m in received):
                assert time.monotonic() < deadline, "no risk_halt alert on the WebSocket"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            task.cancel()

    asyncio.run(go())
    fills = c.get("/fills", params={"bot": "a1"}).json()
    assert len(fills) > 10
    keys = {f"fill:{f['client_order_id']}:{f['trade_id']}": f for f in fills}

    # 1. the webhook received one fill alert per persisted fill, with the fill's content, signed
    hooks = _wait(lambda: (h := [r for r in rec.on("/hook") if r["json"]["kind"] == "fill"]) and
                  len(h) >= len(fills) and h, "the fill webhooks")
    assert len(hooks) == len(fills)
    for r in hooks:
        body = r["json"]
        f = keys[body["dedup_key"]]
        assert body["bot"] == "a1" and body["symbol"] == f["symbol"] == "BTC/USDT"
        assert f"{f['side']} {f['quantity']} " in body["text"] and f"@ {f['price']} " in body["text"]
        assert f"order {f['client_order_id']}" in body["text"] and f"fee {f['fee']}" in body["text"]
        assert body["ts"] == f["ts"]
        sig = "sha256=" + hmac.new(SECRET.encode(), r["raw"], hashlib.sha256).hexdigest()
        assert r["headers"]["X-QuantDesk-Signature"] == sig
    assert {r["json"]["dedup_key"] for r in hooks} == set(keys)
    # ... and the halt alert names the bot, on both channels of the rule (the broken one failing)
    (halt,) = _wait(lambda: [r for r in rec.on("/hook") if r["json"]["kind"] == "risk_halt"], "the halt webhook")
    assert halt["json"]["bot"] == "a1" and "HALTED" in halt["json"]["title"] and "ops drill" in halt["json"]["text"]
    assert halt["json"]["severity"] == "critical"
    _wait(lambda: len(rec.on("/broken")) == 2, "the broken channel's two attempts (1 retry)")

    # 2. drawdown on EQUITY after each bar: the same crossings as the backtest's equity curve of the same run
    from quantdesk import data as qdata
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest

    df = qdata.load("BTC/USDT", "1m", None, START, END)
    res = run_backtest(BacktestConfig(strategy="sma_cross", params={"fast": 5, "slow": 20}, symbol="BTC/USDT",
                                      timeframe="1m", cash=10000, fee=0.001), df)
    curve = [(int(ts.value), float(v)) for ts, v in res.equity.items()]
    expected = reference_drawdown_alerts(curve, 1.0)
    assert expected and reference_drawdown_alerts(curve, 50.0) == []
    dd = [r["json"] for r in rec.on("/hook") if r["json"]["kind"] == "drawdown"]
    assert sorted(a["ts"] for a in dd) == expected
    assert all(a["bot"] == "a1" and a["dedup_key"].startswith("drawdown:dd1:a1:") for a in dd)

    # 3. GET /alerts: newest first, filtered, each with its deliveries
    def all_final() -> list[dict[str, Any]] | None:
        got = c.get("/alerts", params={"limit": 1000}).json()
        done = all(d["status"] != "pending" for a in got for d in a["deliveries"])
        return got if done and len(got) >= len(fills) + 1 + len(expected) else None

    stored = _wait(all_final, "every delivery to finish")
    assert stored[0]["kind"] == "risk_halt"  # raised last
    created = [a["created_at"] for a in stored]
    assert created == sorted(created, reverse=True)
    fill_alerts = c.get("/alerts", params={"kind": "fill", "limit": 1000}).json()
    assert {a["dedup_key"] for a in fill_alerts} == set(keys)
    for a in fill_alerts:
        assert a["deliveries"] == [{"channel": "hook", "status": "sent", "attempts": 1, "error": None}]
        assert a["ts"].endswith("Z") and a["ts_ns"] == keys[a["dedup_key"]]["ts"] and a["bot"] == "a1"
    (h,) = c.get("/alerts", params={"kind": "risk_halt"}).json()
    assert h["bot"] == "a1" and h["severity"] == "critical"
    assert sorted((d["channel"], d["status"], d["attempts"]) for d in h["deliveries"]) == [
        ("broken", "failed", 2), ("hook", "sent", 1)]
    (failed,) = [d for d in h["deliveries"] if d["status"] == "failed"]
    assert failed["error"] == "webhook channel 'broken': HTTP 500"
    assert [a["kind"] for a in c.get("/alerts", params={"severity": "critical"}).json()] == ["risk_halt"]
    assert len(c.get("/alerts", params={"kind": "fill", "limit": 3}).json()) == 3
    assert c.get("/alerts", params={"bot": "nobody"}).json() == []
    r = c.get("/alerts", params={"kind": "nonsense"})
    assert r.status_code == 422 and "kind" in r.text
    assert c.get("/alerts", params={"limit": 0}).status_code == 422

    # 4. the WebSocket pushed the same alerts
    ws_alerts = [m["data"] for m in received if m.get("type") == "Alert"]
    assert {a["dedup_key"] for a in ws_alerts if a["kind"] == "fill"} == set(keys)
    assert [a["bot"] for a in ws_alerts if a["kind"] == "risk_halt"] == ["a1"]
    assert all(m["channel"] == "alerts" for m in received)

    # 5. health: the failing channel degrades the alerts component, named; no secret anywhere
    hl = httpx.get(node["url"] + "/health").json()
    assert hl["components"]["alerts"]["channels"]["hook"]["last_delivery"] == "sent"
    assert hl["components"]["alerts"]["channels"]["broken"]["status"] == "degraded"
    assert "alert channel 'broken' failing (webhook channel 'broken': HTTP 500)" in hl["degraded"]
    assert "bot a1 halted (manual)" in hl["degraded"] or any(d.startswith("bot a1 halted") for d in hl["degraded"])
    m = httpx.get(node["url"] + "/metrics", headers=node["rw"]).text
    for blob in (json.dumps(stored), json.dumps(hl), m):
        assert SECRET not in blob and rec.base not in blob
    assert f'qd_alerts_total{{kind="fill",severity="info"}} {float(len(fills))}' in m
    assert f'qd_alert_deliveries_total{{channel="hook",status="sent"}} {float(len(fills) + 1 + len(dd))}' in m
