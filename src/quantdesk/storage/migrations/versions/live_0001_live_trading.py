"""live trading: intents, venue orders, booked fills, the engine journal and the node's state (issue 15)

Revision ID: live_0001
Revises: hardening_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "live_0001"
down_revision = "hardening_0001"
branch_labels = None
depends_on = None

DEC = sa.String(length=64)


def _bot() -> list[Any]:  # a column and its foreign key, spread into each table
    return [sa.Column("bot_id", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], ondelete="CASCADE")]


def upgrade() -> None:
    op.create_table(
        "live_intents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False), *_bot(),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("engine_order_id", sa.String(length=200), nullable=False),
        sa.Column("bar_ms", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("quantity", DEC, nullable=False),
        sa.Column("price", DEC, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "client_order_id", name="uq_live_intents_bot_cid"),
    )
    op.create_table(
        "live_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False), *_bot(),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("venue_order_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("quantity", DEC, nullable=True),
        sa.Column("filled", DEC, nullable=False),
        sa.Column("price", DEC, nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "client_order_id", name="uq_live_orders_bot_cid"),
    )
    op.create_table(
        "live_fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False), *_bot(),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "symbol", "trade_id", name="uq_live_fills_bot_trade"),
    )
    op.create_table(
        "live_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False), *_bot(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("client_order_id", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "seq", name="uq_live_journal_bot_seq"),
    )
    op.create_table(
        "live_state",
        sa.Column("bot_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], ondelete="CASCADE"),
        sa.Column("exchange", sa.String(length=50), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("balances", sa.JSON(), nullable=False),
        sa.Column("reconciliation", sa.JSON(), nullable=False),
        sa.Column("commands", sa.JSON(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("committed_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id"),
    )
    for table in ("live_intents", "live_orders", "live_fills", "live_journal"):
        op.create_index(f"ix_{table}_bot_id", table, ["bot_id"])


def downgrade() -> None:
    for table in ("live_journal", "live_fills", "live_orders", "live_intents"):
        op.drop_index(f"ix_{table}_bot_id", table_name=table)
    for table in ("live_state", "live_journal", "live_fills", "live_orders", "live_intents"):
        op.drop_table(table)
