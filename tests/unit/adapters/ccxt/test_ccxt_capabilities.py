"""The five named venues' differences as data, checked against their documented rules and ccxt's recorded
market metadata (loaded offline into the real ccxt classes)."""

from __future__ import annotations

import json
import re
from decimal import Decimal as D
from pathlib import Path

import ccxt
import ccxt.pro
import pytest

from quantdesk.adapters.ccxt import NAMED, OrderRate, capabilities_for, market_rules
from quantdesk.adapters.ccxt.execution import ExecutionClient, OrderRequest
from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.execution import ClientIdScheme
from quantdesk.model.enums import OrderSide

MARKETS = json.loads((Path(__file__).parent / "ccxt_markets_recorded.json").read_text())
# documented client-id rules (venue API docs), written independently of the capability table
DOCUMENTED_IDS = {
    "binance": r"^[.A-Z:/a-z0-9_-]{1,36}$", "bybit": r"^[A-Za-z0-9_-]{1,36}$", "okx": r"^[A-Za-z0-9]{1,32}$",
    "kucoin": r"^[A-Za-z0-9_-]{1,40}$", "kraken": r"^[A-Za-z0-9_-]{1,18}$",
}
# (venue id of BTC/USDT, tick, step, min notional from the recorded markets, fee currency)
EXPECTED = {
    "binance": ("BTCUSDT", "0.01", "0.00001", "5", "received"),
    "bybit": ("BTCUSDT", "0.1", "0.000001", "5", "received"),
    "okx": ("BTC-USDT", "0.1", "1E-8", None, "received"),
    "kucoin": ("BTC-USDT", "0.1", "1E-8", "0.1", "quote"),
    "kraken": ("XBTUSDT", "0.1", "1E-8", None, "quote"),
}


def offline(name, pro=False):
    ex = getattr(ccxt.pro if pro else ccxt, name)()
    ex.set_markets(list(MARKETS[name].values()))
    return ex


