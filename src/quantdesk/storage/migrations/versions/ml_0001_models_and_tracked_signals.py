"""ml_models (model registry metadata) and tracked_signals (signals joined with their outcomes)

Revision ID: ml_0001
Revises: kb_0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ml_0001"
down_revision = "kb_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ml_models",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot", sa.String(length=300), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ml_models_created_at", "ml_models", ["created_at"])
    op.create_index("ix_ml_models_slot", "ml_models", ["slot"])
    op.create_table(
        "tracked_signals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("run", sa.String(length=200), nullable=True),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.SmallInteger(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("barrier", sa.JSON(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("exit_ts", sa.BigInteger(), nullable=True),
        sa.Column("exit_price", sa.Float(), nullable=True),
        sa.Column("ret", sa.Float(), nullable=True),
        sa.Column("hit", sa.Boolean(), nullable=True),
        sa.Column("resolved_by", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tracked_signals_ts", "tracked_signals", ["ts"])
    op.create_index("ix_tracked_signals_status", "tracked_signals", ["status"])
    op.create_index("ix_tracked_signals_source_symbol", "tracked_signals", ["source", "symbol", "timeframe"])


def downgrade() -> None:
    op.drop_table("tracked_signals")
    op.drop_table("ml_models")
