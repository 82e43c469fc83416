"""The exchange simulator through the real `ccxt.binance` class over HTTP on 127.0.0.1: markets, candles against
the file's text, the order life cycle by client id, trades and balances against `/_sim/state`, the signing
checks, and every REST fault with the ccxt exception it produces."""

from __future__ import annotations

import time
from decimal import Decimal as D

import ccxt
import httpx
import pytest
from exsim_support import file_candles, sim_settings, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator, point_at


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("exsim"))


@pytest.fixture()
def sim(sample):
    with ExchangeSimulator(data=sample, **sim_settings(start="2022-01-01T01:00:00Z")) as s:
        yield s


@pytest.fixture()
def ex(sim):
    client = sim.ccxt(timeout_ms=5000)
    client.load_markets()
    return client


def test_markets_and_candles_are_the_files(sim, ex, sample):
    market = ex.market("BTC/USDT")
    assert (market["id"], market["spot"], market["precision"]["price"], market["precision"]["amount"]) == (
        "BTCUSDT", True, 0.01, 0.00001)
    assert market["limits"]["cost"]["min"] == 5.0
    ref = file_candles(sample)
    start = 1_640_998_800_000  # 2022-01-01T01:00:00Z
    rows = ex.fetch_ohlcv("BTC/USDT", "1m", since=start - 30 * 60_000, limit=20)
    assert [r[0] for r in rows] == [start - 30 * 60_000 + i * 60_000 for i in range(20)]
    for t, o, h, low, c, v in rows:  # closed candles: exactly the file (as float text)
        assert [D(str(x)) for x in (o, h, low, c, v)] == [ref.loc[t, k] for k in ("open", "high", "low", "close",
                                                                                  "volume")]
    latest = ex.fetch_ohlcv("BTC/USDT", "1m", limit=3)
    assert [r[0] for r in latest] == [start - 120_000, start - 60_000, start]  # the last is forming
    assert latest[-1][1:5] == [float(ref.loc[start, "open"])] * 4  # only its first trade has happened
    sim.advance(ms=30_000)  # two more trades of the candle: the documented path
    o, h, low, c = (ref.loc[start, k] for k in ("open", "high", "low", "close"))
    path = [o, low, h] if c >= o else [o, h, low]
    assert ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)[0][1:5] == [float(o), float(max(path)), float(min(path)),
                                                                 float(path[-1])]
    assert ex.fetch_ticker("BTC/USDT")["last"] == float(path[-1])
    book = ex.fetch_order_book("BTC/USDT", 5)
    assert book["bids"][0][0] == float(path[-1]) == book["asks"][0][0]  # spread 0: both at the last trade
    assert [b[0] for b in book["bids"]] == [round(float(path[-1]) - 0.01 * i, 2) for i in range(5)]


def test_default_ccxt_configuration_loads_too(sim):
    """A plain ccxt.binance with keys (currencies and margin pairs are fetched at load_markets) works."""
    plain = point_at(ccxt.binance({"apiKey": sim.api_key, "secret": sim.api_secret}), sim.rest_url)
    markets = plain.load_markets()
    assert list(markets) == ["BTC/USDT"]
    assert {"BTC", "USDT"} <= set(plain.currencies)  # ccxt adds its own BNFCR
    assert plain.currencies["BTC"]["info"]["coin"] == "BTC"  # from /sapi/v1/capital/config/getall


