"""Sentiment proofs, in one run (about 1-2 minutes):

    .venv/bin/python benchmarks/bench_sentiment.py               # everything
    .venv/bin/python benchmarks/bench_sentiment.py --dev-errors  # the tuning aid: misclassified DEV headlines
    .venv/bin/python benchmarks/bench_sentiment.py --folds       # 5-fold figures of the current scorer
    .venv/bin/python benchmarks/bench_sentiment.py --prequential # the lexicon v3 tuning record, from git history
    .venv/bin/python benchmarks/bench_sentiment.py --fresh-prequential  # the v4 record on fresh_dev, from git

1. Labelled set (tests/data/sentiment/headlines.csv): macro-F1, accuracy and per-class F1 of the crypto scorer
   on the old held-aside part (in-sample since lexicon v3, which was developed on every row), next to raw VADER (its own 0.05 neutral band and ours) and the majority-class baseline;
   the dev part too; Cohen's kappa of the two labelling passes. `--dev-errors` lists dev rows only: the held-aside
   rows are never printed (they must stay unseen by whoever tunes the lexicon).
2. Speed: 10,000 distinct headlines (the 465 set headlines recombined with assets and numbers) analysed (score,
   label, entities, events) with the crypto scorer; best of 5; goal < 1 s. VADER alone on the same texts beside it.
3. Event study on synthetic prices: returns that follow a latent sentiment (beta > 0) vs independent returns
   (beta = 0), 40 worlds each: how often the pipeline finds the relation (p < 0.05), median p-value and slope.
4. `--folds`: macro-F1 on each cross-validation fold (`evaluation.cv_fold`, a hash of the text) of all 465
   headlines; in-sample for lexicon v3, which was developed on all of them.
5. `--prequential`: how lexicon v3 was tuned, replayed from git: fold k scored by the commit made after reading
   the errors of folds 0..k-1 only (never fold k), next to the scorer before v3 (partly fitted to these rows by
   its own dev tuning) on the same rows; pooled over folds 1-4, and on the rows of the old held-aside part in
   folds 1-4 (clean for both). Needs the git history; about a minute.
6. The fresh development set (tests/data/sentiment/fresh_dev.csv: 400 headlines by a third writer, labelled twice):
   printed with the labelled set in the default run (in-sample since lexicon v4 round 4). `--fresh-prequential`
   replays how v4 was tuned on it: fold k scored by the commit made after reading folds 0..k-1 only, next to v3 and
   the v4 state before any fresh row was read, pooled over folds 1-4 too.
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
from quantdesk.intel.sentiment.evaluation import (  # noqa: E402
    cohen_kappa,
    cv_fold,
    evaluate,
    evaluate_folds,
    load_labelled,
    macro_f1,
)
from quantdesk.intel.sentiment.types import label_of  # noqa: E402

SET = ROOT / "tests" / "data" / "sentiment" / "headlines.csv"
FRESH = ROOT / "tests" / "data" / "sentiment" / "fresh_dev.csv"
ASSETS = ["Bitcoin", "Ether", "Solana", "XRP", "Cardano", "Dogecoin", "Avalanche", "Chainlink", "Litecoin", "Tron"]


def headlines_10k() -> list[str]:
    base = [r["text"] for r in load_labelled(SET)]
    out: list[str] = []
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
    out: dict = {
        "n": len(rows), "n_heldout": len(held),
        "kappa": cohen_kappa([r["label_a"] for r in rows], [r["label_b"] for r in rows]),
        "heldout": {"crypto": evaluate(held, crypto), "vader_0.05": evaluate(held, vader, 0.05),
                    "vader_0.15": evaluate(held, vader, 0.15)},
        "dev": {"crypto": evaluate(dev, crypto), "vader_0.05": evaluate(dev, vader, 0.05)},
    }
    fresh = load_labelled(FRESH)
    out["fresh_dev"] = {"n": len(fresh), "kappa": cohen_kappa([r["label_a"] for r in fresh],
                                                              [r["label_b"] for r in fresh]),
                        "crypto": evaluate(fresh, crypto), "vader_0.05": evaluate(fresh, vader, 0.05)}
    print(f"labelled set: {len(rows)} headlines, kappa(pass A, pass B) = {out['kappa']:.3f}")
    print("  (lexicon v3 was developed on every row, the old held-aside part included: the crypto figures below are"
          " in-sample; --prequential gives the honest ones)")
    for part in ("heldout", "dev"):
        for name, e in out[part].items():
            print(f"  {part:8s} {name:11s} macro-F1 {e['macro_f1']:.3f}  accuracy {e['accuracy']:.3f}  "
                  f"F1 pos/neg/neu {e['f1']['positive']:.3f}/{e['f1']['negative']:.3f}/{e['f1']['neutral']:.3f}"
                  f"  (majority baseline macro-F1 {e['baseline_majority']['macro_f1']:.3f})")
    fd = out["fresh_dev"]
    print(f"fresh_dev: {fd['n']} headlines by a third writer, kappa {fd['kappa']:.3f} (in-sample for lexicon v4;"
          " --fresh-prequential gives the honest figures)")
    for name in ("crypto", "vader_0.05"):
        e = fd[name]
        print(f"  fresh    {name:11s} macro-F1 {e['macro_f1']:.3f}  accuracy {e['accuracy']:.3f}  "
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


# Lexicon v3's tuning rounds (docs/sentiment.md): the commit made after reading the errors of folds 0..k-1.
BEFORE_V3 = "93ed2e7ba32d4784b87e4e3e17128aac537eb279"
ROUNDS = {1: "854054a8caad22334936aab1b06035ac1c4d9889", 2: "22d1dbfc7d6485a9ec390f5f19b0dfd47d2c64ba",
          3: "e85fa63da6e303edae60ede82cad6eba07848f8e", 4: "d1b6a01239cea9bff5cac953ea446120bb0ab37b"}
_PREDICT = """
import json, sys
from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer
from quantdesk.intel.sentiment.types import label_of
texts = json.load(sys.stdin)
print(json.dumps([label_of(s) for s in CryptoLexiconScorer().score_many(texts)]))
"""


def _labels_at(commit: str, texts: list[str]) -> list[str]:
    """The crypto scorer's labels for `texts` as of `commit` (its src tree, extracted from git)."""
    import subprocess
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tf:
            tf.extractall(tmp, filter="data")
        out = subprocess.run([sys.executable, "-c", _PREDICT], input=json.dumps(texts), text=True, check=True,
                             capture_output=True, env={"PYTHONPATH": f"{tmp}/src", "PATH": ""}).stdout
    return json.loads(out)


