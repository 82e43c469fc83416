"""The newcomer's path on the dashboard (issue 12, items 1, 6, 10, 11) in Chromium against the real app (see
conftest.py): the trade table's columns against GET /paper-trading/trades (P&L net of fees, P&L %, entry tag, exit
reason, duration, the open trade's unrealised P&L), the Portfolio cards that add up (realized + unrealized = total =
equity - starting cash) and agree with the balances table, the profit bars by day / week / month and per pair
against GET /paper-trading/profit, the strategy's own indicators on the bot's chart (overlays and panes, the
API's values, extended live), Force exit from the dashboard (the position goes flat, the trade's exit reason is
"force exit"), the risk engine's decisions, and the Overview's sentence on what a replay bot replays.

Every test fails on an external request, a console or page error, or a 429 / 5xx (the `make_page` fixture).
Expected texts are formatted here, in Python, from the API's raw numbers (an independent formatter): the page
must show the API's figures, not figures of its own.
"""

from __future__ import annotations

import csv
import io
import math
import time
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


# ---- formatting as a trader reads it (en-US, UTC) -----------------------------------------------------------
def money(v: Any, dp: int = 2) -> str:
    return f"{float(v):,.{dp}f}"


def signed(v: Any, dp: int = 2) -> str:
    v = float(v)
    return ("+" if v > 0 else "") + f"{v:,.{dp}f}"


def pct(v: Any, signed_: bool = False) -> str:
    v = float(v)
    return ("+" if signed_ and v > 0 else "") + f"{v:,.2f}%"


def utc(iso: str) -> str:
    """'2022-01-05T00:33:00Z' -> '2022-01-05 00:33Z' (the trade table's time format: whole minutes without ':00')"""
    t = pd.Timestamp(iso).tz_convert("UTC")
    return t.strftime("%Y-%m-%d %H:%MZ" if t.second == 0 else "%Y-%m-%d %H:%M:%SZ")


def sec(ts: Any) -> int:
    return int(pd.Timestamp(ts).timestamp())


def until(fn, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)
    return value


def goto(page, h, name: str) -> None:
    page.click(f"#nav-{name}")
    h.wait_js(page, f"window.qd.page === '{name}'", message=f"page {name} did not load")


def pick_bot(page, h, bot: str) -> None:
    page.select_option("#bot-picker", bot)
    h.wait_js(page, f"document.getElementById('bot-picker').value === '{bot}'")


def start(client, **body) -> None:
    r = client.post("/paper-trading/start", json=body)
    assert r.status_code == 201, r.text


def finished(client, name: str, timeout: float = 90) -> None:
    until(lambda: client.get(f"/bots/{name}").json()["status"] != "running", f"{name} to finish", timeout)


def running(client, name: str) -> dict[str, Any]:
    return {b["bot"]: b for b in client.get("/paper-trading/status").json()["running"]}[name]


@pytest.fixture(scope="module")
def bots(env) -> dict[str, str]:
    """The module's extra bots (the env fixture stops the running ones at its end):
    profit-bot: sma_cross 5/20 on three months of 1h candles, replayed to its end (closed trades over many days,
    weeks and three months); macd-bot: macd on 1m, finished (its indicator is a pane with a histogram);
    fx-bot: buy_and_hold under the risk limits, slow (an open position to force-exit); demo-sma: the demo bot as
    `quantdesk up` starts it (1m from 2022-01-01 at 120x, the configured risk limits)."""
    c = env["client"]
    start(c, name="profit-bot", strategy="sma_cross", params={"fast": 5, "slow": 20}, symbols=["BTC/USDT"],
          timeframe="1h", speed="max", start="2018-01-01T00:00:00Z", end="2018-03-31T23:00:00Z", risk=False)
    start(c, name="macd-bot", strategy="macd", params={}, symbols=["BTC/USDT"], timeframe="1m", speed="max",
          start="2022-01-05T00:00:00Z", end="2022-01-05T04:00:00Z", risk=False)
    start(c, name="fx-bot", strategy="buy_and_hold", params={}, symbols=["BTC/USDT"], timeframe="1m", speed=20,
          start="2022-01-07T00:00:00Z", end="2022-01-07T12:00:00Z", risk=True)
    start(c, name="demo-sma", strategy="sma_cross", params={"fast": 5, "slow": 20}, symbols=["BTC/USDT"],
          timeframe="1m", speed=120, start="2022-01-01T00:00:00Z", risk=True, cash=10_000)
    finished(c, "profit-bot")
    finished(c, "macd-bot")
    return {"profit": "profit-bot", "macd": "macd-bot", "fx": "fx-bot", "demo": "demo-sma"}


