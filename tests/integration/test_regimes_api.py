"""Regimes and anomalies over HTTP for real: uvicorn on 127.0.0.1, the bundled BTC/USDT sample in a temporary
QD_HOME, a webhook channel on a loopback HTTP server with an `anomaly` alert rule. A paper bot replays 1m bars
while an anomaly watcher is attached: its findings are the library's on the same bars, stored, alerted and
counted in /metrics."""

from __future__ import annotations

import os
import re
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from test_alerts_node import Recorder
from test_api import END, START, Server


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.monitoring.alert_config import load_alerts_settings

    rec = Recorder()
    home = tmp_path_factory.mktemp("rgapi") / "qdhome"
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)
    set_settings(None)
    alerts = load_alerts_settings({
        "channels": [{"type": "webhook", "name": "hook", "url": f"{rec.base}/hook", "burst": 10_000,
                      "rate_per_min": 1e6}],
        "rules": [{"kind": "anomaly", "channels": ["hook"]}],
        "dedup_window_s": 0, "retries": 1, "backoff_s": 0.01, "backoff_max_s": 0.02,
    })
    settings = load_settings().model_copy(update={"alerts": alerts})
    set_settings(settings)
    rw, _ = KeyStore(settings.home).create_key("rw")
    ro, _ = KeyStore(settings.home).create_key("ro", read_only=True)
    srv = Server(create_app(settings, rate=1000.0, burst=2000))
    # every route but /health needs a key: reads go with the read-only key (writes pass the read-write one)
    client = httpx.Client(base_url=srv.url + "/api/v1", timeout=120, headers={"X-API-Key": ro})
    yield {"url": srv.url, "client": client, "rw": {"X-API-Key": rw}, "ro": {"X-API-Key": ro}, "rec": rec}
    client.close()
    srv.stop()
    rec.close()
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old
    set_settings(None)


def _bars(symbol: str, tf: str, start=None, end=None) -> pd.DataFrame:
    from quantdesk import data as qdata

    return qdata.load(symbol, tf, None, start, end)


def test_regimes_of_a_stored_series(env) -> None:
    from quantdesk.intel.regimes import detect_regimes

    c = env["client"]
    q = {"symbol": "BTC/USDT", "timeframe": "1h", "method": "bocpd", "train": 150, "limit": 300}
    doc = c.get("/regimes", params=q).json()
    want = detect_regimes(_bars("BTC/USDT", "1h"), "bocpd", train=150).iloc[-300:]
    got = pd.DataFrame(doc["values"])
    assert len(got) == 300 and got["timestamp"].iloc[-1] == want.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    np.testing.assert_allclose(got["p_changepoint"].astype(float), want["p_changepoint"], rtol=1e-9)
    assert doc["labels"] == ["calm", "volatile"]
    segs = doc["segments"]
    assert segs[0]["start"] == got["timestamp"].iloc[0] and segs[-1]["end"] == got["timestamp"].iloc[-1]
    assert all(s["name"] in ("calm", "volatile", "unknown") for s in segs)
    assert sum(1 for a, b in zip(segs, segs[1:], strict=False) if a["name"] == b["name"]) == 0  # runs are maximal


@pytest.mark.parametrize(("params", "status", "needle"), [
    ({"method": "nope"}, 422, "method"),
    ({"method": "hmm", "train": 5}, 400, "train"),
    ({"method": "rules", "bogus": 1}, 400, "bogus"),
    ({"symbol": "NOPE/USDT"}, 404, "NOPE"),
])
def test_bad_regime_requests_are_4xx_with_a_reason(env, params, status, needle) -> None:
    q = {"symbol": "BTC/USDT", "timeframe": "1h", **params}
    r = env["client"].get("/regimes", params=q)
    assert r.status_code == status, r.text
    assert needle in r.text


