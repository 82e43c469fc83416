"""Declared responses (issue 14): every route the dashboard reads documents its response in /openapi.json (a
real object schema, not `{}`), and the server's real answers validate against it.

The routes are read from the dashboard's own JavaScript (every `api.get`, `api.maybe`, `ctx.once` and table
`path:`), so a page that starts reading a new route without a declared model fails here. The answers come from
a populated node: two paper bots (one finished, one running), a manual order, a risk halt (an alert), a
backtest, a stored anomaly scan and tracked signals; they are validated with `jsonschema` against the schema the
app serves (Draft 2020-12, OpenAPI 3.1's dialect), which is independent of the pydantic models that produced it.
"""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("fastapi")

WEB = Path(__file__).resolve().parents[2] / "src" / "quantdesk" / "web" / "static" / "js"
WINDOW = {"start": "2022-01-05T00:00:00Z", "end": "2022-01-05T06:00:00Z"}


def dashboard_get_paths() -> set[str]:
    """The API paths the dashboard GETs, with `${...}` pieces as `{}`."""
    calls = re.compile(r"""\b(?:api|ctx)\.(?:get|maybe|once)\(\s*(["`])(/[^"`]*)\1""")
    tables = re.compile(r"""\bpath:\s*"(/[^"]+)\"""")
    out: set[str] = set()
    for js in WEB.rglob("*.js"):
        text = js.read_text(encoding="utf-8")
        found = [m.group(2) for m in calls.finditer(text)] + [m.group(1) for m in tables.finditer(text)]
        for path in found:
            out.add(re.sub(r"\$\{[^}]*\}", "{}", path.split("?")[0]))
    return out


