"""The trading-state repository and its migration, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from quantdesk.core.errors import ParameterError
from quantdesk.storage import db
from quantdesk.storage.trading import BarCommit, TradingStore


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'qd.db'}"
    return request.getfixturevalue("postgres_url")


def _order(cid: str, status: str = "submitted", **kw) -> dict:
    row = {"client_order_id": cid, "symbol": "BTC/USDT", "venue": "sim", "side": "buy", "type": "market",
           "quantity": "0.12345678", "price": None, "trigger_price": None, "trailing_offset": None,
           "trailing_offset_type": None, "notional": None, "all_cash": False, "reduce_only": False, "tif": "gtc",
           "expire_ts": None, "parent_id": None, "linked_ids": [], "tags": ["manual"], "strategy_id": "b1",
           "status": status, "filled_qty": "0", "avg_price": None, "fees": "0", "reason": "",
           "bar_index": int(cid.split("-")[1]), "ts_init": 1_700_000_000_000_000_000, "ts_last": 0}
    row.update(kw)
    return row


def test_migration_repository_and_exact_decimals(url: str) -> None:
    store = TradingStore(url)
    try:
        assert db.current_revision(url) == db.head_revision()
        db.upgrade(url)  # idempotent
        bot = store.create_bot(name="b1", strategy="sma_cross", params={"fast": 5}, symbols=["BTC/USDT"],
                               timeframe="1m", config={"speed": "max"}, cash="10000.0", currency="USDT")
        with pytest.raises(ParameterError, match="exists"):
            store.create_bot(name="b1", strategy="x", params={}, symbols=["X"], timeframe="1m", config={},
                             cash="1")
        bid = bot["id"]
        # write-ahead, then the bar commit that fills it
        store.write_ahead_orders(bid, [_order("b1-3-1")])
        store.write_ahead_orders(bid, [_order("b1-3-1")])  # idempotent
        st = store.load_state(bid)
        assert st.orders["b1-3-1"]["status"] == "submitted" and st.bot["cursor_index"] == -1
        fill = {"venue": f"sim:{bid}", "trade_id": "sim-1", "client_order_id": "b1-3-1", "symbol": "BTC/USDT",
                "side": "buy", "price": "46134.12", "quantity": "0.12345678", "fee": "5.6955700001",
                "fee_currency": "USDT", "liquidity": "taker", "ts": 1_700_000_060_000_000_000, "seq": 1}
        commit = BarCommit(
            cursor_index=4, cursor_ts=1_700_000_060_000_000_000, cash="4298.7012345678901234",
            orders=[_order("b1-3-1", "filled", filled_qty="0.12345678", avg_price="46134.12", fees="5.6955700001")],
            fills=[fill],
            positions=[{"symbol": "BTC/USDT", "quantity": "0.12345678", "avg_price": "46134.12",
                        "cost": "5695.5700001", "realized_pnl": "0", "fees": "5.6955700001", "ts_last": 1}],
            trades=[{"seq": 0, "symbol": "BTC/USDT", "side": "long", "entry_ts": 1, "exit_ts": None,
                     "quantity": "0.12345678", "entry_price": "46134.12", "exit_price": None, "fees": "5.69",
                     "realized_pnl": "0", "status": "open"}],
            risk_events=[{"seq": 1, "ts": 1, "type": "OrderDenied", "rule": "max_position_pct",
                          "client_order_id": "b1-2-1", "reason": "too big", "details": {"limit": 0.1}}],
            snapshot={"bar_index": 4, "ts": 1, "cash": "4298.70", "equity": "9994.27"},
        )
        store.commit_bar(bid, commit)
        store.commit_bar(bid, commit)  # a repeated commit changes nothing (fills/events are idempotent)
        sig = store.add_signal(bid, {"bar_index": 4, "source": "manual", "symbol": None, "side": "sell",
                                     "quantity": "0.1", "notional": None, "confidence": None, "reason": "r",
                                     "ts": 5})
        store.set_signal_order(bid, sig["seq"], "b1-4-1")
        st = store.load_state(bid)
        assert st.bot["cash"] == "4298.7012345678901234" and st.bot["cursor_index"] == 4
        assert st.orders["b1-3-1"]["status"] == "filled" and st.orders["b1-3-1"]["tags"] == ["manual"]
        assert len(st.fills) == 1 and st.fills[0]["fee"] == "5.6955700001"
        assert st.positions["BTC/USDT"]["quantity"] == "0.12345678"
        assert st.trades[0]["status"] == "open" and len(st.risk_events) == 1
        assert st.risk_events[0]["details"] == {"limit": 0.1}
        assert st.signals[0]["seq"] == 1 and st.signals[0]["client_order_id"] == "b1-4-1"
        assert len(store.snapshots(bid)) == 2 and store.last_snapshot(bid)["equity"] == "9994.27"
        store.set_status(bid, "paused")
        assert store.list_bots()[0]["status"] == "paused"
        # client order ids are unique; a fill trade id is unique per venue
        with pytest.raises(sa.exc.IntegrityError), store.session() as s, s.begin():
            s.execute(sa.text("INSERT INTO fills (bot_id, venue, trade_id, client_order_id, symbol, side, price, "
                              "quantity, fee, fee_currency, liquidity, ts, seq) VALUES (:b, :v, 'sim-1', 'x', "
                              "'BTC/USDT', 'buy', '1', '1', '0', 'USDT', 'taker', 1, 9)"), {"b": bid, "v": f"sim:{bid}"})
    finally:
        store.close()
        db.dispose_engines()


def test_paper_node_on_both_databases(url: str, qd_home: Path) -> None:
    from quantdesk.data import load
    from quantdesk.paper import BotSpec, PaperNode

    bars = load("BTC/USDT", "1m").iloc[:600]
    spec = BotSpec(name="pg", strategy="sma_cross", params={"fast": 5, "slow": 20}, risk=False)
    node = PaperNode(url)
    node.add_bot(spec, frames={"BTC/USDT": bars})
    node.run(max_steps=250)
    node.store.close()  # crash
    node = PaperNode(url)
    bot = node.add_bot(spec, frames={"BTC/USDT": bars})
    assert bot.next_index > 100
    node.run()
    ref = PaperNode(f"sqlite:///{qd_home / 'ref.db'}")
    rb = ref.add_bot(spec, frames={"BTC/USDT": bars})
    ref.run()
    assert bot.summary()["cash"] == rb.summary()["cash"]
    a = node.store.load_state(bot.id)
    b = ref.store.load_state(rb.id)
    assert [(f["trade_id"], f["price"], f["quantity"], f["fee"]) for f in a.fills] == [
        (f["trade_id"], f["price"], f["quantity"], f["fee"]) for f in b.fills]
    assert {k: r["status"] for k, r in a.orders.items()} == {k: r["status"] for k, r in b.orders.items()}
    node.store.close()
    ref.store.close()
    db.dispose_engines()
