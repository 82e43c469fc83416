"""Alert tables: one row per alert, one row per (alert, channel) delivery. Revision 0003_alerts creates them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from quantdesk.storage.models import Base


class AlertRecord(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)  # UTC ns
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    bot: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    symbol: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(300), nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # dispatched | deduplicated
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)


class AlertDelivery(Base):
    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    channel: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # pending | sent | failed | rate_limited
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)

    __table_args__ = (sa.UniqueConstraint("alert_id", "channel", name="uq_alert_deliveries_alert_channel"),)
