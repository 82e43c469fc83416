"""The dashboard in headless Chromium against the real app (see conftest.py): login, every page with the data the
API returns, markets with indicators and live bars, a backtest run and compared through the form, a paper bot
started from the form with its fills arriving as chart markers over the WebSocket, bot controls and risk controls
behind confirmation dialogs, tables sorted / filtered / exported, keyboard shortcuts, the collapsed mobile nav.

Every test fails on an external request, a console or page error, or a 429 / 5xx (the `make_page` fixture); the
server runs at its default rate limit (20 req/s, burst 40 per key) the whole module long.
"""

from __future__ import annotations

import csv
import io
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PAGES = ["overview", "markets", "bots", "portfolio", "orders", "backtests", "risk", "signals", "alerts", "training", "news",
         "assistant", "models", "anomalies"]


def money(v: float) -> str:
    return f"{float(v):,.2f}"


def signed_money(v: float) -> str:
    v = float(v)
    return ("+" if v > 0 else "") + f"{v:,.2f}"


def pct(v: float, signed: bool = False) -> str:
    v = float(v)
    return ("+" if signed and v > 0 else "") + f"{v:,.2f}%"


def goto(page, h, name: str) -> None:
    page.click(f"#nav-{name}")
    h.wait_js(page, f"window.qd.page === '{name}'", message=f"page {name} did not load")


def pick_bot(page, h, bot: str) -> None:
    page.select_option("#bot-picker", bot)
    h.wait_js(page, f"document.getElementById('bot-picker').value === '{bot}'")


def rows(page, table: str) -> int:
    return page.locator(f"{table} tbody tr").count()


