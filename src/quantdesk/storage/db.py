"""Database access: engine factory, programmatic migrations and the backtest run log.

The URL comes from `get_settings().database_url`: SQLite at `QD_HOME/quantdesk.db` by default, PostgreSQL when
`QD_DATABASE__URL` (or `[database] url` in quantdesk.toml) is set, e.g. `postgresql+psycopg://user@host/db`.
`get_engine()` runs `alembic upgrade head` once per URL and process, so a fresh QD_HOME just works.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.core.errors import ConfigError, NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.storage.models import BacktestRun

log = get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_ENGINES: dict[str, sa.Engine] = {}
_LOCK = threading.Lock()
# Alembic's `context` and `op` are module-global proxies: two upgrades running at once in one process (a backtest
# job thread and a request opening the trading store) use each other's connection ("table already exists",
# KeyError, even a segfault in sqlite3). One upgrade at a time per process; the second then finds the head.
_MIGRATE_LOCK = threading.Lock()


def database_url(url: str | None = None) -> str:
    if url:
        return url
    from quantdesk.core.config import get_settings

    return get_settings().database_url


def _redacted(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<database url>"


def make_engine(url: str | None = None, *, echo: bool = False) -> sa.Engine:
    """A new SQLAlchemy engine (creates the SQLite file's folder)."""
    url = database_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"database url is not valid: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        return sa.create_engine(parsed, echo=echo, future=True)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"database driver for {parsed.drivername!r} is not installed ({exc})") from None


def alembic_config(connection: sa.Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run `alembic upgrade <revision>` programmatically on the database at `url`."""
    from alembic import command

    engine = make_engine(url)
    try:
        with _MIGRATE_LOCK, engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    except sa.exc.OperationalError as exc:
        raise ConfigError(f"cannot open the database {_redacted(str(engine.url))}: {exc.orig}") from None
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest migration shipped with this version (the history is linear: one head)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migration history must have one head, found {heads}")
    return heads[0]


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def get_engine(url: str | None = None) -> sa.Engine:
    """The process-wide engine for `url` (migrated to head on first use)."""
    url = database_url(url)
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            upgrade(url)
            engine = _ENGINES[url] = make_engine(url)
    return engine


def dispose_engines() -> None:
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def record_run(
    *,
    config: dict[str, Any],
    metrics: dict[str, Any],
    data_fingerprint: str | None,
    out_dir: str | None,
    engine: str | None = None,
    status: str = "completed",
    url: str | None = None,
    created_at: datetime | None = None,
    run_id: str | uuid.UUID | None = None,
) -> str:
    """Insert one backtest run; returns its id (uuid text). `config` is BacktestConfig.model_dump(mode="json")."""
    from quantdesk.core.jsonable import to_jsonable

    run_id = uuid.UUID(str(run_id)) if run_id is not None else uuid.uuid4()
    run = BacktestRun(
        id=run_id,
        created_at=created_at or datetime.now(UTC),
        strategy=str(config.get("strategy")),
        params=to_jsonable(config.get("params") or {}),
        symbol=str(config.get("symbol")),
        timeframe=str(config.get("timeframe")),
        engine=engine,
        config=to_jsonable(config),
        data_fingerprint=data_fingerprint,
        metrics=to_jsonable(metrics),  # NaN/inf -> null: JSON columns must hold valid JSON
        out_dir=out_dir,
        status=status,
    )
    with Session(get_engine(url)) as session, session.begin():
        session.add(run)
    return str(run_id)


def record_result(result: Any, *, out_dir: str | Path | None, engine: str | None = None,
                  url: str | None = None) -> str:
    """Record a BacktestResult (config, data fingerprint, metrics, where its files are)."""
    return record_run(
        config=result.config.model_dump(mode="json"),
        metrics=result.metrics,
        data_fingerprint=result.data_info.get("fingerprint"),
        out_dir=str(Path(out_dir).resolve()) if out_dir is not None else None,
        engine=engine,
        url=url,
    )


def count_runs(url: str | None = None) -> int:
    with Session(get_engine(url)) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(BacktestRun)) or 0)


def list_runs(url: str | None = None, *, limit: int = 50, strategy: str | None = None,
              offset: int = 0) -> list[dict[str, Any]]:
    """Most recent runs first (`limit` from `offset`)."""
    stmt = sa.select(BacktestRun).order_by(BacktestRun.created_at.desc()).limit(limit).offset(offset)
    if strategy:
        stmt = stmt.where(BacktestRun.strategy == strategy)
    with Session(get_engine(url)) as session:
        return [r.to_dict() for r in session.scalars(stmt)]


def get_run(run_id: str, url: str | None = None) -> dict[str, Any]:
    try:
        key = uuid.UUID(str(run_id))
    except ValueError:
        raise NotFoundError(f"run {run_id!r} is not a valid run id") from None
    with Session(get_engine(url)) as session:
        run = session.get(BacktestRun, key)
        if run is None:
            raise NotFoundError(f"no backtest run with id {run_id}")
        return run.to_dict()
