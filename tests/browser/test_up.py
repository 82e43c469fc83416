"""The newcomer's path, end to end: `quantdesk up` (what `make run` runs) on embedded defaults, its printed
dashboard link opened in Chromium, and the Overview showing the demo bot trading the bundled data in replay: its
fills arrive, the equity curve grows, the Live trading chart carries the fill markers. No request leaves 127.0.0.1."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from tests.acceptance.test_platform import Platform, _free_port
from tests.browser.conftest import shot, wait_js

pytestmark = pytest.mark.browser


def _until(fn, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return value


def test_quantdesk_up_link_shows_the_demo_bot_trading(browser: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_") or k in ("QD_DATABASE__URL",
                                                                                  "QD_REDIS__URL",
                                                                                  "QD_REDIS__PREFIX")}
    env.update(QD_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    platform = Platform(env, _free_port())
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    external: list[str] = []
    errors: list[str] = []
    try:
        def guard(route: Any) -> None:
            if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        ctx.route("**/*", guard)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(platform.info["dashboard"])  # http://127.0.0.1:PORT/#key=<session key>
        wait_js(page, "window.qd && window.qd.ready && window.qd.page === 'overview'")
        assert "key=" not in page.url  # the key left the address bar
        assert page.evaluate("document.getElementById('bot-picker').value") == "demo-sma"

        c = platform.client
        fills = _until(lambda: c.get("/fills", params={"bot": "demo-sma"}).json(), "a fill of the demo bot")
        wait_js(page, "window.qd.data?.overview?.perf?.bot === 'demo-sma'"
                      " && window.qd.charts.overview.equity.stats().points[0] > 5", timeout=30,
                message="the Overview equity curve of demo-sma did not fill")
        perf = c.get("/paper-trading/performance", params={"bot": "demo-sma"}).json()
        assert perf["equity_curve"]
        shot(page, "up-overview")

        page.evaluate("location.hash = '#/bots'")
        wait_js(page, "window.qd.page === 'bots' && window.qd.charts.bots.stats()?.bot === 'demo-sma'")
        wait_js(page, "window.qd.charts.bots.stats().fillMarkers >= 1", timeout=30,
                message="no fill of the demo bot on the Live trading chart")
        assert page.evaluate("window.qd.charts.bots.stats().fillMarkers") <= len(
            c.get("/fills", params={"bot": "demo-sma"}).json())
        assert len(fills) >= 1
        shot(page, "up-bots")
        assert external == [] and errors == [], (external, errors)
    finally:
        ctx.close()
        err = platform.stop()
        assert platform.key not in err  # the session key is printed on stdout only, never logged
