"""backtest_runs: one row per recorded backtest

Revision ID: 0001_backtest_runs
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_backtest_runs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("symbol", sa.String(100), nullable=False),
        sa.Column("timeframe", sa.String(20), nullable=False),
        sa.Column("engine", sa.String(20), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("data_fingerprint", sa.String(64), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index("ix_backtest_runs_created_at", "backtest_runs", ["created_at"])
    op.create_index("ix_backtest_runs_strategy", "backtest_runs", ["strategy"])


def downgrade() -> None:
    op.drop_index("ix_backtest_runs_strategy", table_name="backtest_runs")
    op.drop_index("ix_backtest_runs_created_at", table_name="backtest_runs")
    op.drop_table("backtest_runs")
