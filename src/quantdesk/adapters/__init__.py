"""Venue adapters: how QuantDesk talks to real trading venues, and what stands in for them in tests.

One sub-package per integration. `adapters.simulator` is a local Binance-compatible exchange (REST + WebSocket)
that replays candles on its own clock and matches orders against them, so that the real `ccxt.binance` and
`ccxt.pro.binance` classes can trade against it (tests, dry runs of a live setup).
"""