# ---- 1. the trade table -------------------------------------------------------------------------------------
def trade_cells(page, table: str) -> dict[str, dict[str, str]]:
    """{trade id: {column: cell text}} of a trade table"""
    return page.evaluate("""(sel) => Object.fromEntries([...document.querySelectorAll(sel + ' tbody tr')].map((tr) =>
        [tr.dataset.key, Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent]))]))""",
                         table)


def test_trade_table_shows_net_pnl_tags_reasons_durations_sorts_and_exports(make_page, env, bots, h):
    c = env["client"]
    bot = bots["profit"]
    trades = c.get("/paper-trading/trades", params={"bot": bot}).json()
    closed = [t for t in trades if t["status"] == "closed"]
    assert len(closed) > 20
    # the API's own arithmetic (checked by the unit tests) is what the page must show: net = gross - fees
    t0 = closed[0]
    assert float(t0["pnl"]) == pytest.approx(float(t0["realized_pnl"]) - float(t0["fees"]), abs=1e-9)
    page = make_page()
    pick_bot(page, h, bot)
    goto(page, h, "orders")
    page.click("#tab-trades")
    h.wait_js(page, f"document.querySelectorAll('#trades-table tbody tr').length === {len(trades)}")
    heads = page.locator("#trades-table thead th").all_text_contents()
    for label in ("P&L (net)", "P&L %", "Unrealized", "Duration", "Entry tag", "Exit reason", "Fees"):
        assert label in heads, heads
    cells = trade_cells(page, "#trades-table")
    for t in trades:
        row = cells[str(t["id"])]
        assert row["pnl"] == signed(t["pnl"]), (t, row)
        assert row["pnl_pct"] == pct(t["pnl_pct"], True)
        assert row["fees"] == money(t["fees"])
        assert row["entry_tag"] == (t["entry_tag"] or "—")
        assert row["entry_time"] == utc(t["entry_time"])
        if t["status"] == "closed":
            assert row["exit_reason"] == t["exit_reason"] and row["exit_time"] == utc(t["exit_time"])
            assert row["duration_s"] == t["duration"]
            assert row["unrealized_pnl"] == ""
    # the strategy's own words: why it bought and why it sold
    assert {t["entry_tag"] for t in closed} == {"fast SMA crossed above slow"}
    assert {t["exit_reason"] for t in closed} == {"fast SMA crossed below slow"}
    # P&L coloured by sign
    losers = page.locator("#trades-table td[data-col='pnl'].down").count()
    winners = page.locator("#trades-table td[data-col='pnl'].up").count()
    assert losers == sum(1 for t in trades if float(t["pnl"]) < 0) and winners == sum(1 for t in trades if float(t["pnl"]) > 0)
    h.shot(page, "newcomer-trades")

    # sortable: P&L ascending, numerically (not as text), then the duration by seconds
    page.click("#trades-table th[data-key='pnl']")
    shown = [float(x.replace(",", "").replace("+", "")) for x in
             page.locator("#trades-table td[data-col='pnl']").all_text_contents()]
    assert shown == sorted(shown) and shown[0] == pytest.approx(min(float(t["pnl"]) for t in trades), abs=0.005)
    page.click("#trades-table th[data-key='duration_s']")
    keys = page.evaluate("[...document.querySelectorAll('#trades-table tbody tr')].map((tr) => tr.dataset.key)")
    by_id = {str(t["id"]): t for t in trades}
    durations = [by_id[k]["duration_s"] for k in keys]
    assert durations == sorted(durations) and durations[0] < durations[-1]

    # the CSV export carries the raw API values of the rows shown (filtered to one exit reason here)
    page.select_option("#panel-trades select[data-facet='status']", "closed")
    h.wait_js(page, f"document.querySelectorAll('#trades-table tbody tr').length === {len(closed)}")
    with page.expect_download() as dl:
        page.click("#panel-trades button[aria-label^='Export']")
    table = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    assert len(table) == len(closed)
    by_entry = {t["entry_time"]: t for t in closed}
    for r in table:
        t = by_entry[r["entry_time"]]
        assert r["pnl"] == t["pnl"] and float(r["pnl_pct"]) == pytest.approx(t["pnl_pct"], rel=1e-12)
        assert r["exit_reason"] == t["exit_reason"] and r["entry_tag"] == t["entry_tag"]
        assert float(r["duration_s"]) == t["duration_s"] and r["fees"] == t["fees"]
    page.click("#tab-orders")  # leave the default tab for the other tests (sessionStorage is per context anyway)