def test_the_named_venues_are_the_five_of_the_issue():
    assert set(NAMED) == {"binance", "bybit", "okx", "kucoin", "kraken"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_symbols_precision_and_fees_differ_as_recorded(name):
    ex = offline(name)
    caps = capabilities_for(name, exchange=ex)
    venue_id, tick, step, min_notional, fee_currency = EXPECTED[name]
    rules = market_rules(ex, "BTC/USDT")
    assert (rules.venue_id, rules.tick_size, rules.step_size) == (venue_id, D(tick), D(step))
    assert rules.min_notional == (None if min_notional is None else D(min_notional))
    assert ex.safe_symbol(venue_id) == "BTC/USDT" and ex.market_id("BTC/USDT") == venue_id
    assert caps.fee_currency == fee_currency and caps.precision_mode == "tick_size"
    # ccxt rounds with the recorded precision: amounts truncated to the step, prices to the tick
    amount = D(ex.amount_to_precision("BTC/USDT", 0.123456789))
    assert amount % D(step) == 0 and D("0.123456789") - amount < D(step)


@pytest.mark.parametrize("name", sorted(DOCUMENTED_IDS))
def test_client_ids_made_for_each_venue_fit_its_documented_rule(name):
    caps = capabilities_for(name)
    scheme = ClientIdScheme("a-long-bot-name-for-tight-venues", caps.client_id)
    pattern = re.compile(DOCUMENTED_IDS[name])
    ids = [scheme.make(1_641_168_000_000 + 60_000 * k, s) for k in range(200) for s in range(3)]
    assert all(pattern.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)
    assert caps.client_id.max_length == int(re.search(r"\{1,(\d+)\}", DOCUMENTED_IDS[name]).group(1))


def test_ccxt_metadata_is_merged_in():
    caps = {name: capabilities_for(name) for name in NAMED}
    for name, c in caps.items():
        assert {"GTC", "IOC", "FOK"} <= c.time_in_force and c.post_only, name
        assert {"watchOHLCV", "watchTrades", "watchOrderBook", "watchOrders", "watchMyTrades"} <= c.streams, name
        assert not c.reduce_only and c.order_types == {"market", "limit"}
    assert "GTD" in caps["kucoin"].time_in_force and "GTD" not in caps["binance"].time_in_force
    assert caps["binance"].request_expiry_ms == 10_000 and caps["bybit"].request_expiry_ms == 5_000
    assert caps["okx"].request_expiry_ms == 30_000 and caps["kraken"].request_expiry_ms is None
    assert caps["binance"].order_rate == OrderRate(100, 10.0)


def test_other_ccxt_exchanges_get_the_generic_table_and_their_own_streams():
    coinbase = capabilities_for("coinbase")
    assert coinbase.client_id.max_length == 32 and "watchTrades" in coinbase.streams
    assert not coinbase.has_stream("watchOHLCV")  # the market-data client polls REST there
    assert capabilities_for("binance", order_rate=OrderRate(5, 1.0)).order_rate == OrderRate(5, 1.0)
    with pytest.raises(NotFoundError, match="not a ccxt exchange"):
        capabilities_for("binanse")


def test_the_same_order_is_valid_on_one_venue_and_refused_on_another():
    def validate(name, **kw):
        ex = offline(name, pro=True)
        client = ExecutionClient(ex, capabilities_for(name, exchange=ex))
        base = dict(client_order_id="qd-bot-1", symbol="BTC/USDT", side=OrderSide.BUY, type="limit",
                    quantity=D("0.001"), price=D("43210.12"))
        return client.validate(OrderRequest(**{**base, **kw}))

    assert validate("binance")
    with pytest.raises(ParameterError, match="price 43210.12 is not a multiple of the tick 0.1"):
        validate("bybit")
    assert validate("bybit", price=D("43210.1"))
    with pytest.raises(ParameterError, match="characters the venue refuses: '-'"):
        validate("okx", price=D("43210.1"))
    with pytest.raises(ParameterError, match="quantity 0.0000001 is not a multiple of the step 0.000001"):
        validate("bybit", quantity=D("0.0000001"), price=D("43210.1"))
    with pytest.raises(ParameterError, match="notional .* below the minimum 5"):
        validate("binance", quantity=D("0.0001"))
    with pytest.raises(ParameterError, match="quantity 0.00005 is below the minimum 0.0001"):
        validate("kraken", client_order_id="qd1", quantity=D("0.00005"), price=D("43210.1"))
    with pytest.raises(ParameterError, match="time in force 'GTD'"):
        validate("binance", time_in_force="GTD")
    with pytest.raises(ParameterError, match="reduce-only"):
        validate("binance", reduce_only=True)
    with pytest.raises(ParameterError, match="market order takes no price"):
        validate("binance", type="market")


def test_the_adapter_facade_wires_one_venue_offline():
    from quantdesk.adapters.ccxt import AdapterConfig, CcxtAdapter, ExecutionClient, MarketDataClient

    adapter = CcxtAdapter(AdapterConfig("okx", api_key="k-123456", secret="s-123456", password="p-123456"),
                          {"order_rate": OrderRate(5, 1.0)})
    assert adapter.capabilities.exchange == "okx" and adapter.capabilities.order_rate == OrderRate(5, 1.0)
    scheme = adapter.client_ids("my-bot")
    cid = scheme.make(1_641_168_000_000, 0)
    assert re.fullmatch(DOCUMENTED_IDS["okx"], cid) and adapter.reconciler("my-bot", scheme).owns(cid)
    execution, data = adapter.execution(), adapter.market_data("BTC/USDT")
    assert isinstance(execution, ExecutionClient) and isinstance(data, MarketDataClient)
    assert execution.caps is adapter.capabilities and execution.exchange.password == "p-123456"
    assert "k-123456" not in repr(adapter)
