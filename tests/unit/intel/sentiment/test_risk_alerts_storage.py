"""The news-event entry block (a RiskRule in a real backtest), the sentiment_event alert rule delivering to a
real webhook on 127.0.0.1, the risk/alert settings, and the migration matching the models."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sent_helpers import FakeServer

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.bus import MessageBus
from quantdesk.core.errors import ConfigError
from quantdesk.intel.sentiment.events import SentimentEventDetected
from quantdesk.intel.sentiment.risk import SentimentEventBlock, attach_sentiment_rule
from quantdesk.intel.sentiment.series import MemoryProvider, use_provider
from quantdesk.intel.sentiment.store import RawItem, SentimentStore
from quantdesk.risk.config import parse_risk_config
from quantdesk.risk.engine import RiskEngine
from quantdesk.strategies.base import Strategy

IDX = pd.date_range("2022-01-01", periods=24, freq="1h", tz="UTC", name="timestamp")
DF = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1.0}, index=IDX)
OFF = {"max_position_pct": None, "max_gross_exposure_pct": None, "daily_loss_pct": None, "max_drawdown_pct": None}


class Churn(Strategy):
    """Buys when flat, closes when long: an entry attempt on every other bar (every bar while blocked)."""

    name = "churn"

    def on_bar(self, bar: Any) -> None:
        if self.is_flat:
            self.buy(0.1)
        else:
            self.close()


def run(rows: list[tuple[int, str, float, str, str]], block: dict[str, Any] | None) -> Any:
    risk = RiskEngine.from_settings({**OFF, **({"sentiment_block": block} if block else {})})
    with use_provider(MemoryProvider(rows)):
        rule = attach_sentiment_rule(risk)
        res = run_backtest(BacktestConfig(strategy="churn", timeframe="1h"), DF, strategy=Churn(), risk=risk)
    return rule, res


def test_entries_are_blocked_for_the_window_after_a_hack_and_only_then() -> None:
    hack = (IDX[10].value + 1, "BTC", -0.9, "negative", "hack")
    rule, res = run([hack], {"events": ["hack"], "hours": 5})
    assert isinstance(rule, SentimentEventBlock)
    denied = res.orders[res.orders["status"] == "denied"]
    # bar 10 (10:00) is before the text (10:00 + 1 ns): allowed; bar 11 closes (reducing: always allowed);
    # buys at 12..15 fall within 5 h; at 16:00 the text is 6 h old
    assert [int(c.split("-")[1]) for c in denied["client_order_id"]] == [12, 13, 14, 15]
    ev = [e for e in res.events if e["rule"] == "sentiment_event"]
    assert len(ev) == 4 and ev[0]["details"]["event"] == "hack" and ev[0]["details"]["base"] == "BTC"
    assert "hack reported on BTC" in ev[0]["details"]["reason"]


@pytest.mark.parametrize(("row", "block"), [
    ((IDX[10].value, "ETH", -0.9, "negative", "hack"), {"events": ["hack"], "hours": 5}),  # another asset
    ((IDX[10].value, "BTC", -0.9, "negative", "listing"), {"events": ["hack"], "hours": 5}),  # not a listed event
    ((IDX[10].value, "BTC", -0.9, "negative", "hack"), None),  # no sentiment_block configured
])
def test_nothing_is_blocked_otherwise(row: tuple[int, str, float, str, str], block: dict[str, Any] | None) -> None:
    rule, res = run([row], block)
    assert (rule is None) == (block is None)
    assert not (res.orders["status"] == "denied").any()


def test_risk_settings_validate_the_block() -> None:
    s = parse_risk_config({"sentiment_block": {"hours": 12}})
    assert s.sentiment_block is not None and s.sentiment_block.hours == 12 and "hack" in s.sentiment_block.events
    with pytest.raises(ConfigError, match="risk.sentiment_block.hours"):
        parse_risk_config({"sentiment_block": {"hours": -1}})
    with pytest.raises(ConfigError, match="risk.sentiment_block.bogus"):
        parse_risk_config({"sentiment_block": {"bogus": 1}})
    assert parse_risk_config({}).sentiment_block is None


def webhook_manager(fake: FakeServer, rules: list[dict[str, Any]]) -> Any:
    from quantdesk.monitoring.alerts import AlertManager

    mgr = AlertManager({"channels": [{"type": "webhook", "name": "hook", "url": fake.base + "/hook"}],
                        "rules": rules, "retries": 0})
    mgr.start(stall_checker=False)
    return mgr


def event(kind: str, symbols: tuple[str, ...], item: str = "1") -> SentimentEventDetected:
    return SentimentEventDetected(1_641_000_000 * 10**9, 1_641_000_000 * 10**9, kind, symbols, -0.8,
                                  "Hackers drain Solana bridge", "feed", item, "https://x.test/1")


def test_sentiment_event_alerts_by_rule(fake_server: FakeServer) -> None:
    fake_server.route("/hook", {"ok": True})
    mgr = webhook_manager(fake_server, [{"kind": "sentiment_event", "events": ["hack", "exploit"],
                                         "symbols": ["SOL/USDT"]}])
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(event("hack", ("SOL/USDT",), "1"))
        bus.publish(event("hack", ("BTC/USDT",), "2"))  # another symbol: no alert
        bus.publish(event("listing", ("SOL/USDT",), "3"))  # another kind: no alert
        bus.publish(event("hack", ("SOL/USDT",), "1"))  # the same item again: de-duplicated
        assert mgr.flush(10)
    finally:
        mgr.detach()
        mgr.stop()
    hits = fake_server.hits("/hook")
    assert len(hits) == 1
    body = hits[0]["json"]
    assert body["kind"] == "sentiment_event" and body["symbol"] == "SOL/USDT" and body["severity"] == "warning"
    assert "hack on SOL/USDT" in body["title"] and "Hackers drain Solana bridge" in body["text"]
    assert [a.kind for a in mgr.alerts] == ["sentiment_event", "sentiment_event"]  # second one deduplicated


def test_poller_events_reach_the_alerts(fake_server: FakeServer, db_url: Any) -> None:
    from quantdesk.intel.sentiment.poller import import_items

    fake_server.route("/hook", {"ok": True})
    mgr = webhook_manager(fake_server, [{"kind": "sentiment_event"}])
    bus = MessageBus()
    mgr.attach(bus)
    try:
        import_items(SentimentStore(db_url()), [RawItem("t", "Curve Finance pools exploited", 1_641_000_000 * 10**9),
                                                 RawItem("t", "Bitcoin trades flat", 1_641_000_000 * 10**9)], bus=bus)
        assert mgr.flush(10)
    finally:
        mgr.detach()
        mgr.stop()
    (hit,) = fake_server.hits("/hook")
    assert hit["json"]["title"] == "News event: exploit on CRV/USDT"


def test_migration_matches_the_models(db_url: Any) -> None:
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from quantdesk.intel.sentiment import models
    from quantdesk.storage import db

    url = db_url("mig")
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()
    engine = db.make_engine(url)
    ours = {"sentiment_items", "sentiment_mentions", "sentiment_index"}
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                     models.SentimentItem.metadata)
            assert ours <= set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()

    def table_of(d: Any) -> str | None:
        obj = d[1] if isinstance(d, tuple) else d[0][1]
        t = getattr(obj, "table", obj)
        return getattr(t, "name", None)

    assert [d for d in diffs if table_of(d) in ours] == []
    db.upgrade(url, "0004_signal_orders")  # downgrade path exists too
    from alembic import command

    eng = db.make_engine(url)
    with eng.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0004_signal_orders")
    with eng.connect() as conn:
        assert not ours & set(sa.inspect(conn).get_table_names())
    eng.dispose()
