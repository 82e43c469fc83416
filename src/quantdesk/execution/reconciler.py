"""Reconciliation: compare what the node believes with a venue snapshot and say what to do. The venue is the truth.

`Reconciler.reconcile(tracker, fills, positions, snapshot, activity_seq)` returns a `Reconciliation`: a verdict
and a list of actions for the caller to apply (`apply_actions` does it for the primitives of this package). It
never creates, cancels or amends an order: every action only changes the node's books. The rules, each from a
failure seen in NautilusTrader's issue tracker:

- a snapshot requested before the node's latest own activity is STALE: nothing is done (NT #4517: a position
  captured before a fill arrived produced a synthetic order that opened a real short);
- a venue trade already booked is skipped, so a restart never double-books (NT #3046); one not booked is
  booked if the order is ours (client id of this bot or an order the node tracks), reported as external if not;
- every venue-open order is kept: known ones get the venue's report, unknown ones are adopted and attributed
  to this bot (its client-id scheme) or to "external" (NT #5000: working orders dropped at start);
- a believed-open order missing from the venue's open orders needs a query by client id (verdict INCOMPLETE
  until the caller supplies `snapshot.queried`); an id the venue conclusively does not know was never placed
  if the venue never acknowledged it, and is a HALT if it had been accepted;
- positions: the node's position plus the snapshot's unbooked trades must equal the venue's. If not:
  a flat venue with no open orders is adopted as flat and the loop ends (NT #3622: a loop that never converged);
  when every fill the node booked inside the snapshot's window is also in the venue's list, the difference
  predates the window, and the venue's figure is adopted (NT #3104: a position older than the lookback);
  otherwise the mismatch is unexplained: HALT (fail closed), with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from quantdesk.execution.fills import FillBook
from quantdesk.execution.models import Balance, FillReport, OrderReport, VenueSnapshot
from quantdesk.execution.order_state import OrderTracker
from quantdesk.model.enums import OrderStatus
from quantdesk.model.money import ZERO


class ActionKind(StrEnum):
    BOOK_FILL = "book_fill"  # a trade of ours the node had not booked (missed while down or disconnected)
    EXTERNAL_FILL = "external_fill"  # a trade on the account not made by this bot (the position is adopted)
    UPDATE_ORDER = "update_order"  # the venue's report on an order the node knows
    ADOPT_ORDER = "adopt_order"  # a venue-open order the node did not know: keep it, attributed to `owner`
    QUERY_ORDER = "query_order"  # believed open, not among the venue's open orders: query it by client id
    MARK_NOT_PLACED = "mark_not_placed"  # the venue never received it: safe to resubmit with the same id
    ADOPT_POSITION = "adopt_position"  # the venue's holding replaces the node's
    ADOPT_BALANCES = "adopt_balances"  # the venue's balances (informational: cash is what the venue says)


#: What an action may do: none of them places, cancels or amends an order at the venue.
BOOK_ONLY = frozenset(ActionKind)


class Verdict(StrEnum):
    IN_SYNC = "in_sync"  # nothing to change: the loop can stop
    ADJUSTED = "adjusted"  # actions to apply, all explained
    INCOMPLETE = "incomplete"  # some orders need a query by client id first (QUERY_ORDER actions)
    STALE = "stale"  # the snapshot predates the node's own activity: take a new one, change nothing
    HALT = "halt"  # unexplained mismatch: stop trading, alert a person (fail closed)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    symbol: str = ""
    client_order_id: str | None = None
    fill: FillReport | None = None
    report: OrderReport | None = None
    quantity: Decimal | None = None
    previous: Decimal | None = None
    owner: str | None = None
    balances: Mapping[str, Balance] | None = None
    reason: str = ""


@dataclass(frozen=True)
class Reconciliation:
    verdict: Verdict
    actions: tuple[Action, ...] = ()
    reason: str = ""
    findings: tuple[str, ...] = ()

    @property
    def in_sync(self) -> bool:
        return self.verdict is Verdict.IN_SYNC

    @property
    def halted(self) -> bool:
        return self.verdict is Verdict.HALT

    def of(self, kind: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.kind is kind]


@dataclass
class Reconciler:
    """Reconciles one bot's books on one venue. `owns(client_id)` says whether an id is this bot's (give
    `ClientIdScheme.owns`); `tolerance[symbol]` is the position difference treated as equal (dust)."""

    bot: str
    owns: Callable[[str | None], bool]
    tolerance: Mapping[str, Decimal] = field(default_factory=dict)

    def reconcile(self, tracker: OrderTracker, fills: FillBook, positions: Mapping[str, Decimal],
                  snapshot: VenueSnapshot, activity_seq: int | None = None) -> Reconciliation:
        if (snapshot.requested_at_seq is not None and activity_seq is not None
                and activity_seq != snapshot.requested_at_seq):
            return Reconciliation(Verdict.STALE, reason=(
                f"stale snapshot: the node's activity moved from {snapshot.requested_at_seq} to {activity_seq} "
                "while it was fetched; nothing changed, take a new one"))
        actions: list[Action] = []
        findings: list[str] = []
        symbols = set(snapshot.symbols)

        # ---- fills -----------------------------------------------------------------------------------------
        unbooked: dict[str, Decimal] = defaultdict(Decimal)
        external: set[str] = set()
        venue_keys = set()
        for fill in snapshot.trades:
            venue_keys.add(fill.key)
            known = fills.fills.get(fill.key)
            if known is not None:
                if (known.quantity, known.price, known.side) != (fill.quantity, fill.price, fill.side):
                    return self._halt(f"trade {fill.trade_id} on {fill.symbol} is booked as {known.side.value} "
                                      f"{known.quantity} @ {known.price} but the venue reports {fill.side.value} "
                                      f"{fill.quantity} @ {fill.price}")
                continue
            unbooked[fill.symbol] += fill.base_delta
            if self._ours(fill.client_order_id, tracker):
                actions.append(Action(ActionKind.BOOK_FILL, fill.symbol, fill.client_order_id, fill=fill,
                                      owner=self.bot, reason="venue trade not booked yet"))
            else:
                external.add(fill.symbol)
                actions.append(Action(ActionKind.EXTERNAL_FILL, fill.symbol, fill.client_order_id, fill=fill,
                                      owner="external", reason="trade on the account not made by this bot"))

        # ---- orders ----------------------------------------------------------------------------------------
        venue_open = {o.client_order_id: o for o in snapshot.open_orders}
        open_symbols = {o.symbol for o in snapshot.open_orders}
        for cid, report in venue_open.items():
            tracked = tracker.get(cid)
            if tracked is None:
                owner = self.bot if self.owns(cid) else "external"
                actions.append(Action(ActionKind.ADOPT_ORDER, report.symbol, cid, report=report, owner=owner,
                                      reason="open at the venue, unknown to the node: kept"))
            elif not tracked.merged(report).same_state(tracked):
                actions.append(Action(ActionKind.UPDATE_ORDER, report.symbol, cid, report=report,
                                      reason="venue report"))
        needs_query = False
        for order in list(tracker.open_orders()):
            cid = order.client_order_id
            if order.symbol not in symbols or cid in venue_open:
                continue
            if cid not in snapshot.queried:
                needs_query = True
                actions.append(Action(ActionKind.QUERY_ORDER, order.symbol, cid,
                                      reason="believed open, not among the venue's open orders"))
                continue
            answer = snapshot.queried[cid]
            if answer is None:
                if order.venue_order_id is None and order.status is OrderStatus.SUBMITTED:
                    actions.append(Action(ActionKind.MARK_NOT_PLACED, order.symbol, cid,
                                          reason="the venue never received this order"))
                else:
                    return self._halt(f"order {cid} was accepted by the venue (id {order.venue_order_id}, "
                                      f"{order.status.value}) and the venue no longer knows it")
            elif not order.merged(answer).same_state(order):
                actions.append(Action(ActionKind.UPDATE_ORDER, order.symbol, cid, report=answer,
                                      reason="queried by client id"))

        # ---- positions -------------------------------------------------------------------------------------
        for symbol in sorted(symbols):
            tol = self.tolerance.get(symbol, ZERO)
            venue_q = Decimal(snapshot.positions.get(symbol, ZERO))
            believed = Decimal(positions.get(symbol, ZERO))
            expected = believed + unbooked[symbol]
            if abs(venue_q - expected) <= tol:
                if symbol in external and venue_q != believed:
                    actions.append(Action(ActionKind.ADOPT_POSITION, symbol, quantity=venue_q, previous=believed,
                                          reason="trades by others on the account"))
                continue
            if abs(venue_q) <= tol and symbol not in open_symbols:
                actions.append(Action(ActionKind.ADOPT_POSITION, symbol, quantity=venue_q, previous=believed,
                                      reason=f"flat venue: the node believed {believed}, the venue holds nothing "
                                             "and has no open order; adopted as flat"))
                continue
            strays = [f.trade_id for f in fills.since(symbol, snapshot.since_ms) if f.key not in venue_keys]
            if strays:
                return self._halt(
                    f"{symbol}: the node holds {expected} and the venue {venue_q}, and the node booked trades "
                    f"{', '.join(strays[:5])} since {snapshot.since_ms} that the venue does not list",
                    findings)
            findings.append(f"{symbol}: adopted {venue_q} (node {expected}); the difference predates "
                            f"{snapshot.since_ms}")
            actions.append(Action(ActionKind.ADOPT_POSITION, symbol, quantity=venue_q, previous=expected,
                                  reason="position older than the lookback: adopted at the venue's figure"))

        if snapshot.balances:
            actions.append(Action(ActionKind.ADOPT_BALANCES, balances=dict(snapshot.balances)))
        changes = [a for a in actions if a.kind is not ActionKind.ADOPT_BALANCES]
        if needs_query:
            verdict = Verdict.INCOMPLETE
        elif changes:
            verdict = Verdict.ADJUSTED
        else:
            verdict = Verdict.IN_SYNC
        return Reconciliation(verdict, tuple(actions), findings=tuple(findings))

    def _ours(self, client_order_id: str | None, tracker: OrderTracker) -> bool:
        return bool(client_order_id) and (self.owns(client_order_id) or client_order_id in tracker.orders)

    @staticmethod
    def _halt(reason: str, findings: Iterable[str] = ()) -> Reconciliation:
        return Reconciliation(Verdict.HALT, reason=f"halt: unexplained mismatch: {reason}", findings=tuple(findings))


def apply_actions(result: Reconciliation, tracker: OrderTracker, fills: FillBook,
                  positions: MutableMapping[str, Decimal]) -> int:
    """Apply a reconciliation to the in-memory books (fills booked, orders merged or adopted, positions
    replaced); returns how many things changed. STALE and HALT results change nothing."""
    if result.verdict in (Verdict.STALE, Verdict.HALT):
        return 0
    changed = 0
    for action in result.actions:
        if action.kind in (ActionKind.BOOK_FILL, ActionKind.EXTERNAL_FILL) and action.fill is not None:
            if fills.book(action.fill):
                changed += 1
                if action.kind is ActionKind.BOOK_FILL:
                    positions[action.symbol] = positions.get(action.symbol, ZERO) + action.fill.base_delta
        elif action.kind in (ActionKind.UPDATE_ORDER, ActionKind.ADOPT_ORDER) and action.report is not None:
            changed += tracker.apply(action.report) is not None
        elif action.kind is ActionKind.MARK_NOT_PLACED and action.client_order_id:
            changed += tracker.reject_unsent(action.client_order_id) is not None
    for action in result.of(ActionKind.ADOPT_POSITION):
        assert action.quantity is not None
        if positions.get(action.symbol) != action.quantity:
            positions[action.symbol] = action.quantity
            changed += 1
    return changed
