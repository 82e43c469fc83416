"""Shared fixtures: real data files, an isolated QD_HOME, and the real PostgreSQL/Redis services.

Services are used for real. When they are absent, tests that need them are skipped, unless
QD_REQUIRE_SERVICES=1 (set by .ci/run), in which case they fail.

The suite's database and bus are switched by the environment, so that the same tests run on both backends
(`make test-services`):
  QD_TEST_DATABASE=sqlite|postgres  (default sqlite) - with postgres, every test and every module gets a fresh
                                    PostgreSQL schema as QD_DATABASE__URL (subprocesses inherit it), dropped after.
  QD_TEST_REDIS=1                   - QD_REDIS__URL plus a unique QD_REDIS__PREFIX per test and module (keys
                                    deleted after), so the paper node and the API run with the Redis bus on.
Without them the suite is hermetic the other way: QD_DATABASE__URL and QD_REDIS__* are unset for every test.
The switch works at three levels: the test session (code run at import), each module (module-scoped fixtures)
and each test. Like the SQLite file, which lives in QD_HOME, the database goes with the home: a test that uses a
module-scoped fixture that made files (a shared QD_HOME) keeps the module's database instead of a fresh one.
A test that sets its own QD_DATABASE__URL (or passes a URL) keeps it; `db_url` gives a test extra databases
that follow the switch.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

DATA_DIR = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get("QD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_DATABASE = os.environ.get("QD_TEST_DATABASE", "").strip().lower() or "sqlite"
TEST_REDIS = os.environ.get("QD_TEST_REDIS", "").strip()
SERVICE_VARS = ("QD_DATABASE__URL", "QD_REDIS__URL", "QD_REDIS__PREFIX")
REAL_FILES = {
    "btc_1m": DATA_DIR / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv",
    "btc_1h": DATA_DIR / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv",
    "btc_1d": DATA_DIR / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv",
    "goog_1d": DATA_DIR / "GOOG_1d_2004-08-19_2013-03-01.csv",
}


def _require_services() -> bool:
    return os.environ.get("QD_REQUIRE_SERVICES", "") == "1"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _service_missing(name: str) -> None:
    message = f"{name} is not reachable"
    if _require_services():
        pytest.fail(f"{message} and QD_REQUIRE_SERVICES=1")
    pytest.skip(f"{message} (set QD_REQUIRE_SERVICES=1 to make this a failure)")


# ---- the service switch ---------------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    """Refuse a misspelt switch, or a switch to a service that is not running, before any test runs."""
    if TEST_DATABASE not in ("sqlite", "postgres"):
        raise pytest.UsageError(f"QD_TEST_DATABASE must be 'sqlite' or 'postgres', not {TEST_DATABASE!r}")
    if TEST_REDIS not in ("", "0", "1"):
        raise pytest.UsageError(f"QD_TEST_REDIS must be 1 (Redis bus on) or 0/empty, not {TEST_REDIS!r}")
    if TEST_DATABASE == "postgres" and not _port_open("127.0.0.1", 5432):
        raise pytest.UsageError("QD_TEST_DATABASE=postgres but PostgreSQL at 127.0.0.1:5432 is not reachable")
    if _redis_on() and not _port_open("127.0.0.1", 6379):
        raise pytest.UsageError("QD_TEST_REDIS=1 but Redis at 127.0.0.1:6379 is not reachable")
    session = _switched_services()  # for code that reads the settings at import (collection) time
    session.__enter__()
    config.stash[_SESSION_SERVICES] = session


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION_SERVICES, None)
    if session is not None:
        del config.stash[_SESSION_SERVICES]
        session.__exit__(None, None, None)
    if _redis_on():
        for prefix in _PREFIXES:
            _delete_redis_keys(prefix)
    engine = _ADMIN.pop("engine", None)
    if engine is not None:
        engine.dispose()


def pytest_report_header(config: pytest.Config) -> str:
    return f"quantdesk services: database={TEST_DATABASE}, redis bus={'on' if _redis_on() else 'off'}"


def _redis_on() -> bool:
    return TEST_REDIS == "1"


_ADMIN: dict[str, Any] = {}
_SESSION_SERVICES = pytest.StashKey[Any]()
_PREFIXES: list[str] = []  # every Redis prefix handed out: swept again at the end (threads a test left running)


def _admin_engine() -> Any:
    """One small engine per test process for CREATE/DROP SCHEMA (never the product's engines)."""
    if "engine" not in _ADMIN:
        import sqlalchemy as sa

        _ADMIN["engine"] = sa.create_engine(POSTGRES_URL, pool_size=1, max_overflow=2)
    return _ADMIN["engine"]


def _new_schema() -> tuple[str, str]:
    """Create a uniquely named schema (unique across xdist workers); returns (schema, URL of it).

    The URL's connections use the schema (search_path) and are named after it (application_name), so that
    `_drop_schema` can end the connections a test left open before it drops the schema.
    """
    import sqlalchemy as sa

    schema = f"qd_test_{uuid.uuid4().hex[:12]}"
    with _admin_engine().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    return schema, f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"


def _drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    with _admin_engine().begin() as conn:
        conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": schema})
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _delete_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def _switched_services() -> Iterator[None]:
    """QD_DATABASE__URL / QD_REDIS__* for one scope: a fresh schema / key prefix, or unset; settings reset."""
    from quantdesk.core.config import set_settings

    schema = prefix = None
    with pytest.MonkeyPatch.context() as mp:
        for var in SERVICE_VARS:
            mp.delenv(var, raising=False)
        try:
            if TEST_DATABASE == "postgres":
                schema, url = _new_schema()
                mp.setenv("QD_DATABASE__URL", url)
            if _redis_on():
                prefix = f"qdtest:{uuid.uuid4().hex[:12]}:"
                _PREFIXES.append(prefix)
                mp.setenv("QD_REDIS__URL", REDIS_URL)
                mp.setenv("QD_REDIS__PREFIX", prefix)
            set_settings(None)
            yield
        finally:
            set_settings(None)
            if schema is not None:
                _drop_schema(schema)
            if prefix is not None:
                _delete_redis_keys(prefix)
    set_settings(None)  # the outer scope's environment is back: so are its settings


@pytest.fixture(scope="module", autouse=True)
def _module_services() -> Iterator[None]:
    """For module-scoped fixtures (a shared API server, a CLI run reused by several tests)."""
    with _switched_services():
        yield


# (where defined, name) of the broader-scoped fixtures that made files, directly or through another such fixture
_SHARED_FILES: set[tuple[str, str]] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    """Note module/session fixtures that depend on tmp_path_factory: their files (a QD_HOME) outlive one test."""
    if fixturedef.scope == "function":
        return
    made_files = "tmp_path_factory" in fixturedef.argnames or any(
        name in fixturedef.argnames and fixturedef.baseid.startswith(base) for base, name in _SHARED_FILES)
    if made_files:
        _SHARED_FILES.add((fixturedef.baseid, fixturedef.argname))


def _shares_module_files(request: pytest.FixtureRequest) -> bool:
    nodeid = request.node.nodeid
    names = set(request.fixturenames)
    return any(name in names and nodeid.startswith(base) for base, name in _SHARED_FILES)


@pytest.fixture(autouse=True)
def _test_services(_module_services: None, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test: its own database schema and Redis prefix (or none), unless it shares the module's QD_HOME."""
    if _shares_module_files(request):
        yield
        return
    with _switched_services():
        yield


@pytest.fixture()
def db_url(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """db_url(name="qd") -> URL of an empty database of this test, the same URL for the same name.

    A SQLite file `tmp_path/<name>.db`, or with QD_TEST_DATABASE=postgres a new schema, dropped after the test.
    For tests that need a database of their own (or two, a run and its reference) besides the settings' one.
    """
    made: dict[str, str] = {}
    schemas: list[str] = []

    def _url(name: str = "qd") -> str:
        if name not in made:
            if TEST_DATABASE == "postgres":
                schema, made[name] = _new_schema()
                schemas.append(schema)
            else:
                made[name] = f"sqlite:///{tmp_path / f'{name}.db'}"
        return made[name]

    yield _url
    for schema in schemas:
        _drop_schema(schema)


# ---- plain fixtures -------------------------------------------------------------------------------------------
@pytest.fixture()
def qd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty QD_HOME for one test, with the process settings reset to see it."""
    from quantdesk.core.config import set_settings

    home = tmp_path / "qdhome"
    monkeypatch.setenv("QD_HOME", str(home))
    set_settings(None)
    yield home
    set_settings(None)


@pytest.fixture(scope="session")
def real_ohlcv() -> dict[str, pd.DataFrame]:
    """The shared real files read plainly with pandas (an independent reader, for reference checks)."""
    frames = {}
    for key, path in REAL_FILES.items():
        df = pd.read_csv(path)
        df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
        frames[key] = df.astype("float64")
    return frames


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """URL of a fresh schema in the real PostgreSQL `test` database, dropped afterwards."""
    if not _port_open("127.0.0.1", 5432):
        _service_missing("PostgreSQL at 127.0.0.1:5432")
    try:
        schema, url = _new_schema()
    except Exception as exc:  # pragma: no cover - depends on the machine
        _service_missing(f"PostgreSQL ({exc.__class__.__name__}: {exc})")
    yield url
    _drop_schema(schema)


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """URL of the real Redis; the test gets a unique key prefix via `redis_prefix`."""
    if not _port_open("127.0.0.1", 6379):
        _service_missing("Redis at 127.0.0.1:6379")
    yield REDIS_URL


@pytest.fixture()
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"qdtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    _delete_redis_keys(prefix)
