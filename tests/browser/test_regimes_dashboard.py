"""The Anomalies & regimes page and the Markets "Regimes & anomalies" layer in a real headless Chromium."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def goto(page, h, name: str) -> None:
    page.click(f"#nav-{name}")
    h.wait_js(page, f"window.qd.page === '{name}'", message=f"page {name} did not load")


def test_anomalies_page_detect_job_table_and_regime(make_page, env, h) -> None:
    c = env["client"]
    page = make_page()
    goto(page, h, "anomalies")
    h.wait_js(page, "Array.isArray(window.qd.data?.anomalies)")
    page.select_option("#an-symbol", "BTC/USDT")
    page.select_option("#an-timeframe", "1h")
    page.select_option("#an-method", "iqr")
    page.click("#an-run")
    h.wait_js(page, "document.querySelector('#an-job .kpis')", timeout=60)
    stored = c.get("/anomalies", params={"limit": 2000}).json()
    assert stored, "the job stored nothing"
    h.wait_js(page, f"document.querySelectorAll('#anomalies-table tbody tr').length === {min(len(stored), 2000)}")
    page.select_option("#rg-symbol", "BTC/USDT")
    page.select_option("#rg-timeframe", "1h")
    page.click("#rg-run")
    summary = h.wait_js(page, "window.qd.data?.regimes")
    want = c.get("/regimes", params={"symbol": "BTC/USDT", "timeframe": "1h", "method": "rules", "limit": 1}).json()
    assert summary["changes"] == want["summary"]["changes"]
    assert page.locator("#rg-result .kpi").first.inner_text().strip().endswith(
        want["summary"]["current"]["regime"])
    h.shot(page, "anomalies")


def test_markets_regime_bands_and_anomaly_markers(make_page, env, h) -> None:
    c = env["client"]
    page = make_page()
    goto(page, h, "markets")
    h.wait_js(page, "window.qd.charts.markets.candleCount() > 0")
    page.select_option("#mk-timeframe", "1h")
    page.select_option("#mk-bars", "500")
    h.wait_js(page, "window.qd.charts.markets.candleCount() === 500")
    page.check("#mk-layers input[data-layer='regimes']")
    layer = h.wait_js(page, "window.qd.layers?.regimes", timeout=60)
    reg = c.get("/regimes", params={"symbol": "BTC/USDT", "timeframe": "1h", "method": "rules", "limit": 500}).json()
    scan = c.get("/anomalies/scan", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 500}).json()
    assert layer["bands"] == sum(1 for v in reg["values"] if v["regime"] is not None)
    assert layer["markers"] == len(scan["rows"])
    assert page.evaluate("window.qd.charts.markets.stats().markers") == len(scan["rows"])
    h.shot(page, "markets-regimes")
    page.uncheck("#mk-layers input[data-layer='regimes']")
    h.wait_js(page, "window.qd.charts.markets.stats().markers === 0")
