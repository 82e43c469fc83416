"""A strategy that reads `Ind("regime")` trades the same in paper (streaming indicators, bar by bar) as in a
backtest (batch indicators), and a paper node recovered after an abandoned run rebuilds the same state."""

from __future__ import annotations

import pandas as pd
import pytest

from quantdesk.paper import BotSpec, PaperNode
from quantdesk.storage.trading import TradingStore

PARAMS = {"fast": 10, "slow": 50, "method": "bocpd", "calm_weight": 1.0, "volatile_weight": 0.5}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    from quantdesk.data import load

    return load("BTC/USDT", "1m").iloc[:1500]


def _spec(name: str) -> BotSpec:
    return BotSpec(name=name, strategy="regime_sized", params=PARAMS, symbols=["BTC/USDT"], timeframe="1m",
                   risk=False, speed="max")


def _orders(url: str, name: str) -> dict:
    store = TradingStore(url)
    try:
        st = store.load_state(store.get_bot(name)["id"])
        return {k: (r["status"], r["side"], r["quantity"], r["filled_qty"], r["avg_price"]) for k, r in st.orders.items()}
    finally:
        store.close()


def test_paper_streaming_regime_gives_the_backtest_orders(bars: pd.DataFrame, qd_home, db_url) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.loader import create_strategy

    url = db_url("p")
    node = PaperNode(url)
    node.add_bot(_spec("rg"), frames={"BTC/USDT": bars})
    node.run()
    paper = _orders(url, "rg")
    res = run_backtest(BacktestConfig(strategy="regime_sized", params=PARAMS, symbol="BTC/USDT", timeframe="1m",
                                      cash=10_000, fee=0.001), bars,
                       strategy=create_strategy("regime_sized", PARAMS, strategy_id="rg"))
    bt = res.orders
    assert len(bt) == len(paper) >= 6
    assert list(bt["client_order_id"]) == list(paper)
    for row in bt.itertuples():
        status, side, _qty, filled, avg = paper[row.client_order_id]
        assert side == row.side
        if row.status == "canceled" and row.reason == "end of data":
            continue
        assert status == row.status and float(filled) == row.quantity and float(avg) == row.price
    # the position sizes differ by regime: a half-weight entry exists (volatile regime), and a full one
    sizes = (bt.loc[bt["side"] == "buy", "quantity"] * bt.loc[bt["side"] == "buy", "price"]).to_numpy()
    assert sizes.max() > 1.6 * sizes.min()


def test_recovered_node_rebuilds_the_regime_state(bars: pd.DataFrame, qd_home, db_url) -> None:
    ref_url, url = db_url("ref"), db_url("crash")
    ref = PaperNode(ref_url)
    ref.add_bot(_spec("b"), frames={"BTC/USDT": bars})
    ref.run()
    for steps in (400, 333):
        node = PaperNode(url)
        node.add_bot(_spec("b"), frames={"BTC/USDT": bars})
        node.run(max_steps=steps)
        node.store.close()  # abandoned mid-run
    node = PaperNode(url)
    node.add_bot(_spec("b"), frames={"BTC/USDT": bars})
    node.run()
    assert _orders(url, "b") == _orders(ref_url, "b")
