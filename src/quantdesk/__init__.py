"""QuantDesk: one platform from research to execution.

Layers (dependencies point inward): core -> model -> data -> indicators -> engine/simulation ->
strategies -> backtest -> storage/service -> api/cli. See docs and DESIGN in the repository.
"""

__version__ = "0.1.0"