def test_backtest_report_by_regime_matches_its_metrics(env) -> None:
    c = env["client"]
    cfg = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbol": "BTC/USDT", "timeframe": "1h",
           "start": "2019-01-01", "end": "2019-04-01"}
    run_id = c.post("/backtests", json=cfg, headers=env["rw"]).json()["id"]
    deadline = time.monotonic() + 120
    while (job := c.get(f"/backtests/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "completed", job
    doc = c.get(f"/regimes/report/backtest/{run_id}", params={"method": "rules"}).json()
    table = pd.DataFrame(doc["by_regime"]).set_index("regime")
    assert table.loc["all", "return_pct"] == pytest.approx(job["metrics"]["total_return_pct"], rel=1e-6)
    assert table.loc["all", "trades"] == len(job["trades"])
    assert c.get("/regimes/report/backtest/nope").status_code == 404


def test_anomaly_scan_and_detect_job(env) -> None:
    from quantdesk.intel.anomalies import detect_anomalies

    c = env["client"]
    scan = c.get("/anomalies/scan", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 2000}).json()
    bars = _bars("BTC/USDT", "1h")
    want = detect_anomalies(bars)
    want = want[want["timestamp"] >= bars.index[-2000]]
    assert [r["timestamp"] for r in scan["rows"]] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in want["timestamp"]]
    body = {"symbol": "BTC/USDT", "timeframe": "1h", "method": "iqr", "start": "2019-06-01", "end": "2019-10-01"}
    assert c.post("/anomalies/detect", json=body, headers=env["ro"]).status_code == 403
    assert c.post("/anomalies/detect", json={**body, "method": "nope"}, headers=env["rw"]).status_code == 422
    job_id = c.post("/anomalies/detect", json=body, headers=env["rw"]).json()["id"]
    deadline = time.monotonic() + 120
    while (job := c.get(f"/anomalies/jobs/{job_id}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "completed", job
    stored = c.get("/anomalies", params={"source": "api", "symbol": "BTC/USDT", "limit": 5000}).json()
    assert len(stored) == job["stored"] == job["summary"]["anomalous_bars"] > 0


def test_watching_a_paper_bot_stores_alerts_and_counts(env) -> None:
    from quantdesk.intel.anomalies import detect_anomalies

    c = env["client"]
    r = c.post("/paper-trading/start", headers=env["rw"], json={
        "name": "watched", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"],
        "timeframe": "1m", "speed": 6000, "cash": 10000, "risk": False, "start": START, "end": END})
    assert r.status_code == 201, r.text
    w = c.post("/anomalies/watch", headers=env["rw"], json={"bot": "watched", "threshold": 4.0})
    assert w.status_code == 200, w.text
    deadline = time.monotonic() + 180
    while True:
        run = [b for b in c.get("/paper-trading/status").json()["running"] if b["bot"] == "watched"]
        if run and run[0]["bars"] >= run[0]["bars_total"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    info = [x for x in c.get("/anomalies/watch").json() if x["bot"] == "watched"][0]
    since = info["since"]["BTC/USDT"]
    bars = _bars("BTC/USDT", "1m", since, END)
    want = detect_anomalies(bars, threshold=4.0)
    assert len(want) >= 3, "the window should hold some anomalies at threshold 4"
    stored = c.get("/anomalies", params={"source": "watched", "limit": 5000}).json()
    assert sorted(r["timestamp"] for r in stored) == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in want["timestamp"]]
    assert info["found"] == len(want)
    # alerts: one webhook delivery per anomaly (dedup window 0)
    deadline = time.monotonic() + 30
    while len(env["rec"].on("/hook")) < len(want) and time.monotonic() < deadline:
        time.sleep(0.2)
    hooks = [h for h in env["rec"].on("/hook") if "watched" in h["raw"].decode()]
    assert len(hooks) == len(want)
    # Prometheus: qd_anomalies_total per kind adds up to the stored rows of the watcher and the job
    text = httpx.get(env["url"] + "/metrics", headers=env["ro"]).text
    total = sum(float(v) for v in re.findall(r'^qd_anomalies_total\{[^}]*symbol="BTC/USDT"[^}]*\} (\S+)$', text,
                                             re.M))
    api_rows = len(c.get("/anomalies", params={"source": "api", "limit": 5000}).json())
    assert total == len(want) + api_rows
    # the paper bot's performance split by regime: every closed trade counted once
    rep = c.get("/regimes/report/bot/watched", params={"method": "bocpd", "train": 100}).json()
    table = pd.DataFrame(rep["by_regime"]).set_index("regime")
    assert table.loc["all", "trades"] == len(c.get("/paper-trading/trades", params={"bot": "watched"}).json()) > 0
    assert table.drop(index="all")["trades"].sum() == table.loc["all", "trades"]
    assert c.get("/regimes/report/bot/ghost").status_code == 404
    assert c.delete("/anomalies/watch/watched", headers=env["rw"]).status_code == 200
    assert c.post("/anomalies/watch", headers=env["rw"], json={"bot": "ghost"}).status_code == 404
