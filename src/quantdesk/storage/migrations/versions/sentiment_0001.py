"""sentiment: stored texts, per-asset mentions, index values (Fear & Greed)

Revision ID: sentiment_0001
Revises: 0005_trade_orders
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sentiment_0001"
down_revision = "0005_trade_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_items",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("published_ns", sa.BigInteger(), nullable=False),
        sa.Column("fetched_ns", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("scorer", sa.String(length=20), nullable=False),
        sa.Column("entities", sa.String(length=500), nullable=False),
        sa.Column("events", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_sentiment_items_source"), "sentiment_items", ["source"], unique=False)
    op.create_index(op.f("ix_sentiment_items_published_ns"), "sentiment_items", ["published_ns"], unique=False)
    op.create_table(
        "sentiment_mentions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_seq", sa.Integer(), nullable=False),
        sa.Column("base", sa.String(length=20), nullable=False),
        sa.Column("published_ns", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("events", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["item_seq"], ["sentiment_items.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sentiment_mentions_item_seq"), "sentiment_mentions", ["item_seq"], unique=False)
    op.create_index("ix_sentiment_mentions_base_published", "sentiment_mentions", ["base", "published_ns"],
                    unique=False)
    op.create_table(
        "sentiment_index",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("classification", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "ts_ns", name="uq_sentiment_index_source_ts"),
    )


def downgrade() -> None:
    op.drop_table("sentiment_index")
    op.drop_index("ix_sentiment_mentions_base_published", table_name="sentiment_mentions")
    op.drop_index(op.f("ix_sentiment_mentions_item_seq"), table_name="sentiment_mentions")
    op.drop_table("sentiment_mentions")
    op.drop_index(op.f("ix_sentiment_items_published_ns"), table_name="sentiment_items")
    op.drop_index(op.f("ix_sentiment_items_source"), table_name="sentiment_items")
    op.drop_table("sentiment_items")
