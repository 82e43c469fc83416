"""Monitoring on a real paper node (no HTTP): metrics hooks, the node's alert rules on the engine's real events,
per-bot health, and probes that never hang. SQLite in a temporary QD_HOME; the bundled BTC/USDT 1m sample."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.monitoring import health as mh
from quantdesk.monitoring.alerts import AlertManager
from quantdesk.monitoring.metrics import PlatformMetrics
from quantdesk.monitoring.node_alerts import NodeAlerts
from quantdesk.paper import BotSpec, PaperNode
from quantdesk.strategies.base import Strategy

PARAMS = {"fast": 5, "slow": 20}


class Crashy(Strategy):
    """Raises in on_bar at bar 30 (a known-bad strategy: the node must contain it and say so)."""

    name = "crashy"

    def on_bar(self, bar) -> None:
        if bar.index == 30:
            raise ZeroDivisionError("boom at bar 30")


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    from quantdesk.data import load

    return load("BTC/USDT", "1m").iloc[:400]


def spec(name: str, **kw) -> BotSpec:
    base = dict(name=name, strategy="sma_cross", params=PARAMS, symbols=["BTC/USDT"], timeframe="1m", risk=False,
                speed="max")
    base.update(kw)
    return BotSpec(**base)


def sample(m: PlatformMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_registries_of_two_services_do_not_clash(qd_home: Path) -> None:
    from quantdesk.api import create_app

    a, b = create_app(), create_app()  # would raise "Duplicated timeseries" on a shared registry
    a.state.metrics.platform.rate_limited.inc()
    assert sample(a.state.metrics.platform, "qd_api_rate_limited_total") == 1
    assert sample(b.state.metrics.platform, "qd_api_rate_limited_total") == 0
    a.state.service.shutdown()
    b.state.service.shutdown()


def test_metrics_follow_a_bot_through_stop_and_recovery(bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    url = db_url("m")
    node = PaperNode(url)
    m = PlatformMetrics(process=False)
    bot = node.add_bot(spec("b1"), frames={"BTC/USDT": bars.iloc[:200]})
    orig_step = type(bot).step
    subscribers_before = bot.engine.bus.subscriber_count("bot")  # the node's own (the Redis bus when it is on)
    m.attach_bot(bot)
    node.run()
    assert sample(m, "qd_paper_bars_processed_total", bot="b1") == 200
    limit = bot.manual_trade("buy", quantity="0.01", order_type="limit", price="1000", reason="far below")
    st = node.store.load_state(bot.id)
    by_status = Counter(o["status"] for o in st.orders.values())
    assert by_status["accepted"] == 1  # the working limit order
    assert sample(m, "qd_paper_orders_total", bot="b1", status="submitted") == len(st.orders)
    assert sample(m, "qd_paper_orders_total", bot="b1", status="filled") == by_status["filled"] > 0
    assert sample(m, "qd_paper_fills_total", bot="b1", side="buy") + sample(
        m, "qd_paper_fills_total", bot="b1", side="sell") == len(st.fills)
    assert sample(m, "qd_paper_signals_total", bot="b1", source="manual") == 1
    # detach: hooks undone, gauges gone, counters kept
    node.stop_bot("b1")
    m.detach_bot("b1")
    assert bot.step.__func__ is orig_step and bot.engine.bus.subscriber_count("bot") == subscribers_before
    assert sample(m, "qd_paper_equity", bot="b1", currency="USDT") is None
    assert sample(m, "qd_paper_bars_processed_total", bot="b1") == 200
    # recovered bot (replayed to its cursor): its working order is known, so cancelling it counts once
    node2 = PaperNode(url)
    bot2 = node2.start_bot("b1", frames={"BTC/USDT": bars.iloc[:200]})
    m.attach_bot(bot2)
    bot2.cancel_order(limit["client_order_id"], reason="test")
    assert sample(m, "qd_paper_orders_total", bot="b1", status="canceled") == 1
    assert sample(m, "qd_paper_orders_total", bot="b1", status="submitted") == len(st.orders)  # not again
    assert sample(m, "qd_paper_equity", bot="b1", currency="USDT") == pytest.approx(bot2.engine.equity_f)
    node2.shutdown()


def test_risk_halts_name_their_bot_and_are_not_merged(bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    node = PaperNode(db_url("h"))
    raised = []
    alerts = NodeAlerts({"rules": [{"kind": "risk_halt"}, {"kind": "risk_halt", "name": "only-b2", "bots": ["b2"]}]},
                        on_alert=raised.append)
    for name in ("b1", "b2"):
        alerts.attach_bot(node.add_bot(spec(name, risk=True), frames={"BTC/USDT": bars.iloc[:50]}))
    node.run()
    node.bot("b1").risk_action("halt", reason="drill 1")
    node.bot("b2").risk_action("halt", reason="drill 2")
    assert [(a.kind, a.bot) for a in raised] == [("risk_halt", "b1"), ("risk_halt", "b2"), ("risk_halt", "b2")]
    assert "drill 1" in raised[0].text and raised[0].severity == "critical"
    node.bot("b1").risk_action("resume")
    node.bot("b1").risk_action("halt", reason="again")  # same bot, same state and rule: de-duplicated
    assert len(raised) == 3 and alerts.alerts[-1].bot == "b1"
    node.bot("b1").risk_action("kill", reason="pull the plug")
    assert [a.title for a in raised[3:]] == ["Bot b1: trading KILLED (kill_switch)", "Bot b1: kill switch activated"]
    assert "pull the plug" in raised[4].text
    alerts.detach_bot("b2")
    node.bot("b2").risk_action("kill")
    assert len(raised) == 5  # detached: nothing more from b2
    node.shutdown()


def test_a_crashing_strategy_raises_bot_crashed_and_degrades_health(bars: pd.DataFrame, qd_home: Path,
                                                                    db_url) -> None:
    node = PaperNode(db_url("c"))
    raised = []
    alerts = NodeAlerts({"rules": [{"kind": "bot_crashed"}]}, on_alert=raised.append)
    m = PlatformMetrics(process=False)
    bot = node.add_bot(spec("c1", strategy=f"{Path(__file__)}:Crashy", params={}), frames={"BTC/USDT": bars})
    m.attach_bot(bot)
    alerts.attach_bot(bot)
    node.run()
    assert [(a.kind, a.bot) for a in raised] == [("bot_crashed", "c1")]
    assert "ZeroDivisionError: boom at bar 30" in raised[0].text
    assert sample(m, "qd_paper_strategy_errors_total", bot="c1") == 1
    reasons: list[str] = []
    comps = mh.bot_components([bot], m.tracks(), reasons)
    assert comps["bots"]["bots"]["c1"]["status"] == "crashed"
    # the reason names the callback, the error and the line of the strategy's file that raised
    assert reasons == [f"bot c1 crashed (on_bar: ZeroDivisionError: boom at bar 30 ({Path(__file__)}, line 31))"]
    node.shutdown()


def test_feed_stalled_only_while_the_bot_runs(bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    now = [10**18]
    node = PaperNode(db_url("s"))
    raised = []
    alerts = NodeAlerts({"rules": [{"kind": "feed_stalled", "stall_bars": 3}]}, clock=lambda: now[0],
                        on_alert=raised.append)
    bot = node.add_bot(spec("s1"), frames={"BTC/USDT": bars.iloc[:100]})
    alerts.attach_bot(bot)
    node.run(max_steps=10)
    now[0] += 150 * 10**9
    assert alerts.check_stalls() == []  # 2.5 bars of silence
    now[0] += 60 * 10**9
    (a,) = alerts.check_stalls()
    assert a.kind == "feed_stalled" and a.symbol == "BTC/USDT"
    node.pause("s1")
    node.run(max_steps=1)
    now[0] += 600 * 10**9
    assert alerts.check_stalls() == []  # paused: not a stalled feed
    node.resume("s1")
    node.run()  # to the end of the replay
    assert bot.done
    now[0] += 600 * 10**9
    assert alerts.check_stalls() == []  # finished: not a stalled feed either
    assert [x.kind for x in raised] == ["feed_stalled"]
    node.shutdown()


def test_drawdown_is_fed_equity_not_cash(bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    """Buy-all-cash drops CASH to ~0 at every entry; equity moves a few percent. Only equity may feed drawdown."""
    node = PaperNode(db_url("d"))
    raised = []
    alerts = NodeAlerts({"rules": [{"kind": "drawdown", "threshold": 50}]}, on_alert=raised.append)
    bot = node.add_bot(spec("d1"), frames={"BTC/USDT": bars})
    alerts.attach_bot(bot)
    naive = AlertManager({"rules": [{"kind": "drawdown", "threshold": 50}]})
    naive.attach(bot.engine.bus)  # the plain manager: drawdown from the "account" topic (cash balance)
    node.run()
    assert len(bot.engine.portfolio.fills) > 10
    assert raised == []
    assert naive.alerts and naive.alerts[0].kind == "drawdown"  # the false alarm the node avoids
    node.shutdown()


def test_probe_bounded_and_single_flight() -> None:
    gate = threading.Event()
    calls = []

    def hang() -> None:
        calls.append(1)
        gate.wait(10)

    p = mh.Probe("hang", hang, timeout_s=0.2, ttl_s=0.0)
    t0 = time.monotonic()
    r1, r2 = p.result(), p.result()
    assert time.monotonic() - t0 < 1.0
    assert (r1.status, r2.status) == ("down", "down") and "no answer within 0.2s" in r1.detail
    assert len(calls) == 1  # the hung check is not started twice
    gate.set()
    time.sleep(0.05)
    assert p.result().status == "ok" and len(calls) == 1
    assert p.result().status == "ok" and len(calls) == 2

    def fail() -> None:
        raise ConnectionRefusedError("secret-host:6379")

    res = mh.Probe("fail", fail).result()
    assert res.status == "down" and res.detail == "ConnectionRefusedError" and res.up == 0.0
    assert mh.Probe("off", None).result().status == "disabled"


def test_report_overall_status() -> None:
    ok = {"status": "ok"}
    assert mh.build_report({"database": ok}, [], 1.0)["status"] == "ok"
    assert mh.build_report({"database": ok}, ["bot x halted (daily_loss)"], 1.0)["degraded"] == [
        "bot x halted (daily_loss)"]
    assert mh.build_report({"database": {"status": "down"}}, ["database down (OperationalError)"], 1.0)[
        "status"] == "down"
