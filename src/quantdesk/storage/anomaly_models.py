"""The `anomalies` table: one row per detected anomaly (bar anomaly, feed-health finding or whale trade).
Revision regimes_0001 creates it. (`source`, `symbol`, `timeframe`, `ts`, `kind`) is unique, so storing the same
detection twice (a re-run of `anomaly detect`) keeps one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base


class AnomalyRecord(Base):
    __tablename__ = "anomalies"
    __table_args__ = (sa.UniqueConstraint("source", "symbol", "timeframe", "ts", "kind", name="uq_anomalies_event"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)  # bar / trade time, UTC ns
    symbol: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    timeframe: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False, index=True)
    kinds: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    method: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    source: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")  # bot name, "cli", "api"
    side: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    price: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    notional: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
