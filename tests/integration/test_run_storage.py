"""Backtest runs are recorded in the embedded database (SQLite) and in the real PostgreSQL, via Alembic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from quantdesk.storage import db


def _record_and_list(url: str, tmp_path: Path) -> None:
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()
    assert db.head_revision() >= "0003"  # runs, trading state and alerts migrations all applied
    db.upgrade(url)  # idempotent
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    cfg = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbol": "BTC/USDT", "timeframe": "1h",
           "cash": 10000.0, "fee": 0.001}
    metrics = {"sharpe": 1.25, "profit_factor": math.inf, "win_rate_pct": math.nan, "num_trades": 3.0}
    ids = []
    for k in range(3):
        ids.append(db.record_run(config={**cfg, "params": {"fast": 10 + k, "slow": 30}}, metrics=metrics,
                                 data_fingerprint="ab" * 32, out_dir=str(tmp_path / f"run{k}"), engine="fast",
                                 url=url, created_at=t0 + timedelta(minutes=k)))
    runs = db.list_runs(url)
    assert [r["id"] for r in runs] == ids[::-1]  # newest first
    newest = runs[0]
    assert newest["params"] == {"fast": 12, "slow": 30} and newest["strategy"] == "sma_cross"
    assert newest["metrics"]["sharpe"] == 1.25
    assert newest["metrics"]["profit_factor"] is None and newest["metrics"]["win_rate_pct"] is None
    assert newest["data_fingerprint"] == "ab" * 32 and newest["status"] == "completed"
    assert newest["config"]["fee"] == 0.001 and newest["out_dir"].endswith("run2")
    assert newest["created_at"].replace(tzinfo=newest["created_at"].tzinfo or UTC) == t0 + timedelta(minutes=2)
    assert db.get_run(ids[0], url)["params"]["fast"] == 10
    assert len(db.list_runs(url, limit=2)) == 2
    assert db.list_runs(url, strategy="nope") == []


def test_sqlite_record_and_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qd.db'}"
    try:
        _record_and_list(url, tmp_path)
    finally:
        db.dispose_engines()


def test_default_url_is_sqlite_under_qd_home(qd_home: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from quantdesk.core.config import set_settings

    monkeypatch.delenv("QD_DATABASE__URL", raising=False)  # the default, whatever QD_TEST_DATABASE says
    set_settings(None)
    try:
        run_id = db.record_run(config={"strategy": "s", "symbol": "X", "timeframe": "1d"}, metrics={},
                               data_fingerprint=None, out_dir=None)
        assert (qd_home / "quantdesk.db").is_file()
        assert db.list_runs()[0]["id"] == run_id
    finally:
        db.dispose_engines()


@pytest.mark.postgres
def test_postgres_record_and_list(postgres_url: str, tmp_path: Path) -> None:
    try:
        _record_and_list(postgres_url, tmp_path)
        engine = sa.create_engine(postgres_url)
        with engine.connect() as conn:
            kinds = dict(conn.execute(sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'backtest_runs' AND table_schema = current_schema()")).all())
        engine.dispose()
        assert kinds["id"] == "uuid" and kinds["params"] == "json"
        assert kinds["created_at"] == "timestamp with time zone"
    finally:
        db.dispose_engines()


def test_result_of_a_real_backtest_is_recorded(tmp_path: Path, real_ohlcv, db_url) -> None:
    from quantdesk.backtest import fastpath
    from quantdesk.backtest.config import BacktestConfig

    url = db_url()
    res = fastpath.run_fast(BacktestConfig(strategy="sma_cross", symbol="GOOG", timeframe="1d"),
                            real_ohlcv["goog_1d"])
    try:
        run_id = db.record_result(res, out_dir=tmp_path / "out", engine="fast", url=url)
        row = db.get_run(run_id, url)
        assert row["data_fingerprint"] == res.data_info["fingerprint"]
        assert row["metrics"]["num_trades"] == res.metrics["num_trades"]
        with pytest.raises(Exception, match="no backtest run"):
            db.get_run("00000000-0000-0000-0000-000000000000", url)
    finally:
        db.dispose_engines()


def test_concurrent_upgrades_in_one_process_both_succeed(tmp_path: Path) -> None:
    """A backtest job thread and an API request opening the trading store both migrate a fresh database: Alembic's
    global context made them collide ("table backtest_runs already exists", KeyError 'config', a segfault)."""
    import threading

    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'race{attempt}.db'}"
        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def migrate(url: str = url, barrier: threading.Barrier = barrier,
                    errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                db.upgrade(url)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=migrate) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and db.current_revision(url) == db.head_revision()
