"""LLM answers against a local fake OpenAI-compatible server (real HTTP on 127.0.0.1) that also hallucinates:
unsupported sentences and invented citations are dropped, an answer with nothing left falls back to extractive,
and the API key goes only into the Authorization header (never into answers, logs or CLI output)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

KEY = "sk-test-SECRET-4242"
NOTES = """# Ratios

## Sortino ratio

The Sortino ratio divides the mean return by the downside deviation of returns. It penalises only harmful
volatility, unlike the Sharpe ratio.

## Sharpe ratio

The Sharpe ratio divides the mean excess return by the standard deviation of all returns.

## Funding

Perpetual futures pay a funding rate every eight hours between longs and shorts.
"""


class FakeLLM:
    """Chat completions: `mode` decides the reply; every request is recorded (headers and body)."""

    def __init__(self) -> None:
        self.mode = "mixed"
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if fake.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b'{"error": "boom ' + KEY.encode() + b'"}')
                    return
                content = fake.reply(body["messages"][-1]["content"])
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, prompt: str) -> str:
        passages = dict(re.findall(r"^\[(\d+)\] \(([^)]*)\)$", prompt, flags=re.M))
        sortino = next(n for n, where in passages.items() if where.endswith("#sortino-ratio"))
        n_max = max(int(n) for n in passages)
        hallucinated = [f"The Sortino ratio was invented in 2031 and beats the market 97.3% of the time [{sortino}].",
                        f"It also predicts funding rates on every exchange [{n_max + 3}].",
                        "Many traders love it and use it daily."]
        if self.mode == "all_bad":
            return " ".join(hallucinated)
        supported = (f"The Sortino ratio divides the mean return by the downside deviation of returns "
                     f"[{sortino}]. It penalises only harmful volatility, unlike the Sharpe ratio [{sortino}].")
        return supported + " " + " ".join(hallucinated)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from quantdesk.core.config import load_settings, set_settings
    from quantdesk.intel.kb.service import KnowledgeBase

    root = tmp_path_factory.mktemp("kbllm")
    (root / "notes").mkdir()
    (root / "notes" / "ratios.md").write_text(NOTES)
    fake = FakeLLM()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QD_HOME", str(root / "qdhome"))
        mp.setenv("QD_KB__LLM__URL", fake.url)
        mp.setenv("QD_KB__LLM__API_KEY", KEY)
        mp.setenv("QD_KB__LLM__MODEL", "fake-model")
        set_settings(None)
        settings = load_settings()
        set_settings(settings)
        kb = KnowledgeBase(settings)
        kb.ingest([root / "notes"])
        yield kb, fake, root
        fake.close()
    set_settings(None)


QUESTION = "What does the Sortino ratio divide the mean return by?"


def test_verifier_keeps_supported_sentences_and_drops_hallucinations(setup, caplog) -> None:
    kb, fake, _ = setup
    fake.mode = "mixed"
    caplog.set_level(logging.DEBUG)
    out = kb.ask(QUESTION)  # an LLM is configured: used by default
    assert out["mode"] == "llm" and not out["abstained"]
    assert out["answer"].startswith("The Sortino ratio divides the mean return by the downside deviation")
    assert "2031" not in out["answer"] and "funding" not in out["answer"] and "love" not in out["answer"]
    assert out["answer"].count("[1]") == 2 and len(out["citations"]) == 1
    cit = out["citations"][0]
    assert cit["anchor"] == "sortino-ratio" and cit["quote"] in kb.chunk(cit["chunk_id"])["text"]
    assert len([n for n in out["notes"] if n.startswith(("unsupported", "cites a source", "no citation"))]) == 3
    req = fake.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == f"Bearer {KEY}"
    assert req["body"]["model"] == "fake-model" and req["body"]["temperature"] == 0
    assert "end every sentence with the citation" in req["body"]["messages"][0]["content"].lower()
    assert KEY not in json.dumps(out) and KEY not in caplog.text


def test_nothing_supported_falls_back_to_extractive(setup) -> None:
    kb, fake, _ = setup
    fake.mode = "all_bad"
    out = kb.ask(QUESTION)
    assert out["mode"] == "extractive" and not out["abstained"]
    assert "2031" not in out["answer"] and "downside deviation" in out["answer"]
    assert any("no supported sentence" in n for n in out["notes"])


def test_endpoint_errors_fall_back_without_leaking_the_key(setup, caplog) -> None:
    kb, fake, _ = setup
    fake.mode = "error"
    caplog.set_level(logging.DEBUG)
    out = kb.ask(QUESTION)
    assert out["mode"] == "extractive" and any("HTTP 500" in n for n in out["notes"])
    assert KEY not in json.dumps(out) and KEY not in caplog.text


def test_no_llm_flag_and_abstention_skip_the_endpoint(setup) -> None:
    kb, fake, _ = setup
    fake.mode = "mixed"
    before = len(fake.requests)
    assert kb.ask(QUESTION, use_llm=False)["mode"] == "extractive"
    assert kb.ask("How do I bake sourdough bread at home?")["abstained"] is True
    assert len(fake.requests) == before


def test_cli_ask_with_llm_never_prints_the_key(setup) -> None:
    _, fake, root = setup
    fake.mode = "mixed"
    env = {**os.environ, "QD_HOME": str(root / "qdhome"), "QD_KB__LLM__URL": fake.url, "QD_KB__LLM__API_KEY": KEY}
    proc = subprocess.run([sys.executable, "-m", "quantdesk", "-v", "--json", "kb", "ask", QUESTION, "--llm"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["mode"] == "llm" and doc["citations"][0]["anchor"] == "sortino-ratio"
    assert KEY not in proc.stdout and KEY not in proc.stderr
    shown = subprocess.run([sys.executable, "-m", "quantdesk", "--json", "config", "show"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert KEY not in shown.stdout and KEY not in shown.stderr
    assert json.loads(shown.stdout)["kb"]["llm"]["api_key"] == "***"  # config show masks every secret as ***
    assert Path(root / "qdhome" / "kb" / "CURRENT").is_file()


def test_unreachable_endpoint_falls_back(setup) -> None:
    import socket

    from quantdesk.intel.kb.config import LlmSettings
    from quantdesk.intel.kb.llm import llm_answer

    kb, _, _ = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    index = kb.index()
    hits = index.search(QUESTION, 5)
    fallback = kb.answer_object(QUESTION)
    out = llm_answer(index, QUESTION, hits, LlmSettings(url=f"http://127.0.0.1:{port}/v1", timeout_s=5),
                     fallback=fallback)
    assert out.mode == "extractive" and any("unreachable" in n for n in out.notes)
