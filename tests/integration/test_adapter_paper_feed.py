"""A paper bot on the streaming feed (`StreamCandleFeed`, what `--feed exchange` is to use) against the
simulator, with WebSocket disconnects in the middle: it sees exactly the file's closed bars and its orders are
the backtest's over the same bars."""

from __future__ import annotations

import time

import pandas as pd
from adapter_support import START, config, sim_settings, write_sample
from test_exchange_feed import PARAMS, _assert_orders_equal_backtest

from quantdesk.adapters.ccxt import StreamCandleFeed
from quantdesk.adapters.simulator import ExchangeSimulator
from quantdesk.model.bot_events import watch_bot
from quantdesk.paper import BotSpec, PaperNode
from quantdesk.settings import Settings, set_settings

BARS = 90


def test_a_paper_bot_on_the_stream_feed_trades_like_the_backtest(tmp_path, db_url):
    sample = write_sample(tmp_path, rows=400)
    settings = Settings(home=tmp_path / "qdhome")
    set_settings(settings)
    url = db_url("paper")
    try:
        with ExchangeSimulator(data=sample, **sim_settings(start=START)) as sim:
            feed = StreamCandleFeed(config(sim), "BTC/USDT", "1m", start=START, poll_wait_s=0.02)
            deadline = time.monotonic() + 10
            sim.advance(candles=1)
            while not len(feed):
                feed.poll()
                assert time.monotonic() < deadline
                time.sleep(0.02)
            spec = BotSpec(name="stream", strategy="sma_cross", params=PARAMS, symbols=["BTC/USDT"], timeframe="1m",
                           exchange="binance", start=START, feed="exchange", risk=False, speed="max")
            node = PaperNode(url, settings=settings)
            bot = node.add_bot(spec, feed=feed)
            seen: list[int] = []
            watch_bot(bot.engine.bus, bot.name, bar=lambda ev: seen.extend(x.ts_ns for x in ev.bars))
            expected_bars = 1
            for i in range(BARS):
                sim.advance(candles=1)
                expected_bars += 1
                if i in (30, 60):
                    sim.disconnect("market")
                    sim.advance(candles=1)  # a bar closes while the stream is down
                    expected_bars += 1
                deadline = time.monotonic() + 10
                while len(seen) < expected_bars:  # step() polls the feed when the bot has caught up
                    if not bot.step():
                        assert time.monotonic() < deadline, f"bar {i}: stuck at {len(seen)} bars"
                        time.sleep(0.005)
            node.shutdown()
            stats = feed.stats
            feed.close()
    finally:
        set_settings(None)
    frame = pd.read_csv(sample)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="timestamp")
    frame = frame.astype("float64")
    expected = frame[(frame.index >= pd.Timestamp(START)) & (frame.index < pd.Timestamp(START) + pd.Timedelta(
        minutes=len(seen)))]
    assert seen == [int(t.value) for t in expected.index]  # every closed bar once, in order
    assert len(seen) == BARS + 3 and stats["reconnects"] >= 2
    assert _assert_orders_equal_backtest(url, "stream", expected) > 5