def test_order_life_cycle_by_client_id(sim, ex):
    below = ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000, params={"newClientOrderId": "qd-1"})
    assert (below["status"], below["clientOrderId"], below["filled"]) == ("open", "qd-1", 0.0)
    by_cid = ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "qd-1"})
    assert (by_cid["id"], by_cid["status"], by_cid["price"]) == (below["id"], "open", 40_000.0)
    assert [o["clientOrderId"] for o in ex.fetch_open_orders("BTC/USDT")] == ["qd-1"]
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000, params={"newClientOrderId": "qd-1"})
    canceled = ex.cancel_order(None, "BTC/USDT", params={"origClientOrderId": "qd-1"})
    assert canceled["status"] == "canceled" and canceled["id"] == below["id"]
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order(below["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("424242", "BTC/USDT")
    bought = ex.create_order("BTC/USDT", "market", "buy", 0.05, params={"newClientOrderId": "qd-2"})
    last = D(str(ex.fetch_ticker("BTC/USDT")["last"]))
    assert (bought["status"], bought["filled"], D(str(bought["average"]))) == ("closed", 0.05, last)
    trades = ex.fetch_my_trades("BTC/USDT")
    assert [(t["order"], t["side"], t["amount"]) for t in trades] == [(bought["id"], "buy", 0.05)]
    assert [o["clientOrderId"] for o in ex.fetch_orders("BTC/USDT")] == ["qd-1", "qd-2"]
    state = sim.state()
    assert [(o["client_order_id"], o["status"], o["orig_qty"], o["executed_qty"]) for o in state["orders"]] == [
        ("qd-1", "CANCELED", "0.01", "0"), ("qd-2", "FILLED", "0.05", "0.05")]
    fill = state["fills"][0]
    assert (fill["trade_id"], fill["order_id"], fill["client_order_id"], fill["side"]) == (
        int(trades[0]["id"]), int(bought["id"]), "qd-2", "BUY")
    # conservation: quote spent = qty x price + fee, in the exchange's truth and in what ccxt was told
    spent = D(10_000) - D(state["balances"]["USDT"])
    assert spent == D(fill["qty"]) * D(fill["price"]) + D(fill["commission"])
    assert spent == D(str(trades[0]["cost"])) + D(str(trades[0]["fee"]["cost"]))
    balance = ex.fetch_balance()
    assert {a: D(str(balance["total"][a])) for a in ("BTC", "USDT")} == {
        a: D(v) for a, v in state["balances"].items()}


def test_resting_order_fills_when_the_replayed_market_reaches_it(sim, ex, sample):
    ref = file_candles(sample)
    now = sim.now_ms()
    later = ref.loc[ref.index > now]
    price = float(later["low"].iloc[:30].min())  # a limit at the lowest low of the next 30 minutes
    first = int(later.index[(later["low"] <= D(str(price))).to_numpy().argmax()])
    order = ex.create_order("BTC/USDT", "limit", "buy", 0.01, price, params={"newClientOrderId": "dip"})
    assert order["status"] == "open"
    sim.advance(to=first - 1)
    assert ex.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    sim.advance(to=first + 60_000)
    done = ex.fetch_order(order["id"], "BTC/USDT")
    assert (done["status"], done["average"], done["filled"]) == ("closed", price, 0.01)
    trade = ex.fetch_my_trades("BTC/USDT")[0]
    assert trade["takerOrMaker"] == "maker" and first <= trade["timestamp"] < first + 60_000


def test_signing_checks(sim, ex):
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        sim.ccxt(secret="not-the-secret").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        sim.ccxt(api_key="someone-else").fetch_balance()
    skewed = sim.ccxt()
    skewed.options["timeDifference"] = 30_000  # the client's clock 30 s behind: outside recvWindow
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        skewed.fetch_balance()
    ahead = sim.ccxt()
    ahead.options["timeDifference"] = -5_000
    with pytest.raises(ccxt.InvalidNonce, match="ahead of the server"):
        ahead.fetch_balance()
    unsigned = httpx.get(f"{sim.rest_url}/api/v3/account", headers={"X-MBX-APIKEY": sim.api_key})
    assert unsigned.status_code == 400 and unsigned.json()["code"] == -1102
    assert httpx.get(f"{sim.rest_url}/api/v3/account").json() == {"code": -2014, "msg": "API-key format invalid."}
    assert sim.state()["orders"] == []


def _submissions(sim):
    return [(s["client_order_id"], s["outcome"]) for s in sim.state()["submissions"]]


def test_dropped_response_after_accepting_and_recovery_by_client_id(sim, ex):
    sim.faults("drop_response:count=1")
    with pytest.raises(ccxt.NetworkError) as err:
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000, params={"newClientOrderId": "lost-1"})
    assert not isinstance(err.value, ccxt.RequestTimeout)  # the connection broke: no timeout involved
    # the order exists on the venue: a query by client id finds it, a resubmission is refused as a duplicate
    assert ex.fetch_order(None, "BTC/USDT", params={"origClientOrderId": "lost-1"})["status"] == "open"
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40_000, params={"newClientOrderId": "lost-1"})
    assert _submissions(sim) == [("lost-1", "accepted"), ("lost-1", "rejected")]


