"""Knowledge-base assistant: answer quality on the committed question set and speed at 5,000 chunks.

    python benchmarks/bench_kb.py                 # quality + speed (5,000 chunks)
    python benchmarks/bench_kb.py --chunks 2000   # smaller speed run
    python benchmarks/bench_kb.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Quality (tests/data/kb/questions.jsonl, the project's own corpus): recall@5 and MRR of the hybrid retrieval next to
BM25 alone, vectors alone, equal-weight fusion and a random ranking (the no-skill baseline), and on 20 paraphrased
questions (tests/data/kb/paraphrases.jsonl); abstention F1 at the
calibrated threshold, cross-validated (threshold fitted on half, scored on the other), next to "always abstain";
the share of extractive quotes found verbatim in their source. With --postgres the lexical half is PostgreSQL's.
Speed: building the index over the project's chunks plus synthetic run summaries up to --chunks (wall and CPU
seconds), then query latency p50/p95 (search alone, and ask = search + extractive answer) over the question set.
Goals: recall@5 >= 0.90, MRR >= 0.75, abstention F1 >= 0.9, indexing 5,000 chunks < 30 s, query p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quantdesk.intel.kb import answer as answer_mod  # noqa: E402
from quantdesk.intel.kb import index as index_mod  # noqa: E402
from quantdesk.intel.kb.answer import ABSTAIN_BELOW, extractive_answer  # noqa: E402
from quantdesk.intel.kb.evaluate import (  # noqa: E402
    best_threshold,
    evaluate,
    f1,
    load_questions,
    synthetic_run_chunks,
)
from quantdesk.intel.kb.index import Index, Ranked, rrf  # noqa: E402
from quantdesk.intel.kb.sources import project_chunks  # noqa: E402
from quantdesk.intel.kb.text import tokenize  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "kb" / "questions.jsonl"
# 20 questions worded without the words of the passage that answers them: where the vectors should help
PARAPHRASES = ROOT / "tests" / "data" / "kb" / "paraphrases.jsonl"


def variant(index: Index, weights: tuple[float, float] | None, seed: int = 0):
    """A search function: (lexical, vector) weights of the fusion; None = a random ranking."""
    rng = np.random.default_rng(seed)

    def search(q: str, n: int) -> list[Ranked]:
        if weights is None:
            return [Ranked(int(p), 0.0, None, 0.0, None, 0.0) for p in rng.permutation(len(index))[:n]]
        lex = [p for p, _ in index.lexical(tokenize(q))] if weights[0] else []
        vec = [p for p, _ in index.vector(index.embed_query(q))] if weights[1] else []
        scores = rrf([lex, vec], weights=weights)
        order = sorted(scores, key=lambda p: (-scores[p], p))[:n]
        return [Ranked(p, scores[p], None, 0.0, None, 0.0) for p in order]

    return search


def cross_validated_f1(scores: list[float], truth: list[bool]) -> list[float]:
    idx = np.arange(len(scores))
    out = []
    for fold in (0, 1):
        fit, test = idx[idx % 2 == fold], idx[idx % 2 != fold]
        t, _ = best_threshold([scores[i] for i in fit], [truth[i] for i in fit])
        out.append(f1([scores[i] < t for i in test], [truth[i] for i in test]))
    return out


def quality(index: Index, lexical=None) -> None:
    qs = load_questions(QUESTIONS)
    print(f"question set: {sum(q.answerable for q in qs)} answerable, {sum(not q.answerable for q in qs)} "
          f"unanswerable; corpus {len(index)} chunks")
    search = (lambda q, n: index.search(q, n, lexical=lexical)) if lexical else None
    main = evaluate(index, qs, threshold=ABSTAIN_BELOW, search=search)
    print(f"{'retrieval':<34} {'recall@5':>9} {'MRR':>7}")
    rows = [("hybrid (this: BM25 1.0 + vectors 0.5)", main)]
    if lexical is None:
        for name, w in (("BM25 alone", (1.0, 0.0)), ("vectors alone", (0.0, 1.0)), ("equal-weight RRF", (1.0, 1.0)),
                        ("random ranking (no skill)", None)):
            rows.append((name, evaluate(index, qs, threshold=ABSTAIN_BELOW, search=variant(index, w))))
    for name, r in rows:
        print(f"{name:<34} {r['recall_at_k']:>9.3f} {r['mrr']:>7.3f}")
    truth, scores = main["truth"], main["scores"]
    t, best = best_threshold(scores, truth)
    print(f"abstention at {ABSTAIN_BELOW}: F1 {main['abstain_f1']:.3f} (precision {main['abstain_precision']:.3f}, "
          f"recall {main['abstain_recall']:.3f}); best threshold on this set {t:.3f} (F1 {best:.3f}); "
          f"2-fold cross-validated F1 {', '.join(f'{x:.3f}' for x in cross_validated_f1(scores, truth))}; "
          f"always abstain F1 {f1([True] * len(truth), truth):.3f}")
    if lexical is None:
        para = load_questions(PARAPHRASES)
        print(f"paraphrased questions ({len(para)}): " + ", ".join(
            f"{name} recall@5 {r['recall_at_k']:.2f} MRR {r['mrr']:.3f}" for name, r in (
                (name, evaluate(index, para, threshold=ABSTAIN_BELOW, search=variant(index, w)))
                for name, w in (("hybrid", index_mod.WEIGHTS), ("BM25", (1.0, 0.0)), ("vectors", (0.0, 1.0))))))
    ok = sum(c["quote"] in c["chunk_text"] for c in main["citations"])
    print(f"extractive quotes verbatim in their passage: {ok}/{len(main['citations'])}")
    if main["misses"]:
        print("missed:", "; ".join(m["question"] for m in main["misses"]))


def calibrate(index: Index) -> None:
    """The unseen-term weight and threshold comparison behind answer.UNSEEN_WEIGHT / ABSTAIN_BELOW."""
    qs = load_questions(QUESTIONS)
    for weight in (1.0, 1.5, 2.0, 3.0):
        answer_mod.UNSEEN_WEIGHT = weight
        r = evaluate(index, qs, threshold=ABSTAIN_BELOW)
        t, best = best_threshold(r["scores"], r["truth"])
        cv = cross_validated_f1(r["scores"], r["truth"])
        print(f"unseen weight {weight}: best threshold {t:.3f}, F1 {best:.3f}, cross-validated "
              f"{', '.join(f'{x:.3f}' for x in cv)}")
    answer_mod.UNSEEN_WEIGHT = 3.0


def speed(base: list, total: int) -> None:
    chunks = base + synthetic_run_chunks(max(0, total - len(base)))
    w0, c0 = time.perf_counter(), time.process_time()
    index = Index.build(chunks, ["bench"] * len(chunks))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"indexing {len(chunks)} chunks (BM25 + TF-IDF/SVD {index.embedder.dims} dims): {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU (goal < 30 s)")
    qs = [q.question for q in load_questions(QUESTIONS)]
    for q in qs[:5]:
        index.search(q, 5)  # warm up
    search_ms, ask_ms, search_cpu, ask_cpu = [], [], [], []
    for q in qs:
        t0, c0 = time.perf_counter(), time.thread_time()
        hits = index.search(q, 5)
        t1, c1 = time.perf_counter(), time.thread_time()
        extractive_answer(index, q, hits)
        t2, c2 = time.perf_counter(), time.thread_time()
        search_ms.append((t1 - t0) * 1000)
        ask_ms.append((t2 - t0) * 1000)
        search_cpu.append((c1 - c0) * 1000)
        ask_cpu.append((c2 - c0) * 1000)
    for name, xs, cpu in (("search", search_ms, search_cpu), ("ask (search + extractive answer)", ask_ms, ask_cpu)):
        print(f"{name}: p50 {statistics.median(xs):.1f} ms, p95 {float(np.percentile(xs, 95)):.1f} ms wall "
              f"(CPU p95 {float(np.percentile(cpu, 95)):.1f} ms) over {len(xs)} queries (goal p95 < 50 ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--postgres", help="also evaluate with PostgreSQL full-text search at this URL")
    parser.add_argument("--calibrate", action="store_true", help="compare unseen-term weights and thresholds")
    args = parser.parse_args()
    base = project_chunks()
    index = Index.build(base, ["project"] * len(base))
    print(f"fusion weights {index_mod.WEIGHTS}, abstain below {ABSTAIN_BELOW}")
    quality(index)
    if args.calibrate:
        calibrate(index)
    if args.postgres:
        from quantdesk.intel.kb.pg import PgFullText
        from quantdesk.storage import db

        db.upgrade(args.postgres)
        pg = PgFullText(args.postgres)
        pg.sync(index)
        print("-- with PostgreSQL full-text search as the lexical half")
        quality(index, lexical=pg.lexical_for(index))
    speed(base, args.chunks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
