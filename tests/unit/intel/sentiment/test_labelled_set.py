"""The labelled headline set: its split is the fixed hash rule, its agreement is what the README says, and the
crypto scorer's macro-F1 on the held-aside part, next to raw VADER's and the no-skill baseline."""

from __future__ import annotations

import hashlib

import pytest
from sent_helpers import DATA
from sklearn.metrics import cohen_kappa_score, f1_score

from quantdesk.intel.sentiment.analyzer import get_scorer
from quantdesk.intel.sentiment.evaluation import (
    cohen_kappa,
    cv_fold,
    evaluate,
    evaluate_folds,
    load_labelled,
    macro_f1,
)
from quantdesk.intel.sentiment.types import LABELS

ROWS = load_labelled(DATA / "headlines.csv")


def test_the_set_has_400_unique_headlines_labelled_twice() -> None:
    assert len(ROWS) >= 400
    assert len({r["text"] for r in ROWS}) == len(ROWS)
    for r in ROWS:
        assert r["label_a"] in LABELS and r["label_b"] in LABELS and r["label"] in LABELS
        if r["label_a"] == r["label_b"]:
            assert r["label"] == r["label_a"], r["id"]  # the final label is the common one where they agree


def test_split_is_the_fixed_hash_rule_and_near_30_percent() -> None:
    for r in ROWS:
        h = int(hashlib.sha256(r["text"].lower().encode()).hexdigest()[:8], 16)
        assert r["split"] == ("heldout" if h % 10 < 3 else "dev"), r["id"]
    share = sum(r["split"] == "heldout" for r in ROWS) / len(ROWS)
    assert 0.25 <= share <= 0.35


def test_kappa_matches_sklearn_and_the_readme() -> None:
    a, b = [r["label_a"] for r in ROWS], [r["label_b"] for r in ROWS]
    ours = cohen_kappa(a, b)
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    readme = (DATA / "README.md").read_text()
    assert f"**{ours:.3f}**" in readme  # the README states the figure the data gives


def test_macro_f1_matches_sklearn() -> None:
    y = [r["label"] for r in ROWS]
    pred = [r["label_a"] for r in ROWS[::-1]]  # any labelling will do
    assert macro_f1(y, pred) == pytest.approx(f1_score(y, pred, average="macro", labels=list(LABELS)), abs=1e-12)


def test_heldout_part_still_beats_vader_and_the_baseline() -> None:
    """The old held-aside part (133) was scored clean three times (crypto 0.689 at best, raw VADER 0.429, majority
    class 0.207) and then, for lexicon v3, used for development like the rest (README of the set): the crypto
    figure here is in-sample now, a regression guard, not an estimate. VADER's figure is unchanged."""
    held = [r for r in ROWS if r["split"] == "heldout"]
    ours = evaluate(held, get_scorer("crypto"))
    vader = evaluate(held, get_scorer("vader"), threshold=0.05)  # VADER's own neutral band
    assert ours["n"] == len(held) == 133
    assert ours["macro_f1"] >= 0.85
    assert ours["macro_f1"] >= vader["macro_f1"] + 0.3
    assert ours["macro_f1"] >= ours["baseline_majority"]["macro_f1"] + 0.5
    assert vader["macro_f1"] == pytest.approx(0.429, abs=0.005)


def test_cv_folds_partition_the_set_by_text_alone() -> None:
    folds = evaluate_folds(ROWS, get_scorer("crypto"))
    assert [f["fold"] for f in folds] == [0, 1, 2, 3, 4]
    assert sum(f["n"] for f in folds) == len(ROWS)
    assert all(0.15 * len(ROWS) <= f["n"] <= 0.25 * len(ROWS) for f in folds)
    for r in ROWS[:50]:
        assert cv_fold(r["text"]) == cv_fold(r["text"].upper()) == cv_fold(r["text"])  # the text decides, no case
    # the folds cut across the old split: each holds dev and held-aside rows
    for f in range(5):
        assert {r["split"] for r in ROWS if cv_fold(r["text"]) == f} == {"dev", "heldout"}


def test_docs_state_the_figures_the_data_gives() -> None:
    """docs/sentiment.md quotes the final scorer's in-sample figure on all 465 headlines; keep it true."""
    ours = evaluate(ROWS, get_scorer("crypto"))
    doc = (DATA.parents[2] / "docs" / "sentiment.md").read_text()
    assert f"**{ours['macro_f1']:.3f}**" in doc


def test_the_sealed_independent_set() -> None:
    """The 220 headlines an independent annotator wrote and labelled for this check, never used for tuning
    (tests/data/sentiment/README.md counts each scoring). Measured: lexicon v3 0.671 (use 1), lexicon v4 0.714
    (use 2; raw VADER 0.403, always-majority 0.192). The issue's target is macro-F1 >= 0.70 with VADER beside it.
    A lexicon change that fails this must not be tuned against it (develop on other text)."""
    from quantdesk.intel.sentiment.analyzer import get_scorer
    from quantdesk.intel.sentiment.evaluation import evaluate, load_labelled

    rows = load_labelled(DATA / "heldout_independent.csv")
    assert len(rows) == 220
    crypto, vader = evaluate(rows, get_scorer("crypto")), evaluate(rows, get_scorer("vader"))
    assert crypto["macro_f1"] >= 0.70
    assert crypto["macro_f1"] > vader["macro_f1"] + 0.2 > crypto["baseline_majority"]["macro_f1"]


FRESH = load_labelled(DATA / "fresh_dev.csv")


def test_fresh_dev_has_400_unique_headlines_labelled_twice() -> None:
    """The fresh development set (400 headlines by a third writer, blind to the lexicon; labelled in two passes)."""
    assert len(FRESH) == 400
    assert len({r["text"] for r in FRESH}) == len(FRESH)
    for r in FRESH:
        assert r["label_a"] in LABELS and r["label_b"] in LABELS and r["label"] in LABELS
        if r["label_a"] == r["label_b"]:
            assert r["label"] == r["label_a"], r["id"]
    a, b = [r["label_a"] for r in FRESH], [r["label_b"] for r in FRESH]
    ours = cohen_kappa(a, b)
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert 0.9 <= ours <= 1.0  # 0.976 when it was added


def test_fresh_dev_regression_guard_with_vader_and_the_baseline() -> None:
    """Scored once before any of its rows was read (docs/sentiment.md): lexicon v4 from domain knowledge 0.703, v3
    0.696, raw VADER 0.425, always-majority 0.193; prequential v4 on folds 1-4 0.697. Lexicon v4 was then tuned on
    all 400 rows, so the crypto figure here (0.891 when written) is in-sample: a regression guard, not an estimate."""
    ours = evaluate(FRESH, get_scorer("crypto"))
    vader = evaluate(FRESH, get_scorer("vader"), threshold=0.05)
    assert ours["macro_f1"] >= 0.86
    assert vader["macro_f1"] == pytest.approx(0.425, abs=0.005)
    assert ours["baseline_majority"]["macro_f1"] == pytest.approx(0.193, abs=0.005)
    assert ours["macro_f1"] >= vader["macro_f1"] + 0.4 >= ours["baseline_majority"]["macro_f1"] + 0.4
