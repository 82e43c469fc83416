"""ML tables: the model registry's metadata (`ml_models`) and tracked signals with their outcomes
(`tracked_signals`). Revision `ml_0001` creates them; artefacts live under QD_HOME/models (quantdesk.ml.registry).

Signal times are UTC integer nanoseconds (like the trading tables); bookkeeping times timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base


class MlModelRow(Base):
    """One trained model: content address, what it was trained on, its validation, where its artefact is, and its
    role in its slot (champion / challenger / retired)."""

    __tablename__ = "ml_models"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, index=True)
    slot: Mapped[str] = mapped_column(sa.String(300), nullable=False, index=True)  # symbol|timeframe|label
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    timeframe: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    label: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="candidate")
    data_fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    path: Mapped[str] = mapped_column(sa.Text, nullable=False)
    parent_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)

    def to_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}


class TrackedSignalRow(Base):
    """One signal (ML or rule-based) and, once its horizon or barrier has passed, its realised outcome."""

    __tablename__ = "tracked_signals"
    __table_args__ = (sa.Index("ix_tracked_signals_source_symbol", "source", "symbol", "timeframe"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    source: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    origin: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="api")
    run: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    timeframe: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    direction: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    confidence: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    price: Mapped[float] = mapped_column(sa.Float, nullable=False)
    horizon: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    barrier: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    features: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="pending", index=True)
    exit_ts: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    exit_price: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    ret: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    hit: Mapped[bool | None] = mapped_column(sa.Boolean, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)

    def to_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}
