"""The live node's repository (tables in `live_models`). Every write is its own short transaction, committed
before the caller acts on it: an intent before the request, a journal entry (with its fill) before the engine
sees the event. Reads serve the node's recovery and `quantdesk live status` (another process).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.storage.live_models import LiveFill, LiveIntent, LiveJournal, LiveOrder, LiveState


def _now() -> datetime:
    return datetime.now(UTC)


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in sa.inspect(obj).mapper.column_attrs}


class LiveRepo:
    """Live tables of one database (shares the TradingStore's SQLAlchemy engine)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ---- intents ----------------------------------------------------------------------------------------
    def add_intent(self, bot_id: str, intent: Mapping[str, Any]) -> None:
        """Commit an intent (status pending) BEFORE its request is sent."""
        with self.session() as s, s.begin():
            s.add(LiveIntent(bot_id=bot_id, status="pending", attempts=0, reason="", updated_at=_now(), **intent))

    def update_intent(self, bot_id: str, client_order_id: str, *, status: str, reason: str = "",
                      attempts: int | None = None) -> None:
        values: dict[str, Any] = {"status": status, "reason": reason[:500], "updated_at": _now()}
        if attempts is not None:
            values["attempts"] = LiveIntent.attempts + attempts
        with self.session() as s, s.begin():
            s.execute(sa.update(LiveIntent).where(LiveIntent.bot_id == bot_id,
                                                  LiveIntent.client_order_id == client_order_id).values(**values))

    def intents(self, bot_id: str) -> dict[str, dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(sa.select(LiveIntent).where(LiveIntent.bot_id == bot_id).order_by(LiveIntent.id))
            return {r.client_order_id: _row(r) for r in rows}

    # ---- orders -----------------------------------------------------------------------------------------
    def save_orders(self, bot_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Upsert the tracker's view of orders (by client order id)."""
        rows = list(rows)
        if not rows:
            return
        with self.session() as s, s.begin():
            self._upsert_orders(s, bot_id, rows)

    @staticmethod
    def _upsert_orders(s: Session, bot_id: str, rows: list[Mapping[str, Any]]) -> None:
        ids = [r["client_order_id"] for r in rows]
        known = {o.client_order_id: o for o in s.scalars(
            sa.select(LiveOrder).where(LiveOrder.bot_id == bot_id, LiveOrder.client_order_id.in_(ids)))}
        for r in rows:
            o = known.get(r["client_order_id"])
            if o is None:
                s.add(LiveOrder(bot_id=bot_id, **r))
            else:
                for k, v in r.items():
                    setattr(o, k, v)

    def orders(self, bot_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_row(r) for r in s.scalars(sa.select(LiveOrder).where(LiveOrder.bot_id == bot_id)
                                                .order_by(LiveOrder.id))]

    # ---- journal + fills ----------------------------------------------------------------------------------
    def journal(self, bot_id: str, entries: Sequence[Mapping[str, Any]], *, fills: Iterable[Mapping[str, Any]] = (),
                orders: Iterable[Mapping[str, Any]] = (), positions: Mapping[str, str | None] | None = None) -> None:
        """One transaction: journal entries (each with seq, step, kind, client_order_id, data), the fills they
        book (unique per trade: a duplicate raises and nothing is written), orders, and the node's positions."""
        with self.session() as s, s.begin():
            for e in entries:
                s.add(LiveJournal(bot_id=bot_id, **e))
            for f in fills:
                s.add(LiveFill(bot_id=bot_id, **f))
            orders = list(orders)
            if orders:
                self._upsert_orders(s, bot_id, orders)
            if positions is not None:
                s.execute(sa.update(LiveState).where(LiveState.bot_id == bot_id)
                          .values(positions=dict(positions), updated_at=_now()))

    def journal_entries(self, bot_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        cond = [LiveJournal.bot_id == bot_id] + ([LiveJournal.kind == kind] if kind else [])
        with self.session() as s:
            return [_row(r) for r in s.scalars(sa.select(LiveJournal).where(*cond).order_by(LiveJournal.seq))]

    def fills(self, bot_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            return [_row(r) for r in s.scalars(sa.select(LiveFill).where(LiveFill.bot_id == bot_id)
                                                .order_by(LiveFill.id))]

    # ---- state --------------------------------------------------------------------------------------------
    def ensure_state(self, bot_id: str, exchange: str, pid: int | None = None) -> None:
        with self.session() as s, s.begin():
            row = s.get(LiveState, bot_id)
            if row is None:
                s.add(LiveState(bot_id=bot_id, exchange=exchange, positions={}, balances={}, reconciliation={},
                                commands=[], pid=pid, committed_seq=0, updated_at=_now()))
            else:
                row.pid = pid
                row.commands = []  # controls sent to a node that is gone do not act on the next one
                row.updated_at = _now()

    @staticmethod
    def mark_committed(s: Session, bot_id: str, seq: int) -> None:
        """Inside a bot commit's transaction: the journal entries up to `seq` are in the committed state."""
        s.execute(sa.update(LiveState).where(LiveState.bot_id == bot_id).values(committed_seq=seq))

    def set_state(self, bot_id: str, **values: Any) -> None:
        with self.session() as s, s.begin():
            s.execute(sa.update(LiveState).where(LiveState.bot_id == bot_id).values(updated_at=_now(), **values))

    def state(self, bot_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(LiveState, bot_id)
            return None if row is None else _row(row)

    def push_command(self, bot_id: str, command: Mapping[str, Any]) -> None:
        """Queue a control for the bot's node (taken by `take_commands`)."""
        with self.session() as s, s.begin():
            row = s.get(LiveState, bot_id, with_for_update=True)
            if row is None:
                raise LookupError(bot_id)
            row.commands = [*(row.commands or []), dict(command)]
            row.updated_at = _now()

    def take_commands(self, bot_id: str, actions: frozenset[str] | None = None) -> list[dict[str, Any]]:
        """The queued controls (only those whose action is in `actions`, when given), removed from the queue."""
        with self.session() as s, s.begin():
            row = s.get(LiveState, bot_id, with_for_update=True)
            if row is None or not row.commands:
                return []
            taken = [c for c in row.commands if actions is None or c.get("action") in actions]
            if taken:
                row.commands = [c for c in row.commands if not (actions is None or c.get("action") in actions)]
            return taken
