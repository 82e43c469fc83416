"""Paper node: same numbers as a backtest, manual trades / simulated signals, pause/stop/resume, in-process
crash recovery (a node abandoned mid-run without any shutdown), and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from quantdesk.paper import BotSpec, PaperNode, RecoveryError
from quantdesk.paper.feeds import ReplayFeed, parse_speed
from quantdesk.storage.trading import TradingStore

PARAMS = {"fast": 5, "slow": 20}


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    from quantdesk.data import load

    return load("BTC/USDT", "1m").iloc[:1200]


def _spec(name: str = "par", **kw) -> BotSpec:
    base = dict(name=name, strategy="sma_cross", params=PARAMS, symbols=["BTC/USDT"], timeframe="1m", risk=False,
                speed="max")
    base.update(kw)
    return BotSpec(**base)


def _db_view(url: str, name: str) -> dict:
    store = TradingStore(url)
    try:
        bot = store.get_bot(name)
        st = store.load_state(bot["id"])
    finally:
        store.close()
    return {"cash": bot["cash"], "cursor": bot["cursor_index"], "status": bot["status"],
            "orders": {k: (r["status"], r["side"], r["quantity"], r["filled_qty"], r["avg_price"], r["fees"])
                       for k, r in st.orders.items()},
            "fills": [(f["trade_id"], f["client_order_id"], f["price"], f["quantity"], f["fee"], f["ts"])
                      for f in st.fills],
            "positions": {s: (p["quantity"], p["cost"], p["realized_pnl"]) for s, p in st.positions.items()},
            "signals": _strip(st.signals), "events": _strip(st.risk_events), "trades": _strip(st.trades)}


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("id", "bot_id", "created_at")} for r in rows]


def test_paper_gives_exactly_the_backtest_orders(tmp_path: Path, bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.loader import create_strategy

    url = db_url("p")
    node = PaperNode(url)
    node.add_bot(_spec("par"), frames={"BTC/USDT": bars})
    node.run()
    view = _db_view(url, "par")
    res = run_backtest(BacktestConfig(strategy="sma_cross", params=PARAMS, symbol="BTC/USDT", timeframe="1m",
                                      cash=10_000, fee=0.001), bars,
                       strategy=create_strategy("sma_cross", PARAMS, strategy_id="par"))
    bt = res.orders
    assert len(bt) == len(view["orders"]) > 40
    assert list(bt["client_order_id"]) == list(view["orders"])
    for row in bt.itertuples():
        status, side, qty, filled, avg, _fees = view["orders"][row.client_order_id]
        assert side == row.side
        if row.status == "canceled" and row.reason == "end of data":  # the backtest cancels at its end
            assert status == "accepted"
            continue
        assert status == row.status
        assert float(filled) == row.quantity and float(avg) == row.price
    # fill prices and times = the backtest's round trips
    tr = res.trades
    db_tr = view["trades"]
    assert len(tr) == len(db_tr)
    for a, b in zip(tr.itertuples(), db_tr, strict=True):
        assert pd.Timestamp(a.entry_time).value == b["entry_ts"]
        assert float(b["entry_price"]) == pytest.approx(a.entry_price, rel=1e-12)
        if b["exit_ts"] is not None:
            assert pd.Timestamp(a.exit_time).value == b["exit_ts"]
            assert float(b["exit_price"]) == pytest.approx(a.exit_price, rel=1e-12)
    assert float(view["cash"]) == pytest.approx(float(res.equity.iloc[-1]), rel=1e-12) or view["positions"]


def test_abandoned_node_recovers_the_same_state(tmp_path: Path, bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    """A node dropped mid-run (no shutdown, like a crash) is recovered by a new node: same final DB state."""
    ref_url = db_url("ref")
    ref = PaperNode(ref_url)
    ref.add_bot(_spec("b"), frames={"BTC/USDT": bars})
    ref.run()
    url = db_url("crash")
    for steps in (137, 1, 250, 333):
        node = PaperNode(url)
        node.add_bot(_spec("b"), frames={"BTC/USDT": bars})
        node.run(max_steps=steps)
        node.store.close()  # abandoned: no commit, no status change
    node = PaperNode(url)
    bot = node.add_bot(_spec("b"), frames={"BTC/USDT": bars})
    assert bot.next_index > 0
    node.run()
    assert _db_view(url, "b") == _db_view(ref_url, "b")


def test_recovery_refuses_a_database_that_disagrees(tmp_path: Path, bars: pd.DataFrame, qd_home: Path,
                                                    db_url) -> None:
    import sqlalchemy as sa

    url = db_url("p")
    node = PaperNode(url)
    node.add_bot(_spec("b"), frames={"BTC/USDT": bars})
    node.run(max_steps=600)
    node.shutdown()
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE bots SET cash = '1'"))
    eng.dispose()
    with pytest.raises(RecoveryError, match="cash"):
        PaperNode(url).add_bot(_spec("b"), frames={"BTC/USDT": bars})


def test_manual_trades_and_simulated_signals_are_recorded_and_replayed(tmp_path: Path, bars: pd.DataFrame,
                                                                         qd_home: Path, db_url) -> None:
    url = db_url("p")
    spec = _spec("m", strategy="buy_and_hold", params={}, margin=False)
    spec.strategy = "sma_cross"
    spec.params = {"fast": 50, "slow": 200}
    node = PaperNode(url)
    node.add_bot(spec, frames={"BTC/USDT": bars})
    node.run(max_steps=30)
    out = node.manual_trade("m", "buy", notional=1000, reason="by hand")
    assert out["client_order_id"] == "m-29-1" and out["status"] == "accepted"
    node.run(max_steps=1)  # fills at the next open
    q = node.manual_trade("m", "sell", confidence=0.5, reason="half out")
    assert q["quantity"] is not None and q["status"] == "accepted"
    sims = node.simulate_signals("m", 4, seed=3)
    assert len(sims) == 4 and all(s["source"] == "simulated" for s in sims)
    with pytest.raises(Exception, match="exactly one"):
        node.manual_trade("m", "buy", quantity=1, notional=5)
    node.run(max_steps=20)
    before = _db_view(url, "m")
    assert [s["source"] for s in before["signals"]] == ["manual", "manual"] + ["simulated"] * 4
    assert all(s["client_order_id"] for s in before["signals"])
    assert len(before["fills"]) >= 2
    node.store.close()  # crash
    node2 = PaperNode(url)
    bot = node2.add_bot(spec, frames={"BTC/USDT": bars})  # replays the signals at their bars; verified
    assert _db_view(url, "m")["orders"] == before["orders"]
    assert bot.summary()["cash"] == before["cash"]


def test_pause_stop_resume_keep_state(tmp_path: Path, bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    url = db_url("p")
    node = PaperNode(url)
    node.add_bot(_spec("a"), frames={"BTC/USDT": bars})
    node.add_bot(_spec("b", params={"fast": 10, "slow": 30}, cash=5000), frames={"BTC/USDT": bars})
    node.run(max_steps=200)
    node.pause("a")
    node.run(max_steps=100)  # only b runs
    a, b = node.bot("a"), node.bot("b")
    assert a.status == "paused" and b.next_index > a.next_index
    idx = a.next_index
    node.stop_bot("b")
    assert _db_view(url, "b")["status"] == "stopped"
    node.resume("a")
    node.run(max_steps=10)
    assert a.next_index == idx + 10
    b2 = node.start_bot("b", frames={"BTC/USDT": bars})
    assert b2.next_index == b.next_index and b2.summary()["cash"] == b.summary()["cash"]
    node.run()
    assert a.done and b2.done
    ref = PaperNode(db_url("ref"))
    ref.add_bot(_spec("b", params={"fast": 10, "slow": 30}, cash=5000), frames={"BTC/USDT": bars})
    ref.run()
    assert _db_view(url, "b")["fills"] == _db_view(ref.store.url, "b")["fills"]
    assert _db_view(url, "b")["cash"] == _db_view(ref.store.url, "b")["cash"]


def test_risk_denials_are_persisted(tmp_path: Path, bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    url = db_url("p")
    node = PaperNode(url)
    node.add_bot(_spec("r", risk={"max_position_pct": 0.1, "fit_to_limits": False}), frames={"BTC/USDT": bars})
    node.add_bot(_spec("fit", risk={"max_position_pct": 0.1}), frames={"BTC/USDT": bars})
    node.run(max_steps=300)
    view = _db_view(url, "r")
    assert view["events"] and view["events"][0]["type"] == "OrderDenied"
    assert any(s[0] == "denied" for s in view["orders"].values())
    # the default: the same orders are sized down to the limit and trade; the resize is persisted as an event
    fitted = _db_view(url, "fit")
    assert fitted["events"] and {e["type"] for e in fitted["events"]} == {"OrderResized"}
    assert not any(s[0] == "denied" for s in fitted["orders"].values()) and fitted["fills"]
    # risk=True freezes the configured limits into the bot's stored config (a restart uses the same ones)
    bot = node.add_bot(_spec("r2", risk=True), frames={"BTC/USDT": bars})
    stored = node.store.get_bot("r2")["config"]["risk"]
    assert isinstance(stored, dict) and stored["max_position_pct"] == 0.15 and bot.engine.risk.active


def test_replay_feed_speed_and_exchange_feed() -> None:
    assert parse_speed("max") == 0.0 and parse_speed(0) == 0.0 and parse_speed("60") == 60.0
    from quantdesk.backtest.runner import instrument_id
    from quantdesk.model.instrument import Instrument

    idx = pd.date_range("2024-01-01", periods=3, freq="1min", tz="UTC")
    df = pd.DataFrame({"open": [1.0, 2, 3], "high": [1.0, 2, 3], "low": [1.0, 2, 3], "close": [1.0, 2, 3],
                       "volume": [1.0, 1, 1]}, index=idx)
    feed = ReplayFeed({"X/USD": df}, [Instrument(instrument_id("X/USD", None))], timeframe="1m", speed=60)
    assert len(feed) == 3 and feed.delay() == pytest.approx(1.0) and feed.group(1)[0].close == 2.0
    from quantdesk.paper.feeds import make_feed

    with pytest.raises(Exception, match="needs exchange= and symbol="):
        make_feed("exchange")


def test_cli_paper_run_status_and_resume(qd_home: Path) -> None:
    from typer.testing import CliRunner

    from quantdesk.cli.app import app

    runner = CliRunner()
    try:
        _cli_checks(runner, app)
    finally:  # the CLI configured logging onto the runner's (now closed) stderr: point it back
        from quantdesk.core.logging import configure_logging

        configure_logging("WARNING")


def _cli_checks(runner, app) -> None:
    args = ["--json", "paper", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--speed",
            "max", "--no-risk", "--start", "2022-01-05", "--end", "2022-01-05T05:00:00Z", "--bot-name", "cli1"]
    r = runner.invoke(app, args + ["--max-bars", "120"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["bot"] == "cli1" and doc["bars"] == 120 and doc["status"] == "stopped"
    r = runner.invoke(app, args)
    assert r.exit_code != 0 and "resume" in str(r.exception)
    r = runner.invoke(app, args + ["--resume"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["bars"] == doc["bars_total"] == 301 and doc["status"] == "finished"
    r = runner.invoke(app, ["--json", "paper", "status"])
    rows = json.loads(r.stdout)
    assert rows[0]["bot"] == "cli1" and rows[0]["status"] == "finished" and rows[0]["fills"] > 0
    assert not math.isnan(float(rows[0]["equity"]))
    r = runner.invoke(app, ["paper", "--feed", "exchange", "--strategy", "sma_cross"])
    assert r.exit_code != 0 and "--feed exchange needs --exchange" in str(r.exception or r.output)


class _Crash(BaseException):
    pass


def test_crash_between_write_ahead_and_bar_commit_never_resubmits(tmp_path: Path, bars: pd.DataFrame,
                                                                    qd_home: Path, db_url) -> None:
    """Die right after orders were written ahead and handed to the venue, before the bar's commit (several
    times): on recovery the orders are regenerated with the same ids, recognised, and not submitted again."""
    ref_url = db_url("ref")
    ref = PaperNode(ref_url)
    ref.add_bot(_spec("w"), frames={"BTC/USDT": bars})
    ref.run()
    url = db_url("crash")
    log = tmp_path / "subs.log"
    adopted = 0
    for crash_after in (1, 3, 2, 5):
        node = PaperNode(url, submission_log=str(log))
        bot = node.add_bot(_spec("w"), frames={"BTC/USDT": bars})
        seen = {"n": 0}
        real = bot.commit

        def commit(*a, _bot=bot, _real=real, _seen=seen, _n=crash_after, **kw):
            if _bot.engine.orders[_bot._order_mark:]:
                _seen["n"] += 1
                if _seen["n"] >= _n:
                    raise _Crash
            return _real(*a, **kw)

        bot.commit = commit
        with pytest.raises(_Crash):
            node.run()
        adopted += bot.adopted  # the previous crash's written-ahead order, regenerated and recognised
        st = node.store.load_state(bot.id)
        assert any(r["status"] == "submitted" for r in st.orders.values())  # written ahead, not committed
        node.store.close()
    node = PaperNode(url, submission_log=str(log))
    bot = node.add_bot(_spec("w"), frames={"BTC/USDT": bars})
    node.run()
    adopted += bot.adopted
    assert adopted == 4  # each crash left one written-ahead order; none was submitted twice
    subs = [line.split("\t")[1] for line in log.read_text().splitlines()]
    assert len(subs) == len(set(subs)) == len(_db_view(url, "w")["orders"])
    got, want = _db_view(url, "w"), _db_view(ref_url, "w")
    assert got == want


def test_node_recover_and_multi_symbol_bot(tmp_path: Path, bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    eth = bars.iloc[::2] * 0.05  # a second instrument with missing timestamps
    frames = {"BTC/USDT": bars.iloc[:600], "ETH/USDT": eth.iloc[:300]}
    url = db_url("p")
    spec = _spec("multi", symbols=["BTC/USDT", "ETH/USDT"])
    node = PaperNode(url)
    bot = node.add_bot(spec, frames=frames)
    assert len(bot.engine.legs) == 2 and len(bot.feed) == 600
    node.run(max_steps=333)
    node.store.close()  # crash
    node2 = PaperNode(url)
    (rec,) = node2.recover(frames={"multi": frames})
    assert rec.name == "multi" and rec.next_index > 300
    node2.run()
    ref = PaperNode(db_url("ref"))
    ref.add_bot(spec, frames=frames)
    ref.run()
    assert _db_view(url, "multi") == _db_view(ref.store.url, "multi")
    assert set(_db_view(url, "multi")["positions"]) == {"BTC/USDT", "ETH/USDT"}


def test_crash_after_recording_a_manual_trade_before_its_order(tmp_path: Path, bars: pd.DataFrame,
                                                               qd_home: Path, db_url) -> None:
    url = db_url("p")
    log = tmp_path / "subs.log"
    spec = _spec("mt", params={"fast": 50, "slow": 200})
    node = PaperNode(url, submission_log=str(log))
    bot = node.add_bot(spec, frames={"BTC/USDT": bars})
    node.run(max_steps=40)

    def boom(sig):
        raise _Crash

    bot._apply_signal = boom
    with pytest.raises(_Crash):
        node.manual_trade("mt", "buy", quantity="0.01", reason="dies before the order")
    node.store.close()
    assert not log.exists() or not log.read_text()
    node2 = PaperNode(url, submission_log=str(log))
    bot2 = node2.add_bot(spec, frames={"BTC/USDT": bars})  # the recorded signal acts at its bar, once
    view = _db_view(url, "mt")
    assert view["orders"]["mt-39-1"][0] == "accepted" and view["signals"][0]["client_order_id"] == "mt-39-1"
    node2.run(max_steps=1)
    assert bot2.summary()["positions"]["BTC/USDT"] == "0.01000000"
    node2.store.close()
    node3 = PaperNode(url, submission_log=str(log))
    node3.add_bot(spec, frames={"BTC/USDT": bars})
    assert log.read_text().splitlines() == ["mt\tmt-39-1"]


def test_bot_events_reach_observers_and_a_failing_one_blocks_neither_the_bot_nor_the_others(
        bars: pd.DataFrame, qd_home: Path, db_url) -> None:
    from quantdesk.model.bot_events import watch_bot

    url = db_url("p")
    node = PaperNode(url)
    bot = node.add_bot(_spec("s"), frames={"BTC/USDT": bars.iloc[:100]})
    seen: list[tuple[str, str]] = []
    steps: list[int] = []
    fills: list[dict] = []

    def boom(ev):
        raise RuntimeError("observer bug")

    watch_bot(bot.engine.bus, "s", bar=boom, commit=boom, stop=boom)  # subscribed first: runs first, fails
    watch_bot(bot.engine.bus, "s", bar=lambda ev: steps.append(ev.step), commit=lambda ev: fills.extend(ev.fills),
              stop=lambda ev: seen.append((ev.bot, ev.status)))
    watch_bot(bot.engine.bus, "other", stop=lambda ev: seen.append(("wrong bot", ev.status)))
    node.run(max_steps=50)
    node.stop_bot("s")
    assert seen == [("s", "stopped")]
    assert steps == list(range(50))  # every step, in order, despite the failing observer before it
    stored, _total = node.store.page("fills", bot.id, limit=1000)
    assert fills and [f["seq"] for f in fills] == [f["seq"] for f in stored]  # each committed fill, once
    assert node.store.get_bot("s")["status"] == "stopped"
