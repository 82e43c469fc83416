"""Manual limit/stop orders, cancellations and risk actions (halt, resume, kill switch) on a paper bot: the fill
rules of the simulated venue, errors that name the problem, and crash recovery that replays each of them at its
bar (a node abandoned without shutdown is recovered by a new one to exactly the state of an uninterrupted run)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.core.errors import ConflictError, NotFoundError, ParameterError
from quantdesk.paper import BotSpec, PaperNode
from quantdesk.storage.trading import TradingStore


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    from quantdesk.data import load

    return load("BTC/USDT", "1m").iloc[:400]


def _spec(name: str) -> BotSpec:
    # slow averages: the strategy itself trades rarely, the manual orders are what is tested
    return BotSpec(name=name, strategy="sma_cross", params={"fast": 50, "slow": 200}, symbols=["BTC/USDT"],
                   timeframe="1m", risk=False, speed="max")


def _view(url: str, name: str) -> dict:
    store = TradingStore(url)
    try:
        bot = store.get_bot(name)
        st = store.load_state(bot["id"])
    finally:
        store.close()
    return {"cash": bot["cash"], "cursor": bot["cursor_index"],
            "orders": {k: (r["status"], r["type"], r["side"], r["price"], r["trigger_price"], r["filled_qty"],
                           r["avg_price"]) for k, r in st.orders.items()},
            "fills": [(f["trade_id"], f["client_order_id"], f["price"], f["quantity"]) for f in st.fills],
            "signals": [(s["bar_index"], s["action"], s["order_type"], s["price"], s["target_order_id"])
                        for s in st.signals]}


def test_limit_order_fills_by_the_venue_rules(tmp_path: Path, bars: pd.DataFrame, qd_home: Path) -> None:
    node = PaperNode(f"sqlite:///{tmp_path / 'p.db'}")
    node.add_bot(_spec("lim"), frames={"BTC/USDT": bars})
    node.run(max_steps=30)  # bars 0..29 processed
    nxt = bars.iloc[30]
    limit = float(round(float(nxt["low"]) + 0.25 * (float(nxt["high"]) - float(nxt["low"]))))
    out = node.manual_trade("lim", "buy", quantity=0.01, order_type="limit", price=limit, reason="dip buy")
    assert out["status"] == "accepted" and out["order_type"] == "limit" and Decimal(out["price"]) == Decimal(str(limit))
    node.run(max_steps=1)
    fills = node.bot("lim").engine.portfolio.fills
    assert len(fills) == 1 and fills[0].client_order_id == out["client_order_id"]
    # a buy limit fills at the open when the bar opens at or below it, else at the limit price
    expected = float(nxt["open"]) if float(nxt["open"]) <= limit else limit
    assert float(fills[0].price) == pytest.approx(expected)
    assert fills[0].quantity == Decimal("0.01")


def test_cancel_and_risk_actions_are_replayed_after_a_crash(tmp_path: Path, bars: pd.DataFrame,
                                                            qd_home: Path) -> None:
    def script(node: PaperNode, stop_after: int | None) -> None:
        """The same user actions at the same bars; `stop_after` abandons the node (a crash) after that step."""
        steps = [30, 5, 10, 10, 10]
        node.run(max_steps=steps[0])
        px = float(bars["close"].iloc[29])
        far = node.manual_trade("c", "buy", quantity=0.02, order_type="limit", price=float(round(px * 0.5)))
        stop = node.manual_trade("c", "buy", quantity=0.02, order_type="stop", price=float(round(px * 1.5)))
        node.manual_trade("c", "buy", notional=2000, reason="entry")
        assert far["status"] == stop["status"] == "accepted"
        if stop_after == 0:
            return
        node.run(max_steps=steps[1])
        canceled = node.cancel_order("c", far["client_order_id"], reason="changed my mind")
        assert canceled["status"] == "canceled" and canceled["target_order_id"] == far["client_order_id"]
        if stop_after == 1:
            return
        node.run(max_steps=steps[2])
        assert node.bot("c").risk_action("halt", reason="test halt")["state"] == "HALTED"
        if stop_after == 2:
            return
        node.run(max_steps=steps[3])
        assert node.bot("c").risk_action("kill", reason="test kill")["state"] == "KILLED"
        if stop_after == 3:
            return
        node.run(max_steps=steps[4])
        node.bot("c").risk_action("resume")
        node.run(max_steps=20)

    ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    ref = PaperNode(ref_url)
    ref.add_bot(_spec("c"), frames={"BTC/USDT": bars})
    script(ref, None)
    ref_bot = ref.bot("c")
    assert ref_bot.engine.risk.state.value == "ACTIVE"
    assert all(Decimal(p["quantity"]) == 0 for p in ref_bot.position_rows())  # the kill switch flattened
    ref.shutdown()
    want = _view(ref_url, "c")
    actions = [a[1] for a in want["signals"]]
    assert actions == ["trade", "trade", "trade", "cancel", "halt", "kill", "resume"]
    kill_orders = [cid for cid, o in want["orders"].items() if o[0] == "filled" and o[2] == "sell"]
    assert kill_orders, "the kill switch placed a closing order"

    for crash_at in range(4):
        url = f"sqlite:///{tmp_path / f'crash{crash_at}.db'}"
        node = PaperNode(url)
        node.add_bot(_spec("c"), frames={"BTC/USDT": bars})
        script(node, crash_at)
        node.store.close()  # abandoned: no shutdown
        node = PaperNode(url)
        bot = node.add_bot(_spec("c"), frames={"BTC/USDT": bars})  # replays bars and actions; verified
        expected_state = {0: "ACTIVE", 1: "ACTIVE", 2: "HALTED", 3: "KILLED"}[crash_at]
        assert bot.engine.risk.state.value == expected_state
        if crash_at == 1:  # the canceled order stays canceled after the restart
            cid = next(k for k, v in _view(url, "c")["orders"].items() if v[1] == "limit")
            assert bot.engine.venue.orders[cid].status.value == "canceled"
        assert bot.submissions == 0  # nothing was submitted a second time
        node.shutdown()


def test_order_errors_name_the_problem(tmp_path: Path, bars: pd.DataFrame, qd_home: Path) -> None:
    node = PaperNode(f"sqlite:///{tmp_path / 'p.db'}")
    node.add_bot(_spec("e"), frames={"BTC/USDT": bars})
    node.run(max_steps=10)
    with pytest.raises(ParameterError, match="needs a price"):
        node.manual_trade("e", "buy", quantity=0.01, order_type="limit")
    with pytest.raises(ParameterError, match="takes none"):
        node.manual_trade("e", "buy", quantity=0.01, price=100.0)
    with pytest.raises(ParameterError, match="order type 'iceberg'"):
        node.manual_trade("e", "buy", quantity=0.01, order_type="iceberg", price=1.0)
    with pytest.raises(ParameterError, match="not on the price grid"):
        node.manual_trade("e", "buy", quantity=0.01, order_type="limit", price=100.123456)
    with pytest.raises(ParameterError, match="price must be positive"):
        node.manual_trade("e", "buy", quantity=0.01, order_type="limit", price=-5)
    with pytest.raises(NotFoundError, match="no order 'nope'"):
        node.cancel_order("e", "nope")
    done = node.manual_trade("e", "buy", quantity=0.01)
    node.run(max_steps=1)
    with pytest.raises(ConflictError, match="is filled"):
        node.cancel_order("e", done["client_order_id"])
    with pytest.raises(ParameterError, match="risk action 'pause'"):
        node.bot("e").risk_action("pause")
