"""The anomalies table: revision regimes_0001 creates exactly the model's table; the repository stores events
once (idempotent), filters and counts them (SQLite, or PostgreSQL with QD_TEST_DATABASE=postgres)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from quantdesk.intel.anomalies.events import AnomalyDetected
from quantdesk.storage import db
from quantdesk.storage.anomaly_models import AnomalyRecord
from quantdesk.storage.anomaly_repo import AnomalyRepository


def test_migration_matches_the_model(db_url) -> None:
    url = db_url("m")
    db.upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert "anomalies" in sa.inspect(conn).get_table_names()
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, AnomalyRecord.metadata)
        ours = [d for d in diffs if "anomalies" in repr(d)]
        assert ours == []
    finally:
        engine.dispose()


def _ev(ts: int, kind: str, symbol: str = "BTC/USDT", source: str = "cli", **kw) -> AnomalyDetected:
    return AnomalyDetected(ts, ts, symbol, kind, 7.5, "zscore", "1h", kind, source=source, **kw)


def test_repository_is_idempotent_and_filters(db_url) -> None:
    repo = AnomalyRepository(db_url("r"))
    first = [_ev(1_000, "gap"), _ev(2_000, "return_spike"), _ev(3_000, "whale", side="buy", price=100.0,
                                                                     notional=5e6)]
    assert repo.add(first) == 3
    assert repo.add(first + [_ev(4_000, "gap")]) == 1  # only the new one
    assert repo.add([_ev(1_000, "gap", source="bot1")]) == 1  # another source is another finding
    rows = repo.query(symbol="BTC/USDT", limit=10)
    assert [r["ts_ns"] for r in rows] == [4_000, 3_000, 2_000, 1_000, 1_000]  # newest first
    gaps = repo.query(kind="gap", source="cli")
    assert [r["ts_ns"] for r in gaps] == [4_000, 1_000]
    whale = repo.query(kind="whale")[0]
    assert whale["side"] == "buy" and whale["notional"] == 5e6 and whale["timestamp"].endswith("Z")
    assert repo.query(start_ns=2_000, end_ns=3_000, limit=10)[-1]["ts_ns"] == 2_000
    counts = {(c["symbol"], c["kind"]): c["count"] for c in repo.counts()}
    assert counts[("BTC/USDT", "gap")] == 3
