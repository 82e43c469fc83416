"""Telegram as a control channel against a local fake Telegram server: every command answered with the node's
real numbers, only in the configured chats, and the bot token never in a log line."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from fake_telegram import FakeTelegram

from quantdesk.core.config import get_settings
from quantdesk.monitoring.alert_config import TelegramChannel
from quantdesk.paper.spec import BotSpec
from quantdesk.rpc.telegram import TelegramControl
from quantdesk.service.facade import QuantDeskService

TOKEN = "123456:SECRET-token-value"
OWNER, FRIEND, STRANGER = 1111, 2222, 9999


@pytest.fixture
def svc(qd_home):
    service = QuantDeskService(get_settings())
    spec = BotSpec(name="tg1", strategy="sma_cross", params={"fast": 5, "slow": 20}, symbols=["BTC/USDT"],
                   timeframe="1m", start="2022-01-01T00:00:00Z", end=None, cash=10_000.0, fee=0.001,
                   margin=False, risk=True, feed="replay", speed="max")
    bot = service.node.add_bot(spec)
    service.node.run(max_steps=400)  # 2022-01-01 00:00 -> 06:39: 13 closed trades
    for _ in range(300):  # then on until the strategy is long again (an open trade to report and exit)
        if bot.engine.portfolio.position_qty(bot.instruments[0].id) > 0 and bot.engine.bar_index > 0:
            break
        service.node.run(max_steps=1)
    service.node.run(max_steps=2)
    yield service
    service.shutdown()


def ask(fake, control, chat, text):
    fake.say(chat, text)
    control.poll_once(timeout=0)
    return fake.replies(chat)[-1]


def test_commands_answer_with_the_nodes_numbers_only_in_allowed_chats(svc, caplog):
    caplog.set_level(logging.DEBUG, logger="quantdesk")
    with FakeTelegram(TOKEN) as fake:
        ch = TelegramChannel(name="tg", token=TOKEN, chat_id=str(OWNER), base_url=fake.url, control=True,
                             allowed_chat_ids=[str(FRIEND)], poll_timeout_s=0)
        control = TelegramControl(svc, ch)
        acc = svc.account("tg1")
        trades, _total = svc.trades("tg1")
        open_trade = next(t for t in trades if t["status"] == "open")

        status = ask(fake, control, OWNER, "/status")
        assert "tg1 [running] sma_cross BTC/USDT 1m" in status
        assert f"BTC/USDT {open_trade['quantity']}" in status and "open long" in status

        profit = ask(fake, control, OWNER, "/profit")
        closed = [t for t in trades if t["status"] == "closed"]
        assert f"{len(closed)} closed trades" in profit
        total = Decimal(acc["total_pnl"])
        assert f"{total:,.2f}" in profit and f"{Decimal(acc['fees']):,.2f} fees" in profit

        balance = ask(fake, control, FRIEND, "/balance")  # an allowed second chat
        assert f"equity {Decimal(acc['equity']):,.2f}" in balance

        daily = ask(fake, control, OWNER, "/daily 3")
        day = svc.profit("tg1", "day")["bars"][-1]
        assert f"{day['period']}: {Decimal(day['pnl']):,.2f} ({day['trades']} trades)" in daily

        exit_reply = ask(fake, control, OWNER, "/forceexit")
        assert "closing" in exit_reply and open_trade["quantity"] in exit_reply
        svc.node.run(max_steps=1)  # the force-exit order fills at the next bar's open
        assert svc.account("tg1")["positions"][0]["quantity"] == "0"
        last = svc.trades("tg1")[0][-1]
        assert last["status"] == "closed" and last["exit_reason"] == "force exit"

        assert ask(fake, control, OWNER, "/stop") == "tg1: stopped"
        assert svc.bot("tg1")["status"] == "stopped"
        assert "tg1:" in ask(fake, control, OWNER, "/start tg1") and "tg1" in svc.node.bots
        assert "/status" in ask(fake, control, OWNER, "/help")
        assert "unknown command /nope" in ask(fake, control, OWNER, "/nope")

        # a stranger who knows the bot's name gets nothing, and nothing happens
        n_sent = len(fake.sent)
        fake.say(STRANGER, "/stop tg1")
        control.poll_once(timeout=0)
        assert len(fake.sent) == n_sent and fake.replies(STRANGER) == [] and control.ignored == 1
        assert "tg1" in svc.node.bots
        control.stop()
    assert TOKEN not in caplog.text and "SECRET" not in caplog.text


def test_a_dead_telegram_is_reported_without_the_token(svc, caplog):
    ch = TelegramChannel(name="tg", token=TOKEN, chat_id=str(OWNER), base_url="http://127.0.0.1:9", control=True,
                         poll_timeout_s=0)
    control = TelegramControl(svc, ch)
    with pytest.raises(ConnectionError) as err:
        control.poll_once(timeout=0)
    assert TOKEN not in str(err.value) and "getUpdates" in str(err.value)
    control.stop()
