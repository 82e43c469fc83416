"""/api/v1/training for real: uvicorn on 127.0.0.1 (free port), a temporary QD_HOME with the bundled sample."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from tests.integration.test_api import Server


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from quantdesk.core.config import load_settings, set_settings

    home = tmp_path_factory.mktemp("ptapi") / "qdhome"
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
    srv = Server(create_app(settings, rate=500.0, burst=1000))
    client = httpx.Client(base_url=srv.url + "/api/v1", timeout=120)
    yield {"client": client, "rw": {"X-API-Key": rw}, "ro": {"X-API-Key": ro}, "home": home}
    client.close()
    srv.stop()
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old
    set_settings(None)


def _wait(client: httpx.Client, job_id: str, ro: dict[str, str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    seen_progress = False
    while time.monotonic() < deadline:
        doc = client.get("/training/status", headers=ro).json()
        job = next(j for j in doc["jobs"] if j["id"] == job_id)
        if any(e.get("total") for e in job["timeframes"].values()):
            seen_progress = True
        if job["state"] != "running":
            job["seen_progress"] = seen_progress
            return job
        time.sleep(0.1)
    raise AssertionError("training did not finish")


def test_start_train_status_and_levels(env) -> None:
    c = env["client"]
    body = {"coin": "BTC", "symbol": "BTC/USDT", "timeframes": "1hour,4hour,1day", "until": "2018-06-01T00:00:00Z"}
    assert c.post("/training/start", json=body).status_code == 401
    assert c.post("/training/start", json=body, headers=env["ro"]).status_code == 403
    r = c.post("/training/start", json=body, headers=env["rw"])
    assert r.status_code == 202, r.text
    job = r.json()
    busy = c.post("/training/start", json={**body, "coin": "ETH"}, headers=env["rw"])
    assert busy.status_code == 409 and "running" in busy.json()["detail"]
    done = _wait(c, job["id"], env["ro"])
    assert done["state"] == "done", done
    assert set(done["timeframes"]) == {"1hour", "4hour", "1day"}
    assert all(e["state"] == "done" and e["done"] == e["total"] for e in done["timeframes"].values())
    coins = c.get("/training/status", headers=env["ro"]).json()["coins"]
    assert [x["coin"] for x in coins] == ["BTC"] and coins[0]["age_hours"] < 1
    assert (env["home"] / "powertrader" / "BTC" / "improved_1day.npz").is_file()
    lv = c.get("/training/levels", params={"coin": "BTC", "symbol": "BTC/USDT", "timeframe": "1h", "limit": 300},
               headers=env["ro"])
    assert lv.status_code == 200, lv.text
    doc = lv.json()
    assert len(doc["time"]) == len(doc["long"]) == len(doc["lower_1hour"]) == 300
    assert doc["memory"].endswith("BTC")
    assert any(v is not None for v in doc["lower_4hour"]) and all(v is None for v in doc["lower_1week"])


@pytest.mark.parametrize("body, code, needle", [
    ({"coin": "../etc", "symbol": "BTC/USDT"}, 422, "coin"),
    ({"coin": "BTC", "symbol": "NOPE/USDT"}, 404, "NOPE/USDT"),
    # the schema's patterns say both (422 naming the field): PowerTrader timeframes, a UTC time
    ({"coin": "BTC", "symbol": "BTC/USDT", "timeframes": "3hour"}, 422, "timeframes"),
    ({"coin": "BTC", "symbol": "BTC/USDT", "until": "yesterday-ish"}, 422, "until"),
    ({"coin": "BTC", "symbol": "BTC/USDT", "secret": 1}, 422, "secret"),
])
def test_bad_requests_are_4xx_with_a_reason(env, body: dict, code: int, needle: str) -> None:
    r = env["client"].post("/training/start", json=body, headers=env["rw"])
    assert r.status_code == code, r.text
    assert needle in r.text
    assert env["rw"]["X-API-Key"] not in r.text


def test_ladder_of_an_open_position(env) -> None:
    q = {"avg_price": 100, "quantity": 1, "stages": 3}
    assert env["client"].get("/training/ladder", params=q).status_code == 401  # reads need a key too
    r = env["client"].get("/training/ladder", params=q, headers=env["ro"])
    assert r.status_code == 200, r.text
    st = r.json()["stages"]
    assert st[0]["trigger_price"] == pytest.approx(97.5) and st[0]["buy_notional"] == pytest.approx(195.0)
    assert st[0]["quantity_after"] == pytest.approx(3.0)  # triples
    assert st[1]["trigger_price"] == pytest.approx(st[0]["avg_after"] * 0.95)
    bad = env["client"].get("/training/ladder", params={"avg_price": 100, "quantity": 1, "dca_levels": "1,2"},
                            headers=env["ro"])
    assert bad.status_code == 422 and "dca_levels" in bad.text  # the schema's pattern: losses between -100 and 0
