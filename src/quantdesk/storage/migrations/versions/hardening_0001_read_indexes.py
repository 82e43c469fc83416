"""indexes for the API's bounded reads

`GET /bots` and `/paper-trading/status` count each bot's open orders and read its last account snapshot with
grouped queries: (bot_id, status) on orders and (bot_id, id) on account_snapshots answer them from the index,
whatever the length of the history (PostgreSQL's index on bot_id alone holds no id; SQLite's does, as rowid).

Revision ID: hardening_0001
Revises: 0004_signal_orders
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "hardening_0001"
down_revision = "0004_signal_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_bot_status", "orders", ["bot_id", "status"])
    op.create_index("ix_account_snapshots_bot_last", "account_snapshots", ["bot_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_account_snapshots_bot_last", table_name="account_snapshots")
    op.drop_index("ix_orders_bot_status", table_name="orders")
