"""The same strategy on the same candles gives the same orders live (against the exchange simulator), in paper
trading and in a backtest: same bars, same sides, same quantities up to the sizing price (an all-cash order is
sized at the last close live, at the fill price in a simulation)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from live_support import doc, live_args, live_env, run, sim_settings, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator

pytestmark = pytest.mark.slow


def _orders(rows):
    """(bar, seq) -> (side, quantity) of engine orders `<strategy id>-<bar>-<seq>`."""
    out = {}
    for cid, side, qty in rows:
        _, bar, seq = cid.rsplit("-", 2)
        sized = qty is not None and str(qty) not in ("nan", "None")  # all-cash, not filled: sized at the fill
        out[(int(bar), int(seq))] = (side, Decimal(str(qty)) if sized else None)
    return out


def test_live_paper_and_backtest_place_the_same_orders(tmp_path, monkeypatch):
    sample = write_sample(tmp_path, rows=400)
    home = tmp_path / "home"
    env = live_env(home)
    with ExchangeSimulator(data=sample, **sim_settings()) as sim:
        proc = run(live_args(sim.rest_url, "par", "sma_cross", "--max-bars", "40", params=("fast=2", "slow=4")), env)
    assert proc.returncode == 0, proc.stderr
    assert doc(proc.stdout)["cursor"] == 39

    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.core.config import set_settings
    from quantdesk.data import load
    from quantdesk.paper.bot import PaperBot
    from quantdesk.paper.spec import BotSpec
    from quantdesk.storage.trading import TradingStore

    monkeypatch.setenv("QD_HOME", str(home))
    set_settings(None)
    store = TradingStore()
    row = store.find_bot("par")
    spec = BotSpec.from_config(row["config"])
    frame = load("BTC/USDT", "1m", "binance", spec.start, None)
    end = frame.index[row["cursor_index"]].isoformat()
    live = _orders((cid, r["side"], r["quantity"]) for cid, r in store.load_state(row["id"]).orders.items())
    assert len(live) >= 4, live  # sma 2/4 crosses several times in 40 minutes

    bt = run_backtest(BacktestConfig.from_run(spec.run_spec(), start=spec.start, end=end))
    backtest = _orders((r.client_order_id, r.side, r.quantity) for r in bt.orders.itertuples())

    paper_spec = BotSpec.from_run(spec.run_spec(), name="par-paper", feed="replay", start=spec.start, end=end,
                                  speed="max")
    bot = PaperBot.open(store, paper_spec)
    while bot.step():
        pass
    paper = _orders((o.client_order_id, o.side.value, o.quantity) for o in bot.engine.orders)
    bot.stop()

    for name, other in (("paper", paper), ("backtest", backtest)):
        assert sorted(other) == sorted(live), f"{name}: orders at other bars"
        for key, (side, qty) in live.items():
            assert other[key][0].lower() == side.lower(), (name, key)
            if other[key][1] is not None:  # None: a signal on the last bar, never filled in a simulation
                assert abs(other[key][1] - qty) <= qty * Decimal("0.01"), (name, key, other[key][1], qty)