# ---- serving --------------------------------------------------------------------------------------------------
def test_index_is_public_with_a_strict_csp_and_does_not_shadow_the_api(env):
    import httpx

    with httpx.Client(base_url=env["url"], timeout=30) as c:
        r = c.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "connect-src 'self' ws: wss:" in csp and "img-src 'self' data:" in csp
        assert "https:" not in r.text and "http://" not in r.text  # every asset is local
        assert c.get("/static/js/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
        vendor = c.get("/static/vendor/lightweight-charts-4.2.3/lightweight-charts.standalone.production.js")
        assert vendor.status_code == 200 and "immutable" in vendor.headers["cache-control"]
        assert "Apache License" in c.get("/static/vendor/lightweight-charts-4.2.3/LICENSE").text
        assert c.get("/dashboard", follow_redirects=False).status_code == 307
        assert c.get("/api/v1/health").json()["status"] in ("ok", "degraded")
        assert c.get("/docs").status_code == 200
        assert "/" not in c.get("/openapi.json").json()["paths"]
        assert c.get("/metrics").status_code == 401  # every route but /health needs a key (issue 13)
        assert c.get("/metrics", headers={"X-API-Key": env["ro"]}).status_code == 200
        assert c.post("/api/v1/risk/halt", json={}).status_code == 401  # data calls still need the key


# ---- login ----------------------------------------------------------------------------------------------------
def test_login_wrong_key_fragment_key_stored_and_logout(make_page, env, h):
    page = make_page(login=False)
    page.goto(env["url"] + "/")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator("#shell").is_hidden()
    page.fill("#login-key", "qd_not_a_key")
    page.click("#login-submit")
    h.wait_js(page, "document.getElementById('login-error').textContent.includes('not accepted')")
    assert "invalid API key" in page.text_content("#login-error")
    h.shot(page, "login-error")

    page.goto(f"{env['url']}/#key={env['dash']}")  # the link `quantdesk up` prints
    h.wait_js(page, "window.qd.ready && window.qd.page === 'overview'")
    assert "key=" not in page.url and page.url.endswith("#/overview")
    assert page.evaluate("localStorage.getItem('qd.apiKey')") == env["dash"]
    assert "dash" in page.text_content("#whoami")
    page.reload()  # the stored key logs in again
    h.wait_js(page, "window.qd.ready && window.qd.page === 'overview'")
    page.click("#logout-btn")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("localStorage.getItem('qd.apiKey')") is None

    page.goto(f"{env['url']}/#key={env['ro']}")  # a read-only key is named as such
    h.wait_js(page, "window.qd.ready")
    assert "(read-only)" in page.text_content("#whoami")


# ---- every page, at the default rate limit ----------------------------------------------------------------------
def test_every_page_shows_the_api_data_without_tripping_the_rate_limit(make_page, env, h):
    c = env["client"]
    bot = "static-bot"
    page = make_page()
    pick_bot(page, h, bot)
    h.wait_js(page, f"window.qd.data?.overview?.perf?.bot === '{bot}'")

    perf = c.get("/paper-trading/performance", params={"bot": bot}).json()
    h.wait_js(page, f"document.querySelector('[data-kpi=\"Equity\"]')?.textContent === '{money(perf['equity'])}'")
    assert page.text_content("#kpi-today .value") == signed_money(perf["today_pnl"])
    state = {s["bot"]: s["state"] for s in c.get("/risk/state").json()}[bot]
    assert state in page.text_content("#kpi-risk .value")
    points = len({p["ts"] for p in perf["equity_curve"]})
    assert page.evaluate("window.qd.charts.overview.equity.stats().points[0]") == points
    open_positions = [p for p in c.get("/positions", params={"bot": bot}).json() if float(p["quantity"])]
    assert rows(page, "#overview-positions") == len(open_positions)
    h.shot(page, "overview")

    goto(page, h, "markets")
    candles = c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1m", "limit": 500}).json()
    h.wait_js(page, f"window.qd.charts.markets.candleCount() === {len(candles)}")
    assert page.locator("#mk-chart canvas").count() > 0
    h.shot(page, "markets")

    goto(page, h, "bots")
    h.wait_js(page, f"document.querySelectorAll('#bots-table tbody tr').length === {len(c.get('/bots').json())}")
    h.wait_js(page, f"window.qd.charts.bots.stats()?.bot === '{bot}' && window.qd.charts.bots.stats().candles > 0")
    h.shot(page, "bots")

    goto(page, h, "portfolio")
    account = c.get("/paper-trading/account", params={"bot": bot}).json()
    h.wait_js(page, "document.querySelector('#pf-kpis [data-kpi=\"Equity\"]')")
    assert page.text_content("#pf-kpis [data-kpi='Equity']") == money(account["equity"])
    assert page.text_content("#pf-kpis [data-kpi='Cash']") == money(account["cash"])
    assert rows(page, "#pf-positions") == len(c.get("/positions", params={"bot": bot}).json())
    h.shot(page, "portfolio")

    goto(page, h, "orders")
    orders = c.get("/orders", params={"bot": bot}).json()
    h.wait_js(page, f"document.querySelectorAll('#orders-table tbody tr').length === {len(orders)}")
    assert len(orders) > 5
    h.shot(page, "orders")

    goto(page, h, "backtests")
    assert page.locator("#bt-strategy option").count() == len(c.get("/strategies").json())
    h.shot(page, "backtests")

    goto(page, h, "risk")
    var = c.get("/risk/var", params={"symbols": "BTC/USDT", "timeframe": "1h", "alpha": 0.95}).json()
    h.wait_js(page, "document.querySelector('#risk-var-table tr[data-symbol=\"BTC/USDT\"]')")
    cell = page.text_content("#risk-var-table tr[data-symbol='BTC/USDT'] td:nth-child(2)")
    assert cell == pct(var["var"]["BTC/USDT"]["historical_var"] * 100)
    assert rows(page, "#risk-limits-table") >= 10
    assert page.locator("#risk-stress-table tbody tr").count() == len(
        c.get("/risk/stress", params={"symbols": "BTC/USDT", "timeframe": "1h"}).json()["scenarios"])
    h.shot(page, "risk")

    goto(page, h, "signals")
    n = len(c.get("/signals", params={"bot": bot}).json())
    assert rows(page, "#signals-table") == n
    if n == 0:
        assert page.locator("#view .empty", has_text="No signals yet").is_visible()
    h.shot(page, "signals")

    goto(page, h, "alerts")
    h.wait_js(page, "Array.isArray(window.qd.data?.alerts)")
    assert rows(page, "#alerts-table") == len(c.get("/alerts", params={"limit": 100}).json())
    h.shot(page, "alerts")

    # a fast walk through every page by keyboard: the client budget keeps it under the server's limit
    for _ in range(2):
        for i, name in enumerate(PAGES[:9], start=1):  # digits 1-9 reach the first nine pages
            page.keyboard.press(str(i))
            h.wait_js(page, f"window.qd.page === '{name}'")
    stats = page.evaluate("window.qd.api.stats")
    assert stats["throttled"] == 0, stats


# ---- markets ----------------------------------------------------------------------------------------------------
def test_markets_pickers_indicator_overlay_and_pane_and_live_follow(make_page, env, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "markets")
    h.wait_js(page, "window.qd.charts.markets.candleCount() > 0")
    page.select_option("#mk-timeframe", "1h")
    n1h = len(c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 500}).json())
    h.wait_js(page, f"window.qd.charts.markets.candleCount() === {n1h}")
    page.select_option("#mk-bars", "200")
    h.wait_js(page, "window.qd.charts.markets.candleCount() === 200")
    last = c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 1}).json()[0]
    assert page.text_content("#mk-info .kpi:first-child .value") == f"{last['close']:,.2f}"  # 1h data: 2 decimals
    box = page.locator("#view canvas").first.bounding_box()  # hover a candle: the legend shows its OHLCV
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function("(document.querySelector('.chart-legend')?.innerText || '').includes(' V ')")
    legend = page.locator(".chart-legend").first.inner_text()
    assert "null" not in legend and "undefined" not in legend and "O " in legend, legend

    page.select_option("#mk-indicator", "sma")
    page.fill("#mk-ind-params [data-iparam='period']", "20")
    page.click("#mk-add")
    h.wait_js(page, "window.qd.charts.markets.stats().overlays === 1")
    assert page.evaluate("window.qd.charts.markets.stats().series") == 3  # candles, volume, sma
    page.select_option("#mk-indicator", "rsi")
    page.fill("#mk-ind-params [data-iparam='period']", "14")
    page.click("#mk-add")
    h.wait_js(page, "window.qd.charts.markets.stats().panes === 1")
    assert page.locator("#mk-chart [data-pane] canvas").count() > 0
    assert page.locator("#mk-chips .chip").count() == 2
    h.shot(page, "markets-indicators")
    page.click("#mk-chips .chip:first-child button")
    h.wait_js(page, "window.qd.charts.markets.stats().overlays === 0")

    # follow a running bot: its bars extend the chart live (WebSocket)
    page.select_option("#mk-follow", "risk-bot")
    h.wait_js(page, "window.qd.charts.markets.candleCount() > 0 && document.getElementById('mk-status').textContent.includes('following')",
              timeout=20)
    before = page.evaluate("window.qd.charts.markets.stats().lastTime")
    h.wait_js(page, f"window.qd.charts.markets.stats().lastTime > {before}", timeout=20,
              message="no live bar arrived on the followed chart")
    assert page.evaluate("window.qd.charts.markets.stats().panes") == 1  # the rsi pane follows along


