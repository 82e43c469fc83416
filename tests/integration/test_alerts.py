"""Alerts end to end: real channels against a recording HTTP server and an aiosmtpd SMTP server on 127.0.0.1,
rules on events published on a real MessageBus, storage in SQLite and the real PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from quantdesk.core.bus import MessageBus
from quantdesk.core.errors import ConfigError
from quantdesk.model.data import Bar
from quantdesk.model.enums import OrderSide, OrderType
from quantdesk.model.events import AccountStateChanged, OrderFilled, StrategyErrored
from quantdesk.model.identifiers import InstrumentId
from quantdesk.model.timeframe import Timeframe
from quantdesk.monitoring.alert_config import load_alerts_settings
from quantdesk.monitoring.alerts import Alert, AlertManager
from quantdesk.risk.events import TradingStateChanged
from quantdesk.storage.alert_repo import AlertRepository

TOKEN = "123456:SECRET-telegram-token"
HMAC_SECRET = "s3cr3t-hmac"
BTC = InstrumentId("BTC/USDT", "binance")


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail: dict[str, list[int]] = {}  # path -> status codes to answer first
        self.lock = threading.Lock()

    def for_path(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


@pytest.fixture()
def http_server():
    rec = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with rec.lock:
                rec.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                     "raw": body, "json": json.loads(body) if body else None})
                codes = rec.fail.get(self.path)
                status = codes.pop(0) if codes else 200
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": %s}' % (b"true" if status == 200 else b"false"))

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    rec.base = f"http://127.0.0.1:{srv.server_address[1]}"  # type: ignore[attr-defined]
    yield rec
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Handler(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    ctl.received = received  # type: ignore[attr-defined]
    yield ctl
    ctl.stop()


def http_channels(base: str) -> list[dict[str, Any]]:
    return [
        {"type": "telegram", "name": "tg", "token": TOKEN, "chat_id": "42", "base_url": base},
        {"type": "discord", "name": "discord", "webhook_url": f"{base}/discord/hook"},
        {"type": "slack", "name": "slack", "webhook_url": f"{base}/slack/hook"},
        {"type": "webhook", "name": "hook", "url": f"{base}/webhook", "secret": HMAC_SECRET},
    ]


def fill(coid: str = "O-1", trade: str = "T-1", order_type: OrderType = OrderType.MARKET) -> OrderFilled:
    return OrderFilled(ts_event=1_700_000_000_000_000_000, ts_init=1_700_000_000_000_000_000, client_order_id=coid,
                       instrument=BTC, strategy_id="bot-1", trade_id=trade, side=OrderSide.BUY,
                       order_type=order_type, price=Decimal("50000"), quantity=Decimal("0.1"))


def manager(cfg: dict[str, Any], **kw: Any) -> AlertManager:
    base = {"retries": 3, "backoff_s": 0.01, "backoff_max_s": 0.05}
    base.update(cfg)
    mgr = AlertManager(base, **kw)
    mgr.start(stall_checker=False)
    return mgr


def test_http_channels_receive_exact_payloads(http_server: Recorder) -> None:
    mgr = manager({"channels": http_channels(http_server.base), "rules": [{"kind": "fill"}]})
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(fill())
        assert mgr.flush(10)
    finally:
        mgr.stop()
    (alert,) = mgr.alerts
    text = alert.message()
    assert "BTC/USDT" in text and "50000" in text and alert.kind == "fill" and alert.bot == "bot-1"

    (tg,) = http_server.for_path(f"/bot{TOKEN}/sendMessage")
    assert tg["method"] == "POST" and tg["json"] == {"chat_id": "42", "text": text, "disable_web_page_preview": True}
    (dc,) = http_server.for_path("/discord/hook")
    assert dc["json"] == {"content": text}
    (sl,) = http_server.for_path("/slack/hook")
    assert sl["json"] == {"text": text}
    (wh,) = http_server.for_path("/webhook")
    assert wh["json"] == alert.to_dict()
    expected = "sha256=" + hmac.new(HMAC_SECRET.encode(), wh["raw"], hashlib.sha256).hexdigest()
    assert wh["headers"]["X-QuantDesk-Signature"] == expected
    assert len(http_server.requests) == 4
    for ch in ("tg", "discord", "slack", "hook"):
        assert mgr.status(alert.id, ch) == {"status": "sent", "attempts": 1, "error": None}


def test_email_channel_via_local_smtp(smtp_server: Any) -> None:
    cfg = {"channels": [{"type": "email", "name": "mail", "host": "127.0.0.1", "port": smtp_server.port,
                         "starttls": False, "sender": "qd@example.org",
                         "recipients": ["ops@example.org", "me@example.org"]}],
           "rules": [{"kind": "bot_crashed"}]}
    mgr = manager(cfg)
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(StrategyErrored(ts_event=1, ts_init=1, strategy_id="bot-7", callback="on_bar",
                                    error="ZeroDivisionError: division by zero"))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    (alert,) = mgr.alerts
    assert alert.kind == "bot_crashed" and alert.severity == "critical"
    (msg,) = smtp_server.received
    assert msg["Subject"] == "[QuantDesk] Bot bot-7 errored in on_bar"
    assert msg["X-RcptTo"].split(", ") == ["ops@example.org", "me@example.org"]
    assert msg["From"] == "qd@example.org"
    assert "ZeroDivisionError: division by zero" in msg.get_payload()
    assert mgr.status(alert.id, "mail")["status"] == "sent"


def test_dedup_same_key_within_window(http_server: Recorder, db_url: Any) -> None:
    now = [1_000 * 10**9]
    repo = AlertRepository(db_url("a"))
    cfg = {"channels": http_channels(http_server.base)[1:2], "rules": [{"kind": "fill"}], "dedup_window_s": 60}
    mgr = manager(cfg, clock=lambda: now[0], repo=repo)
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(fill())
        bus.publish(fill())  # same order + trade id: same key
        now[0] += 61 * 10**9
        bus.publish(fill())  # window over: delivered again
        bus.publish(fill("O-2", "T-2"))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    assert len(http_server.for_path("/discord/hook")) == 3
    stored = repo.list_alerts()
    assert [a["status"] for a in stored].count("deduplicated") == 1
    assert [a["status"] for a in stored].count("dispatched") == 3


def test_rate_limit_drops_and_records(http_server: Recorder, db_url: Any) -> None:
    repo = AlertRepository(db_url("a"))
    ch = http_channels(http_server.base)[2]
    ch.update(burst=2, rate_per_min=1)
    mgr = manager({"channels": [ch], "rules": [{"kind": "fill"}]}, repo=repo)
    bus = MessageBus()
    mgr.attach(bus)
    try:
        for i in range(5):
            bus.publish(fill(f"O-{i}", f"T-{i}"))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    assert len(http_server.for_path("/slack/hook")) == 2
    statuses = [d["status"] for d in repo.deliveries()]
    assert statuses == ["sent", "sent", "rate_limited", "rate_limited", "rate_limited"]


def test_retries_then_success_and_permanent_failure(http_server: Recorder, db_url: Any) -> None:
    repo = AlertRepository(db_url("a"))
    http_server.fail["/discord/hook"] = [500, 429]  # then 200
    http_server.fail["/slack/hook"] = [503] * 10  # always failing
    http_server.fail[f"/bot{TOKEN}/sendMessage"] = [400]  # not retryable
    mgr = manager({"channels": http_channels(http_server.base)[:3], "rules": [{"kind": "risk_halt"}], "retries": 2},
                  repo=repo)
    bus = MessageBus()
    mgr.attach(bus)
    t0 = time.monotonic()
    try:
        bus.publish(TradingStateChanged(ts_event=5, ts_init=5, old="ACTIVE", new="HALTED", rule="max_daily_loss",
                                        reason="daily loss 5.2% > 5%", limit=5.0, value=5.2))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    assert time.monotonic() - t0 < 5
    (alert,) = mgr.alerts
    assert alert.kind == "risk_halt" and "HALTED" in alert.title
    assert len(http_server.for_path("/discord/hook")) == 3
    assert len(http_server.for_path("/slack/hook")) == 3  # 1 + 2 retries
    assert len(http_server.for_path(f"/bot{TOKEN}/sendMessage")) == 1
    by_ch = {d["channel"]: d for d in repo.deliveries(alert.id)}
    assert by_ch["discord"]["status"] == "sent" and by_ch["discord"]["attempts"] == 3
    assert by_ch["slack"]["status"] == "failed" and by_ch["slack"]["attempts"] == 3
    assert by_ch["slack"]["error"] == "slack channel 'slack': HTTP 503"
    assert by_ch["tg"]["status"] == "failed" and by_ch["tg"]["attempts"] == 1
    assert TOKEN not in by_ch["tg"]["error"]


def test_unreachable_channel_error_hides_secret(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    cfg = {"channels": [{"type": "telegram", "name": "tg", "token": TOKEN, "chat_id": "1",
                         "base_url": f"http://127.0.0.1:{port}", "timeout_s": 2}],
           "rules": [{"kind": "fill"}], "retries": 1}
    mgr = manager(cfg)
    bus = MessageBus()
    mgr.attach(bus)
    with caplog.at_level("DEBUG"):
        try:
            bus.publish(fill())
            assert mgr.flush(10)
        finally:
            mgr.stop()
    st = mgr.status(mgr.alerts[0].id, "tg")
    assert st["status"] == "failed" and st["attempts"] == 2 and "ConnectError" in st["error"]
    assert TOKEN not in caplog.text and TOKEN not in st["error"]
    assert TOKEN not in repr(mgr.settings)


def test_rules_on_bus_events(http_server: Recorder) -> None:
    now = [10**18]
    rules = [{"kind": "fill", "symbols": ["BTC/USDT"]}, {"kind": "stop_loss_hit"}, {"kind": "risk_halt"},
             {"kind": "drawdown", "threshold": 10}, {"kind": "feed_stalled", "stall_bars": 3},
             {"kind": "bot_crashed"}]
    hook = dict(http_channels(http_server.base)[3], burst=50)
    mgr = manager({"channels": [hook], "rules": rules}, clock=lambda: now[0])
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(fill())
        bus.publish(fill("O-S", "T-S", OrderType.STOP))  # fill + stop_loss_hit
        bus.publish(TradingStateChanged(ts_event=1, ts_init=1, old="ACTIVE", new="ACTIVE", rule="x", reason="noop"))
        bus.publish(TradingStateChanged(ts_event=2, ts_init=2, old="ACTIVE", new="HALTED", rule="max_dd", reason="dd"))
        for bal in ("1000", "1100", "1000", "990", "980", "1100", "980"):  # peak 1100: 990 = 10% -> fires once
            bus.publish(AccountStateChanged(ts_event=3, ts_init=3, currency="USDT", balance=Decimal(bal)))
        bar = Bar(instrument=BTC, ts_ns=now[0], open=1, high=1, low=1, close=1, volume=1,
                  timeframe=Timeframe.parse("1m"))
        bus.publish(bar)
        now[0] += 150 * 10**9
        assert mgr.check_stalls() == []  # 2.5 bars
        now[0] += 60 * 10**9
        (stalled,) = mgr.check_stalls()
        assert mgr.check_stalls() == []  # once per stall
        bus.publish(StrategyErrored(ts_event=4, ts_init=4, strategy_id="bot-1", callback="on_bar", error="boom"))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    kinds = [a.kind for a in mgr.alerts]
    assert kinds == ["fill", "fill", "stop_loss_hit", "risk_halt", "drawdown", "drawdown", "feed_stalled",
                     "bot_crashed"]
    assert stalled.symbol == "BTC/USDT" and stalled.kind == "feed_stalled"
    got = [r["json"]["kind"] for r in http_server.for_path("/webhook")]
    # the second drawdown crossing from the same peak within the dedup window is de-duplicated (flapping)
    expected = list(kinds)
    expected.remove("drawdown")
    assert sorted(got) == sorted(expected)


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"alerts\.channels\.0\.telegram\.token"):
        load_alerts_settings({"channels": [{"type": "telegram", "name": "tg", "chat_id": "1"}]})
    with pytest.raises(ConfigError, match="unknown channel 'nope'"):
        load_alerts_settings({"rules": [{"kind": "fill", "channels": ["nope"]}]})
    with pytest.raises(ConfigError, match=r"alerts\.rules\.0"):
        load_alerts_settings({"rules": [{"kind": "drawdown"}]})
    with pytest.raises(ConfigError, match=r"alerts\.dedup_window_s"):
        load_alerts_settings({"dedup_window_s": -1})


def _store_roundtrip(url: str) -> None:
    repo = AlertRepository(url)
    a = Alert(id="a1", ts=123, kind="fill", severity="info", title="t", text="x", bot="b", symbol="BTC/USDT",
              dedup_key="k")
    repo.add_alert(a, "dispatched", ["tg", "mail"])
    repo.set_delivery("a1", "tg", "sent", 1)
    repo.set_delivery("a1", "mail", "failed", 4, "email channel 'mail': SMTPServerDisconnected")
    (row,) = repo.list_alerts()
    assert row["kind"] == "fill" and row["ts"] == 123 and row["status"] == "dispatched"
    assert {d["channel"]: (d["status"], d["attempts"]) for d in repo.deliveries("a1")} == {
        "tg": ("sent", 1), "mail": ("failed", 4)}


def test_store_sqlite(tmp_path: Any) -> None:
    _store_roundtrip(f"sqlite:///{tmp_path / 'alerts.db'}")


@pytest.mark.postgres
def test_store_postgres(postgres_url: str, http_server: Recorder) -> None:
    _store_roundtrip(postgres_url)
    repo = AlertRepository(postgres_url)
    mgr = manager({"channels": http_channels(http_server.base)[3:], "rules": [{"kind": "fill"}]}, repo=repo)
    bus = MessageBus()
    mgr.attach(bus)
    try:
        bus.publish(fill("P-1", "PT-1"))
        assert mgr.flush(10)
    finally:
        mgr.stop()
    alert = mgr.alerts[0]
    assert repo.deliveries(alert.id) == [
        {"alert_id": alert.id, "channel": "hook", "status": "sent", "attempts": 1, "error": None}]
