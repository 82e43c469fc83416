"""Paper bots' journals, risk denials, signals and alerts in the knowledge base, from real paper runs (the paper
node on the bundled BTC/USDT candles, SQLite or PostgreSQL as the suite switches): "why did my bot lose money in
March?" finds the bot's month, whose numbers match its own equity snapshots; "why?" of a denial gives the rule,
value and limit the risk engine stored; "why?" of a manual signal gives its reason and its order."""

from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd
import pytest

from quantdesk.paper import BotSpec, PaperNode


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.data import load
    from quantdesk.intel.kb.service import KnowledgeBase
    from quantdesk.monitoring.alerts import Alert
    from quantdesk.storage.alert_repo import AlertRepository

    root = tmp_path_factory.mktemp("kbjournal")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QD_HOME", str(root / "qdhome"))
        mp.chdir(root)
        set_settings(None)
        settings = load_settings()
        set_settings(settings)
        url = settings.database_url
        bars = load("BTC/USDT", "1h", start="2018-02-20", end="2018-04-10")
        node = PaperNode(url)
        # no risk rules: the crossover trades through the March 2018 sell-off
        node.add_bot(BotSpec(name="jr", strategy="sma_cross", params={"fast": 10, "slow": 30}, timeframe="1h",
                             risk=False), frames={"BTC/USDT": bars})
        # the configured limits (max position 15% of equity): its all-cash buys are denied
        node.add_bot(BotSpec(name="den", strategy="sma_cross", params={"fast": 5, "slow": 20}, timeframe="1h",
                             risk=True), frames={"BTC/USDT": bars.iloc[:300]})
        node.run(max_steps=100)
        manual = node.manual_trade("jr", "buy", notional=500, reason="adding before the weekend")
        node.run()
        node.store.close()
        AlertRepository(url).add_alert(Alert(id="a-1", ts=int(pd.Timestamp("2018-03-08T10:00Z").value),
                                             kind="drawdown", severity="warning", title="Drawdown 12% on jr",
                                             text="equity 8,800 vs peak 10,000", bot="jr", symbol="BTC/USDT",
                                             dedup_key="dd-jr"), "dispatched", [])
        kb = KnowledgeBase(settings)
        kb.ingest()
        yield {"kb": kb, "url": url, "manual": manual}
    set_settings(None)


def _bot(url: str, name: str):
    from quantdesk.storage.trading import TradingStore

    store = TradingStore(url)
    try:
        bot = store.get_bot(name)
        return bot, store.load_state(bot["id"]), store.snapshots(bot["id"])
    finally:
        store.close()


def test_losing_month_of_a_paper_bot_is_found_and_matches_its_snapshots(world) -> None:
    bot, _, snaps = _bot(world["url"], "jr")
    eq = pd.Series([float(s["equity"]) for s in snaps],
                   index=pd.to_datetime([int(s["ts"]) for s in snaps], unit="ns", utc=True))
    feb_end, mar_end = eq[:"2018-02-28"].iloc[-1], eq[:"2018-03-31"].iloc[-1]
    march = (mar_end / feb_end - 1) * 100
    assert march < 0  # planted truth: the crossover lost money in March 2018
    answer = world["kb"].ask("Why did my bot jr lose money in March?")  # two bots traded in March: name it
    # every citation is jr's journal (the answer may give the month before as context, in reading order)
    assert answer["citations"] and all(c["source"] == bot["id"] and c["anchor"] == "journal-2018"
                                       for c in answer["citations"])
    quotes = [c["quote"] for c in answer["citations"]]
    m = next(filter(None, (re.search(r"In March 2018 paper bot jr lost money: equity fell ([\d.]+)%", q)
                           for q in quotes)), None)
    assert m and abs(float(m.group(1)) - abs(march)) < 0.006, quotes


def test_denial_is_explained_with_its_rule_and_numbers(world) -> None:
    from quantdesk.intel.kb.explain import explain

    bot, state, _ = _bot(world["url"], "den")
    denials = [e for e in state.risk_events if e.get("rule")]
    assert denials, "the configured limits should have denied the all-cash buys"
    last = denials[-1]
    doc = explain("denial", "den", url=world["url"])
    text = " ".join(s["text"] for s in doc["statements"])
    assert f"rule {last['rule']}" in text
    details = last.get("details") or {}
    if isinstance(details.get("limit"), (int, float)):
        assert f"{details['limit']:,.4f}" in text
    assert doc["citations"][0]["source"] == bot["id"]
    assert any(c["source"].endswith("knowledge/risk.md") for c in doc["citations"])
    found = world["kb"].search(f"risk events denied {last['rule']} paper bot den", k=5, kinds=["risk"])
    assert found and found[0]["source"] == bot["id"]


def test_manual_signal_is_explained_with_its_reason_and_order(world) -> None:
    from quantdesk.intel.kb.explain import explain

    bot, state, _ = _bot(world["url"], "jr")
    sig = next(s for s in state.signals if s["reason"] == "adding before the weekend")
    doc = explain("signal", "jr", sig["seq"], url=world["url"])
    text = " ".join(s["text"] for s in doc["statements"])
    assert "adding before the weekend" in text and "decided to buy" in text
    order = state.orders[sig["client_order_id"]]
    assert f"order {sig['client_order_id']}, now {order['status']}" in text
    if order.get("avg_price"):
        assert str(Decimal(order["avg_price"])) in text or order["avg_price"] in text


def test_alerts_and_open_positions_reach_the_index_and_the_brief(world) -> None:
    from quantdesk.intel.kb.brief import market_brief

    hits = world["kb"].search("drawdown alert on jr", k=3, kinds=["alert"])
    assert hits and hits[0]["source"] == "alerts" and hits[0]["anchor"] == "2018-03-08"
    doc = market_brief(["BTC/USDT"], "1h", url=world["url"])
    texts = [s["text"] for s in doc["statements"]]
    assert any(t.startswith("Alert at 2018-03-08T10:00:00Z: warning drawdown") for t in texts)
    assert any("paper bot" in t.lower() for t in texts)
