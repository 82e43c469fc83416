"""signals can place limit/stop orders and cancel working orders

A manual or API order is recorded in `signals` before it acts and replayed at the same bar on recovery; to replay
limit/stop orders and cancellations exactly the row needs the order type, its price and, for a cancellation, the
client order id it targets.

Revision ID: 0004_signal_orders
Revises: 0003_alerts
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_signal_orders"
down_revision = "0003_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("action", sa.String(length=10), nullable=False, server_default="trade"))
        batch.add_column(sa.Column("order_type", sa.String(length=20), nullable=False, server_default="market"))
        batch.add_column(sa.Column("price", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("target_order_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("target_order_id")
        batch.drop_column("price")
        batch.drop_column("order_type")
        batch.drop_column("action")
