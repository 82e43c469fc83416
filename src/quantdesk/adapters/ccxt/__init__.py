"""The generic ccxt venue adapter (issue 15): one integration for every ccxt exchange, differences as data.

Roles (same files in every integration): `config` (how to reach the venue), `data` (market-data client:
closed candles, trades, books over ccxt.pro streams with reconnect and REST gap fill), `execution` (orders with
exactly-once rules; `private_streams` for order/fill/balance streams), `parsing` (ccxt dicts -> QuantDesk
values), `capabilities` (what each venue accepts: order types, time in force, post-only, client-id rules,
rate limits, error codes), `feed` (the bar feed of paper bots and the live node over the data client).

    adapter = CcxtAdapter(AdapterConfig.for_simulator(sim))      # or AdapterConfig.from_settings("binance")
    ids = adapter.client_ids("my-bot")                             # ClientIdScheme fitted to the venue
    execution = adapter.execution()                                # async ExecutionClient
    candles = adapter.market_data("BTC/USDT").candles("1m")        # async iterator of closed candles
User guide: docs/adapters.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantdesk.adapters.ccxt.capabilities import (
    NAMED,
    MarketRules,
    OrderRate,
    VenueCapabilities,
    capabilities_for,
    market_rules,
)
from quantdesk.adapters.ccxt.config import AdapterConfig, Backoff
from quantdesk.adapters.ccxt.data import MarketDataClient
from quantdesk.adapters.ccxt.execution import ExecutionClient, OrderRequest, SubmitResult
from quantdesk.adapters.ccxt.feed import StreamCandleFeed, stream_feed_for
from quantdesk.adapters.ccxt.parsing import BookSnapshot, Candle, Trade
from quantdesk.adapters.ccxt.private_streams import ExecutionEvent, private_events
from quantdesk.execution.client_ids import ClientIdScheme
from quantdesk.execution.reconciler import Reconciler


@dataclass
class CcxtAdapter:
    """One venue: its configuration, its capabilities, and factories for the clients that use them."""

    config: AdapterConfig
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.capabilities = capabilities_for(self.config.exchange, exchange=self.config.make_sync_client(),
                                             **self.overrides)

    def market_data(self, symbol: str, **kwargs: Any) -> MarketDataClient:
        return MarketDataClient(self.config.make_client(), symbol, caps=self.capabilities,
                                reconnect=self.config.reconnect, **kwargs)

    def execution(self, **kwargs: Any) -> ExecutionClient:
        client = ExecutionClient.from_config(self.config, caps=self.capabilities, **kwargs)
        return client

    def feed(self, symbol: str, timeframe: str, **kwargs: Any) -> StreamCandleFeed:
        return StreamCandleFeed(self.config, symbol, timeframe,
                                client_factory=lambda: self.market_data(symbol), **kwargs)

    def client_ids(self, bot: str, prefix: str = "qd") -> ClientIdScheme:
        return ClientIdScheme(bot, self.capabilities.client_id, prefix)

    def reconciler(self, bot: str, scheme: ClientIdScheme | None = None, **kwargs: Any) -> Reconciler:
        return Reconciler(bot, (scheme or self.client_ids(bot)).owns, **kwargs)


__all__ = ["NAMED", "AdapterConfig", "Backoff", "BookSnapshot", "Candle", "CcxtAdapter", "ExecutionClient",
           "ExecutionEvent", "MarketDataClient", "MarketRules", "OrderRate", "OrderRequest", "StreamCandleFeed",
           "SubmitResult", "Trade", "VenueCapabilities", "capabilities_for", "market_rules", "private_events",
           "stream_feed_for"]
