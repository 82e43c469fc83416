"""The dashboard's and the API's controls for live bots. A live bot runs in its own `quantdesk live` process, not
on the API's paper node: its controls (stop, force exit, cancel order, manual trade, halt / resume / kill switch)
are queued in the database for that process, which acts on them after its next closed bar (a stop at once).
Starting, pausing or resuming a live bot from the API is refused: it is started by a person, with the opt-in."""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ConflictError
from quantdesk.live.node import is_live, live_status, send_command
from quantdesk.storage.trading import TradingStore


def live_bot(store: TradingStore, name: str | None, running: Any) -> bool:
    """True when `name` is a live bot (not one of the paper node's `running` bots)."""
    return name is not None and name not in running and is_live(store, name)


def control(store: TradingStore, name: str, action: str, **values: Any) -> dict[str, Any]:
    if action in ("start", "pause"):
        raise ConflictError(f"bot {name!r} is a live bot: it runs in its own `quantdesk live` process, started with "
                            f"the opt-in (`quantdesk live --bot-name {name} --resume --confirm-live`); "
                            "stop it, or halt it through the risk controls")
    return send_command(store, name, action, **values)


def status(store: TradingStore, name: str | None = None) -> Any:
    return live_status(store, name)