# ---- 2. portfolio: profit bars and per pair ----------------------------------------------------------------
def test_profit_bars_by_day_week_month_and_per_pair_match_the_api(make_page, env, bots, h):
    c = env["client"]
    bot = bots["profit"]
    trades = c.get("/paper-trading/trades", params={"bot": bot}).json()
    page = make_page()
    pick_bot(page, h, bot)
    goto(page, h, "portfolio")
    for period in ("day", "week", "month"):
        page.click(f"#pf-period button[data-period='{period}']")
        api = c.get("/paper-trading/profit", params={"bot": bot, "period": period}).json()
        keys = [b["period"] for b in api["bars"]]
        until(lambda want=keys: page.evaluate("window.qd.charts.portfolio?.profit.stats().keys") == want,
              f"the {period} bars to be the API's", 15)
        drawn = page.evaluate("""() => [...document.querySelectorAll('#pf-profit-bars rect.bar')].map((r) =>
            [r.dataset.key, Number(r.dataset.value), r.getAttribute('fill'), r.querySelector('title').textContent])""")
        assert [d[0] for d in drawn] == keys
        for (_key, value, fill, title), bar in zip(drawn, api["bars"], strict=True):
            assert value == pytest.approx(float(bar["pnl"]), abs=1e-9)
            assert fill == ("#26a69a" if value >= 0 else "#ef5350")
            assert signed(bar["pnl"]) in title and f"{bar['trades']} trade" in title
        # an independent grouping of the closed trades by exit time (UTC; weeks from Monday)
        closed = pd.DataFrame([t for t in trades if t["status"] == "closed"])
        exit_ = pd.to_datetime(closed["exit_time"], utc=True).dt.tz_localize(None)
        start_ = {"day": exit_.dt.normalize(), "week": (exit_ - pd.to_timedelta(exit_.dt.day_of_week, unit="D")).dt.normalize(),
                  "month": exit_.dt.to_period("M").dt.to_timestamp()}[period]
        expect = closed.assign(p=start_.dt.strftime("%Y-%m-%d"), net=closed["pnl"].astype(float)).groupby("p")["net"].sum()
        assert list(expect.index) == keys
        assert [float(b["pnl"]) for b in api["bars"]] == pytest.approx(list(expect.to_numpy()), abs=1e-6)
        h.shot(page, f"newcomer-profit-{period}")
    assert page.get_attribute("#pf-period button[data-period='month']", "aria-checked") == "true"
    assert len(keys) == 3  # January, February, March 2018
    note = page.text_content("#pf-profit-note")
    n_closed = sum(1 for t in trades if t["status"] == "closed")
    assert f"{n_closed} closed trades in 3 months" in note

    pairs = c.get("/paper-trading/profit", params={"bot": bot}).json()["pairs"]
    h.wait_js(page, f"document.querySelectorAll('#pf-pairs tbody tr').length === {len(pairs)}")
    for p in pairs:
        row = page.locator(f"#pf-pairs tr[data-key='{p['symbol']}']")
        assert row.locator("td[data-col='pnl']").text_content() == signed(p["pnl"])
        assert row.locator("td[data-col='trades']").text_content() == str(p["trades"]) == str(n_closed)
        assert row.locator("td[data-col='win_rate_pct']").text_content() == f"{p['win_rate_pct']:,.1f}%"


