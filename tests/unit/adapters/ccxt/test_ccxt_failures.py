"""Failure classification (real ccxt exception classes with the venues' error bodies), the rate gate, the
backoff, parsing and the config's secret hygiene."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import ccxt
import pytest

from quantdesk.adapters.ccxt import AdapterConfig, Backoff, OrderRate, capabilities_for
from quantdesk.adapters.ccxt.failures import Failure, RateGate, classify, retry_after
from quantdesk.adapters.ccxt.parsing import parse_balances, parse_order, parse_trade
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.model.enums import OrderSide, OrderStatus

BINANCE = capabilities_for("binance")


@pytest.mark.parametrize(("exc", "kind"), [
    (ccxt.RequestTimeout("binance POST https://api.binance.com/api/v3/order request timeout"), Failure.UNKNOWN),
    (ccxt.ExchangeNotAvailable("binance POST /api/v3/order 503 Service Unavailable"), Failure.UNKNOWN),
    (ccxt.NetworkError("binance POST Connection reset by peer"), Failure.UNKNOWN),
    (ccxt.BadResponse('binance {"code":-1007,"msg":"Timeout waiting for response from backend server."}'),
     Failure.UNKNOWN),
    (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), Failure.DUPLICATE),
    (ccxt.InsufficientFunds('binance {"code":-2010,"msg":"Account has insufficient balance."}'), Failure.REJECTED),
    (ccxt.InvalidOrder('binance {"code":-1013,"msg":"Filter failure: PRICE_FILTER"}'), Failure.REJECTED),
    (ccxt.BadRequest('binance {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}'),
     Failure.TIMESTAMP),
    (ccxt.InvalidNonce("binance nonce"), Failure.TIMESTAMP),
    (ccxt.RateLimitExceeded('binance {"code":-1003,"msg":"Too many requests."}'), Failure.RATE_LIMITED),
    (ccxt.DDoSProtection("binance 418 I'm a teapot"), Failure.RATE_LIMITED),
    (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), Failure.NOT_FOUND),
    (ccxt.AuthenticationError('binance {"code":-2015,"msg":"Invalid API-key"}'), Failure.REJECTED),
    (OSError("connection refused"), Failure.UNKNOWN),
    (TimeoutError(), Failure.UNKNOWN),
])
def test_binance_failures(exc, kind):
    assert classify(exc, BINANCE).kind is kind


def test_other_venues_codes():
    okx, bybit, kraken = (capabilities_for(n) for n in ("okx", "bybit", "kraken"))
    dup = ccxt.InvalidOrder('okx {"code":"1","data":[{"sCode":"51016","sMsg":"Duplicated clOrdId"}]}')
    assert classify(dup, okx).kind is Failure.DUPLICATE
    assert classify(ccxt.ExchangeError('bybit {"retCode":10002,"retMsg":"invalid request time"}'),
                    bybit).kind is Failure.TIMESTAMP
    assert classify(ccxt.ExchangeError('kraken {"error":["EAPI:Rate limit exceeded"]}'),
                    kraken).kind is Failure.RATE_LIMITED


def test_retry_after_and_secrets_in_reasons():
    assert retry_after({"Retry-After": "3"}) == 3.0 and retry_after({}) is None
    c = classify(ccxt.RateLimitExceeded("binance 429 Too Many Requests"), BINANCE, {"retry-after": "2"})
    assert (c.kind, c.retry_after_s) == (Failure.RATE_LIMITED, 2.0)
    leaky = ccxt.NetworkError("binance POST http://x/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=deadbeef9")
    assert "deadbeef9" not in classify(leaky, BINANCE).reason and "signature=***" in classify(leaky, BINANCE).reason


def test_rate_gate_spaces_orders_and_holds_on_retry_after():
    now = [100.0]
    gate = RateGate(OrderRate(2, 10.0), clock=lambda: now[0])

    async def main():
        assert await gate.acquire(order=True, max_wait_s=0) == 0
        assert await gate.acquire(order=True, max_wait_s=0) == 0
        assert await gate.acquire(order=True, max_wait_s=5) is None  # a third within 10 s would need 10 s
        now[0] += 10.0
        assert await gate.acquire(order=True, max_wait_s=0) == 0
        gate.hold(60)
        assert gate.wait_needed(order=False) == 60 and await gate.acquire(order=False, max_wait_s=5) is None

    asyncio.run(main())


def test_backoff_grows_caps_and_jitters():
    plain = Backoff(0.5, 2.0, 4.0, 0.0)
    assert [plain.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    jittered = list(zip(range(50), Backoff(1.0, 2.0, 8.0, 0.2).delays(seed=1), strict=False))
    assert all(0.8 * min(8, 2**n) <= d <= 1.2 * min(8, 2**n) for n, d in jittered)
    with pytest.raises(ParameterError):
        Backoff(0.0)


def test_parsing_maps_statuses_and_numbers():
    base = {"id": "7", "clientOrderId": "c-1", "symbol": "BTC/USDT", "side": "buy", "amount": 0.3, "price": 40000.1}
    assert parse_order({**base, "status": "open", "filled": 0.0}).status is OrderStatus.ACCEPTED
    part = parse_order({**base, "status": "open", "filled": 0.1})
    assert (part.status, part.filled, part.price) == (OrderStatus.PARTIALLY_FILLED, D("0.1"), D("40000.1"))
    assert parse_order({**base, "status": "closed", "filled": 0.3}).status is OrderStatus.FILLED
    assert parse_order({**base, "status": "canceled"}).status is OrderStatus.CANCELED
    assert parse_order({**base, "status": "expired"}).status is OrderStatus.EXPIRED
    assert parse_order({**base, "status": None}).status is OrderStatus.ACCEPTED
    with pytest.raises(DataError, match="no client order id"):
        parse_order({**base, "clientOrderId": None})
    trade = parse_trade({"id": 11, "order": "7", "symbol": "BTC/USDT", "side": "sell", "amount": 0.1,
                         "price": 40000.5, "fee": {"cost": 0.004, "currency": "USDT"}, "timestamp": 5},
                        client_ids={"7": "c-1"})
    assert (trade.trade_id, trade.client_order_id, trade.side, trade.fee) == ("11", "c-1", OrderSide.SELL, D("0.004"))
    balances = parse_balances({"total": {"BTC": 0.5, "ETH": 0.0}, "free": {"BTC": 0.2}, "used": {"BTC": 0.3}})
    assert list(balances) == ["BTC"] and balances["BTC"].used == D("0.3")


def test_config_keeps_secrets_out_of_reprs(monkeypatch):
    monkeypatch.setenv("QD_EXCHANGES__BYBIT__API_KEY", "key-123456")
    monkeypatch.setenv("QD_EXCHANGES__BYBIT__SECRET", "sec-abcdef")
    from quantdesk.core.config import CoreSettings as Settings

    cfg = AdapterConfig.from_settings("bybit", Settings())
    assert cfg.has_credentials and "key-123456" not in repr(cfg) and "sec-abcdef" not in repr(cfg)
    client = cfg.make_sync_client()
    assert client.apiKey == "key-123456" and client.options["defaultType"] == "spot"
    with pytest.raises(ParameterError, match="API key and secret"):
        from quantdesk.adapters.ccxt import ExecutionClient

        ExecutionClient.from_config(AdapterConfig("kraken"))
