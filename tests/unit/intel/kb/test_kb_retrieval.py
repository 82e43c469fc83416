"""Hybrid retrieval, the index store (incremental, atomic) and the committed question set's quality targets."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from quantdesk.intel.kb.answer import ABSTAIN_BELOW, extractive_answer
from quantdesk.intel.kb.chunks import Chunk
from quantdesk.intel.kb.evaluate import best_threshold, evaluate, f1, load_questions
from quantdesk.intel.kb.index import Index, rrf
from quantdesk.intel.kb.sources import project_root
from quantdesk.intel.kb.store import IndexStore

QUESTIONS = Path(__file__).resolve().parents[4] / "tests" / "data" / "kb" / "questions.jsonl"


def test_rrf_matches_a_hand_computation() -> None:
    scores = rrf([[7, 3, 5], [3, 9]], k=60)
    assert scores[3] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[7] == pytest.approx(1 / 61) and scores[9] == pytest.approx(1 / 62)
    weighted = rrf([[7, 3], [3]], k=10, weights=[1.0, 0.5])
    assert weighted[3] == pytest.approx(1 / 12 + 0.5 / 11)


def test_f1_and_threshold_search_on_planted_scores() -> None:
    assert f1([True, True, False, False], [True, False, True, False]) == pytest.approx(0.5)
    scores = [0.05, 0.1, 0.2, 0.6, 0.7, 0.9]
    unanswerable = [True, True, True, False, False, False]
    t, score = best_threshold(scores, unanswerable)
    assert 0.2 < t <= 0.6 and score == 1.0


def _corpus() -> list[Chunk]:
    texts = {
        "sharpe": "The Sharpe ratio divides mean excess return by the standard deviation of returns.",
        "sortino": "The Sortino ratio divides mean return by the downside deviation of negative returns.",
        "funding": "Perpetual futures use a funding rate paid between longs and shorts every eight hours.",
        "spread": "The bid-ask spread is the best ask minus the best bid in the order book.",
        "slip": "Slippage is the gap between the expected price and the fill price of a market order.",
    }
    return [Chunk("notes.md", k, k.title(), v, "doc") for k, v in texts.items()]


def test_search_finds_the_passage_by_words_and_reports_both_lists() -> None:
    chunks = _corpus()
    index = Index.build(chunks, ["c"] * len(chunks))
    hits = index.search("what is the downside deviation ratio", k=3)
    assert chunks[hits[0].pos].anchor == "sortino"
    assert hits[0].lexical_rank == 1 and hits[0].vector_rank is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("zzzz qqqq", k=3) == []  # nothing shares a word: no hit rather than noise


def test_save_load_round_trip_and_incremental_update(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "kb")
    chunks = _corpus()
    first = store.update({"notes": chunks})
    assert first["added"] == 5 and first["refit"] is True
    index, manifest = store.load()
    assert manifest["chunks"] == 5 and len(index) == 5
    reloaded = Index.load(tmp_path / "kb" / store.current())
    assert [c.id for c in reloaded.chunks] == [c.id for c in index.chunks]
    np.testing.assert_array_equal(reloaded.vectors, index.vectors)
    q = "funding paid between longs and shorts"
    assert [h.pos for h in reloaded.search(q)] == [h.pos for h in index.search(q)]
    # one passage edited, one added, one removed, in a bigger corpus so that the model is not refitted
    many = chunks + [Chunk("more.md", f"m{i}", "M", f"filler passage number {i} about bars and candles", "doc")
                     for i in range(40)]
    store.update({"notes": many}, rebuild=True)
    before, _ = store.load()
    edited = [*many[1:-1], Chunk("notes.md", "sharpe", "Sharpe", "The Sharpe ratio, edited.", "doc"),
              Chunk("notes.md", "new", "New", "A brand new passage on liquidity.", "doc")]
    report = store.update({"notes": edited})
    assert (report["added"], report["removed"], report["unchanged"]) == (2, 2, 43)
    assert report["refit"] is False
    after, _ = store.load()
    for c in after.chunks:  # unchanged passages keep their vectors exactly (not embedded again)
        if c.id in before.by_id:
            np.testing.assert_array_equal(after.vectors[after.by_id[c.id]], before.vectors[before.by_id[c.id]])
    # other collections are kept when one is replaced; a dropped collection disappears
    store.update({"other": [Chunk("x.md", "x", "X", "separate collection text", "doc")]})
    assert store.load()[1]["collections"] == {"notes": 45, "other": 1}
    store.update({}, drop={"other"})
    assert store.load()[1]["collections"] == {"notes": 45}
    assert len(list((tmp_path / "kb").glob("index-*"))) == 1  # old versions are cleaned up


def test_question_set_shape() -> None:
    qs = load_questions(QUESTIONS)
    answerable = [q for q in qs if q.answerable]
    assert len(answerable) >= 150 and sum(not q.answerable for q in qs) >= 30
    assert len({q.question for q in qs}) == len(qs)
    assert all(q.gold for q in answerable)


def test_every_gold_passage_exists(project_index) -> None:
    keys = {(c.source, c.anchor) for c in project_index.chunks}
    for q in load_questions(QUESTIONS):
        for source, anchor in q.gold:
            assert (source, anchor) in keys, (q.id, source, anchor)


@pytest.fixture(scope="module")
def report(project_index):
    return evaluate(project_index, load_questions(QUESTIONS), threshold=ABSTAIN_BELOW)


def test_retrieval_quality_on_the_question_set(report) -> None:
    assert report["recall_at_k"] >= 0.90, report["misses"]
    assert report["mrr"] >= 0.75


def test_abstention_f1_beats_the_no_skill_baselines(report) -> None:
    assert report["abstain_f1"] >= 0.9
    truth = report["truth"]
    always = f1([True] * len(truth), truth)  # abstaining on everything
    assert report["abstain_f1"] > always + 0.5
    assert f1([False] * len(truth), truth) == 0.0  # never abstaining


def test_calibrated_threshold_holds_out_of_sample(report) -> None:
    """Threshold fitted on half of the questions, F1 measured on the other half (both ways)."""
    scores, truth = report["scores"], report["truth"]
    idx = np.arange(len(scores))
    for fold in (0, 1):
        fit, test = idx[idx % 2 == fold], idx[idx % 2 != fold]
        t, _ = best_threshold([scores[i] for i in fit], [truth[i] for i in fit])
        assert f1([scores[i] < t for i in test], [truth[i] for i in test]) >= 0.85


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False) or ""


def test_every_extractive_quote_is_verbatim_in_its_source(report, project_index) -> None:
    root = project_root()
    assert len(report["citations"]) >= 150
    for c in report["citations"]:
        assert c["quote"] in c["chunk_text"]
        if c["source"].endswith(".md"):
            assert c["quote"] in (root / c["source"]).read_text(encoding="utf-8")
        elif c["source"].endswith(".py"):
            assert c["quote"] in _docstring(root / c["source"])


def test_abstains_on_unrelated_questions_and_answers_with_citations(project_index) -> None:
    q = "How do I bake sourdough bread at home?"
    answer = extractive_answer(project_index, q, project_index.search(q, 5))
    assert answer.abstained and answer.citations == [] and answer.answer.startswith("I don't know")
    q = "What does the Sortino ratio divide the mean return by?"
    answer = extractive_answer(project_index, q, project_index.search(q, 5))
    assert not answer.abstained and answer.citations[0].anchor == "sortino-ratio"
    assert "[1]" in answer.answer and "downside deviation" in answer.answer
    assert math.isfinite(answer.confidence) and answer.confidence >= ABSTAIN_BELOW


def test_query_embedding_without_sklearn_equals_sklearn_transform(project_index) -> None:
    emb = project_index.embedder
    for text in ("What does the Sortino ratio penalise?", "funding rate perpetual", "zzz unknown words only",
                 "RSI RSI RSI overbought"):
        np.testing.assert_allclose(emb.embed_one(text), emb.transform([text])[0], rtol=1e-4, atol=1e-5)


def test_two_processes_ingesting_at_once_leave_one_consistent_index(tmp_path: Path) -> None:
    """Writers take turns (lock file): both updates land, the published index loads, no folder is half-written."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from quantdesk.intel.kb.store import IndexStore; "
            "from quantdesk.intel.kb.chunks import Chunk; name = sys.argv[1]; "
            "IndexStore(Path(sys.argv[2])).update({name: [Chunk(name + '.md', f'a{i}', 'T', f'{name} passage {i} "
            "about fees and slippage', 'doc') for i in range(30)]})")
    procs = [subprocess.Popen([sys.executable, "-c", code, n, str(tmp_path / "kb")]) for n in ("one", "two")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    index, manifest = IndexStore(tmp_path / "kb").load()
    assert manifest["collections"] == {"one": 30, "two": 30} and len(index) == 60
    assert len(list((tmp_path / "kb").glob("index-*"))) == 1
