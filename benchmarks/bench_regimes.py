"""Regimes and anomalies: detection quality on data with known truth, streaming cost per bar, and the honest
usefulness study on the real test data. Run on demand (`python benchmarks/bench_regimes.py [--quick]`).

1. Known switch times (seeded Markov-switching series, 2 states, vol x3): per detector, precision / recall / F1
   at a 20-bar tolerance, median detection delay, false alarms per 2,000 bars, vs the no-skill baseline (the
   same number of detections at random bars). Goals: delay <= 10, F1 >= 0.8, <= 1 false alarm / 2,000 bars.
2. HMM label mapping over 20 seeded fits (must never swap).
3. Injected anomalies (spikes, flat lines, gaps, volume bursts): precision / recall per method vs random flags.
4. Streaming cost per bar (mean, p99, max; the max includes refits of the model-based detectors). Goal < 1 ms.
5. Usefulness: regime-conditioned vs unconditioned sizing in walk-forward on BTC 1d and GOOG 1d (real data).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quantdesk.intel.anomalies.detect import BarAnomalyStream, detect_anomalies  # noqa: E402
from quantdesk.intel.anomalies.synthetic import inject_anomalies, score_detections  # noqa: E402
from quantdesk.intel.anomalies.whales import WhaleWatcher  # noqa: E402
from quantdesk.intel.regimes.detect import RegimeStream, detect_regimes  # noqa: E402
from quantdesk.intel.regimes.evaluate import detections_from_output, label_mapping, match_detections  # noqa: E402
from quantdesk.intel.regimes.synthetic import markov_switching_bars  # noqa: E402

DATA = ROOT / "tests" / "data"


def detection(seeds: list[int], n: int) -> None:
    print(f"\n# 1. known switch times: {len(seeds)} series x {n} bars")
    print(f"{'method':8} {'switches':>8} {'det':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'delay':>6} "
          f"{'FA/2000':>8} {'F1 random':>9} {'time s':>7}")
    rng = np.random.default_rng(0)
    for method in ("rules", "hmm", "markov", "bocpd"):
        tp = det = sw = fa = bars = base_tp = 0
        delays: list[int] = []
        t0 = time.perf_counter()
        for seed in seeds:
            sim = markov_switching_bars(n, seed)
            out = detect_regimes(sim.bars, method).to_numpy()
            first = int(np.flatnonzero(np.isfinite(out[:, 6]))[0])
            switches = sim.switches[sim.switches > first + 20]
            d = detections_from_output(out[:, 6])
            m = match_detections(switches, d, 20)
            tp, det, sw, fa = tp + m["matched"], det + m["detections"], sw + m["switches"], fa + m["false_alarms"]
            delays += m["delays"]
            bars += n - first
            rand = rng.choice(np.arange(first, n), size=max(len(d), 1), replace=False)
            base_tp += match_detections(switches, rand, 20)["matched"]
        el = time.perf_counter() - t0
        p, r = tp / max(det, 1), tp / max(sw, 1)
        f1 = 2 * p * r / (p + r) if tp else 0.0
        bp, br = base_tp / max(det, 1), base_tp / max(sw, 1)
        bf1 = 2 * bp * br / (bp + br) if base_tp else 0.0
        print(f"{method:8} {sw:8d} {det:5d} {p:6.3f} {r:6.3f} {f1:6.3f} {np.median(delays) if delays else np.nan:6.1f} "
              f"{fa / bars * 2000:8.2f} {bf1:9.3f} {el:7.1f}")


def label_stability() -> None:
    from quantdesk.intel.regimes.features import features_batch
    from quantdesk.intel.regimes.fitted import fit_hmm, window_filter

    sim = markov_switching_bars(2500, seed=5)
    b = sim.bars
    f = features_batch(b["high"].to_numpy(), b["low"].to_numpy(), b["close"].to_numpy())[1:]
    maps = []
    for seed in range(20):
        p = fit_hmm(f, 2, seed)
        maps.append(None if p is None else label_mapping(np.argmax(window_filter(p, f)[0], axis=1), sim.states[1:]))
    same = sum(m == {0: 0, 1: 1} for m in maps)
    print(f"\n# 2. HMM label mapping over 20 seeded fits: {same}/20 map label 0 -> calm, 1 -> volatile")


def anomalies(n: int) -> None:
    print(f"\n# 3. injected anomalies ({n} clean bars, 10 of each kind)")
    clean = markov_switching_bars(n, seed=21, n_states=1).bars
    bars, events = inject_anomalies(clean, seed=4)
    rng = np.random.default_rng(1)
    print(f"{'method':8} {'rows':>5} {'precision':>9} {'recall':>6}  recall by kind{'':28} random precision/recall")
    for method in ("zscore", "iqr", "iforest", "ocsvm", "ecod"):
        rows = detect_anomalies(bars, method)
        r = score_detections(rows["timestamp"], events, bars.index)
        base = score_detections(bars.index[rng.choice(len(bars), size=len(rows), replace=False)], events, bars.index)
        kinds = " ".join(f"{k}={v:.2f}" for k, v in sorted(r["recall_by_kind"].items()))
        print(f"{method:8} {len(rows):5d} {r['precision']:9.3f} {r['recall']:6.3f}  {kinds:42} "
              f"{base['precision']:.3f}/{base['recall']:.3f}")


def streaming(n: int) -> None:
    print(f"\n# 4. streaming cost per bar ({n} bars; the max includes model refits)")
    sim = markov_switching_bars(n, seed=3)
    b = sim.bars
    h, lo, c, o, v = (b[k].to_numpy() for k in ("high", "low", "close", "open", "volume"))
    ts = b.index.as_unit("ns").asi8
    print(f"{'detector':28} {'mean us':>8} {'p99 us':>8} {'max ms':>8}")

    def measure(name, fn):
        cost = np.empty(n)
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            cost[i] = time.perf_counter() - t0
        print(f"{name:28} {cost.mean() * 1e6:8.1f} {np.percentile(cost, 99) * 1e6:8.1f} {cost.max() * 1e3:8.2f}")

    for method, extra in (("rules", {}), ("hmm", {}), ("markov", {}), ("markov", {"refit": 1000}), ("bocpd", {})):
        s = RegimeStream(method=method, **extra)
        label = f"regime {method}" + (f" refit={extra['refit']}" if extra else "")
        measure(label, lambda i, s=s: s.step(h[i], lo[i], c[i]))
    for method in ("zscore", "iqr", "ecod"):
        s = BarAnomalyStream(method, timeframe_ns=3_600_000_000_000)
        measure(f"anomaly {method} (+health)", lambda i, s=s: s.update(int(ts[i]), o[i], h[i], lo[i], c[i], v[i]))
    w = WhaleWatcher()
    amounts = np.exp(np.random.default_rng(0).normal(0, 1, n))
    measure("whale watcher (per trade)", lambda i: w.update(100.0, amounts[i]))


def usefulness(methods: list[str]) -> None:
    from quantdesk.intel.regimes.study import usefulness_study

    print("\n# 5. usefulness: regime-conditioned vs unconditioned sizing, walk-forward OOS (train 500, test 250 bars)")
    print(f"{'series':8} {'method':7} {'Sharpe unc':>10} {'Sharpe cond':>11} {'ret% unc':>9} {'ret% cond':>9} "
          f"{'maxDD unc':>9} {'maxDD cond':>10}  chosen volatile weights   verdict")
    for path, name in ((DATA / "BTCUSD_Coinbase_1d_2014-12-01_2019-10-17.csv", "btc_1d"),
                       (DATA / "GOOG_1d_2004-08-19_2013-03-01.csv", "goog_1d")):
        df = pd.read_csv(path)
        df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True))
        df = df.astype("float64")
        for method in methods:
            r = usefulness_study(df, name=name, method=method)
            u, k = r["unconditioned"], r["conditioned"]
            print(f"{name:8} {method:7} {u['sharpe']:10.3f} {k['sharpe']:11.3f} {u['total_return_pct']:9.1f} "
                  f"{k['total_return_pct']:9.1f} {u['max_drawdown_pct']:9.1f} {k['max_drawdown_pct']:10.1f}  "
                  f"{json.dumps(r['chosen_weights']):24} {r['verdict']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer seeds and bars")
    args = ap.parse_args()
    detection([11, 12] if args.quick else [11, 12, 13, 14, 15], 4000 if args.quick else 6000)
    label_stability()
    anomalies(4000)
    streaming(2000 if args.quick else 6000)
    usefulness(["hmm", "bocpd"] if args.quick else ["hmm", "markov", "bocpd"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