def folds() -> dict:
    rows = load_labelled(SET)
    res = evaluate_folds(rows, get_scorer("crypto"))
    for e in res:
        print(f"fold {e['fold']}: n={e['n']:3d} macro-F1 {e['macro_f1']:.3f} accuracy {e['accuracy']:.3f}"
              f"  (majority baseline {e['baseline_majority']['macro_f1']:.3f})")
    allf = evaluate(rows, get_scorer("crypto"))
    print(f"all 465 (in-sample for lexicon v3): macro-F1 {allf['macro_f1']:.3f} accuracy {allf['accuracy']:.3f}")
    return {"folds": res, "all": allf}


def prequential() -> dict:
    rows = load_labelled(SET)
    by_fold = {k: [r for r in rows if cv_fold(r["text"]) == k] for k in range(5)}
    pre: list[tuple[dict, str]] = []
    before: list[tuple[dict, str]] = []
    out: dict = {"per_fold": {}}
    for k, commit in ROUNDS.items():
        texts = [r["text"] for r in by_fold[k]]
        p_new, p_old = _labels_at(commit, texts), _labels_at(BEFORE_V3, texts)
        pre += list(zip(by_fold[k], p_new, strict=True))
        before += list(zip(by_fold[k], p_old, strict=True))
        y = [r["label"] for r in by_fold[k]]
        out["per_fold"][k] = {"n": len(y), "v3_tuned_on_earlier_folds": macro_f1(y, p_new),
                              "before_v3": macro_f1(y, p_old)}
        read = "fold 0" if k == 1 else f"folds 0-{k - 1}"
        print(f"fold {k}: n={len(y):3d}  v3 as committed after reading {read}: macro-F1 "
              f"{macro_f1(y, p_new):.3f}   before v3: {macro_f1(y, p_old):.3f}")
    subsets = (("folds 1-4", lambda r: True), ("old held-aside rows in folds 1-4", lambda r: r["split"] == "heldout"))
    for name, sel in subsets:
        a = [(r, p) for r, p in pre if sel(r)]
        b = [(r, p) for r, p in before if sel(r)]
        f_new = macro_f1([r["label"] for r, _ in a], [p for _, p in a])
        f_old = macro_f1([r["label"] for r, _ in b], [p for _, p in b])
        out[name] = {"n": len(a), "v3_prequential": f_new, "before_v3": f_old}
        print(f"{name}: n={len(a)}  v3 prequential macro-F1 {f_new:.3f}   before v3 {f_old:.3f}")
    return out


