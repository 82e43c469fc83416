"""Live trading (issue 15): the engine, strategies and risk engine of paper trading on a real venue through ccxt,
exactly once. `venue.LiveVenue` (the ExecutionVenue port over `adapters.ccxt.ExecutionClient`), `bot.LiveBot`
(a PaperBot with that venue, the stream feed, the journal and reconciliation), `node.LiveNode` (opt-in, keys,
run loop, status). User guide: docs/live.md.
"""
