"""The dashboard in a real browser: the real app (uvicorn on 127.0.0.1, a free port, background thread, QD_HOME = a
temporary directory, the suite's database / Redis switch respected) driven by Playwright on Debian's Chromium
(headless, no network). Every page a test opens blocks and records any request that is not to 127.0.0.1, and
collects console errors, page errors and 429 / 5xx responses: the `page` fixture fails the test on any of them.

Chromium: /usr/bin/chromium (or `chromium` / `chromium-browser` on PATH, or QD_CHROMIUM). Without it, or without the
playwright package, the tests are skipped, unless QD_REQUIRE_SERVICES=1 (CI), where they fail.
Screenshots: test-artifacts/screenshots/<name>.png at the repository root.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from tests.integration.test_api import Server  # the suite's uvicorn-in-a-thread helper

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only"]
# the server's own defaults (QD_API_RATE / QD_API_BURST): the dashboard must live within them
RATE, BURST = 20.0, 40


def _missing(reason: str) -> None:
    if os.environ.get("QD_REQUIRE_SERVICES", "") == "1":
        pytest.fail(f"{reason} and QD_REQUIRE_SERVICES=1")
    pytest.skip(f"{reason} (set QD_REQUIRE_SERVICES=1 to make this a failure)")


def chromium_path() -> str | None:
    env = os.environ.get("QD_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install 'playwright>=1.40')")
    exe = chromium_path()
    if exe is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app at the default rate limit: key `dash` for the browser, `rw` for the test's own API calls
    (the limit is per key), a read-only key, and two bots: `static-bot` (replayed to its end at once: data that
    does not move) and `risk-bot` (slow, risk limits on: for halt / resume)."""
    import httpx

    from quantdesk.core.config import load_settings, set_settings

    home = tmp_path_factory.mktemp("web") / "qdhome"
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)  # database and Redis: the module's (QD_TEST_DATABASE, QD_TEST_REDIS)
    set_settings(None)
    settings = load_settings()
    set_settings(settings)
    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore

    ks = KeyStore(settings.home)
    dash, _ = ks.create_key("dash")
    rw, _ = ks.create_key("rw")
    ro, _ = ks.create_key("ro", read_only=True)
    app = create_app(settings, rate=RATE, burst=BURST)
    srv = Server(app)
    client = httpx.Client(base_url=srv.url + "/api/v1", headers={"X-API-Key": rw}, timeout=60)
    r = client.post("/paper-trading/start", json={
        "name": "static-bot", "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "symbols": ["BTC/USDT"],
        "timeframe": "1m", "speed": "max", "start": "2022-01-05T00:00:00Z", "end": "2022-01-05T04:00:00Z",
        "risk": False})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 60
    while client.get("/bots/static-bot").json()["status"] == "running":
        assert time.monotonic() < deadline, "static-bot did not finish"
        time.sleep(0.2)
    r = client.post("/paper-trading/start", json={
        "name": "risk-bot", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"],
        "timeframe": "1m", "speed": 30, "start": "2022-01-10T00:00:00Z", "end": "2022-01-10T12:00:00Z",
        "risk": True})
    assert r.status_code == 201, r.text
    yield {"url": srv.url, "client": client, "dash": dash, "rw": rw, "ro": ro, "app": app, "settings": settings}
    for b in client.get("/paper-trading/status").json()["running"]:
        if b["status"] in ("running", "paused"):
            client.post("/paper-trading/stop", json={"bot": b["bot"]})
    client.close()
    srv.stop()
    set_settings(None)
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old


class Watch:
    """What a page did that it must not: external requests, console errors, page errors, 429 / 5xx."""

    def __init__(self) -> None:
        self.external: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.bad_status: list[str] = []
        self.expected_status: set[int] = set()

    def problems(self) -> list[str]:
        out = [f"external request: {u}" for u in self.external]
        out += [f"console error: {c}" for c in self.console]
        out += [f"page error: {e}" for e in self.errors]
        out += [f"HTTP {s}" for s in self.bad_status]
        return out


@pytest.fixture()
def watch() -> Watch:
    return Watch()


@pytest.fixture()
def make_page(browser: Any, env: dict[str, Any], watch: Watch) -> Iterator[Any]:
    """make_page(viewport=(w, h), login=True): a fresh context (empty localStorage); login = open /#key=<dash key>."""
    contexts = []

    def make(viewport: tuple[int, int] = (1440, 900), login: bool = True, path: str = "") -> Any:
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True,
                                  device_scale_factor=1)
        contexts.append(ctx)

        def guard(route: Any) -> None:
            host = urlparse(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1",):
                route.continue_()
            else:
                watch.external.append(route.request.url)
                route.abort()

        ctx.route("**/*", guard)
        page = ctx.new_page()
        page.set_default_timeout(15000)

        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            text = msg.text
            # the browser logs every non-2xx fetch; the statuses a test provokes on purpose are checked by it
            if text.startswith("Failed to load resource: the server responded with a status of 4"):
                return
            watch.console.append(text)

        def on_response(resp: Any) -> None:
            if resp.status == 429 or resp.status >= 500:
                watch.bad_status.append(f"{resp.status} {resp.request.method} {resp.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: watch.errors.append(f"{exc}\n{getattr(exc, 'stack', '') or ''}"))
        page.on("response", on_response)
        if login:
            page.goto(f"{env['url']}/{path}#key={env['dash']}")
            wait_js(page, "window.qd && window.qd.ready && window.qd.page")
        return page

    yield make
    for c in contexts:
        c.close()
    problems = watch.problems()
    assert not problems, "\n".join(problems)


def wait_js(page: Any, expr: str, timeout: float = 15.0, message: str | None = None) -> Any:
    """Poll a JS expression until truthy (page.wait_for_function evaluates strings, which the page's CSP refuses)."""
    deadline = time.monotonic() + timeout
    js = f"() => {{ try {{ return ({expr}) || null; }} catch (e) {{ return null; }} }}"
    while True:
        value = page.evaluate(js)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"timed out waiting for: {expr}")
        time.sleep(0.1)


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    if full_page:
        page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture()
def h() -> Any:
    """Helpers for the tests: h.wait_js(page, expr), h.shot(page, name)."""
    from types import SimpleNamespace

    return SimpleNamespace(wait_js=wait_js, shot=shot)
