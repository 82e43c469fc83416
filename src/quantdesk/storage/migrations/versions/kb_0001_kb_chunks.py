"""knowledge-base chunks for PostgreSQL full-text search

`kb_chunks` mirrors the knowledge base's chunks (quantdesk.intel.kb.models); on PostgreSQL a GIN index over the
English tsvector of title and body serves `quantdesk kb search` (SQLite installations use the embedded BM25 index
and leave the table empty).

Revision ID: kb_0001
Revises: sentiment_0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "kb_0001"
down_revision = "sentiment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("anchor", sa.String(length=300), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_kb_chunks_kind", "kb_chunks", ["kind"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_kb_chunks_tsv ON kb_chunks USING gin "
                   "(to_tsvector('english', coalesce(title, '') || ' ' || body))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_kb_chunks_tsv")
    op.drop_index("ix_kb_chunks_kind", table_name="kb_chunks")
    op.drop_table("kb_chunks")
