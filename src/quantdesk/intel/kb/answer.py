"""Extractive answers: the best sentences of the best passages, quoted verbatim, each followed by `[n]` (n ->
source and anchor); or "I don't know" when the evidence is weak.

Evidence is the idf-weighted share of the question's terms that the best passage contains (a term the corpus
never uses weighs three times its idf, so an off-topic question scores near 0). The abstention threshold `ABSTAIN_BELOW` was
calibrated on the committed question set (tests/data/kb/questions.jsonl, see benchmarks/bench_kb.py
--calibrate): it maximises the abstention F1 there; `[kb] abstain_below` overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quantdesk.intel.kb.chunks import Chunk
from quantdesk.intel.kb.index import Index, Ranked
from quantdesk.intel.kb.text import code_spans, sentence_spans, tokenize

ABSTAIN_BELOW = 0.198
UNSEEN_WEIGHT = 3.0  # 1, 1.5, 2 and 3 compared on the question set: 3 separates best (bench_kb.py)
MAX_SENTENCES = 3
MIN_QUOTE_CHARS = 25
_LIST_MARK = ("- ", "* ", "+ ", "> ")


@dataclass(slots=True)
class Citation:
    n: int
    chunk_id: str
    source: str
    anchor: str
    title: str
    kind: str
    quote: str

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "source": self.source, "anchor": self.anchor, "quote": self.quote,
                "title": self.title, "kind": self.kind, "chunk_id": self.chunk_id}


@dataclass(slots=True)
class Answer:
    question: str
    answer: str
    citations: list[Citation]
    abstained: bool
    confidence: float
    mode: str = "extractive"
    related: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer,
                "citations": [c.as_dict() for c in self.citations], "abstained": self.abstained,
                "confidence": round(self.confidence, 4), "mode": self.mode, "related": self.related,
                "notes": self.notes}


def _weights(index: Index, terms: list[str]) -> dict[str, float]:
    """Idf per question term; a term the corpus never uses counts UNSEEN_WEIGHT times (it says what the question
    is about, and nothing here is about it)."""
    return {t: index.idf(t) * (1.0 if t in index.df else UNSEEN_WEIGHT) for t in dict.fromkeys(terms)}


def _matches(term: str, terms: set[str] | frozenset[str]) -> bool:
    """Exact, or the same word under another ending the light stemmer missed ('distribut' ~ 'distribution')."""
    if term in terms:
        return True
    if len(term) < 5 or not term.isalpha():
        return False
    return any(len(u) >= 5 and (u.startswith(term) or term.startswith(u)) for u in terms)


def coverage(weights: dict[str, float], terms: set[str] | frozenset[str]) -> float:
    """Idf-weighted share of the question's terms found in `terms` (0..1)."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if _matches(t, terms)) / total if total > 0 else 0.0


def evidence(index: Index, question: str, hits: list[Ranked], top: int = 5) -> float:
    """How well the best of the top passages covers the question (the abstention score)."""
    weights = _weights(index, tokenize(question))
    best = 0.0
    for hit in hits[:top]:
        best = max(best, coverage(weights, index.terms(hit.pos)))
    return best


@dataclass(slots=True)
class _Sentence:
    rank: int
    start: int
    quote: str
    score: float
    chunk: Chunk


def _quote_span(text: str, start: int, end: int) -> tuple[int, str]:
    quote = text[start:end]
    for mark in _LIST_MARK:
        if quote.startswith(mark):
            return start + len(mark), quote[len(mark):].lstrip()
    return start, quote


def _in_code(code: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when more than half of [start, end) lies in code."""
    inside = sum(max(0, min(end, b) - max(start, a)) for a, b in code)
    return inside * 2 > end - start


def best_sentences(index: Index, question: str, hits: list[Ranked], *, limit: int = MAX_SENTENCES
                   ) -> list[_Sentence]:
    """Rank the sentences of the top passages by their own and their passage's coverage of the question."""
    weights = _weights(index, tokenize(question))
    found: list[_Sentence] = []
    for rank, hit in enumerate(hits[:5]):
        chunk = index.chunks[hit.pos]
        chunk_cov = coverage(weights, index.terms(hit.pos))
        title_terms = set(tokenize(chunk.title))
        code = code_spans(chunk.text)
        for s, e in sentence_spans(chunk.text):
            start, quote = _quote_span(chunk.text, s, e)
            if len(quote) < MIN_QUOTE_CHARS or quote.startswith(("```", "|")) or _in_code(code, start, e):
                continue
            own = coverage(weights, set(tokenize(quote)))
            if own == 0.0:
                continue  # a sentence that shares no word with the question is not evidence for it
            sent_cov = coverage(weights, set(tokenize(quote)) | title_terms)
            score = 0.6 * sent_cov + 0.25 * chunk_cov + 0.15 / (rank + 1)
            found.append(_Sentence(rank, start, quote, score, chunk))
    if not found:
        return []
    found.sort(key=lambda x: -x.score)
    best = found[0].score
    chosen: list[_Sentence] = []
    per_chunk: dict[str, int] = {}
    for sent in found:
        if len(chosen) >= limit or sent.score < 0.75 * best:
            break
        if per_chunk.get(sent.chunk.id, 0) >= 2:
            continue
        per_chunk[sent.chunk.id] = per_chunk.get(sent.chunk.id, 0) + 1
        chosen.append(sent)
    # best-evidenced first; sentences of one passage stay in reading order after its best one
    first: dict[str, float] = {}
    for sent in chosen:
        first.setdefault(sent.chunk.id, sent.score)
    return sorted(chosen, key=lambda x: (-first[x.chunk.id], x.rank, x.start))


def extractive_answer(index: Index, question: str, hits: list[Ranked], *, threshold: float = ABSTAIN_BELOW
                      ) -> Answer:
    conf = evidence(index, question, hits)
    related = [{"source": index.chunks[h.pos].source, "anchor": index.chunks[h.pos].anchor,
                "title": index.chunks[h.pos].title, "chunk_id": index.chunks[h.pos].id} for h in hits[:3]]
    if not hits or conf < threshold:
        return Answer(question, f"I don't know: nothing in the knowledge base answers this well enough (evidence "
                                f"{conf:.2f}, below {threshold:.2f}).", [], True, conf, related=related)
    sentences = best_sentences(index, question, hits)
    if not sentences:
        return Answer(question, "I don't know: the best passages hold no quotable sentence.", [], True, conf,
                      related=related)
    citations: list[Citation] = []
    numbers: dict[str, int] = {}
    parts = []
    for s in sentences:
        if s.chunk.id not in numbers:
            numbers[s.chunk.id] = len(numbers) + 1
        n = numbers[s.chunk.id]
        citations.append(Citation(n, s.chunk.id, s.chunk.source, s.chunk.anchor, s.chunk.title, s.chunk.kind,
                                  s.quote))
        parts.append(f"{s.quote} [{n}]")
    return Answer(question, " ".join(parts), citations, False, conf, related=related)
