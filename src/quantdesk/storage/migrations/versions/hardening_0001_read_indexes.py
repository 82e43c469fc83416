"""indexes for the API's bounded reads

`GET /bots` and `/paper-trading/status` read each bot's figures with index seeks, whatever the length of its
history: its open orders over (bot_id, status), its last order / fill / snapshot over (bot_id, id) and
(bot_id, seq). (PostgreSQL's indexes on bot_id alone hold no id; SQLite's hold the rowid.)

Revision ID: hardening_0001
Revises: regimes_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "hardening_0001"
down_revision = "regimes_0001"
branch_labels = None
depends_on = None


INDEXES = (("ix_orders_bot_status", "orders", ["bot_id", "status"]),
           ("ix_orders_bot_last", "orders", ["bot_id", "id"]),
           ("ix_fills_bot_seq", "fills", ["bot_id", "seq"]),
           ("ix_account_snapshots_bot_last", "account_snapshots", ["bot_id", "id"]))


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