# ---- backtests --------------------------------------------------------------------------------------------------
def _run_backtest(page, h, fast: int, slow: int) -> str:
    page.select_option("#bt-strategy", "sma_cross")
    page.select_option("#bt-symbol", "BTC/USDT")
    page.select_option("#bt-timeframe", "1h")
    page.fill("#bt-start", "2018-01-01T00:00:00Z")
    page.fill("#bt-end", "2018-04-01T00:00:00Z")
    page.fill("#bt-params [data-param='fast']", str(fast))
    page.fill("#bt-params [data-param='slow']", str(slow))
    prev = page.evaluate("window.qd.backtests.current")
    page.click("#bt-run")
    page.wait_for_selector("#bt-progress .progress", state="attached")
    prev_js = "null" if prev is None else f"'{prev}'"
    run_id = h.wait_js(page, f"window.qd.backtests.current !== {prev_js} && window.qd.backtests.current")
    h.wait_js(page, f"window.qd.backtests.report?.id === '{run_id}' && window.qd.backtests.report.candles > 0", timeout=60)
    assert "completed" in page.text_content("#bt-progress-label")
    return run_id


def test_backtest_from_the_form_report_and_comparison(make_page, env, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "backtests")
    first = _run_backtest(page, h, 5, 20)
    job = c.get(f"/backtests/{first}").json()
    assert job["status"] == "completed" and job["config"]["params"] == {"fast": 5, "slow": 20}
    m = job["metrics"]
    assert page.text_content("#bt-metrics [data-metric='total_return_pct'] .value") == pct(m["total_return_pct"], True)
    assert page.text_content("#bt-metrics [data-metric='sharpe'] .value") == f"{m['sharpe']:,.2f}"
    assert page.text_content("#bt-metrics [data-metric='num_trades'] .value") == f"{m['num_trades']:,.0f}"
    assert page.text_content("#bt-metrics [data-metric='max_drawdown_pct'] .value") == pct(m["max_drawdown_pct"])
    report = page.evaluate("window.qd.backtests.report")
    trades = job["trades"]
    expected = len(trades) + sum(1 for t in trades if t.get("exit_time") and not t.get("is_open"))
    assert report["trades"] == len(trades) > 0
    assert report["markers"] == report["expectedMarkers"] == expected  # one per entry, one per exit
    assert report["equityPoints"] == len({p["ts"] for p in job["equity"]})
    assert rows(page, "#bt-trades") == len(trades)
    h.shot(page, "backtests-report")

    second = _run_backtest(page, h, 10, 30)
    assert second != first
    h.wait_js(page, f"document.querySelector('#bt-runs input[data-compare=\"{second}\"]')")
    page.check(f"#bt-runs input[data-compare='{first}']")
    page.check(f"#bt-runs input[data-compare='{second}']")
    page.click("#bt-compare-btn")
    h.wait_js(page, "window.qd.backtests.compare?.curves === 2")
    assert page.locator("#bt-compare-table thead th").count() == 3  # metric + two runs
    cells = page.locator("#bt-compare-table tr[data-metric='total_return_pct'] td").all_text_contents()
    m2 = c.get(f"/backtests/{second}").json()["metrics"]
    assert cells[1:] == [pct(m["total_return_pct"], True), pct(m2["total_return_pct"], True)]
    h.shot(page, "backtests-compare")


