"""The ML and signal-tracking API for real: uvicorn on 127.0.0.1 (free port), httpx, the bundled BTC/USDT sample
in a temporary QD_HOME. Training runs as a bounded background job with progress."""

from __future__ import annotations

import time

import httpx
import pytest
from test_api import Server  # the suite's uvicorn-in-a-thread helper

START, END = "2019-01-01T00:00:00Z", "2019-04-30T23:00:00Z"  # ~2900 hourly bars of the bundled sample


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import os

    from quantdesk.core.config import load_settings, set_settings

    home = tmp_path_factory.mktemp("mlapi") / "qdhome"
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)
    set_settings(None)
    settings = load_settings()
    set_settings(settings)
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore

    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    srv = Server(create_app(settings, rate=200.0, burst=400))
    client = httpx.Client(base_url=srv.url + "/api/v1", timeout=120)
    yield {"client": client, "rw": {"X-API-Key": rw}, "ro": {"X-API-Key": ro}, "rw_key": rw}
    client.close()
    srv.stop()
    from quantdesk.ml import registry

    registry.clear_cache()
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old
    set_settings(None)


def _wait_job(c: httpx.Client, job_id: str, ro: dict[str, str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < deadline:
        job = c.get(f"/ml/jobs/{job_id}", headers=ro).json()
        seen.add(job["stage"])
        if job["status"] != "running":
            job["stages_seen"] = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"training job {job_id} did not finish")


def test_train_job_registry_and_bounds(env) -> None:
    c, rw, ro = env["client"], env["rw"], env["ro"]
    body = {"symbol": "BTC/USDT", "timeframe": "1h", "start": START, "end": END, "label": "horizon:4",
            "folds": 3, "features": ["rsi:period=14", "bbands:period=20"], "returns": [1, 4], "volatility": [8]}
    assert c.post("/ml/train", json=body).status_code == 401
    assert c.post("/ml/train", json=body, headers=ro).status_code == 403
    bad = c.post("/ml/train", json={**body, "label": "sideways:3"}, headers=rw)
    assert bad.status_code == 422 and "label" in bad.text
    bad = c.post("/ml/train", json={**body, "features": ["rsx:period=3"]}, headers=rw)
    assert bad.status_code == 404 and "rsx" in bad.json()["detail"]
    r = c.post("/ml/train", json=body, headers=rw)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    # bounded: two running at most (the third is refused while both run)
    r2 = c.post("/ml/train", json={**body, "seed": 1}, headers=rw)
    r3 = c.post("/ml/train", json={**body, "seed": 2}, headers=rw)
    assert r2.status_code == 202 and r3.status_code == 409 and "already running" in r3.json()["detail"]
    job = _wait_job(c, job_id, ro)
    assert job["status"] == "completed", job.get("error")
    _wait_job(c, r2.json()["id"], ro)
    cv = job["result"]["cv"]
    assert {"auc", "brier", "logloss", "accuracy", "baseline_accuracy"} <= set(cv)
    assert abs(cv["auc"] - 0.5) < 0.1  # real hourly BTC: little to learn, reported honestly
    mid = job["model_id"]
    models = c.get("/ml/models", headers=ro).json()
    assert mid in [m["id"] for m in models]
    row = next(m for m in models if m["id"] == mid)
    assert row["metrics"]["auc"] == pytest.approx(cv["auc"]) and row["live"]["resolved"] == 0
    detail = c.get(f"/ml/models/{mid}", headers=ro).json()
    assert detail["meta"]["features"][:2] == ["rsi_14", "bbands_20.upper"]
    assert c.get("/ml/models/" + "0" * 24, headers=ro).status_code == 404
    assert c.post(f"/ml/models/{mid}/promote", headers=rw).json()["status"] == "champion"
    feats = c.get("/ml/features", params={"group": "momentum"}, headers=ro).json()
    assert any(e["name"] == "rsi" for e in feats["indicators"]) and all(e["group"] == "momentum"
                                                                         for e in feats["indicators"])


def test_signal_tracking_validate_and_report(env) -> None:
    c, rw, ro = env["client"], env["rw"], env["ro"]
    from quantdesk import data as qdata

    candles = qdata.load("BTC/USDT", "1h").loc["2019-02-01":"2019-02-20"]
    sigs = []
    for k, (t, row) in enumerate(candles.iloc[:300:10].iterrows()):
        sigs.append({"time": t.isoformat(), "source": "test:model", "symbol": "BTC/USDT", "timeframe": "1h",
                     "direction": 1 if k % 3 else -1, "price": float(row["close"]), "confidence": 0.55 + (k % 4) / 10,
                     "horizon": 6})
    r = c.post("/signal-tracking/validate", json={"signals": sigs}, headers=rw)
    assert r.status_code == 200, r.text
    doc = r.json()
    v = doc["validated"]
    assert len(v) == 30 and all(x["status"] == "resolved" for x in v)
    t0 = candles.index[0]
    exp = candles["close"].iloc[6] / candles["close"].iloc[0] - 1  # first signal: short, 6 bars later
    assert v[0]["ts"] == t0.value and v[0]["ret"] == pytest.approx(-exp) and v[0]["hit"] == (-exp > 0)
    assert doc["report"]["overall"]["resolved"] == 30
    listed = c.get("/signal-tracking/signals", params={"source": "test:model"}, headers=ro).json()
    assert len(listed) == 30 and listed[0]["time"].endswith("Z") and listed[0]["exit_time"]
    acc = c.get("/signal-tracking/accuracy", params={"source": "test:model"}, headers=ro).json()
    o = acc["overall"]
    assert o["resolved"] == 30 and 0 <= o["hit_rate"] <= 1 and "baseline_hit_rate" in o and len(o["deciles"]) == 10
    assert acc["groups"][0]["source"] == "test:model"
    bad = c.post("/signal-tracking/validate", json={"signals": [{**sigs[0], "symbol": "NOPE/USDT"}]}, headers=rw)
    assert bad.status_code == 404
    bad = c.post("/signal-tracking/validate", json={"signals": [{**sigs[0], "direction": 0}]}, headers=rw)
    assert bad.status_code == 422
    assert c.post("/signal-tracking/validate", json={}, headers=env["ro"]).status_code == 403
    assert env["rw_key"] not in r.text


def test_paper_bot_outcomes_become_tracked_training_data(env) -> None:
    """An ml_signal paper bot on bars after its model's training data: its trade entries are collected as tracked
    signals with the model's features at the decision bar, and resolved."""
    c, rw, ro = env["client"], env["rw"], env["ro"]
    models = c.get("/ml/models", headers=ro).json()
    mid = models[-1]["id"]
    r = c.post("/paper-trading/start", headers=rw, json={
        "name": "ml-bot", "strategy": "ml_signal", "params": {"model": mid, "upper": 0.52}, "symbols": ["BTC/USDT"],
        "timeframe": "1h", "speed": "max", "start": "2019-05-01T00:00:00Z", "end": "2019-06-15T00:00:00Z",
        "risk": False})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 180
    while c.get("/bots/ml-bot", headers=ro).json()["status"] == "running":
        assert time.monotonic() < deadline, "ml-bot did not finish"
        time.sleep(0.3)
    trades = c.get("/paper-trading/trades", params={"bot": "ml-bot"}, headers=ro).json()
    assert len(trades) > 0
    r = c.post("/signal-tracking/validate", json={"bots": ["ml-bot"], "horizon": 4}, headers=rw)
    assert r.status_code == 200, r.text
    col = r.json()["collected"][0]
    assert col["bot"] == "ml-bot" and col["signals"] == len(trades) and col["resolved"] >= len(trades) - 1
    rows = c.get("/signal-tracking/signals", params={"origin": "paper"}, headers=ro).json()
    assert len(rows) == len(trades) and all(x["run"] == "ml-bot" for x in rows)
    detail = c.get(f"/ml/models/{mid}", headers=ro).json()
    assert set(rows[0]["features"]) == set(detail["meta"]["features"])  # the model's features at decision time
    bad = c.post("/signal-tracking/validate", json={"bots": ["no-such-bot"]}, headers=rw)
    assert bad.status_code == 404