def test_held_response_is_a_timeout(sim):
    quick = sim.ccxt(timeout_ms=400)
    quick.load_markets()
    sim.faults(kind="drop_response", count=1, mode="timeout", hold_s=2)
    t0 = time.monotonic()
    with pytest.raises(ccxt.RequestTimeout):
        quick.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "slow-1"})
    assert time.monotonic() - t0 < 1.5
    assert sim.state()["orders"][0]["status"] == "FILLED"  # accepted and filled; only the answer was lost


@pytest.mark.parametrize(("spec", "error", "status", "retry_after"), [
    ("rate_limit:count=1,retry_after=7", ccxt.DDoSProtection, 429, "7"),
    ("ban:count=1,retry_after=60", ccxt.DDoSProtection, 418, "60"),
    ("timestamp:count=1", ccxt.InvalidNonce, 400, None),
    ("server_error:count=1", ccxt.ExchangeNotAvailable, 503, None),
    ("reject:count=1", ccxt.InvalidOrder, 400, None),
    ("reject:count=1,code=-2010,msg=Account has insufficient balance for requested action.",
     ccxt.InsufficientFunds, 400, None),
])
def test_request_faults_as_ccxt_sees_them(sim, ex, spec, error, status, retry_after):
    sim.faults(spec)
    with pytest.raises(error):
        ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "f-1"})
    headers = {k.lower(): v for k, v in (ex.last_response_headers or {}).items()}
    assert headers.get("retry-after") == retry_after
    assert sim.state()["orders"] == [] and sim.state()["faults"] == []  # nothing traded; the fault is used up
    expected = [("f-1", "rejected")] if spec.startswith("reject") else []
    assert _submissions(sim) == expected
    again = ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "f-1"})
    assert again["status"] == "closed"


def test_latency_and_faults_scoped_to_a_path(sim, ex):
    sim.faults(kind="latency", ms=300, path="/api/v3/depth")
    t0 = time.monotonic()
    ex.fetch_ticker("BTC/USDT")
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    ex.fetch_order_book("BTC/USDT")
    assert time.monotonic() - t0 >= 0.3 > fast
    assert [f["kind"] for f in sim.state()["faults"]] == ["latency"]  # no count: stays until cleared
    assert sim.clear_faults() == 1


