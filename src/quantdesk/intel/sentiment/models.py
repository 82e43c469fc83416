"""Sentiment tables (revision sentiment_0001): stored texts, one row per (text, asset) mention for fast
per-asset series, and index values such as the Fear & Greed index."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base


class SentimentItem(Base):
    """One text (headline, post, article) as scored when stored. `key` de-duplicates across sources."""

    __tablename__ = "sentiment_items"

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)  # insertion order
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    source: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    published_ns: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)  # UTC ns
    fetched_ns: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    body: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    url: Mapped[str | None] = mapped_column(sa.String(1000), nullable=True)
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    scorer: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    entities: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")  # "BTC ETH" (bases)
    events: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")  # "hack exploit"


class SentimentMention(Base):
    """(text, base asset) pairs, denormalised with the time and score the per-asset series needs."""

    __tablename__ = "sentiment_mentions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    item_seq: Mapped[int] = mapped_column(sa.Integer, sa.ForeignKey("sentiment_items.seq", ondelete="CASCADE"),
                                          nullable=False, index=True)
    base: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    published_ns: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    events: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")

    __table_args__ = (sa.Index("ix_sentiment_mentions_base_published", "base", "published_ns"),)


class SentimentIndexValue(Base):
    """A market-wide index reading (Fear & Greed: 0 extreme fear .. 100 extreme greed)."""

    __tablename__ = "sentiment_index"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    ts_ns: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    value: Mapped[float] = mapped_column(sa.Float, nullable=False)
    classification: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)

    __table_args__ = (sa.UniqueConstraint("source", "ts_ns", name="uq_sentiment_index_source_ts"),)
