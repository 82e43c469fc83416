"""Paper trading on the exchange feed, for real: the real `ccxt.binance` class over real HTTP against the local
Binance-compatible server of fake_exchange.py, extended here with a LIVE series (the server reveals one more
closed bar each time the test advances its clock), with a 5xx, a timeout and an outage injected in the middle.
The candle store, the trading DB and the engine are the real ones; nothing in ccxt is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fake_exchange import FakeBinance

from quantdesk.core.clock import SimulatedClock
from quantdesk.data.ccxt_client import make_exchange
from quantdesk.data.download import RetryPolicy
from quantdesk.data.store import CandleStore
from quantdesk.model.bot_events import watch_bot
from quantdesk.paper import BotSpec, PaperNode
from quantdesk.paper.exchange_feed import ExchangeFeed
from quantdesk.settings import Settings, set_settings
from quantdesk.storage.trading import TradingStore

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "BTC-PERP_FTX_1m_2021-12-31_2022-02-01.csv"
T0 = pd.Timestamp("2022-01-03T00:00:00Z")
T0_MS = int(T0.value // 1_000_000)
MIN_MS = 60_000
MIN_NS = 60_000_000_000
FAST = RetryPolicy(retries=2, base_s=0.01, max_s=0.05, jitter=0.0)
PARAMS = {"fast": 3, "slow": 8}


class LiveFakeBinance(FakeBinance):
    """FakeBinance whose klines stop at a horizon the test moves: only bars opened at or before `horizon_ms`
    exist (they are closed: the test's clock is one minute after the horizon)."""

    def __init__(self, csv_path: Path, horizon_ms: int) -> None:
        super().__init__(csv_path)
        self.horizon_ms = horizon_ms

    def advance(self, bars: int = 1) -> None:
        self.horizon_ms += bars * MIN_MS

    def klines(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[list[Any]]:
        end = self.horizon_ms if end_ms is None else min(end_ms, self.horizon_ms)
        return super().klines(start_ms, end, limit)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    df = pd.read_csv(DATA_FILE)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64")


def _settings(tmp_path: Path, base_url: str) -> Settings:
    return Settings(home=tmp_path / "qdhome", exchanges={"binance": {"base_url": base_url}},
                    data={"download_timeout_s": 0.5, "download_retries": 2})


def _spec(name: str) -> BotSpec:
    return BotSpec(name=name, strategy="sma_cross", params=PARAMS, symbols=["BTC/USDT"], timeframe="1m",
                   exchange="binance", start=T0.isoformat(), feed="exchange", risk=False, speed="max")


def _backtest(frame: pd.DataFrame, name: str):
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.strategies.loader import create_strategy

    return run_backtest(BacktestConfig(strategy="sma_cross", params=PARAMS, symbol="BTC/USDT", exchange="binance",
                                       timeframe="1m", cash=10_000, fee=0.001), frame,
                        strategy=create_strategy("sma_cross", PARAMS, strategy_id=name))


def _assert_orders_equal_backtest(url: str, name: str, frame: pd.DataFrame) -> int:
    store = TradingStore(url)
    try:
        st = store.load_state(store.get_bot(name)["id"])
    finally:
        store.close()
    bt = _backtest(frame, name).orders
    assert list(bt["client_order_id"]) == list(st.orders)
    for row in bt.itertuples():
        r = st.orders[row.client_order_id]
        assert r["side"] == row.side
        if row.status == "canceled" and row.reason == "end of data":  # the backtest cancels at its end
            assert r["status"] == "accepted"
            continue
        assert r["status"] == row.status
        assert float(r["filled_qty"]) == row.quantity and float(r["avg_price"]) == row.price
    return len(bt)


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[LiveFakeBinance]:
    server = LiveFakeBinance(DATA_FILE, horizon_ms=T0_MS + 9 * MIN_MS).start()  # 10 bars exist at start
    try:
        yield server
    finally:
        server.stop()
        set_settings(None)


def test_live_exchange_feed_delivers_exactly_the_closed_bars_with_faults(tmp_path, live, reference, db_url) -> None:
    settings = _settings(tmp_path, live.base_url)
    set_settings(settings)
    clock = SimulatedClock(T0.value + 10 * MIN_NS)  # bars 0..9 are closed

    def tick(bars: int = 1) -> None:
        live.advance(bars)
        clock.advance_to(clock.now_ns() + bars * MIN_NS)

    feed = ExchangeFeed("binance", "BTC/USDT", "1m", start=T0, settings=settings, clock=clock, retry=FAST,
                        close_delay_s=0.0, client=make_exchange("binance", settings, rate_limit_ms=0))
    url = db_url("paper")
    node = PaperNode(url, settings=settings)
    bot = node.add_bot(_spec("live"), feed=feed)
    seen: list[int] = []
    watch_bot(bot.engine.bus, bot.name, bar=lambda ev: seen.extend(x.ts_ns for x in ev.bars))

    def drain() -> None:
        while bot.step():
            pass

    drain()  # the backfill: bars 0..9
    assert len(seen) == 10
    total_bars = 10
    for i in range(170):
        if i == 40:
            live.inject("status", status=503)  # one 5xx: retried inside the poll
        if i == 80:
            live.inject("timeout", delay_s=1.5)  # one timeout (client timeout 0.5 s): retried
        if i == 120:
            live.inject("status", status=502, count=3)  # an outage longer than the retries: that poll gives up
        tick(2 if i % 50 == 25 else 1)  # sometimes two bars close between two polls
        total_bars += 2 if i % 50 == 25 else 1
        drain()
        if i == 120:
            assert feed.failed_polls == 1 and seen[-1] == T0.value + (total_bars - 2) * MIN_NS  # bar missed
    assert feed.failed_polls == 1

    expected = reference[(reference.index >= T0) & (reference.index < T0 + pd.Timedelta(minutes=total_bars))]
    # exactly the closed bars, in order, no loss (the bar missed during the outage came at the next poll), no dups
    assert seen == [int(t.value) for t in expected.index]
    assert bot.next_index == total_bars == len(feed)
    statuses = [r.status for r in live.kline_requests()]
    assert statuses.count(503) == 1 and statuses.count(502) == 3 and statuses.count(0) == 1  # 0 = timed out
    assert feed.retries == 4  # 503, timeout, and 2 of the 3 502s were retried
    # gap-aware requests: every request starts right after the last bar delivered
    starts = [r.start_ms for r in live.kline_requests() if r.status == 200 and r.rows]
    assert starts == sorted(set(starts))
    # the delivered bars are in the candle store (what recovery replays), identical to the file
    stored = CandleStore(settings.store_dir).read("binance", "BTC/USDT", "1m")
    pd.testing.assert_frame_equal(stored, expected, check_freq=False, check_index_type=False, check_exact=True)
    # the orders are the backtest's over the same bars
    node.shutdown()
    assert _assert_orders_equal_backtest(url, "live", expected) > 10

    # a restarted node replays the stored bars to the cursor and continues live
    feed2 = ExchangeFeed("binance", "BTC/USDT", "1m", start=T0, settings=settings, clock=clock, retry=FAST,
                         close_delay_s=0.0, client=make_exchange("binance", settings, rate_limit_ms=0))
    live.clear_log()
    node2 = PaperNode(url, settings=settings)
    bot2 = node2.add_bot(_spec("live"), feed=feed2, resume=True)
    assert bot2.next_index == total_bars
    assert [r for r in live.kline_requests()] == []  # recovery needs no exchange request
    tick(5)
    total_bars += 5
    while bot2.step():
        pass
    assert bot2.next_index == total_bars
    node2.shutdown()
    expected = reference[(reference.index >= T0) & (reference.index < T0 + pd.Timedelta(minutes=total_bars))]
    _assert_orders_equal_backtest(url, "live", expected)


def test_cli_paper_feed_exchange(tmp_path, reference) -> None:
    """`quantdesk paper --feed exchange --exchange binance` in a subprocess, wall clock, static server (all the
    file is in the past): it backfills from --start and stops after --max-bars."""
    with FakeBinance(DATA_FILE) as server:
        env = {**os.environ, "QD_HOME": str(tmp_path / "qdhome"),
               "QD_EXCHANGES__BINANCE__BASE_URL": server.base_url, "QD_DATA__DOWNLOAD_TIMEOUT_S": "5"}
        out = subprocess.run(
            [sys.executable, "-m", "quantdesk", "--json", "paper", "--feed", "exchange", "--exchange", "binance",
             "--symbol", "BTC/USDT", "--timeframe", "1m", "--strategy", "sma_cross", "--param", "fast=3",
             "--param", "slow=8", "--start", T0.isoformat(), "--max-bars", "120", "--no-risk", "--bot-name", "cli",
             "--speed", "max"],
            env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["bars"] == 120 and doc["status"] == "stopped"
        assert all(r.query["symbol"] == "BTCUSDT" for r in server.kline_requests())
    expected = reference[(reference.index >= T0) & (reference.index < T0 + pd.Timedelta(minutes=120))]
    url = Settings(home=tmp_path / "qdhome").database_url  # the subprocess's database (same environment)
    assert _assert_orders_equal_backtest(url, "cli", expected) > 5
