"""The `anomaly` alert rule: AnomalyDetected events on a bus raise alerts filtered by kind, symbol and score."""

from __future__ import annotations

import pytest

from quantdesk.core.bus import MessageBus
from quantdesk.core.errors import ConfigError
from quantdesk.intel.anomalies.events import AnomalyDetected
from quantdesk.monitoring.alerts import AlertManager


def _ev(ts: int, kind: str, score: float, symbol: str = "BTC/USDT", **kw) -> AnomalyDetected:
    return AnomalyDetected(ts, ts, symbol, kind, score, "zscore", "1m", kind, **kw)


def test_rule_filters_kind_symbol_and_score() -> None:
    mgr = AlertManager({"rules": [
        {"kind": "anomaly", "name": "gaps", "anomaly_kinds": ["gap", "whale"], "symbols": ["BTC/USDT"],
         "threshold": 2.0},
    ], "dedup_window_s": 0}, channels={})
    bus = MessageBus()
    mgr.attach(bus)
    events = [_ev(1, "gap", 3.0), _ev(2, "gap", 1.0), _ev(3, "return_spike", 9.0), _ev(4, "gap", 5.0, "ETH/USDT"),
              _ev(5, "whale", 8.0, side="sell", notional=2_500_000.0, source="bot7")]
    for e in events:
        bus.publish(e)
    fired = [(a.ts, a.kind, a.severity, a.symbol, a.bot) for a in mgr.alerts]
    assert fired == [(1, "anomaly", "warning", "BTC/USDT", None), (5, "anomaly", "warning", "BTC/USDT", "bot7")]
    assert "sell 2,500,000.00 notional" in mgr.alerts[1].text and "gap" in mgr.alerts[0].title
    mgr.detach()
    bus.publish(_ev(6, "gap", 3.0))
    assert len(mgr.alerts) == 2


def test_unknown_rule_kind_is_refused() -> None:
    from quantdesk.monitoring.alert_config import load_alerts_settings

    with pytest.raises(ConfigError, match="kind"):
        load_alerts_settings({"rules": [{"kind": "anomalies"}]})


def test_event_travels_in_the_message_envelope() -> None:
    """The WebSocket "events" channel and the Redis bus carry messages as versioned envelopes."""
    from quantdesk.core import serialization

    e = _ev(7, "whale", 9.0, side="buy", price=100.0, notional=1e6, source="b1", details={"amount": 1e4})
    env = serialization.to_envelope(e)
    assert env["type"] == "AnomalyDetected" and env["data"]["notional"] == 1e6
    assert serialization.from_envelope(env) == e
