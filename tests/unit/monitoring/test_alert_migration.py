"""Revision 0003_alerts creates exactly the tables of storage.alert_models (no autogenerate diff)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from quantdesk.storage import db
from quantdesk.storage.alert_models import AlertDelivery, AlertRecord

OURS = {AlertRecord.__tablename__, AlertDelivery.__tablename__}


def test_migration_matches_models(db_url) -> None:
    url = db_url("m")
    db.upgrade(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert OURS <= set(sa.inspect(conn).get_table_names())
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, AlertRecord.metadata)

        def table_of(d: object) -> str | None:
            item = d[0] if isinstance(d, list) else d
            for x in item[1:]:  # type: ignore[index]
                name = getattr(x, "name", None) if not isinstance(x, str) else None
                tbl = getattr(x, "table", None)
                if tbl is not None:
                    return tbl.name
                if name:
                    return name
            return None

        ours = [d for d in diffs if table_of(d) in OURS]
        assert ours == []
    finally:
        engine.dispose()
