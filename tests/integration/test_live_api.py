"""Live bots in the HTTP API (uvicorn on 127.0.0.1) while `quantdesk live` trades against the exchange simulator:
listed by GET /bots with mode "live", GET /live/{name} with venue balances and the reconciliation state, the paper
controls (manual trade, kill switch, stop) reaching the live process, start refused; the dashboard marks them LIVE."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from live_support import disagreements, live_args, live_env, sim_settings, write_sample
from test_api import env  # noqa: F401 - the shared module fixture (API server, keys, QD_HOME)

from quantdesk.adapters.simulator import ExchangeSimulator

pytestmark = pytest.mark.slow
WEB = Path(__file__).resolve().parents[2] / "src" / "quantdesk" / "web" / "static"


def _wait(fn, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)
    return value


def test_live_bot_in_the_api_and_its_controls(env, tmp_path):  # noqa: F811
    c, rw = env["client"], env["rw"]
    sample = write_sample(tmp_path, rows=400)
    with ExchangeSimulator(data=sample, **sim_settings()) as sim:
        proc = subprocess.Popen(live_args(sim.rest_url, "api-live", "sma_cross", params=("fast=50", "slow=100")),
                                env=live_env(env["home"]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        try:
            row = _wait(lambda: next((b for b in c.get("/bots").json() if b["bot"] == "api-live"), None))
            assert row["mode"] == "live"
            _wait(lambda: c.get("/live/api-live").json()["reconciliation"])  # started: reconciled with the venue
            time.sleep(2.5)  # a couple of closed bars (a manual order needs a price)
            live = c.get("/live/api-live").json()
            assert live["mode"] == "live" and Decimal(live["balances"]["USDT"]) == 10_000
            assert live["reconciliation"]["verdict"] == "in_sync" and live["orders"] == []
            assert c.post("/bots/api-live/start", headers=rw).status_code == 409

            # a manual order from the dashboard's form: queued, placed by the live process after its next bar
            r = c.post("/paper-trading/trade", json={"bot": "api-live", "side": "buy", "quantity": 0.002}, headers=rw)
            assert r.status_code == 201 and r.json()["queued"] is True
            _wait(lambda: len(sim.state()["fills"]) == 1)
            assert Decimal(sim.state()["balances"]["BTC"]) == Decimal("0.002")
            # the kill switch: cancel on the venue and flatten
            r = c.post("/risk/kill-switch", json={"bot": "api-live"}, headers=rw)
            assert r.status_code == 200, r.text
            _wait(lambda: Decimal(sim.state()["balances"].get("BTC", "0")) == 0)
            assert c.post("/bots/api-live/stop", headers=rw).json()["queued"] is True
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
        sim.set_speed(0)
        node = c.get("/live/api-live").json()
        assert disagreements(node, sim.state()) == []
        assert [f["side"] for f in node["fills"]] == ["buy", "sell"]
        # the answer is what the schema declares (with its fills and orders), also in the list
        from quantdesk.api.responses.trading import LiveBotStatus

        assert LiveBotStatus.model_validate(node).model_dump(exclude_unset=True) == node
        assert [LiveBotStatus.model_validate(b).bot for b in c.get("/live").json()] == ["api-live"]
        assert c.post("/live/api-live/stop", headers=rw).status_code == 409  # not running any more


def test_dashboard_marks_live_bots():
    js = (WEB / "js" / "pages" / "bots.js").read_text()
    assert 'r.mode === "live"' in js and '"LIVE"' in js and "/live/" in js
    assert ".badge-live" in (WEB / "css" / "app.css").read_text()
