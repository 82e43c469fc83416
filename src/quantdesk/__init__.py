"""QuantDesk: one platform from research to execution.

Layers (dependencies point inward; the contract is `[tool.importlinter]` in pyproject.toml, run by
`make lint`): core < model < data, indicators < simulation, engine < risk < strategies < backtest, research <
ml, intel < storage < paper, adapters, execution, rpc < service < api, web, monitoring, cli.
`quantdesk.settings`, above every layer, composes the configuration; importing the package declares it to core.
"""

# Importing `quantdesk.settings` declares the full Settings class to quantdesk.core.config (composition at the edge).
from quantdesk import settings as _settings  # noqa: F401
from quantdesk.core.version import __version__

__all__ = ["__version__"]