# Lexicon v4's record on fresh_dev (docs/sentiment.md): V4_ROUNDS[k] is the commit that scored fold k before its
# rows were read (fold 0: the state from domain knowledge alone; fold k: after reading the errors of folds 0..k-1).
V3 = "75eb1bf80852152ed9cd414fbb25ac8d6cc3ef24"
V4_ROUNDS = {0: "a4331193f333860c4a4473b56dc418f15885788c", 1: "34d7bc5eea7c7784054d6315ce81b3b2f06c8ca1",
             2: "d4c0fe84a91c881671c439a9216d7acd6f27d48a", 3: "405fe49a2361b68be03a8c638184be012336a78f",
             4: "f69a9bf764209f0c6d5a1c315f6846ddfa492429"}


def fresh_prequential() -> dict:
    rows = load_labelled(FRESH)
    by_fold = {k: [r for r in rows if cv_fold(r["text"]) == k] for k in range(5)}
    before = V4_ROUNDS[0]
    out: dict = {"per_fold": {}}
    pooled: dict[str, list[tuple[str, str]]] = {"v4": [], "v3": [], "v4_before": []}
    for k, commit in V4_ROUNDS.items():
        texts = [r["text"] for r in by_fold[k]]
        y = [r["label"] for r in by_fold[k]]
        preds = {"v4": _labels_at(commit, texts), "v3": _labels_at(V3, texts), "v4_before": _labels_at(before, texts)}
        out["per_fold"][k] = {"n": len(y), **{name: macro_f1(y, p) for name, p in preds.items()}}
        if k:
            for name, p in preds.items():
                pooled[name] += list(zip(y, p, strict=True))
        read = "no fresh row" if k == 0 else ("fold 0" if k == 1 else f"folds 0-{k - 1}")
        print(f"fold {k}: n={len(y):3d}  v4 after reading {read}: macro-F1 {out['per_fold'][k]['v4']:.3f}   "
              f"v4 before any fresh row: {out['per_fold'][k]['v4_before']:.3f}   v3: {out['per_fold'][k]['v3']:.3f}")
    out["folds 1-4"] = {name: macro_f1([a for a, _ in v], [b for _, b in v]) for name, v in pooled.items()}
    f = out["folds 1-4"]
    print(f"folds 1-4 pooled: n={len(pooled['v4'])}  v4 prequential {f['v4']:.3f}   v4 before any fresh row "
          f"{f['v4_before']:.3f}   v3 {f['v3']:.3f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev-errors", action="store_true")
    ap.add_argument("--folds", action="store_true")
    ap.add_argument("--prequential", action="store_true")
    ap.add_argument("--fresh-prequential", action="store_true")
    args = ap.parse_args()
    if args.dev_errors:
        dev_errors()
        return
    if args.folds or args.prequential or args.fresh_prequential:
        res = {"folds": folds()} if args.folds else {}
        if args.prequential:
            res["prequential"] = prequential()
        if args.fresh_prequential:
            res["fresh_prequential"] = fresh_prequential()
        out = ROOT / "benchmarks" / "results"
        out.mkdir(exist_ok=True)
        (out / "bench_sentiment_cv.json").write_text(json.dumps(res, indent=2, default=str))
        return
    res = {"labelled": labelled(), "speed": speed(), "event_study": event_study()}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_sentiment.json").write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
