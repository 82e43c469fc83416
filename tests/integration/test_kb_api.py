"""The knowledge-base API for real: uvicorn on 127.0.0.1 (free port), httpx, a QD_HOME with a recorded run."""

from __future__ import annotations

import time

import httpx
import pytest
from kb_helpers import record_backtest
from test_api import Server  # the suite's uvicorn-in-a-thread helper


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from quantdesk.api import create_app
    from quantdesk.api.app import openapi_schema
    from quantdesk.api.keys import KeyStore
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.intel.kb.service import knowledge_base

    root = tmp_path_factory.mktemp("kbapi")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QD_HOME", str(root / "qdhome"))
        mp.chdir(root)
        set_settings(None)
        settings = load_settings()
        set_settings(settings)
        run_id = record_backtest(root / "runs" / "bt")
        # as `quantdesk kb ingest` does: with the API's operations, so the API's own ingest finds nothing new
        knowledge_base(settings, lambda: openapi_schema(settings)).ingest()
        keys = KeyStore(settings.home)
        rw, _ = keys.create_key("rw")
        ro, _ = keys.create_key("ro", read_only=True)
        srv = Server(create_app(settings, rate=500.0, burst=1000))
        client = httpx.Client(base_url=srv.url + "/api/v1", timeout=60)
        yield {"client": client, "rw": {"X-API-Key": rw}, "ro": {"X-API-Key": ro}, "run_id": run_id}
        client.close()
        srv.stop()
    set_settings(None)


def test_search_returns_hits_with_source_anchor_text_score(api) -> None:
    c = api["client"]
    r = c.get("/kb/search", params={"q": "what does the sortino ratio penalise", "k": 3}, headers=api["ro"])
    assert r.status_code == 200
    hits = r.json()
    assert len(hits) == 3 and hits[0]["anchor"] == "sortino-ratio"
    assert {"source", "anchor", "text", "score"} <= set(hits[0])
    r = c.get("/kb/search", params={"q": "march", "kind": ["run"]}, headers=api["ro"])
    assert r.status_code == 200 and {h["source"] for h in r.json()} == {api["run_id"]}


def test_ask_answers_with_verbatim_citations_and_the_chunk_behind_them(api) -> None:
    c = api["client"]
    r = c.post("/kb/ask", json={"question": "Why did my bot lose money in March?"}, headers=api["ro"])
    assert r.status_code == 200
    body = r.json()
    assert body["abstained"] is False and body["citations"][0]["source"] == api["run_id"]
    for cit in body["citations"]:
        chunk = c.get(f"/kb/chunks/{cit['chunk_id']}", headers=api["ro"]).json()
        assert cit["quote"] in chunk["text"] and chunk["source"] == cit["source"]
        assert f"[{cit['n']}]" in body["answer"]
    r = c.post("/kb/ask", json={"question": "How do I knit a scarf for beginners?"}, headers=api["ro"])
    assert r.json()["abstained"] is True and r.json()["citations"] == []


def test_bad_input_is_a_4xx_with_a_reason(api) -> None:
    c = api["client"]
    assert c.post("/kb/ask", json={"question": ""}, headers=api["ro"]).status_code == 422
    assert c.post("/kb/ask", json={"question": "x", "k": 0}, headers=api["ro"]).status_code == 422
    assert c.post("/kb/ask", json={"question": "x", "extra": 1}, headers=api["ro"]).status_code == 422
    r = c.post("/kb/ask", json={"question": "sortino", "llm": True}, headers=api["ro"])
    assert r.status_code == 400 and "no LLM is configured" in r.json()["detail"]
    assert c.get("/kb/search", params={"q": "x", "kind": "nope"}, headers=api["ro"]).status_code == 422
    assert c.get("/kb/chunks/0123456789abcdef0123", headers=api["ro"]).status_code == 404
    r = c.get("/kb/explain", params={"kind": "backtest", "id": "not-a-run"}, headers=api["ro"])
    assert r.status_code == 404 and "not a backtest run id" in r.json()["detail"]
    r = c.get("/kb/brief", params={"symbol": "NOPE/USD"}, headers=api["ro"])
    assert r.status_code == 404 and "NOPE/USD" in r.json()["detail"]


def test_ingest_needs_a_read_write_key_and_runs_in_the_background(api) -> None:
    c = api["client"]
    assert c.post("/kb/ingest", json={}).status_code == 401
    assert c.post("/kb/ingest", json={}, headers=api["ro"]).status_code == 403
    r = c.post("/kb/ingest", json={}, headers=api["rw"])
    assert r.status_code == 202
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        job = c.get(f"/kb/ingest/{job_id}", headers=api["ro"]).json()
        if job["status"] != "running":
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "completed", job
    assert job["result"]["added"] == 0 and job["result"]["removed"] == 0  # nothing changed since the first
    assert any("recorded backtest runs" in s for s in job["steps"])
    status = c.get("/kb/status", headers=api["ro"]).json()
    assert status["ingested"] and status["chunks"] == job["result"]["chunks"]


def test_brief_and_explain_are_cited(api) -> None:
    c = api["client"]
    doc = c.get("/kb/brief", headers=api["ro"]).json()  # the bundled sample: BTC/USDT
    assert doc["statements"] and all(s["citations"] for s in doc["statements"])
    assert doc["citations"][0]["source"].startswith("candles:")
    doc = c.get("/kb/explain", params={"kind": "backtest", "id": api["run_id"]}, headers=api["ro"]).json()
    assert any(cit["source"] == api["run_id"] for cit in doc["citations"])
