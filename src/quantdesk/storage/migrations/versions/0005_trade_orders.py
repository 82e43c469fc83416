"""trades know the orders that opened and closed them

A round trip's entry tag (why it was entered) and exit reason (stop-loss, take-profit, the strategy's signal, a
manual close, a force-exit) are those of its orders: the trade row keeps their client order ids.

Revision ID: 0005_trade_orders
Revises: 0004_signal_orders
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_trade_orders"
down_revision = "0004_signal_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("entry_order_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("exit_order_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("exit_order_id")
        batch.drop_column("entry_order_id")
