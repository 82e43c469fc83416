"""SQLAlchemy 2 declarative models. Schema changes go through an Alembic revision in `migrations/versions/`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every QuantDesk table."""

    type_annotation_map = {dict[str, Any]: sa.JSON}


class BacktestRun(Base):
    """One recorded backtest: what ran (config, data fingerprint), what came out (metrics) and where the files are."""

    __tablename__ = "backtest_runs"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, index=True)
    strategy: Mapped[str] = mapped_column(sa.String(200), nullable=False, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    timeframe: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    engine: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    data_fingerprint: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    out_dir: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="completed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "created_at": self.created_at,
            "strategy": self.strategy,
            "params": self.params,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "engine": self.engine,
            "config": self.config,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
            "out_dir": self.out_dir,
            "status": self.status,
        }