# ---- live trading -------------------------------------------------------------------------------------------------
def test_paper_bot_from_the_form_fills_on_the_chart_controls_and_manual_order(make_page, env, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "bots")
    page.fill("#start-name", "live-bot")
    page.select_option("#start-strategy", "sma_cross")
    page.fill("#start-params [data-param='fast']", "2")
    page.fill("#start-params [data-param='slow']", "5")
    page.fill("#start-speed", "300")
    page.fill("#start-start", "2022-01-06T00:00:00Z")
    page.fill("#start-end", "2022-01-06T06:00:00Z")
    page.check("#start-risk")  # the configured limits, orders sized to 10% of equity (fits the 15% position limit)
    page.fill("#start-size", "10")
    page.click("#start-submit")
    h.wait_js(page, "window.qd.charts.bots.stats()?.bot === 'live-bot'")
    h.wait_js(page, "window.qd.charts.bots.stats().fillMarkers >= 1", timeout=30,
              message="no fill marker appeared on the live chart")
    cfg = c.get("/bots/live-bot").json()["config"]
    assert cfg["params"] == {"fast": 2, "slow": 5} and cfg["risk"]["sizing"]["fraction"] == 0.1
    first = c.get("/fills", params={"bot": "live-bot"}).json()[0]
    assert abs(float(first["quantity"]) * float(first["price"]) - 1000) < 15  # 10% of 10,000 (equity moved a bit)
    page.wait_for_function("document.body.innerText.includes('orders sized fixed fraction 10.0% of equity')")
    assert page.evaluate("window.qd.ws.counts.trades || 0") > 0  # fills came over the WebSocket
    assert page.locator("#bot-fills li[data-trade]").count() >= 1
    stats = page.evaluate("window.qd.charts.bots.stats()")
    assert stats["candles"] > 0 and stats["fillMarkers"] <= len(c.get("/fills", params={"bot": "live-bot"}).json())
    h.shot(page, "bots-live-fill")

    # a manual market order
    page.select_option("#order-side", "buy")
    page.select_option("#order-type", "market")
    page.fill("#order-qty", "0.001")
    page.click("#order-submit")
    order = h.wait_js(page, "window.qd.lastOrder")
    coid = order["client_order_id"]

    def status() -> str:
        return c.get("/bots/live-bot").json()["status"]

    page.click("button[data-action='pause'][data-bot='live-bot']")
    _until(lambda: status() == "paused")
    h.wait_js(page, "document.querySelector(\"button[data-action='resume'][data-bot='live-bot']\")")
    page.click("button[data-action='resume'][data-bot='live-bot']")
    _until(lambda: status() == "running")
    h.wait_js(page, "document.querySelector(\"button[data-action='stop'][data-bot='live-bot']\")")
    page.click("button[data-action='stop'][data-bot='live-bot']")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-cancel")  # cancel: nothing happens
    page.wait_for_selector("#confirm-dialog", state="hidden")
    assert status() == "running"
    page.click("button[data-action='stop'][data-bot='live-bot']")
    page.wait_for_selector("#confirm-dialog[open]")
    h.shot(page, "bots-stop-confirm", full_page=False)
    page.click("#confirm-ok")
    _until(lambda: status() in ("stopped", "finished"))

    pick_bot(page, h, "live-bot")
    goto(page, h, "orders")
    page.wait_for_selector(f"#orders-table tbody tr[data-key='{coid}']", timeout=15000)
    assert coid in {o["client_order_id"] for o in c.get("/orders", params={"bot": "live-bot"}).json()}