def test_control_routes_and_bad_requests(sim):
    base = sim.rest_url
    bad = httpx.post(f"{base}/_sim/faults", json={"kind": "rate_limit", "count": 0})
    assert bad.status_code == 400 and "count must be >= 1" in bad.json()["error"]
    assert httpx.post(f"{base}/_sim/faults", content=b"{nope").status_code == 400
    added = httpx.post(f"{base}/_sim/faults", json=[{"kind": "ban", "count": 1}, {"kind": "latency", "ms": 1}])
    assert [f["kind"] for f in added.json()] == ["ban", "latency"]
    assert httpx.delete(f"{base}/_sim/faults", params={"kind": "ban"}).json() == {"cleared": 1}
    before = httpx.get(f"{base}/_sim/clock").json()
    after = httpx.post(f"{base}/_sim/advance", json={"candles": 2}).json()
    assert after["now"] == before["now"] + 120_000  # from an open to the open two candles later
    assert httpx.post(f"{base}/_sim/advance", json={"to": "2021-01-01"}).status_code == 400
    assert httpx.post(f"{base}/_sim/advance", json={"hours": 1}).status_code == 400
    assert httpx.post(f"{base}/_sim/clock", json={"speed": -1}).status_code == 400
    assert httpx.post(f"{base}/_sim/clock", json={"speed": 120}).json()["speed"] == 120
    wrong = httpx.get(f"{base}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "5m"})
    assert (wrong.status_code, wrong.json()["code"]) == (400, -1120)
    assert httpx.get(f"{base}/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1m"}).json()["code"] == -1121
    assert httpx.get(f"{base}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m",
                                                      "limit": "5000"}).json()["code"] == -1130
    missing = httpx.get(f"{base}/api/v3/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == -5000


def test_24h_ticker_is_computed_from_the_candles_seen(sim, ex, sample):
    ref = file_candles(sample)
    now = sim.now_ms()  # 01:00, the first trade of its candle; the data starts at 23:01 (all within 24 h)
    closed = ref.loc[ref.index < now]
    forming_open = ref.loc[now, "open"]
    quarter = (ref.loc[now, "volume"] / 4).quantize(D("0.00000001"), rounding="ROUND_DOWN")
    ticker = ex.fetch_ticker("BTC/USDT")
    assert D(str(ticker["open"])) == closed["open"].iloc[0]
    assert D(str(ticker["high"])) == max(closed["high"].max(), forming_open)
    assert D(str(ticker["low"])) == min(closed["low"].min(), forming_open)
    assert D(str(ticker["baseVolume"])) == closed["volume"].sum() + quarter
    assert D(str(ticker["last"])) == forming_open


def test_a_lost_cancel_answer_and_fees_in_the_received_asset(sample):
    with ExchangeSimulator(data=sample, **sim_settings(fee_asset="received")) as sim:
        ex = sim.ccxt()
        ex.load_markets()
        bought = ex.create_order("BTC/USDT", "market", "buy", 0.1)
        trade = ex.fetch_my_trades("BTC/USDT")[0]
        assert (trade["fee"]["currency"], trade["fee"]["cost"]) == ("BTC", 0.0001)  # 0.1 x 0.001 in BTC
        assert ex.fetch_balance()["total"]["BTC"] == 0.0999
        order = ex.create_order("BTC/USDT", "limit", "sell", 0.05, bought["average"] * 2)
        sim.faults("drop_response:count=1,method=DELETE")
        with pytest.raises(ccxt.NetworkError):
            ex.cancel_order(order["id"], "BTC/USDT")
        assert ex.fetch_order(order["id"], "BTC/USDT")["status"] == "canceled"  # done; only the answer was lost


def test_quantdesk_settings_point_ccxt_at_the_simulator(sim, qd_home, monkeypatch):
    """The way a live setup is configured (QD_EXCHANGES__BINANCE__*): make_exchange trades on the simulator."""
    from quantdesk.core.config import load_settings
    from quantdesk.data.ccxt_client import make_exchange

    monkeypatch.setenv("QD_EXCHANGES__BINANCE__BASE_URL", sim.rest_url)
    monkeypatch.setenv("QD_EXCHANGES__BINANCE__API_KEY", sim.api_key)
    monkeypatch.setenv("QD_EXCHANGES__BINANCE__SECRET", sim.api_secret)
    ex = make_exchange("binance", load_settings(), options={"fetchMarkets": {"types": ["spot"]}})
    ex.load_markets()
    order = ex.create_order("BTC/USDT", "market", "buy", 0.01, params={"newClientOrderId": "cfg-1"})
    assert order["status"] == "closed"
    assert sim.state()["fills"][0]["client_order_id"] == "cfg-1"
