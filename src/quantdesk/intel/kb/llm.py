"""Optional LLM answers through any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, ...),
checked by a verifier before anyone reads them.

The model gets the numbered passages and must end every sentence with the [n] of the passage that supports it.
The verifier keeps a sentence only when every passage it cites exists and supports it: most of the sentence's
content terms occur in the cited passages, and every number it states appears there too. Unsupported sentences
(hallucinated facts, invented citation numbers, uncited claims) are dropped; when nothing survives, or the endpoint
fails, the extractive answer is returned instead. The API key comes from the settings (environment) and is sent
only in the Authorization header: it is never logged, returned or put in an error message.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from quantdesk.core.logging import get_logger
from quantdesk.intel.kb.answer import Answer, Citation, coverage
from quantdesk.intel.kb.index import Index, Ranked
from quantdesk.intel.kb.text import numbers, sentence_spans, tokenize

log = get_logger(__name__)
SUPPORT_MIN = 0.6  # share of a sentence's (idf-weighted) content terms that its cited passages must contain
_CITE = re.compile(r"\[(\d{1,3})\]")
SYSTEM_PROMPT = (
    "You answer questions about trading and the QuantDesk platform using ONLY the numbered sources given. "
    "End every sentence with the citation of the source that supports it, like [1] or [2][3]. Do not state "
    "anything the sources do not say; if they do not answer the question, reply exactly: I don't know. "
    "Keep the answer under 120 words.")


def build_messages(question: str, passages: list[tuple[int, str, str]]) -> list[dict[str, str]]:
    """[(n, 'source#anchor', text)] -> chat messages."""
    blocks = "\n\n".join(f"[{n}] ({where})\n{text}" for n, where, text in passages)
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Sources:\n\n{blocks}\n\nQuestion: {question}"}]


def chat(cfg: Any, messages: list[dict[str, str]]) -> str:
    """One chat completion; raises LlmError (without the key or the response body) on any failure."""
    url = str(cfg.url).rstrip("/")
    if not url.endswith("/chat/completions"):
        url += "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if cfg.api_key is not None:
        headers["Authorization"] = f"Bearer {cfg.api_key.get_secret_value()}"
    body = {"model": cfg.model, "messages": messages, "temperature": 0, "max_tokens": cfg.max_tokens,
            "stream": False}
    try:
        resp = httpx.post(url, json=body, headers=headers, timeout=cfg.timeout_s)
    except httpx.HTTPError as exc:
        raise LlmError(f"LLM endpoint unreachable ({type(exc).__name__})") from None
    if resp.status_code != 200:
        raise LlmError(f"LLM endpoint answered HTTP {resp.status_code}")
    try:
        return str(resp.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmError("LLM endpoint answered something that is not a chat completion") from None


class LlmError(Exception):
    """The LLM could not be used (the answer falls back to extractive)."""


def verify(index: Index, text: str, passages: dict[int, int]) -> tuple[list[tuple[str, list[int]]], list[str]]:
    """Split the model's text into sentences; keep (sentence without citations, cited numbers) for each supported
    one; return the kept ones and the reasons for the dropped ones."""
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    text = re.sub(r"([.!?])\s*((?:\[\d{1,3}\]\s*)+)", lambda m: f" {m.group(2).strip()}{m.group(1)} ", text)
    for s, e in sentence_spans(text):
        raw = text[s:e]
        cites = [int(n) for n in _CITE.findall(raw)]
        sentence = _CITE.sub("", raw).strip()
        sentence = re.sub(r"\s+([.,;:!?])", r"\1", sentence)
        if not sentence or sentence.lower().startswith("i don't know"):
            continue
        if not cites:
            dropped.append(f"no citation: {sentence[:80]!r}")
            continue
        unknown = [n for n in cites if n not in passages]
        if unknown:
            dropped.append(f"cites a source that was not given {unknown}: {sentence[:80]!r}")
            continue
        cited = " ".join(index.chunks[passages[n]].body for n in cites)
        terms = tokenize(sentence)
        weights = {t: index.idf(t) for t in dict.fromkeys(terms)}
        support = coverage(weights, set(tokenize(cited))) if weights else 0.0
        missing_numbers = numbers(sentence) - numbers(cited) - {str(n) for n in cites}
        if support < SUPPORT_MIN or missing_numbers:
            why = f"numbers {sorted(missing_numbers)} not in the source" if missing_numbers else \
                f"support {support:.2f} < {SUPPORT_MIN}"
            dropped.append(f"unsupported by [{','.join(map(str, cites))}] ({why}): {sentence[:80]!r}")
            continue
        kept.append((sentence, cites))
    return kept, dropped


def _quote(index: Index, pos: int, sentence: str) -> str:
    """The passage's sentence closest to the model's sentence (verbatim from the passage)."""
    chunk = index.chunks[pos]
    weights = {t: index.idf(t) for t in dict.fromkeys(tokenize(sentence))}
    best, best_score = chunk.text[:200], -1.0
    for s, e in sentence_spans(chunk.text):
        score = coverage(weights, set(tokenize(chunk.text[s:e])))
        if score > best_score:
            best, best_score = chunk.text[s:e], score
    return best


def llm_answer(index: Index, question: str, hits: list[Ranked], cfg: Any, *, fallback: Answer) -> Answer:
    """The LLM's verified answer, or `fallback` (extractive) with a note saying why."""
    passages = {n: h.pos for n, h in enumerate(hits, start=1)}
    msgs = build_messages(question, [(n, f"{index.chunks[p].source}#{index.chunks[p].anchor}", index.chunks[p].text)
                                     for n, p in passages.items()])
    try:
        text = chat(cfg, msgs)
    except LlmError as exc:
        log.warning("%s; answering extractively", exc)
        fallback.notes.append(f"{exc}; extractive answer")
        return fallback
    kept, dropped = verify(index, text, passages)
    if not kept:
        fallback.notes.append(f"the LLM answer had no supported sentence ({len(dropped)} dropped); extractive "
                              "answer")
        fallback.notes += dropped
        return fallback
    renumber: dict[int, int] = {}
    citations: list[Citation] = []
    parts = []
    for sentence, cites in kept:
        refs = []
        for n in cites:
            if n not in renumber:
                renumber[n] = len(renumber) + 1
                pos = passages[n]
                c = index.chunks[pos]
                citations.append(Citation(renumber[n], c.id, c.source, c.anchor, c.title, c.kind,
                                          _quote(index, pos, sentence)))
            refs.append(f"[{renumber[n]}]")
        parts.append(f"{sentence} {''.join(refs)}")
    return Answer(question, " ".join(parts), citations, False, fallback.confidence, mode="llm",
                  related=fallback.related, notes=[f"dropped {len(dropped)} unsupported sentence(s)", *dropped]
                  if dropped else [])