# ---- 3. the strategy's indicators on the bot's chart --------------------------------------------------------
def chart_matches_api(page, c, bot: str, exact: bool = True) -> dict[str, Any]:
    """The strategy's plots drawn on the bot chart are the API's, value for value; `exact`: the same bars too (a
    finished bot; a live chart may be a bar or two ahead of or behind its last indicator request)."""
    drawn = page.evaluate("window.qd.charts.bots.indicators()")
    stats = page.evaluate("window.qd.charts.bots.stats()")
    api = c.get(f"/bots/{bot}/indicators", params={"limit": stats["candles"]}).json()
    assert [p["id"] for p in drawn] == [p["id"] for p in api["plots"]] and api["plots"]
    for d, p in zip(drawn, api["plots"], strict=True):
        assert d["overlay"] == p["overlay"] and d["pane"] == (not p["overlay"]) and d["outputs"] == p["outputs"]
        for out in p["outputs"]:
            want = {sec(v["timestamp"]): v[out] for v in p["values"] if v[out] is not None}
            got = dict(map(tuple, d["series"][out]))
            assert want, out
            common = [t for t in want if t in got]
            if exact:
                assert set(got) == set(want), (out, sorted(set(got) ^ set(want))[:5])
            else:
                assert len(common) >= len(want) - 3, (out, len(common), len(want))
            for t in common:
                assert got[t] == pytest.approx(want[t], rel=1e-12, abs=1e-12), (out, t)
            # warm-up bars carry no point (the API's NaN -> null), not a zero
            assert not any(math.isnan(v) for v in got.values())
    return {"drawn": drawn, "stats": stats, "api": api}


def test_bot_chart_draws_the_strategys_indicators_with_the_api_values(make_page, env, bots, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "bots")
    # overlays: sma_cross's two SMAs on the price (static-bot, finished: fixed values)
    pick_bot(page, h, "static-bot")
    h.wait_js(page, "window.qd.charts.bots.stats()?.bot === 'static-bot' && window.qd.charts.bots.stats().strategyPlots === 2")
    got = chart_matches_api(page, c, "static-bot")
    assert got["stats"]["overlays"] == 2 and got["stats"]["panes"] == 0
    assert got["stats"]["lastTime"] == sec(running(c, "static-bot")["time"])  # up to its last bar, not its last fill
    assert [p["label"] for p in got["api"]["plots"]] == ["sma(3)", "sma(8)"]
    legend = page.text_content("#bot-chart .strategy-legend")
    assert "sma(3)" in legend and "sma(8)" in legend
    # the value at the last bar is the SMA of the last closes (an independent computation)
    candles = c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1m", "end": "2022-01-05T04:00:00Z",
                                                "limit": 8}).json()
    closes = [float(x["close"]) for x in candles]
    fast = dict(map(tuple, got["drawn"][0]["series"]["fast"]))
    assert fast[sec(candles[-1]["timestamp"])] == pytest.approx(sum(closes[-3:]) / 3, rel=1e-12)
    h.shot(page, "newcomer-bot-indicators-overlay")

    # a pane: macd's three outputs below the price, the histogram as bars
    pick_bot(page, h, "macd-bot")
    h.wait_js(page, "window.qd.charts.bots.stats()?.bot === 'macd-bot' && window.qd.charts.bots.stats().strategyPlots === 1")
    got = chart_matches_api(page, c, "macd-bot")
    assert got["stats"]["panes"] == 1 and got["stats"]["overlays"] == 0
    assert len(got["drawn"][0]["outputs"]) == 3
    assert page.locator("#bot-chart [data-pane^='strategy:'] canvas").count() > 0
    h.shot(page, "newcomer-bot-indicators-pane")

    # live: a running bot's indicators reach its current bar (the engine's clock, not the stored cursor that a
    # quiet bot commits every 100 bars), and its chart's lines grow with its bars, with the API's values
    clock = sec(running(c, "risk-bot")["time"])
    plots = c.get("/bots/risk-bot/indicators", params={"limit": 1}).json()["plots"]
    assert len(plots) == 2 and sec(plots[0]["values"][-1]["timestamp"]) >= clock
    pick_bot(page, h, "risk-bot")
    h.wait_js(page, "window.qd.charts.bots.stats()?.bot === 'risk-bot' && window.qd.charts.bots.stats().strategyPlots === 2",
              timeout=20)
    first = page.evaluate("window.qd.charts.bots.stats().indicatorLast")
    h.wait_js(page, f"window.qd.charts.bots.stats().indicatorLast > {first} && window.qd.charts.bots.stats().indicatorUpdates > 0",
              timeout=30, message="the strategy's indicators did not follow the live bars")
    chart_matches_api(page, c, "risk-bot", exact=False)
    assert page.evaluate("window.qd.api.stats.throttled") == 0


