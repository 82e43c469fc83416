"""Robustness of the HTTP API from outside (uvicorn on 127.0.0.1, httpx): out-of-range dates are 4xx with a reason,
booleans are not numbers, symbols take `_ . -`, every list endpoint honours `limit` and `offset`, orders on a
finished bot are refused (409), and no input gives a 500."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from test_api import Server

START, END = "2022-01-05T00:00:00Z", "2022-01-05T05:59:00Z"  # 360 one-minute bars of the bundled sample


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings

    home: Path = tmp_path_factory.mktemp("hard") / "qdhome"
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)
    set_settings(None)
    settings = load_settings()
    set_settings(settings)
    ks = KeyStore(settings.home)
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    srv = Server(create_app(settings, rate=1000.0, burst=2000))
    c = httpx.Client(base_url=srv.url + "/api/v1", headers={"X-API-Key": ro}, timeout=60)
    r = c.post("/paper-trading/start", headers={"X-API-Key": rw}, json={
        "name": "h1", "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "timeframe": "1m",
        "speed": "max", "risk": False, "start": START, "end": END})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 120
    while c.get("/bots/h1").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    yield {"c": c, "rw": {"X-API-Key": rw}, "url": srv.url, "home": home}
    c.close()
    srv.stop()
    set_settings(None)
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old


@pytest.mark.parametrize("when", ["2999-01-01", "0000-01-01", "1677-09-21", "2262-04-12", "9999-12-31T23:59:59",
                                  "2023-02-29", "2024-13-01", "yesterday", "1e20"])
def test_out_of_range_dates_are_4xx_with_a_reason(env, when) -> None:
    c = env["c"]
    for path, params in [("/market/candles", {"symbol": "BTC/USDT", "timeframe": "1h"}),
                         ("/indicators/rsi", {"symbol": "BTC/USDT", "timeframe": "1h"})]:
        for key in ("start", "end"):
            r = c.get(path, params={**params, key: when})
            assert r.status_code == 422, (path, key, when, r.status_code, r.text)
            assert key in r.text
    for body in ({"strategy": "sma_cross", "start": when}, {"strategy": "sma_cross", "end": when}):
        r = c.post("/paper-trading/start", headers=env["rw"], json=body)
        assert r.status_code == 422 and ("start" in r.text or "end" in r.text), r.text
        r = c.post("/backtests", headers=env["rw"], json=body)
        assert r.status_code == 422, r.text


def test_the_library_refuses_out_of_range_times_by_name() -> None:
    from quantdesk.core.errors import ParameterError
    from quantdesk.core.timeutil import parse_utc

    for when in ("2999-01-01", "0000-01-01", "1677-09-21"):
        with pytest.raises(ParameterError, match="start: .* out of range"):
            parse_utc(when, name="start")
    assert parse_utc("2262-04-11").value > 0 and parse_utc("1677-09-22").value < 0  # the edges still work


def test_start_after_end_is_a_400_naming_it(env) -> None:
    r = env["c"].get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1h", "start": "2019-02-01",
                                                "end": "2019-01-01"})
    assert r.status_code == 400 and "after end" in r.json()["detail"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/orders", {"bot": "h1", "side": "buy", "quantity": True}, "quantity"),
    ("/orders", {"bot": "h1", "side": "buy", "notional": False}, "notional"),
    ("/orders", {"bot": "h1", "side": "buy", "type": "limit", "price": True, "quantity": 1}, "price"),
    ("/orders", {"bot": "h1", "side": "buy", "quantity": "1"}, "quantity"),
    ("/paper-trading/trade", {"bot": "h1", "side": "buy", "confidence": True}, "confidence"),
    ("/paper-trading/simulate-signals", {"bot": "h1", "n": True}, "n"),
    ("/paper-trading/start", {"strategy": "sma_cross", "cash": True}, "cash"),
    ("/paper-trading/start", {"strategy": "sma_cross", "speed": True}, "speed"),
    ("/backtests", {"strategy": "sma_cross", "fee": False}, "fee"),
    ("/backtests", {"strategy": "sma_cross", "margin": 1}, "margin"),
    # the intelligence routes' bodies are as strict
    ("/anomalies/detect", {"symbol": "BTC/USDT", "timeframe": "1h", "window": True}, "window"),
    ("/anomalies/detect", {"symbol": "BTC/USDT", "timeframe": "1h", "store": 1}, "store"),
    ("/ml/train", {"symbol": "BTC/USDT", "folds": True}, "folds"),
    ("/kb/ask", {"question": "what is VaR?", "k": True}, "k"),
    ("/signal-tracking/validate", {"horizon": False}, "horizon"),
    ("/training/start", {"coin": "BTC", "symbol": "BTC/USDT", "fresh": 0}, "fresh"),
])
def test_booleans_are_not_numbers(env, path, body, field) -> None:
    r = env["c"].post(path, headers=env["rw"], json=body)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_nan_and_infinity_are_refused_in_bodies(env) -> None:
    for raw in (b'{"strategy": "sma_cross", "cash": Infinity}', b'{"strategy": "sma_cross", "fee": NaN}',
                b'{"strategy": "sma_cross", "params": {"fast": NaN}}'):
        r = env["c"].post("/backtests", headers={**env["rw"], "Content-Type": "application/json"}, content=raw)
        assert r.status_code == 422, (raw, r.text)


def test_integers_as_json_schema_means_them(env) -> None:
    """3.0 is an integer in JSON Schema (and so in the OpenAPI document): accepted where an integer is; 3.5 not."""
    c = env["c"]
    r = c.post("/paper-trading/simulate-signals", headers=env["rw"], json={"bot": "h1", "n": 2.0, "seed": 7.0})
    assert r.status_code == 409  # valid body; the bot's replay is over (see below)
    r = c.post("/paper-trading/simulate-signals", headers=env["rw"], json={"bot": "h1", "n": 2.5})
    assert r.status_code == 422 and "n" in r.text


def test_symbols_take_underscore_dot_and_dash(env, tmp_path) -> None:
    """What the candle store accepts, the API accepts (it refused `_ . -` with a 422)."""
    from quantdesk.data.importer import import_file

    src = Path(__file__).parents[1] / "data" / "multi_5m_2018-01" / "ETH-BTC_5m.csv"
    for sym in ("ETH_2.X/BTC", "ETH-PERP/BTC", "1000ETH/BTC:BTC"):
        import_file(src, symbol=sym, timeframe="5m", exchange="binance")
        r = env["c"].get("/market/candles", params={"symbol": sym, "timeframe": "5m", "limit": 3})
        assert r.status_code == 200 and len(r.json()) == 3, (sym, r.text)
    r = env["c"].get("/market/candles", params={"symbol": "eth-perp/btc", "timeframe": "5m", "limit": 2})
    assert r.status_code == 200  # case-insensitive, like the store
    r = env["c"].get("/risk/correlation", params={"symbols": "ETH_2.X/BTC, ETH-PERP/BTC", "timeframe": "5m"})
    assert r.status_code == 200 and r.json()["matrix"][0][1] == pytest.approx(1.0)
    for bad in ("ETH/", "/BTC", "ETH BTC", "ETH//BTC", "ETH/BTC/X", "-ETH/BTC"):
        r = env["c"].get("/market/candles", params={"symbol": bad, "timeframe": "5m"})
        assert r.status_code == 422, (bad, r.status_code)


LISTS = ["/bots", "/strategies", "/orders?bot=h1", "/fills?bot=h1", "/signals?bot=h1", "/positions?bot=h1",
         "/paper-trading/positions?bot=h1", "/paper-trading/trades?bot=h1", "/alerts", "/backtests",
         "/market/symbols", "/indicators", "/risk/state", "/anomalies", "/anomalies/watch", "/ml/models",
         "/ml/jobs", "/sentiment/news", "/sentiment/sources", "/signal-tracking/signals", "/live"]


def test_every_list_endpoint_honours_limit_and_offset(env) -> None:
    c = env["c"]
    # every GET of the schema that returns a list is in LISTS (a new list endpoint must page too)
    doc = httpx.get(env["url"] + "/openapi.json").json()
    listed = {p.split("?")[0] for p in LISTS}
    for path, ops in doc["paths"].items():
        get = ops.get("get")
        if not get or not path.startswith("/api/v1/"):
            continue
        names = {p["name"] for p in get.get("parameters", [])}
        returns_list = get["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {}) \
            .get("type") == "array"
        # not pages: candles and the sentiment series are time windows (start/end/limit), kb search a top-k
        if returns_list and path not in ("/api/v1/market/candles", "/api/v1/sentiment/series", "/api/v1/kb/search"):
            assert path[len("/api/v1"):] in listed, path
            assert {"limit", "offset"} <= names, path
    for path in LISTS:
        full = c.get(path, params={"limit": 500})  # the smallest maximum (/backtests)
        assert full.status_code == 200, (path, full.text)
        rows = full.json()
        total = int(full.headers["X-Total-Count"])
        assert total == len(rows), path
        if total < 2:
            continue
        one = c.get(path, params={"limit": 1})
        assert len(one.json()) == 1 and int(one.headers["X-Total-Count"]) == total, path
        page = c.get(path, params={"limit": 2, "offset": 1}).json()
        assert page == rows[1:3], path
    assert c.get("/fills", params={"bot": "h1", "limit": 0}).status_code == 422
    assert c.get("/fills", params={"bot": "h1", "limit": 10_001}).status_code == 422


def test_history_pages_default_to_the_latest_rows(env) -> None:
    c = env["c"]
    fills = c.get("/fills", params={"bot": "h1", "limit": 10_000}).json()
    assert len(fills) >= 4
    latest = c.get("/fills", params={"bot": "h1", "limit": 3}).json()
    assert latest == fills[-3:]  # without offset: the last 3, oldest first
    assert c.get("/fills", params={"bot": "h1", "limit": 3, "offset": 0}).json() == fills[:3]
    seqs = [f["seq"] for f in fills]
    assert seqs == sorted(seqs)


def test_orders_on_a_finished_bot_are_refused(env) -> None:
    """The replay is over: an order could never fill. It used to be accepted (201) and stay 'accepted'."""
    c = env["c"]
    n_orders = int(c.get("/orders", params={"bot": "h1", "limit": 1}).headers["X-Total-Count"])
    for path, body in [("/orders", {"bot": "h1", "side": "buy", "notional": 100}),
                       ("/orders", {"bot": "h1", "side": "buy", "type": "limit", "price": 1000, "quantity": 0.1}),
                       ("/paper-trading/trade", {"bot": "h1", "side": "buy", "notional": 100}),
                       ("/paper-trading/simulate-signals", {"bot": "h1", "n": 2})]:
        r = c.post(path, headers=env["rw"], json=body)
        assert r.status_code == 409 and "finished" in r.json()["detail"], (path, r.text)
    assert int(c.get("/orders", params={"bot": "h1", "limit": 1}).headers["X-Total-Count"]) == n_orders
    # stopped: the bot is no longer on the node -> 409 saying so (404 stays for names that do not exist)
    assert c.post("/paper-trading/stop", headers=env["rw"], json={"bot": "h1"}).status_code == 200
    r = c.post("/orders", headers=env["rw"], json={"bot": "h1", "side": "buy", "notional": 100})
    assert r.status_code == 409 and "not running" in r.json()["detail"]
    r = c.post("/orders", headers=env["rw"], json={"bot": "nobody", "side": "buy", "notional": 100})
    assert r.status_code == 404


def test_bot_rows_equal_the_full_history(env) -> None:
    """GET /bots/{name} from the bounded queries == the same figures computed from the whole stored history."""
    from quantdesk.storage.trading import TradingStore

    row = env["c"].get("/bots/h1").json()
    store = TradingStore()
    st = store.load_state(row["id"])
    snap = store.last_snapshot(row["id"])
    open_statuses = ("submitted", "accepted", "partially_filled")
    assert row["orders"] == len(st.orders) and row["fills"] == len(st.fills) and row["signals"] == len(st.signals)
    assert row["open_orders"] == sum(1 for o in st.orders.values() if o["status"] in open_statuses)
    assert row["positions"] == {s: p["quantity"] for s, p in st.positions.items()}
    assert Decimal(row["equity"]) == Decimal(snap["equity"])
    status = env["c"].get("/paper-trading/status").json()
    assert [b for b in status["bots"] if b["bot"] == "h1"] == [row] and status["total_bots"] >= 1
    # performance and account read the same figures without loading the history
    perf = env["c"].get("/paper-trading/performance", params={"bot": "h1"}).json()
    closed = [t for t in st.trades if t["status"] == "closed"]
    assert perf["trades"] == len(closed) and perf["fills"] == len(st.fills)
    wins = sum(1 for t in closed if Decimal(t["realized_pnl"]) - Decimal(t["fees"]) > 0)  # a win is net of fees
    assert perf["win_rate_pct"] == pytest.approx(wins / len(closed) * 100 if closed else None)
    acc = env["c"].get("/paper-trading/account", params={"bot": "h1"}).json()
    assert {p["symbol"]: p["quantity"] for p in acc["positions"]} == row["positions"]
    store.close()


def test_a_body_that_is_not_json_is_a_415(env) -> None:
    """Every API body is JSON: a form or text body is refused for its media type (documented as 415 on every
    operation that takes a body), after authentication (no key: 401 first)."""
    for ctype, raw in (("text/plain", b"side=buy"), ("application/x-www-form-urlencoded", b"side=buy&quantity=1")):
        r = env["c"].post("/orders", headers={**env["rw"], "Content-Type": ctype}, content=raw)
        assert r.status_code == 415 and "JSON" in r.json()["detail"], r.text
        assert env["c"].post("/orders", headers={"Content-Type": ctype, "X-API-Key": ""},
                             content=raw).status_code == 401
    r = env["c"].post("/orders", headers={**env["rw"], "Content-Type": "application/json; charset=utf-8"},
                      content=b'{"bot": "h1", "side": "buy", "quantity": true}')
    assert r.status_code == 422  # JSON with a parameter is JSON
    doc = httpx.get(env["url"] + "/openapi.json", headers=env["rw"]).json()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            if "requestBody" in op:
                assert {"413", "415", "422"} <= set(op["responses"]), path


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("POST", "/bots/h1/indicators", "GET, HEAD"),  # was routed to POST /bots/{name}/{action}: a 422
    ("GET", "/bots/h1/pause", "POST"),
    ("PUT", "/orders", "GET, HEAD, POST"),
    ("OPTIONS", "/orders/abc", "DELETE, GET, HEAD"),
])
def test_405_lists_exactly_the_methods_of_the_path(env, method, path, allow) -> None:
    r = env["c"].request(method, path, headers=env["rw"])
    assert r.status_code == 405 and r.headers["allow"] == allow, (r.status_code, r.headers.get("allow"))


def test_bot_actions_are_one_operation_each(env) -> None:
    doc = httpx.get(env["url"] + "/openapi.json", headers=env["rw"]).json()
    for action in ("pause", "resume", "stop", "start"):
        assert list(doc["paths"][f"/api/v1/bots/{{name}}/{action}"]) == ["post"]
    assert not any("{action}" in p for p in doc["paths"])
    r = env["c"].post("/bots/h1/start", headers=env["rw"])
    assert r.status_code == 409 and "finished" in r.json()["detail"]  # the route still works
