"""Exactly-once execution primitives, independent of any venue library (issue 15).

- `client_ids`: deterministic client order ids from (bot, bar, seq) that fit each venue's length and alphabet;
- `order_state`: an order tracker that merges duplicate and out-of-order execution reports without regressing;
- `fills`: fills booked once by venue trade id (survives restarts through `records`/`from_records`);
- `reconciler`: believed state vs a venue snapshot -> book-only actions, or STALE / HALT (fail closed).

Venue adapters (`quantdesk.adapters.ccxt`) produce the values of `models`; the live node owns the books.
"""

from quantdesk.execution.client_ids import ClientIdRules, ClientIdScheme
from quantdesk.execution.fills import FillBook, FillConflict
from quantdesk.execution.models import Balance, FillReport, OrderReport, Outcome, VenueSnapshot
from quantdesk.execution.order_state import OrderTracker, TrackedOrder
from quantdesk.execution.reconciler import (
    Action,
    ActionKind,
    Reconciler,
    Reconciliation,
    Verdict,
    apply_actions,
)

__all__ = ["Action", "ActionKind", "Balance", "ClientIdRules", "ClientIdScheme", "FillBook", "FillConflict",
           "FillReport", "OrderReport", "OrderTracker", "Outcome", "Reconciler", "Reconciliation", "TrackedOrder",
           "Verdict", "VenueSnapshot", "apply_actions"]