def _until(cond, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


# ---- orders and trades --------------------------------------------------------------------------------------------
def test_orders_sort_filter_and_csv_export(make_page, env, h):
    c = env["client"]
    bot = "static-bot"
    orders = c.get("/orders", params={"bot": bot}).json()
    page = make_page()
    pick_bot(page, h, bot)
    goto(page, h, "orders")
    if page.get_attribute("#tab-orders", "aria-selected") != "true":
        page.click("#tab-orders")
    h.wait_js(page, f"document.querySelectorAll('#orders-table tbody tr').length === {len(orders)}")
    times = page.locator("#orders-table td[data-col='ts_init']").all_text_contents()
    assert times == sorted(times, reverse=True)  # newest first
    page.click("#orders-table th[data-key='ts_init']")
    asc = page.locator("#orders-table td[data-col='ts_init']").all_text_contents()
    assert asc == sorted(times) and asc != times
    assert page.get_attribute("#orders-table th[data-key='ts_init']", "aria-sort") == "ascending"
    page.click("#orders-table th[data-key='filled_qty']")
    qty = [float(t.replace(",", "")) for t in page.locator("#orders-table td[data-col='filled_qty']").all_text_contents()]
    assert qty == sorted(qty)

    page.fill("#panel-orders [data-table-filter]", "sell")
    sells = [o for o in orders if o["side"] == "sell"]
    h.wait_js(page, f"document.querySelectorAll('#orders-table tbody tr').length === {len(sells)}")
    assert set(page.locator("#orders-table td[data-col='side']").all_text_contents()) == {"sell"}
    page.fill("#panel-orders [data-table-filter]", "")
    page.select_option("#panel-orders select[data-facet='side']", "buy")
    buys = [o for o in orders if o["side"] == "buy"]
    h.wait_js(page, f"document.querySelectorAll('#orders-table tbody tr').length === {len(buys)}")
    shown = page.locator("#orders-table td[data-col='client_order_id']").all_text_contents()
    with page.expect_download() as dl:
        page.click("#panel-orders button[aria-label^='Export']")
    text = open(dl.value.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == len(buys) == len(shown)
    assert [r["client_order_id"] for r in table] == shown
    assert {r["side"] for r in table} == {"buy"}

    page.click("#tab-fills")
    n = len(c.get("/fills", params={"bot": bot}).json())
    h.wait_js(page, f"document.querySelectorAll('#fills-table tbody tr').length === {n}")
    page.click("#tab-trades")
    n = len(c.get("/paper-trading/trades", params={"bot": bot}).json())
    h.wait_js(page, f"document.querySelectorAll('#trades-table tbody tr').length === {n}")
    h.shot(page, "trades")
    page.click("#tab-orders")


# ---- risk ----------------------------------------------------------------------------------------------------------
def test_risk_halt_resume_and_kill_switch_confirmation(make_page, env, h):
    c = env["client"]

    def state() -> str:
        return {s["bot"]: s["state"] for s in c.get("/risk/state").json()}["risk-bot"]

    page = make_page()
    pick_bot(page, h, "risk-bot")
    goto(page, h, "risk")
    h.wait_js(page, "document.querySelector('#risk-state-table tr[data-bot=\"risk-bot\"]')")
    assert state() == "ACTIVE"
    h.wait_js(page, "document.querySelectorAll('#risk-usage .usage').length > 0", timeout=20)
    assert page.locator("#risk-heatmap td").all_text_contents() == ["1.00"]
    page.select_option("#risk-scope", "risk-bot")
    page.click("#risk-halt")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-ok")
    h.wait_js(page, "document.querySelector('#risk-state-table tr[data-bot=\"risk-bot\"] .badge')?.textContent === 'HALTED'")
    assert state() == "HALTED"
    h.shot(page, "risk-halted")
    page.click("#risk-resume")
    h.wait_js(page, "document.querySelector('#risk-state-table tr[data-bot=\"risk-bot\"] .badge')?.textContent === 'ACTIVE'")
    assert state() == "ACTIVE"
    page.click("#risk-kill")
    page.wait_for_selector("#confirm-dialog[open]")
    assert "Kill switch" in page.text_content("#confirm-ok")
    page.keyboard.press("Escape")  # Esc closes the dialog: cancel
    page.wait_for_selector("#confirm-dialog", state="hidden")
    time.sleep(0.3)
    assert state() == "ACTIVE"


# ---- signals and alerts ------------------------------------------------------------------------------------------
def test_signals_and_alerts_with_filters(make_page, env, h):
    c = env["client"]
    sim = c.post("/paper-trading/simulate-signals", json={"bot": "risk-bot", "n": 4, "seed": 7})
    assert sim.status_code == 201, sim.text
    page = make_page()
    pick_bot(page, h, "risk-bot")
    goto(page, h, "signals")
    signals = c.get("/signals", params={"bot": "risk-bot"}).json()
    h.wait_js(page, f"document.querySelectorAll('#signals-table tbody tr').length >= {len(signals)}")
    source = signals[0]["source"]
    page.select_option("select[data-facet='source']", source)
    now = c.get("/signals", params={"bot": "risk-bot"}).json()
    assert rows(page, "#signals-table") == sum(1 for s in now if s["source"] == source)
    h.shot(page, "signals-filtered")

    goto(page, h, "alerts")
    with page.expect_request(lambda r: "/api/v1/alerts" in r.url and "severity=critical" in r.url):
        page.select_option("#alerts-severity", "critical")
    assert rows(page, "#alerts-table") == len(c.get("/alerts", params={"severity": "critical"}).json())
    # a risk event while the page is open shows up in the live feed (WebSocket "alerts")
    c.post("/risk/halt", json={"bot": "risk-bot", "reason": "browser test"})
    c.post("/risk/resume", json={"bot": "risk-bot"})
    h.wait_js(page, "document.querySelectorAll('#alerts-live li').length >= 2")
    assert "risk.halt" in page.text_content("#alerts-live")
    h.shot(page, "alerts-live")


# ---- keyboard, mobile ----------------------------------------------------------------------------------------------
def test_keyboard_shortcuts(make_page, h):
    page = make_page()
    page.keyboard.press("g")
    page.keyboard.press("m")
    h.wait_js(page, "window.qd.page === 'markets'")
    page.keyboard.press("g")
    page.keyboard.press("k")
    h.wait_js(page, "window.qd.page === 'backtests'")
    page.keyboard.press("3")
    h.wait_js(page, "window.qd.page === 'bots'")
    page.keyboard.press("?")
    h.wait_js(page, "document.getElementById('help-dialog').open")
    assert page.locator("#help-table tr").count() == page.locator("#nav a").count() + 3  # one row per page
    h.shot(page, "shortcuts-help", full_page=False)
    page.keyboard.press("Escape")
    h.wait_js(page, "!document.getElementById('help-dialog').open")
    page.keyboard.press("5")
    h.wait_js(page, "window.qd.page === 'orders'")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.hasAttribute('data-table-filter')")
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Tab")  # the controls are reachable with Tab, with a visible focus ring
    assert page.evaluate("document.activeElement !== document.body && document.activeElement.matches(':focus-visible')")


def test_mobile_viewport_collapses_the_nav(make_page, h):
    page = make_page(viewport=(390, 844))
    assert page.locator("#nav-toggle").is_visible()
    assert page.locator("#nav").is_hidden()
    h.shot(page, "mobile-overview")
    page.click("#nav-toggle")
    assert page.locator("#nav").is_visible()
    h.shot(page, "mobile-nav-open", full_page=False)
    page.click("#nav-markets")
    h.wait_js(page, "window.qd.page === 'markets' && window.qd.charts.markets.candleCount() > 0")
    assert page.locator("#nav").is_hidden()
    h.shot(page, "mobile-markets")
