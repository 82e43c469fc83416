"""Backtesting: runner over the event engine, compiled fast path, metrics, reports, research tools."""
