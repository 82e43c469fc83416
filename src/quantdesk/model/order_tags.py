"""Tags on orders that say who placed them, and the test every view of "signals" shares (the API's trades view,
the metrics): an order the strategy placed on its own is a signal; manual, simulated and force-exit orders and
bracket children are not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_STRATEGY_TAGS = frozenset({"manual", "simulated", "force_exit"})


def is_strategy_signal(order: Mapping[str, Any]) -> bool:
    """An order the strategy placed on its own: a signal of source "strategy" (not a recorded manual,
    simulated or force-exit signal's order, nor a bracket child, whose entry is the signal)."""
    return not order.get("parent_id") and not set(order.get("tags") or ()) & NOT_STRATEGY_TAGS
