"""Alert repository: store alerts and per-channel delivery status (SQLite or PostgreSQL through SQLAlchemy).

The engine comes from `storage.db.get_engine(url)`, which migrates the database to head (0003_alerts) first.
Thread-safe: every call opens its own short session (the manager's channel workers update concurrently).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.storage.alert_models import AlertDelivery, AlertRecord


class Alert(Protocol):
    """What the repository stores of an alert (read-only; quantdesk.monitoring.alerts.Alert has it). Storage sits
    below monitoring, so it names the fields it reads instead of importing the class."""

    @property
    def id(self) -> str: ...
    @property
    def ts(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def bot(self) -> str | None: ...
    @property
    def symbol(self) -> str | None: ...
    @property
    def dedup_key(self) -> str: ...


def _now() -> datetime:
    return datetime.now(UTC)


class AlertRepository:
    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None) -> None:
        if engine is None:
            from quantdesk.storage.db import get_engine

            engine = get_engine(url)
        self.engine = engine

    def add_alert(self, alert: Alert, status: str, channels: list[str]) -> None:
        now = _now()
        with Session(self.engine) as s, s.begin():
            s.add(AlertRecord(id=alert.id, ts=alert.ts, kind=alert.kind, severity=alert.severity,
                              title=alert.title[:300], text=alert.text, bot=alert.bot, symbol=alert.symbol,
                              dedup_key=alert.dedup_key[:300], status=status, created_at=now))
            s.flush()
            for ch in channels:
                s.add(AlertDelivery(alert_id=alert.id, channel=ch, status="pending", attempts=0, updated_at=now))

    def set_delivery(self, alert_id: str, channel: str, status: str, attempts: int, error: str | None = None) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(
                sa.update(AlertDelivery)
                .where(AlertDelivery.alert_id == alert_id, AlertDelivery.channel == channel)
                .values(status=status, attempts=attempts, error=error, updated_at=_now())
            )

    def list_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Oldest first (by event time)."""
        with Session(self.engine) as s:
            rows = s.scalars(sa.select(AlertRecord).order_by(AlertRecord.ts, AlertRecord.created_at).limit(limit))
            return [_alert_row(r) for r in rows]

    def count(self, *, kind: str | None = None, severity: str | None = None, bot: str | None = None,
              status: str | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(AlertRecord).where(*self._filters(kind, severity, bot, status))
        with Session(self.engine) as s:
            return int(s.scalar(q) or 0)

    @staticmethod
    def _filters(kind: str | None, severity: str | None, bot: str | None, status: str | None) -> list[Any]:
        return [col == value for col, value in ((AlertRecord.kind, kind), (AlertRecord.severity, severity),
                                                (AlertRecord.bot, bot), (AlertRecord.status, status))
                if value is not None]

    def query(self, *, limit: int = 100, kind: str | None = None, severity: str | None = None,
              bot: str | None = None, status: str | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first (the order they were raised in: `created_at`, then event time), filtered, each with its
        per-channel `deliveries` [{channel, status, attempts, error}] (two queries whatever the limit)."""
        q = sa.select(AlertRecord).where(*self._filters(kind, severity, bot, status))
        q = q.order_by(AlertRecord.created_at.desc(), AlertRecord.ts.desc(), AlertRecord.id.desc()).limit(limit)
        q = q.offset(offset)
        with Session(self.engine) as s:
            out = [_alert_row(r) for r in s.scalars(q)]
            ids = [a["id"] for a in out]
            by_alert: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                dq = sa.select(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)).order_by(AlertDelivery.id)
                for d in s.scalars(dq):
                    by_alert[d.alert_id].append({"channel": d.channel, "status": d.status, "attempts": d.attempts,
                                                 "error": d.error})
        for a in out:
            a["deliveries"] = by_alert[a["id"]]
        return out

    def deliveries(self, alert_id: str | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            q = sa.select(AlertDelivery).order_by(AlertDelivery.id)
            if alert_id is not None:
                q = q.where(AlertDelivery.alert_id == alert_id)
            return [{"alert_id": d.alert_id, "channel": d.channel, "status": d.status, "attempts": d.attempts,
                     "error": d.error} for d in s.scalars(q)]


def _alert_row(r: AlertRecord) -> dict[str, Any]:
    return {"id": r.id, "ts": r.ts, "kind": r.kind, "severity": r.severity, "title": r.title, "text": r.text,
            "bot": r.bot, "symbol": r.symbol, "dedup_key": r.dedup_key, "status": r.status,
            "created_at": r.created_at}
