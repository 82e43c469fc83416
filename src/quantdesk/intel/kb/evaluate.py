"""Retrieval and abstention quality on a question set (JSON lines: question, answerable, gold [{source, anchor}]).

Used by the tests and `benchmarks/bench_kb.py`. A hit answers a question when its source equals a gold source
and its anchor equals the gold anchor or is a part of that section (`anchor-partN`). Abstention is scored as a
binary classifier whose positive class is "unanswerable": F1 of (abstained, not answerable).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantdesk.intel.kb.answer import evidence, extractive_answer
from quantdesk.intel.kb.index import Index, Ranked


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answerable: bool
    gold: tuple[tuple[str, str], ...]


def load_questions(path: Path) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append(Question(row["id"], row["question"], bool(row["answerable"]),
                                    tuple((g["source"], g["anchor"]) for g in row.get("gold", []))))
    return out


def is_gold(source: str, anchor: str, gold: Sequence[tuple[str, str]]) -> bool:
    return any(source == s and (anchor == a or anchor.startswith(f"{a}-part")) for s, a in gold)


def first_gold_rank(index: Index, hits: Sequence[Ranked], gold: Sequence[tuple[str, str]]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        c = index.chunks[hit.pos]
        if is_gold(c.source, c.anchor, gold):
            return rank
    return None


def f1(pred: Sequence[bool], truth: Sequence[bool]) -> float:
    tp = sum(p and t for p, t in zip(pred, truth, strict=True))
    fp = sum(p and not t for p, t in zip(pred, truth, strict=True))
    fn = sum(t and not p for p, t in zip(pred, truth, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(scores: Sequence[float], unanswerable: Sequence[bool]) -> tuple[float, float]:
    """The abstention threshold (abstain when score < t) with the highest F1; ties -> the middle of the gap."""
    values = sorted(set(scores))
    candidates = [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] + [values[0], values[-1] + 1e-9]
    best = (0.0, -1.0)
    for t in candidates:
        score = f1([s < t for s in scores], unanswerable)
        if score > best[1]:
            best = (t, score)
    return best


def evaluate(index: Index, questions: Sequence[Question], *, threshold: float, k: int = 5,
             search: Callable[[str, int], list[Ranked]] | None = None) -> dict[str, Any]:
    """recall@k and MRR over the answerable questions; abstention precision/recall/F1 over all; the evidence
    score of each question (for calibration); and every extractive citation, to check quotes are verbatim."""
    run = search or (lambda q, n: index.search(q, n))
    ranks: list[int | None] = []
    scores: list[float] = []
    truth: list[bool] = []
    misses: list[dict[str, Any]] = []
    citations: list[dict[str, Any]] = []
    for q in questions:
        hits = run(q.question, max(k, 3))
        scores.append(evidence(index, q.question, hits))
        truth.append(not q.answerable)
        if q.answerable:
            rank = first_gold_rank(index, hits[:k], q.gold)
            ranks.append(rank)
            if rank is None:
                misses.append({"id": q.id, "question": q.question, "gold": q.gold,
                               "got": [(index.chunks[h.pos].source, index.chunks[h.pos].anchor) for h in hits[:k]]})
            answer = extractive_answer(index, q.question, hits, threshold=threshold)
            for c in answer.citations:
                citations.append({"question": q.id, **c.as_dict(), "chunk_text": index.chunks[index.by_id[c.chunk_id]].text})
    pred = [s < threshold for s in scores]
    tp = sum(p and t for p, t in zip(pred, truth, strict=True))
    n_ans = len(ranks)
    return {
        "answerable": n_ans, "unanswerable": sum(truth), "k": k,
        "recall_at_k": sum(r is not None for r in ranks) / n_ans if n_ans else 0.0,
        "mrr": sum(1.0 / r for r in ranks if r is not None) / n_ans if n_ans else 0.0,
        "abstain_precision": tp / sum(pred) if sum(pred) else 0.0,
        "abstain_recall": tp / sum(truth) if sum(truth) else 0.0,
        "abstain_f1": f1(pred, truth), "threshold": threshold,
        "scores": scores, "truth": truth, "misses": misses, "citations": citations,
    }


def synthetic_run_chunks(n: int, seed: int = 7) -> list[Any]:
    """`n` chunks shaped like recorded runs (a summary, then months as sentences), seeded: to measure indexing
    and query speed at a size a long-time user reaches, on top of the project's own chunks."""
    import numpy as np

    from quantdesk.intel.kb.chunks import Chunk
    from quantdesk.intel.kb.results import metrics_sentence

    rng = np.random.default_rng(seed)
    strategies = ["sma_cross", "ema_cross", "macd", "rsi_reversion", "bollinger", "momentum", "dca", "scalping",
                  "vwap_flow", "pairs"]
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC", "LTC/BTC", "XMR/BTC", "ADA/USDT", "GOOG"]
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]
    out: list[Chunk] = []
    while len(out) < n:
        run = f"{rng.integers(0, 2**63):016x}-{len(out):06d}"
        strat, sym = strategies[rng.integers(len(strategies))], symbols[rng.integers(len(symbols))]
        metrics = {"total_return_pct": rng.normal(10, 40), "sharpe": rng.normal(0.5, 1), "num_trades": rng.integers(5, 900),
                   "max_drawdown_pct": -abs(rng.normal(25, 12)), "win_rate_pct": rng.uniform(20, 70)}
        out.append(Chunk(run, "summary", f"backtest run {run}", f"Backtest run {run}: strategy {strat} on {sym} 1h. "
                         f"Results: {metrics_sentence(metrics)}.", "run"))
        year = int(rng.integers(2015, 2025))
        sentences = [f"In {m} {year} backtest run {run[:8]} {'lost money: equity fell' if r < 0 else 'made money: equity rose'} "
                     f"{abs(r):.2f}%; {int(rng.integers(0, 40))} trades closed." for m, r in zip(months, rng.normal(1, 8, 12),
                                                                                             strict=True)]
        out.append(Chunk(run, f"monthly-{year}", f"backtest run {run}", " ".join(sentences), "run"))
    return out[:n]
