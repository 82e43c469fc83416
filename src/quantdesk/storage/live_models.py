"""Live trading tables (issue 15): what a live bot told the venue, what the venue answered, and the journal the
engine is rebuilt from after a restart. The bot itself is a `bots` row with `mode = "live"` (so every listing of
bots shows it); these tables hang off it.

- `live_intents`: one row per order request, committed BEFORE the request leaves (client order id, bar, seq,
  side, quantity, type, price) and updated with the outcome; a restart finds every id it may have sent;
- `live_orders`: the order tracker's view of every order of the bot at the venue (own and adopted);
- `live_fills`: venue fills booked by the node, unique per (bot, symbol, venue trade id): exactly once;
- `live_journal`: the venue events applied to the engine, in order, with the step before which they were
  applied (a restarted bot replays the bars and these events at the same steps: the same engine state);
- `live_state`: the node's positions, balances and last reconciliation (what `quantdesk live status` shows).
Amounts are Decimal strings, times UTC milliseconds (the venues' unit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base

DEC = sa.String(64)
_BOT = "bots.id"


class LiveIntent(Base):
    __tablename__ = "live_intents"
    __table_args__ = (sa.UniqueConstraint("bot_id", "client_order_id", name="uq_live_intents_bot_cid"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey(_BOT, ondelete="CASCADE"), nullable=False, index=True)
    client_order_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    engine_order_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    bar_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    quantity: Mapped[str] = mapped_column(DEC, nullable=False)
    price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # pending, accepted, rejected, not_placed
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)


class LiveOrder(Base):
    __tablename__ = "live_orders"
    __table_args__ = (sa.UniqueConstraint("bot_id", "client_order_id", name="uq_live_orders_bot_cid"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey(_BOT, ondelete="CASCADE"), nullable=False, index=True)
    client_order_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    venue_order_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    quantity: Mapped[str | None] = mapped_column(DEC, nullable=True)
    filled: Mapped[str] = mapped_column(DEC, nullable=False, default="0")
    price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    owner: Mapped[str] = mapped_column(sa.String(200), nullable=False)  # the bot, or "external"
    ts_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class LiveFill(Base):
    __tablename__ = "live_fills"
    __table_args__ = (sa.UniqueConstraint("bot_id", "symbol", "trade_id", name="uq_live_fills_bot_trade"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey(_BOT, ondelete="CASCADE"), nullable=False, index=True)
    trade_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)  # FillReport.to_dict()
    owner: Mapped[str] = mapped_column(sa.String(200), nullable=False)


class LiveJournal(Base):
    __tablename__ = "live_journal"
    __table_args__ = (sa.UniqueConstraint("bot_id", "seq", name="uq_live_journal_bot_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey(_BOT, ondelete="CASCADE"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    step: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # applied before this engine step
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # accepted, rejected, canceled, fill, adopt
    client_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)  # the engine's id
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)


class LiveState(Base):
    __tablename__ = "live_state"

    bot_id: Mapped[str] = mapped_column(sa.ForeignKey(_BOT, ondelete="CASCADE"), primary_key=True)
    exchange: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    positions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    balances: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    reconciliation: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    # controls for the running node (stop, risk halt/resume/kill, exit, trade, cancel) from the API or the CLI,
    # oldest first; the node takes them after a step
    commands: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, nullable=False, default=list)
    pid: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    committed_seq: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # journal seq in the last commit
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
