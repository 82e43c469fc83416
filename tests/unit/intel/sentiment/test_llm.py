"""The optional LLM scorer against a local fake OpenAI-compatible server: good, fenced, malformed, out of range,
HTTP errors, timeouts, the fallback, and the key: sent in the header, never in an error or a log line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sent_helpers import FakeServer

from quantdesk.intel.sentiment.llm import LLMScorer, LLMSettings, ScorerError, parse_score

KEY = "sk-test-SECRET-0123456789"


def completion(content: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",
                                                                                         "content": content}}]}


def scorer(fake: FakeServer, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> LLMScorer:
    monkeypatch.setenv("QD_TEST_LLM_KEY", KEY)
    cfg = {"base_url": fake.base + "/v1", "model": "tiny", "api_key_env": "QD_TEST_LLM_KEY", "timeout_s": 2.0}
    cfg.update(kw)
    return LLMScorer(LLMSettings(**cfg))


def test_scores_and_sends_an_openai_request(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(req: dict[str, Any]) -> bytes:  # a model that reads the text: bearish words -> -0.8
        text = req["json"]["messages"][-1]["content"]
        return json.dumps(completion(json.dumps({"score": -0.8 if "crash" in text else 0.6}))).encode()

    fake_server.route("/v1/chat/completions", answer)
    s = scorer(fake_server, monkeypatch)
    assert s.score_many(["Bitcoin will crash", "Bitcoin adoption grows"]) == [-0.8, 0.6]
    req = fake_server.hits("/v1/chat/completions")[0]
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["json"]
    assert body["model"] == "tiny" and body["temperature"] == 0
    assert body["messages"][0]["role"] == "system" and body["messages"][1]["content"] == "Bitcoin will crash"


@pytest.mark.parametrize(("content", "want"), [
    ('{"score": 0.25}', 0.25),
    ('Sure! ```json\n{"score": -1}\n```', -1.0),
    ('{"score": "0.5", "why": "ok"}', 0.5),
])
def test_parse_score(content: str, want: float) -> None:
    assert parse_score(content) == want


@pytest.mark.parametrize(("content", "msg"), [
    ("positive", "no JSON object"),
    ('{"sentiment": 1}', 'no numeric "score"'),
    ('{"score": 3}', "outside"),
    ('{"score": NaN}', "outside|numeric"),
])
def test_malformed_answers_raise(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, content: str, msg: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    fake_server.route("/v1/chat/completions", completion(content))
    s = scorer(fake_server, monkeypatch)
    with caplog.at_level(logging.DEBUG), pytest.raises(ScorerError, match=msg) as err:
        s.score("Bitcoin")
    assert KEY not in str(err.value) and KEY not in caplog.text


@pytest.mark.parametrize(("route", "msg"), [
    ({"body": {"error": "boom"}, "statuses": [500]}, "HTTP 500"),
    ({"body": {"error": "no"}, "statuses": [401]}, "HTTP 401"),
    ({"body": b"<html>not json</html>", "content_type": "text/html"}, "not an OpenAI chat completion"),
    ({"body": {"choices": []}}, "not an OpenAI chat completion"),
])
def test_http_errors_raise_without_the_key(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
                                           route: dict[str, Any], msg: str) -> None:
    fake_server.route("/v1/chat/completions", **route)
    with pytest.raises(ScorerError, match=msg) as err:
        scorer(fake_server, monkeypatch).score("x")
    assert KEY not in str(err.value) and fake_server.base in str(err.value)


def test_timeout(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_server.route("/v1/chat/completions", completion('{"score": 0.1}'), delay_s=1.5)
    with pytest.raises(ScorerError, match="no answer within 0.3s"):
        scorer(fake_server, monkeypatch, timeout_s=0.3).score("x")


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    s = LLMScorer({"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "api_key_env": None})
    with pytest.raises(ScorerError, match="ConnectError"):
        s.score("x")


def test_fallback_to_the_lexicon(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture) -> None:
    fake_server.route("/v1/chat/completions", completion("no idea"))
    s = scorer(fake_server, monkeypatch, fallback=True)
    from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer

    text = "Bitcoin surges to record high"
    with caplog.at_level(logging.WARNING):
        assert s.score(text) == CryptoLexiconScorer().score(text)
    assert s.fallbacks == 1 and "crypto lexicon instead" in caplog.text and KEY not in caplog.text


def test_no_key_sends_no_authorization(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_server.route("/v1/chat/completions", completion('{"score": 0}'))
    monkeypatch.delenv("QD_NO_SUCH_KEY", raising=False)
    s = LLMScorer({"base_url": fake_server.base + "/v1", "model": "m", "api_key_env": "QD_NO_SUCH_KEY"})
    assert s.score("x") == 0.0
    assert "Authorization" not in fake_server.hits("/v1/chat/completions")[0]["headers"]
