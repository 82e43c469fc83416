"""Request signing, parameter checks and fault specifications, with Binance's codes and messages."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from quantdesk.adapters.simulator import auth
from quantdesk.adapters.simulator.faults import FaultBook, fault_from_json, make_fault, parse_fault
from quantdesk.adapters.simulator.model import SimError
from quantdesk.adapters.simulator.params import order_ref, parse_new_order
from quantdesk.core.errors import ParameterError

# The worked example of Binance's spot API documentation ("SIGNED endpoint examples for POST /api/v3/order").
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def code(fn, *args):
    with pytest.raises(SimError) as err:
        fn(*args)
    return err.value.code, err.value.msg


def test_signature_matches_binances_documented_example():
    assert auth.sign(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE
    auth.check_signature(DOC_QUERY + "&signature=" + DOC_SIGNATURE, "", DOC_SECRET)
    # the documentation's mixed example: part in the query string, part in the body, concatenated without '&'
    query, body = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC", "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    mixed = auth.sign(DOC_SECRET, query + body)
    auth.check_signature(query, body + "&signature=" + mixed, DOC_SECRET)
    assert code(auth.check_signature, DOC_QUERY + "&signature=" + DOC_SIGNATURE[:-1] + "0", "", DOC_SECRET) == (
        -1022, "Signature for this request is not valid.")
    assert code(auth.check_signature, DOC_QUERY, "", DOC_SECRET)[0] == -1102
    assert code(auth.check_signature, DOC_QUERY.replace("1499827319559", "1499827319560") + "&signature=" +
                DOC_SIGNATURE, "", DOC_SECRET)[0] == -1022


def test_api_key_and_timestamp_windows():
    assert code(auth.check_api_key, None, "k") == (-2014, "API-key format invalid.")
    assert code(auth.check_api_key, "x", "k")[0] == -2015
    auth.check_api_key("k", "k")
    now = 1_700_000_000_000
    auth.check_timestamp({"timestamp": str(now + 999)}, now)
    auth.check_timestamp({"timestamp": str(now - 5000)}, now)  # default recvWindow 5000
    assert code(auth.check_timestamp, {"timestamp": str(now + 1000)}, now)[0] == -1021
    assert code(auth.check_timestamp, {"timestamp": str(now - 5001)}, now) == (
        -1021, "Timestamp for this request is outside of the recvWindow.")
    auth.check_timestamp({"timestamp": str(now - 59_000), "recvWindow": "60000"}, now)
    assert code(auth.check_timestamp, {"timestamp": str(now), "recvWindow": "60001"}, now)[0] == -1131
    assert code(auth.check_timestamp, {}, now)[0] == -1102


def test_websocket_api_signature_is_over_the_sorted_params():
    params = {"timestamp": 1_700_000_000_000, "apiKey": "k"}
    params["signature"] = auth.sign("s", "apiKey=k&timestamp=1700000000000")
    auth.check_ws_signature(params, "k", "s", 1_700_000_000_500)
    assert code(auth.check_ws_signature, {**params, "signature": "00"}, "k", "s", 1_700_000_000_500)[0] == -1022


@pytest.mark.parametrize(("params", "expected"), [
    ({"side": "BUY", "type": "MARKET", "quantity": "1"}, -1102),  # no symbol
    ({"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"}, -1121),
    ({"symbol": "BTCUSDT", "side": "HOLD", "type": "MARKET", "quantity": "1"}, -1117),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "ICEBERG", "quantity": "1"}, -1116),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS_LIMIT", "quantity": "1"}, -1014),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1"}, -1102),  # no tif
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1", "timeInForce": "GTD"},
     -1115),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "1", "timeInForce": "GTC"}, -1102),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, -1102),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "quoteOrderQty": "5"}, -1106),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "price": "5"}, -1106),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e-3"}, -1100),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0"}, -1013),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "1", "price": "1",
      "timeInForce": "GTC"}, -1106),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "a b"}, -1100),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "x" * 37}, -1100),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "newOrderRespType": "ALL"}, -1100),
])
def test_new_order_parameter_errors(params, expected):
    assert code(parse_new_order, params, "BTCUSDT")[0] == expected


def test_new_order_parsing():
    order, resp = parse_new_order({"symbol": "BTCUSDT", "side": "sell", "type": "LIMIT", "quantity": "0.5",
                                   "price": "100.25", "timeInForce": "IOC", "newClientOrderId": "x-A1:b/c_d.e"},
                                  "BTCUSDT")
    assert (order.side, order.type, order.quantity, order.price, order.time_in_force, order.client_order_id,
            resp) == ("SELL", "LIMIT", D("0.5"), D("100.25"), "IOC", "x-A1:b/c_d.e", "FULL")
    generated, _ = parse_new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "10",
                                    "newOrderRespType": "ACK"}, "BTCUSDT")
    assert len(generated.client_order_id) == 22 and generated.quote_order_qty == D(10)
    assert order_ref({"orderId": "7"}) == (7, None)
    assert code(order_ref, {})[0] == -1102
    assert code(order_ref, {"orderId": "seven"})[0] == -1100


def test_fault_specs_and_the_fault_book():
    fault = parse_fault("rate_limit:count=2,retry_after=3")
    assert (fault.kind, fault.count, fault.params, fault.path) == ("rate_limit", 2, {"retry_after": 3}, None)
    drop = parse_fault("drop_response")
    assert (drop.path, drop.method, drop.params["mode"], drop.count) == ("/api/v3/order", "POST", "reset", None)
    assert fault_from_json({"kind": "reject", "count": 1, "code": -2010, "msg": "no"}).params == {"code": -2010,
                                                                                                "msg": "no"}
    for bad, message in [("nope", "unknown kind"), ("ban:count=0", "count must be >= 1"),
                         ("latency:ms=abc", "not a float"), ("drop_response:mode=maybe", "mode must be"),
                         ("partial_fills:parts=1", "parts must be"), ("rate_limit:speed=2", "unknown parameter"),
                         ("server_error:status=404", "5xx"), ("ws_disconnect:scope=all,after=-1", "after must"),
                         ("rate_limit:count", "is not key=value")]:
        with pytest.raises(ParameterError, match=message):
            parse_fault(bad)
    with pytest.raises(ParameterError, match='"kind"'):
        fault_from_json(["rate_limit"])
    book = FaultBook()
    book.add(make_fault("rate_limit", count=2, path="/api/v3/order"))
    book.add(make_fault("partial_fills", parts=3, count=1))
    assert book.take("rate_limit", "GET", "/api/v3/klines") is None
    assert book.take("rate_limit", "POST", "/api/v3/order").count == 1
    assert book.take("rate_limit", "GET", "/api/v3/order") is not None
    assert book.take("rate_limit", "POST", "/api/v3/order") is None  # used up
    assert (book.split_count(), book.split_count()) == (3, 1)
    book.add(make_fault("latency"))
    assert book.clear("latency") == 1 and book.active() == []
