"""The PowerTrader page and Markets layer in a real browser (the suite's app, bots and fixtures)."""

from __future__ import annotations

from tests.browser.test_dashboard import goto


def test_training_page_trains_and_shows_progress_and_the_ladder(make_page, env, h) -> None:
    page = make_page()
    goto(page, h, "training")
    h.wait_js(page, "window.qd.data?.training && window.qd.data?.ptLadder")
    # ladder of the default 100 x 1 position: stage 1 at -2.5 % buys twice the value (the position triples)
    first = page.locator("#pt-ladder tbody tr").first.inner_text()
    assert "97.5" in first and "195" in first, first
    page.fill("#pt-coin", "BTC")
    page.fill("#pt-timeframes", "4hour,1day")
    page.click("#pt-start")
    h.wait_js(page, "window.qd.data.training.coins.some(c => c.coin === 'BTC' && c.state === 'done')", timeout=120)
    h.wait_js(page, "document.querySelectorAll('#pt-coins-table td[data-state=done]').length === 2")
    h.shot(page, "powertrader")


def test_markets_layer_draws_the_bounds(make_page, env, h) -> None:
    page = make_page()
    goto(page, h, "markets")
    h.wait_js(page, "window.qd.charts.markets.candleCount() > 0")
    page.select_option("#mk-timeframe", "1h")
    page.select_option("#mk-bars", "200")
    h.wait_js(page, "window.qd.charts.markets.candleCount() === 200")
    page.check("#mk-layers input[data-layer=powertrader]")
    h.wait_js(page, "window.qd.data?.powertrader?.bars === 200", timeout=60)
    drawn = page.evaluate("window.qd.data.powertrader")
    assert drawn["lines"] == 14 and drawn["points"] > 100, drawn  # 7 lower + 7 upper lines, with values
    # BTC's memory when the other test trained it in this app's home, else trained on the bars shown
    assert drawn["memory"] == "self-trained" or drawn["memory"].endswith("/powertrader/BTC")
    page.uncheck("#mk-layers input[data-layer=powertrader]")
    h.wait_js(page, "window.qd.data.powertrader.cleared === true")