# ---- 4. an open trade, the Portfolio cards, and Force exit ----------------------------------------------------
def test_open_trade_cards_agree_and_force_exit_from_the_dashboard(make_page, env, bots, h):
    c = env["client"]
    bot = bots["fx"]
    until(lambda: float(running(c, bot)["positions"].get("BTC/USDT", 0)) > 0, "fx-bot to hold BTC")
    assert c.post(f"/bots/{bot}/pause").status_code == 200  # paused: the mark and the P&L hold still while compared
    until(lambda: c.get(f"/bots/{bot}").json()["status"] == "paused", "fx-bot paused")
    page = make_page()
    pick_bot(page, h, bot)

    # the Portfolio cards add up and agree with the balances table
    goto(page, h, "portfolio")
    acct = c.get("/paper-trading/account", params={"bot": bot}).json()
    assert float(acct["unrealized_pnl"]) != 0 and float(acct["fees"]) > 0
    h.wait_js(page, f"document.querySelector('#pf-kpis [data-kpi=\"Equity\"]')?.textContent === '{money(acct['equity'])}'")
    kpi = {k: page.text_content(f"#pf-kpis [data-kpi='{k}']") for k in
           ("Equity", "Cash", "Total P&L", "Realized P&L", "Unrealized P&L", "Fees")}
    assert kpi["Total P&L"] == signed(acct["total_pnl"]) and kpi["Realized P&L"] == signed(acct["realized_pnl"])
    assert kpi["Unrealized P&L"] == signed(acct["unrealized_pnl"]) and kpi["Fees"] == money(acct["fees"])
    realized, unreal, total = (float(acct[k]) for k in ("realized_pnl", "unrealized_pnl", "total_pnl"))
    assert realized + unreal == pytest.approx(total, abs=1e-9)
    assert total == pytest.approx(float(acct["equity"]) - float(acct["starting_cash"]), abs=1e-9)
    assert realized == pytest.approx(float(acct["realized_pnl_gross"]) - float(acct["fees"]), abs=1e-9)  # net
    bal = {td.get_attribute("data-col"): td.text_content() for td in page.locator(f"#pf-bots tr[data-key='{bot}'] td").all()}
    assert bal["equity"] == kpi["Equity"] and bal["cash"] == kpi["Cash"] and bal["total_pnl"] == kpi["Total P&L"]
    # the positions table's unrealized and net realized add up to the cards
    pos = page.locator("#pf-positions tr[data-key='BTC/USDT']")
    assert pos.locator("td[data-col='unrealized']").text_content() == signed(acct["unrealized_pnl"])
    assert pos.locator("td[data-col='realized_net']").text_content() == signed(acct["realized_pnl"])
    h.shot(page, "newcomer-portfolio-open")

    # the open trade on the bot page: unrealised P&L at the mark, no exit reason yet
    goto(page, h, "bots")
    h.wait_js(page, f"window.qd.charts.bots.stats()?.bot === '{bot}'")
    trade = next(t for t in c.get("/paper-trading/trades", params={"bot": bot}).json() if t["status"] == "open")
    h.wait_js(page, f"document.querySelector('#bot-trades tr[data-key=\"{trade['id']}\"]')")
    row = trade_cells(page, "#bot-trades")[str(trade["id"])]
    assert row["unrealized_pnl"] == signed(trade["unrealized_pnl"]) and row["pnl"] == signed(trade["pnl"])
    assert float(trade["pnl"]) == pytest.approx(float(trade["unrealized_pnl"]) - float(trade["fees"]), abs=1e-9)
    assert row["exit_reason"] == "" and row["exit_time"] == "open" and row["exit_price"].endswith(" mark")
    assert row["duration_s"] == trade["duration"]
    assert page.text_content("#bot-position [data-symbol='BTC/USDT'] [data-col='unrealized']") == signed(trade["unrealized_pnl"])

    # the risk engine sized the all-in order down to the position limit: the bot page says so, by rule
    decisions = running(c, bot)["risk"]
    assert decisions["resized_by_rule"].get("max_position_pct", 0) >= 1
    h.wait_js(page, "document.querySelector('#bot-risk tr[data-rule=\"max_position_pct\"]')")
    assert page.text_content("#bot-risk tr[data-rule='max_position_pct'] td[data-col='resized']") == str(
        decisions["resized_by_rule"]["max_position_pct"])
    assert "15% of equity" in page.text_content("#bot-risk")

    # Force exit: a confirmation first (cancel does nothing), then the API call and its result
    button = "#bot-position button[data-action='force-exit'][data-symbol='BTC/USDT']"
    assert page.is_enabled(button)
    page.click(button)
    page.wait_for_selector("#confirm-dialog[open]")
    assert "Force exit" in page.text_content("#confirm-ok")
    page.click("#confirm-cancel")
    page.wait_for_selector("#confirm-dialog", state="hidden")
    time.sleep(0.3)
    assert float(running(c, bot)["positions"]["BTC/USDT"]) > 0
    page.click(button)
    page.wait_for_selector("#confirm-dialog[open]")
    h.shot(page, "newcomer-force-exit-confirm", full_page=False)
    page.click("#confirm-ok")
    result = h.wait_js(page, "window.qd.lastForceExit")
    assert result["action"] == "close" and result["side"] == "sell" and result["symbol"] == "BTC/USDT"
    h.wait_js(page, "document.getElementById('force-exit-result').textContent.includes('Force exit BTC/USDT: sell')")
    assert result["client_order_id"] in page.text_content("#force-exit-result")
    # paused: the order waits for the next bar; resumed, it fills at that bar's open
    assert c.post(f"/bots/{bot}/resume").status_code == 200
    until(lambda: float(running(c, bot)["positions"]["BTC/USDT"]) == 0, "the position to go flat")
    exited = next(t for t in c.get("/paper-trading/trades", params={"bot": bot}).json() if t["id"] == trade["id"])
    assert exited["status"] == "closed" and exited["exit_reason"] == "force exit"
    h.wait_js(page, f"document.querySelector('#bot-trades tr[data-key=\"{trade['id']}\"] td[data-col=\"exit_reason\"]')"
                    "?.textContent === 'force exit'", timeout=20, message="the trade table did not show the force exit")
    row = trade_cells(page, "#bot-trades")[str(trade["id"])]
    assert row["pnl"] == signed(exited["pnl"]) and row["unrealized_pnl"] == ""
    h.wait_js(page, "document.querySelector('#bot-position [data-symbol=\"BTC/USDT\"] [data-col=\"quantity\"]')"
                    "?.textContent === '0'")
    assert page.is_disabled(button)  # flat: nothing left to exit
    h.shot(page, "newcomer-force-exit-done")
    # the Orders & trades page has it too
    goto(page, h, "orders")
    page.click("#tab-trades")
    h.wait_js(page, f"document.querySelector('#trades-table tr[data-key=\"{trade['id']}\"] td[data-col=\"exit_reason\"]')"
                    "?.textContent === 'force exit'")


