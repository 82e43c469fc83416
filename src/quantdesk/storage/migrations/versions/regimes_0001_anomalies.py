"""anomalies: bar anomalies, feed-health findings and whale trades

Revision ID: regimes_0001
Revises: ml_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "regimes_0001"
down_revision = "ml_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("timeframe", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("notional", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "symbol", "timeframe", "ts", "kind", name="uq_anomalies_event"),
    )
    op.create_index(op.f("ix_anomalies_ts"), "anomalies", ["ts"], unique=False)
    op.create_index(op.f("ix_anomalies_symbol"), "anomalies", ["symbol"], unique=False)
    op.create_index(op.f("ix_anomalies_kind"), "anomalies", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_anomalies_kind"), table_name="anomalies")
    op.drop_index(op.f("ix_anomalies_symbol"), table_name="anomalies")
    op.drop_index(op.f("ix_anomalies_ts"), table_name="anomalies")
    op.drop_table("anomalies")
