"""The labelled headline set: its split is the fixed hash rule, its agreement is what the README says, and the
crypto scorer's macro-F1 on the held-aside part, next to raw VADER's and the no-skill baseline."""

from __future__ import annotations

import hashlib

import pytest
from sent_helpers import DATA
from sklearn.metrics import cohen_kappa_score, f1_score

from quantdesk.intel.sentiment.analyzer import get_scorer
from quantdesk.intel.sentiment.evaluation import cohen_kappa, evaluate, load_labelled, macro_f1
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


def test_heldout_macro_f1_beats_vader_and_the_baseline() -> None:
    """Measured figures (docs/sentiment.md): crypto 0.689, raw VADER 0.429, majority class 0.207 (held-out, 133).
    The issue's target is 0.70; it is NOT reached (see the set's README). The bar here guards the measured level."""
    held = [r for r in ROWS if r["split"] == "heldout"]
    ours = evaluate(held, get_scorer("crypto"))
    vader = evaluate(held, get_scorer("vader"), threshold=0.05)  # VADER's own neutral band
    assert ours["n"] == len(held) == 133
    assert ours["macro_f1"] >= 0.65
    assert ours["macro_f1"] >= vader["macro_f1"] + 0.2
    assert ours["macro_f1"] >= ours["baseline_majority"]["macro_f1"] + 0.4
    assert vader["macro_f1"] == pytest.approx(0.429, abs=0.005)
