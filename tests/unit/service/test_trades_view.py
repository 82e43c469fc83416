"""Trade rows as a trader reads them and the Portfolio P&L cards: hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from quantdesk.service.profit import period_start, profit_by_pair, profit_by_period
from quantdesk.service.trades_view import account_pnl, order_reason, trade_view

H = 3_600 * 10**9
T0 = 1_640_995_200 * 10**9  # 2022-01-01T00:00:00Z (a Saturday)
ORDERS = {
    "b-1-1": {"client_order_id": "b-1-1", "type": "market", "tags": ["fast SMA crossed above slow"]},
    "b-9-1": {"client_order_id": "b-9-1", "type": "stop", "tags": ["stop_loss"], "parent_id": "b-1-1"},
    "b-12-1": {"client_order_id": "b-12-1", "type": "market", "tags": ["force_exit"]},
}


def closed(**kw):
    base = {"symbol": "BTC/USDT", "side": "long", "entry_ts": T0, "exit_ts": T0 + 5 * H, "quantity": "2",
            "entry_price": "100", "exit_price": "110", "fees": "0.42", "realized_pnl": "20", "status": "closed",
            "entry_order_id": "b-1-1", "exit_order_id": "b-9-1"}
    return {**base, **kw}


def test_a_closed_trade_is_net_of_fees_with_its_reasons_and_duration():
    row = trade_view(closed(), ORDERS, {}, None)
    assert D(row["pnl"]) == D("19.58")  # 20 - 0.42
    assert row["pnl_pct"] == pytest.approx(19.58 / 200 * 100)
    assert row["entry_tag"] == "fast SMA crossed above slow" and row["exit_reason"] == "stop-loss"
    assert row["duration_s"] == 5 * 3600 and row["duration"] == "5h 0m"
    assert row["entry_time"] == "2022-01-01T00:00:00Z" and row["unrealized_pnl"] is None


def test_an_open_short_trade_has_its_unrealised_pnl_at_the_mark():
    t = closed(side="short", status="open", exit_ts=None, exit_price=None, realized_pnl="0", fees="0.2",
               exit_order_id=None)
    row = trade_view(t, ORDERS, {"BTC/USDT": 95.5}, T0 + 90 * 60 * 10**9)
    assert D(row["unrealized_pnl"]) == D("9.0")  # (95.5 - 100) x 2 x -1
    assert D(row["pnl"]) == D("8.8")  # 9.0 - 0.2 fees
    assert row["exit_reason"] is None and row["duration"] == "1h 30m"
    # no price yet: no made-up P&L
    assert trade_view(t, ORDERS, {}, None)["pnl"] is None


def test_force_exit_and_untagged_orders_are_named():
    assert order_reason(ORDERS["b-12-1"]) == "force exit"
    assert order_reason({"type": "limit", "tags": []}) == "limit order"
    assert order_reason(None) is None


def test_the_portfolio_cards_add_up():
    cards = account_pnl(D("10000"), D("10123.45"), realized_gross=D("150"), fees=D("12.5"))
    assert D(cards["realized_pnl"]) == D("137.5")
    assert D(cards["realized_pnl"]) + D(cards["unrealized_pnl"]) == D(cards["total_pnl"]) == D("123.45")


def test_profit_by_day_week_month_and_pair():
    day = 24 * H
    trades = [closed(exit_ts=T0 + 1 * H, realized_pnl="10", fees="1"),         # Sat 2022-01-01: +9
              closed(exit_ts=T0 + 2 * H, realized_pnl="-5", fees="1"),         # Sat: -6
              closed(exit_ts=T0 + 2 * day, realized_pnl="4", fees="0.5",       # Mon 2022-01-03: +3.5
                     symbol="ETH/BTC"),
              closed(exit_ts=T0 + 40 * day, realized_pnl="1", fees="0"),       # 2022-02-10: +1
              closed(status="open", exit_ts=None, realized_pnl="100", fees="0")]  # open: not counted
    days = profit_by_period(trades, "day")
    assert [(b["period"], D(b["pnl"]), b["trades"], b["wins"]) for b in days] == [
        ("2022-01-01", D("3"), 2, 1), ("2022-01-03", D("3.5"), 1, 1), ("2022-02-10", D("1"), 1, 1)]
    weeks = profit_by_period(trades, "week")
    assert [b["period"] for b in weeks] == ["2021-12-27", "2022-01-03", "2022-02-07"]  # Mondays
    months = profit_by_period(trades, "month")
    assert [(b["period"], D(b["pnl"])) for b in months] == [("2022-01-01", D("6.5")), ("2022-02-01", D("1"))]
    pairs = profit_by_pair(trades)
    assert [(p["symbol"], D(p["pnl"]), p["trades"]) for p in pairs] == [("BTC/USDT", D("4"), 3),
                                                                           ("ETH/BTC", D("3.5"), 1)]
    assert pairs[0]["win_rate_pct"] == pytest.approx(200 / 3)
    assert period_start(T0, "week") == "2021-12-27"
    with pytest.raises(ValueError, match="period"):
        profit_by_period(trades, "year")  # type: ignore[arg-type]
