"""Sentiment proofs, in one run (about 1-2 minutes):

    .venv/bin/python benchmarks/bench_sentiment.py               # everything
    .venv/bin/python benchmarks/bench_sentiment.py --dev-errors  # the tuning aid: misclassified DEV headlines

1. Labelled set (tests/data/sentiment/headlines.csv): macro-F1, accuracy and per-class F1 of the crypto scorer
   on the held-aside part, next to raw VADER (its own 0.05 neutral band and ours) and the majority-class baseline;
   the dev part too; Cohen's kappa of the two labelling passes. `--dev-errors` lists dev rows only: the held-aside
   rows are never printed (they must stay unseen by whoever tunes the lexicon).
2. Speed: 10,000 distinct headlines (the 465 set headlines recombined with assets and numbers) analysed (score,
   label, entities, events) with the crypto scorer; best of 5; goal < 1 s. VADER alone on the same texts beside it.
3. Event study on synthetic prices: returns that follow a latent sentiment (beta > 0) vs independent returns
   (beta = 0), 40 worlds each: how often the pipeline finds the relation (p < 0.05), median p-value and slope.
Results: benchmarks/results/bench_sentiment.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quantdesk.intel.sentiment.analyzer import analyze, get_scorer  # noqa: E402
from quantdesk.intel.sentiment.evaluation import cohen_kappa, evaluate, load_labelled  # noqa: E402
from quantdesk.intel.sentiment.types import label_of  # noqa: E402

SET = ROOT / "tests" / "data" / "sentiment" / "headlines.csv"
ASSETS = ["Bitcoin", "Ether", "Solana", "XRP", "Cardano", "Dogecoin", "Avalanche", "Chainlink", "Litecoin", "Tron"]


def headlines_10k() -> list[str]:
    base = [r["text"] for r in load_labelled(SET)]
    out = []
    k = 0
    while len(out) < 10_000:
        t = base[k % len(base)]
        out.append(f"{t} as {ASSETS[k % len(ASSETS)]} moves {k % 97}%" if k >= len(base) else t)
        k += 1
    assert len(set(out)) == len(out)
    return out


def labelled() -> dict:
    rows = load_labelled(SET)
    held = [r for r in rows if r["split"] == "heldout"]
    dev = [r for r in rows if r["split"] == "dev"]
    crypto, vader = get_scorer("crypto"), get_scorer("vader")
    out = {
        "n": len(rows), "n_heldout": len(held),
        "kappa": cohen_kappa([r["label_a"] for r in rows], [r["label_b"] for r in rows]),
        "heldout": {"crypto": evaluate(held, crypto), "vader_0.05": evaluate(held, vader, 0.05),
                    "vader_0.15": evaluate(held, vader, 0.15)},
        "dev": {"crypto": evaluate(dev, crypto), "vader_0.05": evaluate(dev, vader, 0.05)},
    }
    print(f"labelled set: {len(rows)} headlines, kappa(pass A, pass B) = {out['kappa']:.3f}")
    for part in ("heldout", "dev"):
        for name, e in out[part].items():
            print(f"  {part:8s} {name:11s} macro-F1 {e['macro_f1']:.3f}  accuracy {e['accuracy']:.3f}  "
                  f"F1 pos/neg/neu {e['f1']['positive']:.3f}/{e['f1']['negative']:.3f}/{e['f1']['neutral']:.3f}"
                  f"  (majority baseline macro-F1 {e['baseline_majority']['macro_f1']:.3f})")
    return out


def speed() -> dict:
    texts = headlines_10k()
    analyze(texts[:100])
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        analyze(texts)
        times.append(time.perf_counter() - t0)
    vader = get_scorer("vader")
    t0 = time.perf_counter()
    vader.score_many(texts)
    tv = time.perf_counter() - t0
    out = {"n": len(texts), "best_s": min(times), "median_s": statistics.median(times), "vader_s": tv,
           "per_text_us": min(times) / len(texts) * 1e6}
    print(f"speed: {len(texts)} headlines analysed in {out['best_s']:.3f} s best of 5 (median {out['median_s']:.3f} s,"
          f" {out['per_text_us']:.1f} us each; goal < 1 s); VADER scores alone: {tv:.3f} s")
    return out


def event_study(worlds: int = 40) -> dict:
    from quantdesk.intel.sentiment.event_study import pipeline_study, synthetic_world

    out = {}
    for beta in (0.003, 0.0):
        rs = [pipeline_study(synthetic_world(seed, beta=beta, n_bars=2000)) for seed in range(1000, 1000 + worlds)]
        hits = sum(r["p_value"] < 0.05 for r in rs)
        out[str(beta)] = {"worlds": worlds, "share_p_lt_0.05": hits / worlds,
                          "median_p": statistics.median(r["p_value"] for r in rs),
                          "median_slope": statistics.median(r["slope"] for r in rs),
                          "ci_covers_0": sum(r["ci95"][0] <= 0 <= r["ci95"][1] for r in rs) / worlds}
        o = out[str(beta)]
        print(f"event study beta={beta}: relation found (p<0.05) in {hits}/{worlds} worlds, median p "
              f"{o['median_p']:.2g}, median slope {o['median_slope']:.5f}, 95% CI covers 0 in {o['ci_covers_0']:.0%}")
    return out


def dev_errors() -> None:
    sc = get_scorer("crypto")
    for r in load_labelled(SET):
        if r["split"] != "dev":
            continue
        s = sc.score(r["text"])
        if label_of(s) != r["label"]:
            print(f"{r['label'][:3]} {label_of(s)[:3]} {s:+.2f} {r['text']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev-errors", action="store_true")
    args = ap.parse_args()
    if args.dev_errors:
        dev_errors()
        return
    res = {"labelled": labelled(), "speed": speed(), "event_study": event_study()}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_sentiment.json").write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