def test_force_exit_when_flat_is_refused_and_read_only_keys_cannot(env, bots):
    import httpx

    c = env["client"]
    r = c.post("/bots/static-bot/force-exit", json={})
    assert r.status_code == 409 and "no open position" in r.json()["detail"]
    with httpx.Client(base_url=env["url"] + "/api/v1", headers={"X-API-Key": env["ro"]}, timeout=30) as ro:
        assert ro.post(f"/bots/{bots['fx']}/force-exit", json={}).status_code == 403


# ---- 5. the Overview explains the replay and the risk decisions ---------------------------------------------
def test_overview_explains_the_replay_and_shows_risk_decisions(make_page, env, bots, h):
    c = env["client"]
    bot = bots["demo"]
    page = make_page()
    pick_bot(page, h, bot)
    h.wait_js(page, f"window.qd.data?.overview?.perf?.bot === '{bot}'")
    # 1m candles at 120x: 60 s of market per 60 / 120 = 0.5 s of wall time
    assert page.text_content("#overview-replay-text") == (
        "demo-sma replays BTC/USDT 1m candles from 2022-01-01 at 120x: one minute of market every 0.5 s")
    run = running(c, bot)
    progress = page.text_content("#overview-replay-progress")
    assert progress.startswith("running · bar ") and f"of {run['bars_total']:,}" in progress
    assert "market time 2022-01-" in progress
    assert "sma_cross (fast 5, slow 20)" in page.text_content("#overview-replay")
    # the demo's first entry is sized down to the 15% position limit: the Overview says so, with the API's count
    until(lambda: running(c, bot)["risk"]["resized_by_rule"].get("max_position_pct"), "a sized-down order", 60)

    def shows_api_count() -> bool:
        n = running(c, bot)["risk"]["resized_by_rule"]["max_position_pct"]
        text = page.text_content("#overview-risk-decisions") if page.locator("#overview-risk-decisions").count() else ""
        return f"{n} order{'s' if n != 1 else ''} sized down to fit max_position_pct (15% of equity)" in text

    until(shows_api_count, "the Overview's risk decisions", 20)
    h.shot(page, "newcomer-overview-demo")

    # a bounded replay names both ends with the time, a finished one speaks in the past
    pick_bot(page, h, "risk-bot")
    h.wait_js(page, "document.getElementById('overview-replay-text')?.textContent.startsWith('risk-bot')")
    assert page.text_content("#overview-replay-text") == (
        "risk-bot replays BTC/USDT 1m candles from 2022-01-10 00:00 UTC to 2022-01-10 12:00 UTC at 30x:"
        " one minute of market every 2 s")
    pick_bot(page, h, "profit-bot")
    h.wait_js(page, "document.getElementById('overview-replay-text')?.textContent.startsWith('profit-bot')")
    assert page.text_content("#overview-replay-text") == (
        "profit-bot replayed BTC/USDT 1h candles from 2018-01-01 00:00 UTC to 2018-03-31 23:00 UTC"
        " as fast as it can (no pause between bars)")
    assert page.text_content("#overview-replay-progress").startswith("finished: all 2,160 bars replayed")
    assert page.locator("#overview-risk-decisions").count() == 0  # risk off: no decisions to show


