"""Trading state tables (paper now, live later): bots, account snapshots, orders, fills, positions, trades,
signals and risk/strategy events. Same declarative `Base` as `storage.models`, so one metadata covers all.

Money and quantities are stored as Decimal strings (exact on SQLite and PostgreSQL alike); timestamps of the
trading model as UTC integer nanoseconds (BigInteger), row bookkeeping times as timezone-aware datetimes.
Schema changes go through an Alembic revision (0002_trading_state created these tables).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base

DEC = sa.String(64)  # a Decimal as text: exact everywhere


class Bot(Base):
    __tablename__ = "bots"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    mode: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="paper")
    strategy: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    symbols: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    timeframe: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    starting_cash: Mapped[str] = mapped_column(DEC, nullable=False)
    cash: Mapped[str] = mapped_column(DEC, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    cursor_index: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=-1)  # last committed bar
    cursor_ts: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)


class AccountSnapshot(Base):
    __tablename__ = "account_snapshots"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    bar_index: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    cash: Mapped[str] = mapped_column(DEC, nullable=False)
    equity: Mapped[str] = mapped_column(DEC, nullable=False)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    venue: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    quantity: Mapped[str | None] = mapped_column(DEC, nullable=True)
    price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    trigger_price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    trailing_offset: Mapped[str | None] = mapped_column(DEC, nullable=True)
    trailing_offset_type: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    notional: Mapped[str | None] = mapped_column(DEC, nullable=True)
    all_cash: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    reduce_only: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    tif: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    expire_ts: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    parent_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    linked_ids: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    strategy_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    filled_qty: Mapped[str] = mapped_column(DEC, nullable=False, default="0")
    avg_price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    fees: Mapped[str] = mapped_column(DEC, nullable=False, default="0")
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    bar_index: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    ts_init: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    ts_last: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (sa.UniqueConstraint("venue", "trade_id", name="uq_fills_venue_trade"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    venue: Mapped[str] = mapped_column(sa.String(100), nullable=False)  # the simulated venue of one bot
    trade_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    client_order_id: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    price: Mapped[str] = mapped_column(DEC, nullable=False)
    quantity: Mapped[str] = mapped_column(DEC, nullable=False)
    fee: Mapped[str] = mapped_column(DEC, nullable=False)
    fee_currency: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    liquidity: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # order of the fill within its bot


class PositionRow(Base):
    __tablename__ = "positions"

    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    symbol: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    quantity: Mapped[str] = mapped_column(DEC, nullable=False)
    avg_price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    cost: Mapped[str] = mapped_column(DEC, nullable=False)
    realized_pnl: Mapped[str] = mapped_column(DEC, nullable=False)
    fees: Mapped[str] = mapped_column(DEC, nullable=False)
    ts_last: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class TradeRow(Base):
    """A round trip (flat -> flat) of one bot."""

    __tablename__ = "trades"
    __table_args__ = (sa.UniqueConstraint("bot_id", "seq", name="uq_trades_bot_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    entry_ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    exit_ts: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    quantity: Mapped[str] = mapped_column(DEC, nullable=False)
    entry_price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    exit_price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    fees: Mapped[str] = mapped_column(DEC, nullable=False)
    realized_pnl: Mapped[str] = mapped_column(DEC, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    # 0005: the orders that opened and closed the trip (entry tag, exit reason)
    entry_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    exit_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)


class SignalRow(Base):
    """A manual trade or a simulated signal, recorded before it acts (replayed at the same bar on recovery)."""

    __tablename__ = "signals"
    __table_args__ = (sa.UniqueConstraint("bot_id", "seq", name="uq_signals_bot_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    bar_index: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # manual | simulated
    symbol: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    quantity: Mapped[str | None] = mapped_column(DEC, nullable=True)
    notional: Mapped[str | None] = mapped_column(DEC, nullable=True)
    confidence: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    client_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    # 0004: "trade" places an order (market, limit or stop at `price`); "cancel" cancels `target_order_id`
    action: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="trade", server_default="trade")
    order_type: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="market",
                                            server_default="market")
    price: Mapped[str | None] = mapped_column(DEC, nullable=True)
    target_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)


class RiskEventRow(Base):
    """Risk denials, halts, kill switch and strategy errors of one bot (the engine's `events`)."""

    __tablename__ = "risk_events"
    __table_args__ = (sa.UniqueConstraint("bot_id", "seq", name="uq_risk_events_bot_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(sa.ForeignKey("bots.id", ondelete="CASCADE"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    rule: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    client_order_id: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)


# bounded reads of the API (revision hardening_0001): a bot's open orders, its last order, fill and snapshot
sa.Index("ix_orders_bot_status", OrderRow.bot_id, OrderRow.status)
sa.Index("ix_orders_bot_last", OrderRow.bot_id, OrderRow.id)
sa.Index("ix_fills_bot_seq", FillRow.bot_id, FillRow.seq)
sa.Index("ix_account_snapshots_bot_last", AccountSnapshot.bot_id, AccountSnapshot.id)