def _template(doc: dict[str, Any], path: str) -> str:
    """The schema's path template that `path` (with `{}` holes) is, e.g. /bots/{}/indicators -> /bots/{name}/..."""
    for template in doc["paths"]:
        if re.sub(r"\{[^}]+\}", "{}", template) == "/api/v1" + path:
            return template
    raise AssertionError(f"the dashboard reads {path}, which /openapi.json does not document")


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def response_schema(doc: dict[str, Any], template: str) -> dict[str, Any]:
    return doc["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def is_declared(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An object with named properties, or an array of them (not `{}`, not a bare `object`)."""
    schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        schema = _resolve(doc, schema.get("items", {}))
    return bool(schema.get("properties"))


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    root = {**copy.deepcopy(schema), "components": doc["components"]}  # "#/components/..." resolves in root
    return jsonschema.Draft202012Validator(root)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from fastapi.testclient import TestClient

    from quantdesk.api import create_app
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.monitoring.alert_config import load_alerts_settings

    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(tmp_path_factory.mktemp("responses") / "qdhome")
    set_settings(None)
    st = load_settings()
    alerts = load_alerts_settings({"rules": [{"kind": "fill"}, {"kind": "risk_halt"}]})
    st = st.model_copy(update={"alerts": alerts, "api": st.api.model_copy(update={"allowed_hosts": ["testserver"]})})
    set_settings(st)
    rw, _ = KeyStore(st.home).create_key("rw")
    app = create_app(st, rate=1e6, burst=10**6)
    with TestClient(app, headers={"X-API-Key": rw}) as c:
        _populate(c)
        yield app, c
    set_settings(None)
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old


def _wait(c: Any, path: str, done: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = c.get(path).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _populate(c: Any) -> None:
    bot = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["BTC/USDT"], "timeframe": "1m"}
    assert c.post("/api/v1/paper-trading/start", json={**bot, "name": "done", **WINDOW}).status_code == 201
    _wait(c, "/api/v1/bots/done", lambda b: b["status"] != "running")
    r = c.post("/api/v1/paper-trading/start", json={**bot, "name": "live", "speed": 100,
                                                     "start": "2022-01-06T00:00:00Z", "end": "2022-01-07T00:00:00Z"})
    assert r.status_code == 201, r.text
    _wait(c, "/api/v1/bots/live", lambda b: b["cursor"] and b["cursor"] > 30)
    r = c.post("/api/v1/orders", json={"bot": "live", "side": "buy", "type": "limit", "price": 1000, "quantity": 0.01})
    assert r.status_code == 201, r.text
    assert c.post("/api/v1/paper-trading/trade", json={"bot": "live", "side": "buy", "notional": 100}).status_code == 201
    _wait(c, "/api/v1/positions?bot=live", lambda rows: rows and rows[0]["quantity"] != "0")
    assert c.post("/api/v1/risk/halt", json={"bot": "live", "reason": "test"}).status_code == 200
    r = c.post("/api/v1/backtests", json={"strategy": "sma_cross", "symbol": "BTC/USDT", "timeframe": "1h",
                                          "start": "2019-01-01", "end": "2019-03-01"})
    assert r.status_code == 202, r.text
    _wait(c, f"/api/v1/backtests/{r.json()['id']}", lambda b: b["status"] != "running")
    r = c.post("/api/v1/anomalies/detect", json={"symbol": "BTC/USDT", "timeframe": "1h", "start": "2019-01-01",
                                                 "end": "2019-03-01"})
    assert r.status_code == 202, r.text
    _wait(c, f"/api/v1/anomalies/jobs/{r.json()['id']}", lambda b: b["status"] != "running")
    signals = [{"time": f"2019-01-{d:02d}T00:00:00Z", "source": "test", "symbol": "BTC/USDT", "timeframe": "1h",
                "direction": 1 if d % 2 else -1, "price": 3800.0, "confidence": 0.6} for d in range(2, 8)]
    assert c.post("/api/v1/signal-tracking/validate", json={"signals": signals}).status_code == 200


# What the test GETs for each dashboard path (params of a real page), and whether the answer must be non-empty.
READS: dict[str, tuple[dict[str, Any], bool]] = {
    "/bots/{}/indicators": ({"limit": 20}, True),
    "/paper-trading/status": ({}, True),
    "/paper-trading/account": ({"bot": "live"}, True),
    "/paper-trading/performance": ({"bot": "live"}, True),
    "/paper-trading/profit": ({"bot": "done"}, True),
    "/paper-trading/trades": ({"bot": "live"}, True),
    "/positions": ({"bot": "live"}, True),
    "/orders": ({"bot": "live"}, True),
    "/fills": ({"bot": "live"}, True),
    "/signals": ({"bot": "live"}, True),
    "/strategies": ({}, True),
    "/live": ({}, False),  # no live bot here: tests/integration/test_live_api.py validates a real one
    "/alerts": ({"limit": 50}, True),
    "/market/candles": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 50}, True),
    "/market/symbols": ({}, True),
    "/indicators": ({}, True),
    "/indicators/{}": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 50}, True),
    "/backtests": ({"limit": 50}, True),
    "/backtests/{}": ({}, True),
    "/risk/limits": ({}, True),
    "/risk/state": ({}, True),
    "/risk/var": ({"symbols": "ETH/BTC,LTC/BTC", "timeframe": "5m", "alpha": 0.95}, True),
    "/risk/correlation": ({"symbols": "ETH/BTC,LTC/BTC", "timeframe": "5m"}, True),
    "/risk/stress": ({"symbols": "ETH/BTC,LTC/BTC", "timeframe": "5m", "value": 10000}, True),
    "/auth/whoami": ({}, True),
    "/regimes": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 50}, True),
    "/anomalies": ({"limit": 2000}, True),
    "/anomalies/scan": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 500}, True),
    "/anomalies/watch": ({}, False),
    "/anomalies/jobs/{}": ({}, True),
    "/ml/models": ({"limit": 200}, False),
    "/sentiment": ({"symbol": "BTC/USDT", "limit": 0}, True),
    "/sentiment/news": ({"limit": 20}, False),
    "/sentiment/series": ({"symbol": "BTC/USDT", "start": "2024-01-01", "end": "2024-01-02"}, True),
    "/signal-tracking/signals": ({"limit": 2000}, True),
    "/signal-tracking/accuracy": ({}, True),
    "/training/status": ({}, True),
    "/training/ladder": ({"avg_price": 100, "quantity": 1, "stages": 3}, True),
    "/training/levels": ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 50}, True),
    "/kb/status": ({}, True),
    "/kb/brief": ({}, True),
}
# Read by the dashboard, answered 404 on this node (nothing of theirs exists without a trained model or an
# ingested knowledge base, which take minutes): their schema is checked, not a live answer.
NOT_LIVE = {"/ml/models/{}", "/ml/jobs/{}", "/kb/search", "/kb/chunks/{}", "/kb/ingest/{}"}