def test_denied_orders_are_shown_by_rule_on_the_bot_page_and_the_overview(make_page, env, bots, h):
    c = env["client"]
    bot = "risk-bot"
    assert c.post("/risk/halt", json={"bot": bot, "reason": "newcomer test"}).status_code == 200
    try:
        r = c.post("/orders", json={"bot": bot, "side": "buy", "type": "market", "quantity": 0.001, "reason": "test"})
        assert r.status_code == 201, r.text
        denied = until(lambda: running(c, bot)["risk"]["denied_by_rule"].get("trading_state"), "a denial", 20)
    finally:
        c.post("/risk/resume", json={"bot": bot})
    page = make_page()
    pick_bot(page, h, bot)
    want = f"{denied} order{'s' if denied != 1 else ''} denied by trading_state"
    h.wait_js(page, f"document.getElementById('overview-replay-text')?.textContent.startsWith('{bot}')")
    h.wait_js(page, f"document.querySelector('#overview-risk-decisions')?.textContent.includes('{want}')",
              message=f"the Overview does not say: {want}")
    goto(page, h, "bots")
    h.wait_js(page, "document.querySelector('#bot-risk tr[data-rule=\"trading_state\"]')")
    assert page.text_content("#bot-risk tr[data-rule='trading_state'] td[data-col='denied']") == str(denied)
    assert page.locator("#bot-risk tr[data-rule='trading_state'] td[data-col='denied'].down").count() == 1
