"""The live node's reconciliation against the exchange simulator, end to end (the node process, its database, the
venue): a trade made on the account by someone else is booked as external and the position follows the venue;
a lost answer (response dropped after the venue accepted the order) is resolved by client id, never resent; and a
fill the venue does not know (a corrupted book) HALTS the bot before it sends anything (fail closed, exit code 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from live_support import disagreements, doc, live_args, live_env, run, sim_settings, status, write_sample

from quantdesk.adapters.simulator import ExchangeSimulator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample(tmp_path_factory.mktemp("live_recon"), rows=400)


def test_external_trade_is_booked_and_a_lost_answer_is_not_resent(sample, tmp_path):
    env = live_env(tmp_path / "home")
    with ExchangeSimulator(data=sample, **sim_settings()) as sim:
        sim.faults("drop_response:count=2")  # the first two orders are accepted, their answers lost
        args = live_args(sim.rest_url, "recon", "sma_cross", params=("fast=2", "slow=4"))
        first = run(args + ["--max-bars", "20"], env)
        assert first.returncode == 0, first.stderr
        truth = sim.state()
        dropped = [s for s in truth["submissions"] if s["outcome"] == "accepted"][:2]
        assert len(dropped) == 2, truth["submissions"]  # the strategy traded at least twice through the fault
        # someone else trades on the account while the bot is down
        ex = sim.ccxt()
        ex.load_markets()
        held = Decimal(truth["balances"].get("BTC", "0"))  # the bot is all in or flat: trade what the account has
        ex.create_order("BTC/USDT", "market", "sell" if held >= Decimal("0.001") else "buy", 0.001,
                        params={"newClientOrderId": "by-hand-1"})
        second = run(args + ["--max-bars", "2"], env)
        assert second.returncode == 0, second.stderr
        sim.set_speed(0)
        node, truth = status(env, "recon"), sim.state()
    assert disagreements(node, truth) == []  # no id twice (the lost answers were found by client id)
    external = [f for f in node["fills"] if f["client_order_id"] == "by-hand-1"]
    assert len(external) == 1 and external[0]["owner"] == "external"
    assert Decimal(node["positions"]["BTC/USDT"]) == Decimal(truth["balances"]["BTC"])


def test_a_fill_the_venue_does_not_know_halts_the_bot(sample, tmp_path, monkeypatch):
    env = live_env(tmp_path / "home")
    # the account holds BTC from before the bot (adopted at start) and the strategy does not trade in 12 bars:
    # the venue is never flat (a flat venue is adopted as flat, NautilusTrader #3622)
    with ExchangeSimulator(data=sample, **sim_settings(balances={"USDT": Decimal(10_000), "BTC": Decimal("0.1")})) as sim:
        args = live_args(sim.rest_url, "halter", "sma_cross", params=("fast=50", "slow=100"))
        first = run(args + ["--max-bars", "12"], env)
        assert first.returncode == 0, first.stderr
        # corrupt the node's books: a fill of its own that the venue never made, journalled after the last commit
        from quantdesk.core.config import set_settings
        from quantdesk.storage.live_repo import LiveRepo
        from quantdesk.storage.trading import TradingStore

        monkeypatch.setenv("QD_HOME", env["QD_HOME"])
        set_settings(None)
        store = TradingStore()
        bot = store.find_bot("halter")
        repo = LiveRepo(store.engine)
        seq = max([e["seq"] for e in repo.journal_entries(bot["id"])] or [0]) + 1
        start_ms = int(sim.state()["now"]) - 60_000
        fake = {"trade_id": "999999", "symbol": "BTC/USDT", "side": "buy", "qty": "0.5", "price": "40000",
                "client_order_id": "qd_halter_zzzz_1", "venue_order_id": None, "fee": "0", "fee_currency": "USDT",
                "liquidity": "taker", "ts_ms": start_ms}
        repo.journal(bot["id"], [{"seq": seq, "step": bot["cursor_index"] + 1, "kind": "fill",
                                  "client_order_id": None, "data": {"fill": fake, "owner": "halter"}}],
                     fills=[{"trade_id": "999999", "symbol": "BTC/USDT", "data": fake, "owner": "halter"}])
        before = len(sim.state()["submissions"])
        halted = run(args + ["--max-bars", "5"], env)
        after = sim.state()
    assert halted.returncode == 3, (halted.returncode, halted.stderr)
    out = doc(halted.stdout)
    assert out["stopped"] == "halted" and "999999" in out["halted"] and out["reconciliation"]["verdict"] == "halt"
    assert "Traceback" not in halted.stderr and "halted:" in halted.stderr
    assert len(after["submissions"]) == before  # fail closed: nothing was sent
