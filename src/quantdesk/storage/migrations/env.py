"""Alembic environment. Run programmatically by `quantdesk.storage.db.upgrade(url)`, which passes an open
connection in `config.attributes["connection"]` (no alembic.ini, no URL interpolation problems)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from quantdesk.storage import alert_models, live_models, trading_models  # noqa: F401  (register their tables on Base)
from quantdesk.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic: give an open connection (config.attributes) or sqlalchemy.url")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
