"""Paper trading: a node running bots on the backtest engine with simulated fills, persisted for crash recovery.

    from quantdesk.paper import PaperNode, BotSpec
"""

from quantdesk.paper.bot import PaperBot, RecoveryError
from quantdesk.paper.feeds import ReplayFeed
from quantdesk.paper.node import PaperNode, status_from_db
from quantdesk.paper.spec import BotSpec

__all__ = ["BotSpec", "PaperBot", "PaperNode", "RecoveryError", "ReplayFeed", "status_from_db"]
