"""Anomaly repository: store AnomalyDetected events (idempotently) and query them, on SQLite or PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.storage.anomaly_models import AnomalyRecord


class AnomalyRepository:
    def __init__(self, url: str | None = None, *, engine: sa.Engine | None = None) -> None:
        if engine is None:
            from quantdesk.storage.db import get_engine

            engine = get_engine(url)
        self.engine = engine

    def add(self, events: Iterable[Any]) -> int:
        """Store AnomalyDetected events; those already stored (same source, symbol, timeframe, time, kind) are
        skipped. Returns the number of new rows."""
        now = datetime.now(UTC)
        rows = [{"ts": int(e.ts_event), "symbol": e.symbol, "timeframe": e.timeframe or "", "kind": e.kind,
                 "kinds": (e.kinds or e.kind)[:200], "score": _finite(e.score), "method": e.method or "",
                 "source": e.source or "", "side": e.side, "price": e.price, "notional": e.notional,
                 "details": dict(e.details or {}), "created_at": now} for e in events]
        if not rows:
            return 0
        added = 0
        with Session(self.engine) as s, s.begin():
            keys = {(r["source"], r["symbol"], r["timeframe"], r["ts"], r["kind"]) for r in rows}
            existing = set()
            for source, symbol, tf in {(k[0], k[1], k[2]) for k in keys}:
                q = sa.select(AnomalyRecord.ts, AnomalyRecord.kind).where(
                    AnomalyRecord.source == source, AnomalyRecord.symbol == symbol, AnomalyRecord.timeframe == tf)
                existing |= {(source, symbol, tf, ts, kind) for ts, kind in s.execute(q)}
            for r in rows:
                key = (r["source"], r["symbol"], r["timeframe"], r["ts"], r["kind"])
                if key in existing:
                    continue
                existing.add(key)
                s.add(AnomalyRecord(**r))
                added += 1
        return added

    def query(self, *, symbol: str | None = None, timeframe: str | None = None, kind: str | None = None,
              source: str | None = None, start_ns: int | None = None, end_ns: int | None = None,
              limit: int = 500) -> list[dict[str, Any]]:
        """Newest first."""
        q = sa.select(AnomalyRecord)
        for col, value in ((AnomalyRecord.symbol, symbol), (AnomalyRecord.timeframe, timeframe),
                           (AnomalyRecord.kind, kind), (AnomalyRecord.source, source)):
            if value is not None:
                q = q.where(col == value)
        if start_ns is not None:
            q = q.where(AnomalyRecord.ts >= start_ns)
        if end_ns is not None:
            q = q.where(AnomalyRecord.ts <= end_ns)
        q = q.order_by(AnomalyRecord.ts.desc(), AnomalyRecord.id.desc()).limit(limit)
        with Session(self.engine) as s:
            return [_row(r) for r in s.scalars(q)]

    def counts(self) -> list[dict[str, Any]]:
        """Stored anomalies per (symbol, kind)."""
        q = sa.select(AnomalyRecord.symbol, AnomalyRecord.kind, sa.func.count()).group_by(
            AnomalyRecord.symbol, AnomalyRecord.kind).order_by(AnomalyRecord.symbol, AnomalyRecord.kind)
        with Session(self.engine) as s:
            return [{"symbol": a, "kind": b, "count": int(c)} for a, b, c in s.execute(q)]


def _finite(x: float) -> float:
    x = float(x)
    return x if math.isfinite(x) else (1e300 if x > 0 else -1e300)


def _row(r: AnomalyRecord) -> dict[str, Any]:
    from quantdesk.core.timeutil import iso

    return {"id": r.id, "timestamp": iso(int(r.ts)), "ts_ns": int(r.ts), "symbol": r.symbol,
            "timeframe": r.timeframe, "kind": r.kind, "kinds": r.kinds, "score": r.score, "method": r.method,
            "source": r.source, "side": r.side, "price": r.price, "notional": r.notional,
            "details": r.details or {}}
