"""PowerTrader: training speed of the improved model, compat = golden, and the walk-forward "bounce" evaluation
against no-skill baselines (with the original's own kind of accuracy figure next to them).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_powertrader.py            # 7 x 13k candles, RW 30k, BTC
    PYTHONPATH=src .venv/bin/python benchmarks/bench_powertrader.py --quick    # 7 x 4k candles, RW 12k
    PYTHONPATH=src .venv/bin/python benchmarks/bench_powertrader.py --json     # one JSON document

Goal: the improved trainer learns 7 timeframes x 13,000 candles in under 60 s on 2 cores (JIT compile time is
measured apart: numba caches it on disk after the first run). Evaluation: per method the touch rates of the
lower/upper bounds, the bounce rate P(close back inside | touched) with its standard error, and containment
(P(the next candle stays inside the bounds), the kind of "accuracy" the original prints). The verdict compares
each method's bounce rate with the ATR band's (same touch rate, set on the calibration fold).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quantdesk.intel.powertrader import improved as imp  # noqa: E402
from quantdesk.intel.powertrader.candles import Candles, read_candle_dir  # noqa: E402
from quantdesk.intel.powertrader.compat import train_compat  # noqa: E402
from quantdesk.intel.powertrader.evaluation import EvalConfig, evaluate, random_walk, report_rows  # noqa: E402
from quantdesk.intel.powertrader.memory_io import format_memories  # noqa: E402
from quantdesk.intel.powertrader.timeframes import TF_SECONDS, TIMEFRAMES  # noqa: E402


def bench_training(n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    warm = imp.TimeframeModel.new("1hour", imp.ImprovedConfig())
    imp.train_improved(warm, random_walk(300, 1))  # compiles (or loads the cached) kernels
    jit = time.perf_counter() - t0
    per_tf = {}
    total = 0.0
    for k, tf in enumerate(TIMEFRAMES):
        c = random_walk(n, 100 + k, tf_seconds=TF_SECONDS[tf])
        m = imp.TimeframeModel.new(tf, imp.ImprovedConfig())
        t = time.perf_counter()
        imp.train_improved(m, c)
        dt = time.perf_counter() - t
        per_tf[tf] = round(dt, 3)
        total += dt
    return {"candles_per_timeframe": n, "seconds_total": round(total, 2), "seconds_per_timeframe": per_tf,
            "jit_or_cache_load_s": round(jit, 2), "goal_s": 60.0, "meets_goal": total < 60.0}


def bench_compat() -> dict[str, Any]:
    data = ROOT / "tests" / "data" / "powertrader"
    c = read_candle_dir(data / "candles")
    t = time.perf_counter()
    same = 0
    for tf in TIMEFRAMES:
        bank = train_compat(tf, c)
        same += format_memories(bank) == (data / "golden" / f"memories_{tf}.txt").read_text()
    return {"seconds": round(time.perf_counter() - t, 3), "memory_files_equal_to_golden": f"{same}/7"}


def btc_1h() -> Candles:
    df = pd.read_csv(ROOT / "tests" / "data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return Candles.from_frame(df.astype("float64"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {"compat": bench_compat(), "training": bench_training(4000 if args.quick else 13000)}
    cfg = EvalConfig(alpha=0.2, train_frac=0.3, calib_frac=0.2)
    evals = {"random_walk": evaluate(random_walk(12000 if args.quick else 30000, 2024), cfg=cfg)}
    evals["btc_1h_coinbase"] = evaluate(btc_1h(), cfg=cfg)
    out["evaluation"] = {k: {"rows": report_rows(v), "verdict": v["verdict"], "folds": v["folds"]}
                         for k, v in evals.items()}
    if args.json:
        print(json.dumps(out, indent=1, default=float))
        return 0
    tr = out["training"]
    print(f"compat: {out['compat']['memory_files_equal_to_golden']} memory files equal to golden "
          f"({out['compat']['seconds']} s)")
    print(f"improved training: 7 timeframes x {tr['candles_per_timeframe']} candles in {tr['seconds_total']} s "
          f"(goal < 60 s: {'met' if tr['meets_goal'] else 'NOT met'}; JIT/cache load {tr['jit_or_cache_load_s']} s)")
    print("  per timeframe:", ", ".join(f"{k} {v}s" for k, v in tr["seconds_per_timeframe"].items()))
    for name, ev in out["evaluation"].items():
        print(f"\nwalk-forward bounce evaluation: {name} (folds {ev['folds']})")
        cols = ["method", "predictions", "touch_lower_%", "touch_upper_%", "bounce_%", "bounce_se_%", "containment_%"]
        print("  " + "  ".join(f"{c:>14}" for c in cols))
        for row in ev["rows"]:
            print("  " + "  ".join(f"{row[c]!s:>14}" for c in cols))
        for m, v in ev["verdict"].items():
            if not v["comparable"]:
                print(f"  {m}: bounce {v['bounce_minus_atr_pp']:+.2f} pp vs the ATR band, but touched "
                      f"{v['touch_minus_atr_pp']:+.1f} pp more often: bounds of another depth, not comparable")
                continue
            print(f"  {m}: bounce {v['bounce_minus_atr_pp']:+.2f} pp vs the ATR band (se {v['se_pp']:.2f} pp) -> "
                  f"{'beats it' if v['beats_atr_band'] else 'does not beat it'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
