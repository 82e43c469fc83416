"""`quantdesk live` against the real exchange simulator on loopback: it trades with the opt-in, its orders are
on the venue, `live status --json` agrees with GET /_sim/state, a restart with --resume continues without
sending anything twice, a kill command cancels and flattens; and it refuses without opt-in or keys."""

from __future__ import annotations

import sys

import httpx
import pytest
from live_support import (
    KEY,
    SECRET,
    disagreements,
    doc,
    live_args,
    live_env,
    run,
    sim_settings,
    status,
    write_sample,
)

from quantdesk.adapters.simulator import ExchangeSimulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("live_node"), rows=400)


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings()) as s:
        yield s


def test_live_trades_on_the_simulator_and_status_agrees_with_the_venue(sim, tmp_path):
    env = live_env(tmp_path / "home")
    args = live_args(sim.rest_url, "sma-live", "sma_cross", "--max-bars", "16", params=("fast=2", "slow=4"))
    first = run(args, env)
    assert first.returncode == 0, first.stderr
    out = doc(first.stdout)
    assert out["mode"] == "live" and out["stopped"] == "max_bars" and out["cursor"] == 15
    truth = httpx.get(f"{sim.rest_url}/_sim/state").json()
    assert truth["orders"] and all(o["client_order_id"].startswith("qd_sma-live_") for o in truth["orders"])
    sim.set_speed(0)  # nothing moves while the two views are compared
    node = status(env, "sma-live")
    assert disagreements(node, httpx.get(f"{sim.rest_url}/_sim/state").json()) == []
    assert {o["client_order_id"]: o["venue_order_id"] for o in node["orders"]} == {
        o["client_order_id"]: str(o["order_id"]) for o in truth["orders"]}
    assert node["reconciliation"]["verdict"] in ("in_sync", "adjusted")
    assert node["balances"]["USDT"] == truth["balances"]["USDT"]

    # restart: the bars and the journal are replayed (nothing is sent), the venue is reconciled, trading goes on
    sim.set_speed(60)
    second = run(args[:args.index("--max-bars")] + ["--max-bars", "6"] + args[args.index("--max-bars") + 2:], env)
    assert second.returncode == 0, second.stderr
    assert doc(second.stdout)["cursor"] >= 21
    sim.set_speed(0)
    after = httpx.get(f"{sim.rest_url}/_sim/state").json()
    assert disagreements(status(env, "sma-live"), after) == []
    assert len(after["submissions"]) >= len(truth["submissions"])


def test_kill_command_cancels_on_the_venue_and_flattens(sim, tmp_path):
    import subprocess
    import time

    env = live_env(tmp_path / "home")
    from live_support import churn_strategy

    proc = subprocess.Popen(live_args(sim.rest_url, "killme", churn_strategy(tmp_path)), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until it holds a position
            state = httpx.get(f"{sim.rest_url}/_sim/state").json()
            if len(state["fills"]) >= 3:
                break
            time.sleep(0.2)
        killed = run([sys.executable, "-m", "quantdesk", "--json", "live", "kill", "killme"], env)
        assert killed.returncode == 0, killed.stderr
        assert doc(killed.stdout) == {"bot": "killme", "command": "kill", "queued": True}
        time.sleep(4)  # the kill acts after the next closed bar
        run([sys.executable, "-m", "quantdesk", "live", "stop", "killme"], env)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    sim.set_speed(0)
    truth = httpx.get(f"{sim.rest_url}/_sim/state").json()
    node = status(env, "killme")
    assert disagreements(node, truth) == []
    assert not [o for o in truth["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    assert truth["balances"].get("BTC", "0") in ("0", "0E-8", "0.00000")  # flattened on the venue
    assert node["positions"]["BTC/USDT"] in ("0", "0.00000", "0E-8", "0.000")


@pytest.mark.parametrize("case", ["no-opt-in", "no-keys", "no-secret"])
def test_live_refuses_without_opt_in_or_keys(case, tmp_path):
    env = live_env(tmp_path / "home")
    args = live_args("http://127.0.0.1:9", "refused", "sma_cross")
    if case == "no-opt-in":
        args.remove("--confirm-live")
    elif case == "no-keys":
        del env["QD_EXCHANGES__BINANCE__API_KEY"], env["QD_EXCHANGES__BINANCE__SECRET"]
    else:
        del env["QD_EXCHANGES__BINANCE__SECRET"]
    proc = run(args, env, timeout=60)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    assert KEY not in text and SECRET not in text
    if case == "no-opt-in":
        assert "--confirm-live" in text and "QD_LIVE__ENABLED" in text
    else:
        assert "QD_EXCHANGES__BINANCE__API_KEY" in text and "QD_EXCHANGES__BINANCE__SECRET" in text
    assert not (tmp_path / "home" / "quantdesk.db").exists() or case != "no-opt-in"


def test_the_settings_opt_in_replaces_the_flag(tmp_path):
    env = live_env(tmp_path / "home", QD_LIVE__ENABLED="true")
    del env["QD_EXCHANGES__BINANCE__SECRET"]
    args = live_args("http://127.0.0.1:9", "refused", "sma_cross")
    args.remove("--confirm-live")
    proc = run(args, env, timeout=60)
    assert proc.returncode != 0
    assert "QD_EXCHANGES__BINANCE__SECRET" in proc.stderr  # past the opt-in, stopped at the keys
    assert "--confirm-live" not in proc.stderr
