"""The dashboard's backtest report in Chromium (see conftest.py): equity, drawdown and candles cover the whole run
(first to last timestamp, in view), the drawdown keeps its deepest point when a long curve is thinned, volume sits
on its own price scale, dense trade markers are aggregated and every entry and exit is still counted."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def submit(client: Any, **config: Any) -> dict[str, Any]:
    """A backtest through the API (POST /backtests), waited for."""
    body = {"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "sma_cross", **config}
    r = client.post("/backtests", json=body)
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    deadline = time.monotonic() + 180
    while True:
        job = client.get(f"/backtests/{run_id}").json()
        if job["status"] != "running":
            break
        assert time.monotonic() < deadline, "backtest did not finish"
        time.sleep(0.3)
    assert job["status"] == "completed", job.get("error")
    return job


def open_report(page: Any, h: Any, run_id: str) -> dict[str, Any]:
    page.click("#nav-backtests")
    h.wait_js(page, "window.qd.page === 'backtests'")
    page.click(f"#bt-runs tr[data-key='{run_id}']")
    h.wait_js(page, f"window.qd.backtests.report?.id === '{run_id}' && window.qd.backtests.report.candles > 0",
              timeout=60)
    time.sleep(0.5)  # the charts fit their content a frame after they are sized
    return page.evaluate("window.qd.backtests.report")


def sec(ts: Any) -> int:
    return int(pd.Timestamp(ts).timestamp())


def test_full_run_equity_drawdown_and_candles_cover_the_run(make_page, env, h) -> None:
    job = submit(env["client"], params={"fast": 10, "slow": 30})  # the whole bundled 1h sample: ~20,000 bars
    page = make_page()
    report = open_report(page, h, job["id"])
    stats = page.evaluate("window.qd.backtests.chartStats()")
    first, last = sec(job["equity"][0]["ts"]), sec(job["equity"][-1]["ts"])
    n = len({p["ts"] for p in job["equity"]})
    assert n > 15_000
    for name in ("equity", "drawdown"):
        s = stats[name]
        assert s["first"] == first and s["last"] == last, name  # the series spans the whole run
        assert s["visible"]["from"] <= first and s["visible"]["to"] >= last, name  # and all of it is in view
    assert report["equitySource"] == n and report["equityPoints"] < n  # thinned to what the chart shows
    # thinning keeps the extremes: the deepest drawdown drawn is the run's max drawdown, the equity's high its high
    assert stats["drawdown"]["min"] == pytest.approx(job["metrics"]["max_drawdown_pct"], rel=1e-9)
    assert stats["equity"]["max"] == pytest.approx(max(p["equity"] for p in job["equity"]), rel=1e-12)
    price = stats["price"]
    assert price["firstTime"] == first and price["lastTime"] <= last
    assert price["visible"]["from"] <= first and price["visible"]["to"] >= price["lastTime"]
    assert price["barsPerCandle"] > 1 and price["candles"] * price["barsPerCandle"] >= n
    # volume in a pane of its own: not on the price axis, and the price axis does not reach below the lowest low
    assert price["volumeScale"] == "pane" and price["priceScale"] != price["volumeScale"]
    assert price["volumeOnPriceChart"] is False
    candles = env["client"].get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1h"}).json()
    lowest = min(float(c["low"]) for c in candles)
    highest = max(float(c["high"]) for c in candles)
    assert highest / lowest > 4 and price["logScale"]  # 1,7xx to 19,xxx: a log axis, on which equal moves look equal
    assert 0 < price["axisBottom"] <= lowest  # and no negative prices on the axis
    assert page.locator("#bt-price [data-pane='volume'] .chart-vol").count() == 1
    note = page.text_content("#bt-price-note")
    assert f"shown as {price['candles']:,} candles of {price['barsPerCandle']} bars" in note
    assert "Equity (USDT)" in page.text_content("#bt-report") and "Drawdown (%)" in page.text_content("#bt-report")
    h.shot(page, "backtest-full-run")  # (a full-page capture resizes the page: the charts still show the whole run)
    after = page.evaluate("window.qd.backtests.chartStats()")
    for name in ("equity", "drawdown"):
        assert after[name]["visible"]["from"] <= first and after[name]["visible"]["to"] >= last, name
    # zooming the price chart by hand takes the equity and drawdown charts to the same dates
    page.locator("#bt-price .chart-lg").scroll_into_view_if_needed()
    box = page.locator("#bt-price .chart-lg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, -400)
        time.sleep(0.1)
    h.wait_js(page, "(() => { const s = window.qd.backtests.chartStats(); return s.price.visible.from > "
                    f"{first} && Math.abs(s.equity.visible.from - s.price.visible.from) <= 9 * 3600; }})()",
              message="the equity chart did not follow the zoomed price chart")
    zoomed = page.evaluate("window.qd.backtests.chartStats()")
    assert zoomed["drawdown"]["visible"]["from"] > first and zoomed["equity"]["visible"]["to"] <= last


def test_dense_trade_markers_are_aggregated_and_every_trade_counted(make_page, env, h) -> None:
    job = submit(env["client"], params={"fast": 2, "slow": 3}, start="2018-01-01T00:00:00Z",
                 end="2018-07-01T00:00:00Z")
    trades = pd.DataFrame(job["trades"])
    closed = ~trades["is_open"].astype(bool)
    expected = len(trades) + int(closed.sum())
    assert expected > 1000  # dense: far more entries and exits than the chart can show apart
    page = make_page()
    report = open_report(page, h, job["id"])
    assert report["expectedMarkers"] == expected
    assert report["represented"] == expected  # every entry and exit is in some marker's count
    assert report["markers"] < expected // 3 and report["markerBucket"] > 1
    groups = pd.DataFrame(page.evaluate("window.qd.backtests.chartStats().markerGroups"))
    counts = groups.groupby("kind")["count"].sum().to_dict()
    long = trades["side"].ne("short")
    assert counts.get("long entry", 0) == int(long.sum())
    assert counts.get("long exit", 0) == int((long & closed).sum())
    assert groups["time"].is_monotonic_increasing
    note = page.text_content("#bt-price-note")
    assert f"{expected:,} entries and exits drawn as {report['markers']:,} markers" in note
    # the trade table still lists every trade
    assert page.locator("#bt-trades tbody tr").count() == len(trades)
    h.shot(page, "backtest-dense-markers")
