"""A Binance-compatible spot exchange on 127.0.0.1 for tests and dry runs (issue 15, "Exchange simulator").

It serves enough of Binance's REST API, market streams, user-data stream and WebSocket API for the real
`ccxt.binance` and `ccxt.pro.binance` classes to trade; it replays candles from a file on its own clock, matches
orders against them, and shows its truth at `GET /_sim/state`. Faults (lost responses, 429/418, -1021, stream
disconnects, duplicate or reordered execution reports, partial fills, rejects) are injectable by flag and at run
time. User guide: docs/exchange-simulator.md.

    from quantdesk.adapters.simulator import ExchangeSimulator
    with ExchangeSimulator(data="candles.csv", symbol="BTC/USDT", timeframe="1m", speed=0) as sim:
        ex = sim.ccxt()
"""

from quantdesk.adapters.simulator.clients import binance_client, point_at
from quantdesk.adapters.simulator.config import DEFAULT_API_KEY, DEFAULT_API_SECRET, SimConfig
from quantdesk.adapters.simulator.faults import Fault, make_fault, parse_fault
from quantdesk.adapters.simulator.server import ExchangeSimulator

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "ExchangeSimulator", "Fault", "SimConfig", "binance_client",
           "make_fault", "parse_fault", "point_at"]