def _concrete(c: Any, path: str) -> str:
    """A real resource for each `{}` of a dashboard path."""
    if path == "/bots/{}/indicators":
        return "/bots/live/indicators"
    if path == "/indicators/{}":
        return "/indicators/macd"
    if path == "/backtests/{}":
        return f"/backtests/{c.get('/api/v1/backtests').json()[0]['id']}"
    if path == "/anomalies/jobs/{}":
        # the job of the fixture's detection: its id is the only one this node knows
        from quantdesk.api.routes.anomalies import _state

        app = c.app
        jobs = _state(app.state.service).jobs
        return f"/anomalies/jobs/{next(iter(jobs))}"
    return path


def test_every_dashboard_read_has_a_declared_response_schema(node) -> None:
    app, _ = node
    doc = app.openapi()
    paths = dashboard_get_paths()
    assert {"/bots/{}/indicators", "/paper-trading/status", "/backtests/{}", "/orders"} <= paths  # the parser works
    undeclared = [p for p in sorted(paths) if not is_declared(doc, response_schema(doc, _template(doc, p)))]
    assert undeclared == []
    assert paths - {"/health"} <= set(READS) | NOT_LIVE, "a dashboard read this test does not exercise"
    # the check has teeth: a free-form object is not a declaration
    assert not is_declared(doc, {"type": "object", "additionalProperties": True})
    assert not is_declared(doc, {"type": "array", "items": {"type": "object"}})


@pytest.mark.parametrize("path", sorted(READS))
def test_real_answers_validate_against_the_declared_schema(node, path) -> None:
    app, c = node
    doc = app.openapi()
    params, non_empty = READS[path]
    r = c.get("/api/v1" + _concrete(c, path), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["x-api-version"] == doc["info"]["version"]
    body = r.json()
    if non_empty:
        assert body, f"{path}: an empty answer would validate anything"
    errors = sorted(validator(doc, response_schema(doc, _template(doc, path))).iter_errors(body), key=str)
    assert errors == [], [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def test_a_wrong_answer_fails_the_schema(node) -> None:
    """Independent control: the same validation refuses a bot row whose money is a float and an order without
    its status, so a pass above means the answers have the declared types."""
    app, c = node
    doc = app.openapi()
    bots = c.get("/api/v1/bots").json()
    check = validator(doc, response_schema(doc, "/api/v1/bots"))
    assert check.is_valid(bots)
    assert not check.is_valid([{**bots[0], "cash": float(bots[0]["cash"])}])
    orders = c.get("/api/v1/orders", params={"bot": "live"}).json()
    check = validator(doc, response_schema(doc, "/api/v1/orders"))
    assert check.is_valid(orders)
    assert not check.is_valid([{k: v for k, v in orders[0].items() if k != "status"}])


def test_api_version_on_every_answer_and_its_route(node) -> None:
    from quantdesk import __version__
    from quantdesk.api.version import API_VERSION

    app, c = node
    doc = app.openapi()
    assert doc["info"]["version"] == API_VERSION and doc["info"]["x-app-version"] == __version__
    r = c.get("/api/v1/version")
    assert r.status_code == 200 and r.json() == {"api_version": API_VERSION, "app_version": __version__}
    for resp in (r, c.get("/api/v1/bots/nobody"), c.get("/api/v1/bots", headers={"X-API-Key": "wrong"}),
                 c.delete("/api/v1/bots"), c.get("/health")):
        assert resp.headers.get("x-api-version") == API_VERSION, (resp.request.url, resp.status_code)
    assert {r.status_code for r in (c.get("/api/v1/bots/nobody"), c.delete("/api/v1/bots"))} == {404, 405}
    # the schema says so on every response of every operation
    for ops in doc["paths"].values():
        for op in ops.values():
            for resp in op["responses"].values():
                assert "X-API-Version" in resp.get("headers", {})
