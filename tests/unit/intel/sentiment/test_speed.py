"""Speed is a feature: 10,000 headlines analysed (score, label, entities, events) well under the benchmark's
1 s goal on an idle machine; this test allows 3 s (CI machines are shared). benchmarks/bench_sentiment.py
measures the real figure."""

from __future__ import annotations

import time

from sent_helpers import DATA

from quantdesk.intel.sentiment import analyze
from quantdesk.intel.sentiment.evaluation import load_labelled


def test_ten_thousand_headlines_in_under_three_seconds() -> None:
    base = [r["text"] for r in load_labelled(DATA / "headlines.csv")]
    texts = [f"{base[k % len(base)]} ({k})" for k in range(10_000)]
    analyze(texts[:50])
    best = min(_timed(texts) for _ in range(2))
    assert best < 3.0, f"{best:.2f} s for 10,000 headlines"


def _timed(texts: list[str]) -> float:
    t0 = time.process_time()
    out = analyze(texts)
    dt = time.process_time() - t0
    assert len(out) == len(texts)
    return dt
