"""The Models page and the signal-tracking part of the Signals page in a real browser: a model trained from the
page's form (background job with progress), its validation and live calibration, and tracked signals with their
outcomes, reliability diagram and hit rate by confidence decile, all equal to what the API returns."""

from __future__ import annotations

import time

import pytest
from test_dashboard import goto, rows

pytestmark = pytest.mark.browser


def test_models_page_trains_and_shows_calibration(make_page, env, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "models")
    h.wait_js(page, "Array.isArray(window.qd.data?.models)")
    before = len(c.get("/ml/models").json())
    assert rows(page, "#models-table") == before
    page.fill("#ml-start", "2019-06-01")
    page.fill("#ml-label", "horizon:4")
    page.fill("#ml-folds", "3")
    page.click("#ml-train-form button[type=submit]")
    h.wait_js(page, "document.querySelector('#ml-job')?.textContent.startsWith('trained')", timeout=240)
    models = c.get("/ml/models").json()
    assert len(models) == before + 1
    h.wait_js(page, f"document.querySelectorAll('#models-table tbody tr').length === {len(models)}")
    mid = models[0]["id"]
    # tracked signals of this model: the page shows their live calibration next to the validation
    candles = c.get("/market/candles", params={"symbol": "BTC/USDT", "timeframe": "1h", "start": "2019-09-01T00:00:00Z",
                                               "limit": 400}).json()
    sigs = [{"time": k["timestamp"], "source": f"ml_signal:{mid}", "symbol": "BTC/USDT",
             "timeframe": "1h", "direction": 1 if i % 2 else -1, "price": k["close"],
             "confidence": 0.5 + (i % 5) / 10, "horizon": 4} for i, k in enumerate(candles[:300:3])]
    r = c.post("/signal-tracking/validate", json={"signals": sigs})
    assert r.status_code == 200, r.text
    page.locator("#models-table tbody tr", has_text=mid).click()
    h.wait_js(page, f"window.qd.data?.model?.id === '{mid}'")
    detail = c.get(f"/ml/models/{mid}").json()
    assert page.text_content("#model-detail [data-kpi='AUC']") == f"{detail['meta']['cv']['auc']:.3f}"
    live_bins = sum(1 for b in detail["live"]["reliability"] if b["n"])
    val_bins = sum(1 for b in detail["meta"]["cv"]["reliability"] if b["n"])
    assert page.locator("#model-reliability circle").count() == live_bins + val_bins
    assert page.locator("#model-deciles rect[data-decile]").count() == len(detail["live"]["deciles"])
    h.shot(page, "models")


def test_signals_page_shows_tracking(make_page, env, h):
    c = env["client"]
    page = make_page()
    goto(page, h, "signals")
    h.wait_js(page, "window.qd.data?.tracking?.accuracy")
    tracked = c.get("/signal-tracking/signals", params={"limit": 2000}).json()
    assert rows(page, "#tracked-table") == min(len(tracked), 2000)
    acc = c.get("/signal-tracking/accuracy").json()["overall"]
    if acc.get("resolved"):
        assert page.text_content("#tracking-kpis [data-kpi='Resolved']") == str(acc["resolved"])
        assert page.locator("#tracking-deciles rect[data-decile]").count() == len(acc["deciles"])
    time.sleep(0.2)
    h.shot(page, "signals-tracking")
