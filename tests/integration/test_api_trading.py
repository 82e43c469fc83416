"""The trading controls of the HTTP API for real (uvicorn on 127.0.0.1): limit/stop orders and their cancellation,
bot pause/resume/stop/start, recorded risk actions, risk usage/correlation/stress, the strategy catalog, whoami,
backtest progress and daily P&L. Every value is checked against an independent source (the library, the
database, hand arithmetic)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from test_api import END, START, env  # noqa: F401 - `env` is the shared module fixture

DATA_DIR = Path(__file__).parents[1] / "data"


def _wait(fn, what: str, timeout: float = 120.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def _bars(c, name: str) -> int:
    run = [b for b in c.get("/paper-trading/status").json()["running"] if b["bot"] == name]
    return run[0]["bars"] if run else 0


def _finished(c, name: str):
    def check():
        run = [b for b in c.get("/paper-trading/status").json()["running"] if b["bot"] == name]
        return run[0] if run and run[0]["bars"] >= run[0]["bars_total"] else None

    return check


def test_whoami_and_strategy_catalog(env) -> None:  # noqa: F811
    c = env["client"]
    me = c.get("/auth/whoami", headers=env["rw"]).json()
    assert me["name"] == "rw" and me["read_only"] is False and "hash" not in me and "salt" not in me
    assert c.get("/auth/whoami", headers=env["ro"]).json()["read_only"] is True
    assert env["bare"].get("/auth/whoami").status_code == 401
    assert c.get("/auth/whoami", headers={"X-API-Key": "qd_x_y"}).status_code == 401
    from quantdesk.strategies.loader import builtin_strategies

    cat = {s["name"]: s for s in c.get("/strategies").json()}
    assert set(cat) == set(builtin_strategies())
    fast = cat["sma_cross"]["params"]["fast"]
    spec = builtin_strategies()["sma_cross"].params["fast"]
    assert (fast["type"], fast["default"], fast["min"], fast["max"]) == ("int", spec.default, spec.minimum,
                                                                         spec.maximum)
    assert cat["sma_cross"]["doc"]


def test_limit_orders_cancel_and_conflicts(env) -> None:  # noqa: F811
    c = env["client"]
    rw = env["rw"]
    # a bot that is still running (paused: it takes orders, and none of them can fill meanwhile); a bot whose
    # replay is over takes none (409: there is no next bar to fill on)
    r = c.post("/paper-trading/start", headers=rw, json={
        "name": "ord1", "strategy": "sma_cross", "params": {"fast": 50, "slow": 200}, "timeframe": "1m",
        "speed": 1, "risk": False, "start": START, "end": END})
    assert r.status_code == 201, r.text
    assert c.post("/bots/ord1/pause", headers=rw).json()["status"] == "paused"
    last = c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1m", "end": START,
                                            "limit": 1}).json()[0]
    price = float(round(last["close"] * 0.8))  # the instrument's grid: whole dollars (inferred from the data)
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "type": "limit", "price": price + 0.3,
                                           "quantity": 0.01})
    assert r.status_code == 400 and "price grid" in r.json()["detail"]  # refused, not silently rounded
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "type": "limit", "price": price,
                                           "quantity": 0.01, "reason": "low bid"})
    assert r.status_code == 201, r.text
    cid = r.json()["client_order_id"]
    o = c.get(f"/orders/{cid}").json()
    assert (o["status"], o["type"], Decimal(o["price"]), o["bot"]) == ("accepted", "limit", Decimal(str(price)), "ord1")
    assert any(x["client_order_id"] == cid for x in c.get("/orders", params={"bot": "ord1",
                                                                             "status": "accepted"}).json())
    # read-only keys may not cancel; unknown ids are 404
    assert c.delete(f"/orders/{cid}", headers=env["ro"]).status_code == 403
    assert c.delete("/orders/ord1-0-99", headers=rw).status_code == 404
    r = c.delete(f"/orders/{cid}", headers=rw, params={"reason": "too low"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled" and c.get(f"/orders/{cid}").json()["status"] == "canceled"
    r = c.delete(f"/orders/{cid}", headers=rw)
    assert r.status_code == 409 and "canceled" in r.json()["detail"]
    sig = [s for s in c.get("/signals", params={"bot": "ord1"}).json() if s.get("action") == "cancel"]
    assert sig and sig[-1]["target_order_id"] == cid and sig[-1]["reason"] == "too low"
    # a stop order works until canceled as well
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "type": "stop",
                                           "price": float(round(last["close"] * 1.5)), "notional": 100})
    assert r.status_code == 201 and r.json()["status"] == "accepted", r.text
    assert c.delete(f"/orders/{r.json()['client_order_id']}", headers=rw).json()["status"] == "canceled"
    # validation names the field
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "type": "limit", "quantity": 0.01})
    assert r.status_code == 422 and "price" in r.text
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "price": 5, "quantity": 0.01})
    assert r.status_code == 422 and "price" in r.text
    # a stopped bot's order cannot be canceled: 409 saying why
    r = c.post("/orders", headers=rw, json={"bot": "ord1", "side": "buy", "type": "limit", "price": price,
                                           "quantity": 0.01})
    cid2 = r.json()["client_order_id"]
    assert c.post("/paper-trading/stop", headers=rw, json={"bot": "ord1"}).status_code == 200
    r = c.delete(f"/orders/{cid2}", headers=rw)
    assert r.status_code == 409 and "not running" in r.json()["detail"]


def test_bot_pause_resume_stop_start(env) -> None:  # noqa: F811
    c = env["client"]
    rw = env["rw"]
    r = c.post("/paper-trading/start", headers=rw, json={
        "name": "ctl1", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "timeframe": "1m",
        "speed": 600, "risk": False, "start": START, "end": END})  # 10 bars a second
    assert r.status_code == 201, r.text

    def bars() -> int:
        return next(b["bars"] for b in c.get("/paper-trading/status").json()["running"] if b["bot"] == "ctl1")

    _wait(lambda: bars() > 5, "a few bars")
    assert c.post("/bots/ctl1/pause", headers=env["ro"]).status_code == 403
    r = c.post("/bots/ctl1/pause", headers=rw)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    held = bars()
    time.sleep(1.0)
    assert bars() == held  # paused: no bar processed
    assert c.post("/bots/ctl1/resume", headers=rw).json()["status"] == "running"
    _wait(lambda: bars() > held + 3, "bars after resume")
    stopped = c.post("/bots/ctl1/stop", headers=rw).json()
    assert stopped["status"] == "stopped" and c.get("/bots/ctl1").json()["status"] == "stopped"
    cursor = c.get("/bots/ctl1").json()["cursor"]
    r = c.post("/bots/ctl1/start", headers=rw)
    assert r.status_code == 200, r.text
    assert r.json()["bars"] == cursor + 1  # recovered where it stopped, nothing replayed twice
    assert c.post("/bots/ctl1/start", headers=rw).status_code == 409
    assert c.post("/bots/ghost/start", headers=rw).status_code == 404
    # one operation per action (the schema lists them): an unknown action is a path that does not exist
    assert c.post("/bots/ctl1/explode", headers=rw).status_code == 404
    c.post("/bots/ctl1/stop", headers=rw)


def test_risk_actions_usage_and_analytics(env) -> None:  # noqa: F811
    c = env["client"]
    rw = env["rw"]
    # a running bot (paused after its first bar: it takes orders, none fills meanwhile); a finished one takes none
    r = c.post("/paper-trading/start", headers=rw, json={
        "name": "rk1", "strategy": "sma_cross", "params": {"fast": 50, "slow": 200}, "timeframe": "1m",
        "speed": 1, "risk": True, "start": START, "end": END})
    assert r.status_code == 201, r.text
    _wait(lambda: _bars(c, "rk1") >= 1, "the first bar of rk1")
    assert c.post("/bots/rk1/pause", headers=rw).json()["status"] == "paused"
    r = c.post("/paper-trading/trade", headers=rw, json={"bot": "rk1", "side": "buy", "notional": 1000})
    assert r.status_code == 201, r.text
    state = next(s for s in c.get("/risk/state").json() if s["bot"] == "rk1")
    assert state["state"] == "ACTIVE" and state["limits"]["max_position_pct"] == pytest.approx(0.15)
    use = state["usage"]
    assert {"max_position_pct", "max_gross_exposure_pct", "daily_loss_pct", "max_drawdown_pct"} <= set(use)
    # the order waits for the next bar (the bot is paused): the position share is whatever the account holds
    acc = c.get("/paper-trading/account", params={"bot": "rk1"}).json()
    held = sum(Decimal(p["market_value"]) for p in acc["positions"] if p["market_value"] is not None)
    assert use["max_position_pct"]["value"] == pytest.approx(float(held) / float(acc["equity"]), abs=1e-9)
    assert use["max_position_pct"]["used_pct"] == pytest.approx(use["max_position_pct"]["value"] / 0.15 * 100)
    r = c.post("/risk/halt", headers=rw, json={"bot": "rk1", "reason": "lunch"})
    assert r.status_code == 200
    st = next(s for s in r.json() if s["bot"] == "rk1")
    assert st["state"] == "HALTED" and st["halted_reason"] == "manual"
    acts = [s for s in c.get("/signals", params={"bot": "rk1"}).json() if s.get("action") == "halt"]
    assert acts and acts[-1]["reason"] == "lunch"  # recorded: a restart keeps the bot halted
    r = c.post("/paper-trading/trade", headers=rw, json={"bot": "rk1", "side": "buy", "notional": 100})
    assert r.json()["status"] == "denied"
    assert next(s for s in c.post("/risk/resume", headers=rw, json={"bot": "rk1"}).json()
                if s["bot"] == "rk1")["state"] == "ACTIVE"
    c.post("/paper-trading/stop", headers=rw, json={"bot": "rk1"})

    # correlation of two imported real series == pandas on the same aligned returns
    from quantdesk import data as qdata
    from quantdesk.data.importer import import_file

    for sym in ("ETH/BTC", "LTC/BTC"):
        import_file(DATA_DIR / "multi_5m_2018-01" / f"{sym.replace('/', '-')}_5m.csv", symbol=sym, timeframe="5m",
                    exchange="binance")
    got = c.get("/risk/correlation", params={"symbols": "ETH/BTC,LTC/BTC", "timeframe": "5m"}).json()
    a = qdata.load("ETH/BTC", "5m")["close"]
    b = qdata.load("LTC/BTC", "5m")["close"]
    j = a.to_frame("a").join(b.to_frame("b"), how="inner").pct_change().dropna()
    assert got["symbols"] == ["ETH/BTC", "LTC/BTC"] and got["observations"] == len(j)
    assert got["matrix"][0][1] == pytest.approx(float(np.corrcoef(j["a"], j["b"])[0, 1]), abs=1e-12)
    assert got["matrix"][0][0] == pytest.approx(1.0)
    stress = c.get("/risk/stress", params={"symbols": "ETH/BTC,LTC/BTC", "weights": "0.5,0.5",
                                           "timeframe": "5m", "value": 10000}).json()
    crash = next(s for s in stress["scenarios"] if s["kind"] == "market_crash")
    assert crash["total_pnl"] == pytest.approx(-0.3 * 10000)  # a -30% shock on a 10k long book
    assert c.get("/risk/stress", params={"symbols": "ETH/BTC", "weights": "x"}).status_code == 422
    assert c.get("/risk/stress", params={"symbols": "ETH/BTC,LTC/BTC", "weights": "1"}).status_code == 400
    assert c.get("/risk/correlation", params={"symbols": "NOPE/BTC,ETH/BTC", "timeframe": "5m"}).status_code == 404


def test_risk_overrides_size_all_cash_orders_and_the_config_is_reported(env) -> None:  # noqa: F811
    """risk = {sizing...}: the configured limits stay (15% position), all-cash entries of sma_cross are sized to
    5% of equity instead of being denied; GET /bots reports what the bot was started with."""
    c = env["client"]
    rw = env["rw"]
    body = {"name": "sz1", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "timeframe": "1m",
            "speed": "max", "start": START, "end": END}
    bad = c.post("/paper-trading/start", headers=rw, json={**body, "risk": {"max_position_pct": "lots"}})
    assert bad.status_code == 400 and "risk.max_position_pct" in bad.json()["detail"]
    bad = c.post("/paper-trading/start", headers=rw, json={**body, "risk": {"sizing": {"method": "guess"}}})
    assert bad.status_code == 400 and "sizing" in bad.json()["detail"]
    r = c.post("/paper-trading/start", headers=rw, json={
        **body, "risk": {"sizing": {"method": "fixed_fraction", "fraction": 0.05}}})
    assert r.status_code == 201, r.text
    _wait(_finished(c, "sz1"), "the replay of sz1")
    cfg = c.get("/bots/sz1").json()["config"]
    assert cfg["params"] == {"fast": 5, "slow": 20} and cfg["start"] == START and cfg["speed"] == "max"
    assert cfg["risk"]["sizing"] == {**cfg["risk"]["sizing"], "method": "fixed_fraction", "fraction": 0.05}
    assert cfg["risk"]["max_position_pct"] == pytest.approx(0.15)  # the configured limit is kept
    orders = c.get("/orders", params={"bot": "sz1"}).json()
    assert orders and not [o for o in orders if o["status"] == "denied"]
    fills = c.get("/fills", params={"bot": "sz1"}).json()
    buys = [f for f in fills if f["side"] == "buy"]
    assert buys
    for f in buys:  # 5% of an equity that stays near 10,000 (fees and small P&L only)
        assert 450 < float(f["quantity"]) * float(f["price"]) < 550


def test_backtest_progress_and_daily_pnl(env) -> None:  # noqa: F811
    c = env["client"]
    r = c.post("/backtests", headers=env["rw"], json={"strategy": "sma_cross", "symbol": "BTC/USDT",
                                                      "timeframe": "1m"})
    assert r.status_code == 202
    run_id = r.json()["id"]
    seen = []

    def done():
        doc = c.get(f"/backtests/{run_id}").json()
        seen.append(doc.get("progress"))
        return doc if doc["status"] != "running" else None

    doc = _wait(done, "the backtest", every=0.05)
    assert doc["status"] == "completed" and doc["progress"] == 1.0
    assert all(p is not None and 0.0 <= p <= 1.0 for p in seen) and seen == sorted(seen)
    # a bad strategy parameter is refused up front (4xx), not a failed job
    r = c.post("/backtests", headers=env["rw"], json={"strategy": "sma_cross", "params": {"fast": 0}})
    assert r.status_code == 400 and "fast" in r.json()["detail"]

    # daily P&L = last equity of each UTC day minus the previous day's (from the equity snapshots)
    r = c.post("/paper-trading/start", headers=env["rw"], json={
        "name": "pnl1", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "timeframe": "1m",
        "speed": "max", "risk": False, "start": START, "end": "2022-01-07T23:59:00Z"})
    assert r.status_code == 201, r.text
    _wait(_finished(c, "pnl1"), "the replay of pnl1")
    perf = c.get("/paper-trading/performance", params={"bot": "pnl1"}).json()
    days = [d["date"] for d in perf["daily_pnl"]]
    assert days == ["2022-01-05", "2022-01-06", "2022-01-07"]
    assert perf["today_pnl"] == perf["daily_pnl"][-1]["pnl"]
    acc = c.get("/paper-trading/account", params={"bot": "pnl1"}).json()
    total = sum(d["pnl"] for d in perf["daily_pnl"])
    assert total == pytest.approx(float(acc["equity"]) - perf["starting_cash"], abs=1e-6)
    c.post("/paper-trading/stop", headers=env["rw"], json={"bot": "pnl1"})
