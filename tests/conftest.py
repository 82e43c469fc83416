"""Shared fixtures: real data files, an isolated QD_HOME, and the real PostgreSQL/Redis services.

Services are used for real. When they are absent, tests that need them are skipped, unless
QD_REQUIRE_SERVICES=1 (set by .ci/run), in which case they fail.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

DATA_DIR = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get("QD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
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
    import sqlalchemy as sa

    schema = f"qd_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        engine.dispose()
        _service_missing(f"PostgreSQL ({exc.__class__.__name__}: {exc})")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """URL of the real Redis; the test gets a unique key prefix via `redis_prefix`."""
    if not _port_open("127.0.0.1", 6379):
        _service_missing("Redis at 127.0.0.1:6379")
    yield REDIS_URL


@pytest.fixture()
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"qdtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
