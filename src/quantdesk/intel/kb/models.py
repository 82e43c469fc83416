"""The `kb_chunks` table: the knowledge-base chunks mirrored into the database for PostgreSQL full-text search.

Revision `kb_0001` creates it (on every database, so the schema is the same everywhere) and, on PostgreSQL only,
a GIN index over `to_tsvector('english', title || ' ' || body)`. Only PostgreSQL installations fill it; the
embedded file index under QD_HOME/kb stays the source of truth (the table is rewritten from it on ingest).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base

TSVECTOR_SQL = "to_tsvector('english', coalesce(title, '') || ' ' || body)"


class KbChunk(Base):
    __tablename__ = "kb_chunks"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # Chunk.id (source, anchor, content hash)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    anchor: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False, index=True)
    content_hash: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
