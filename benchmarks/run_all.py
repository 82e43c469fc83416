"""Run every QuantDesk benchmark in sequence (`make bench`), each in its own process.

Each benchmark compares against its peers in the same run and prints ratios; see the README's
"Benchmarks" section for the goals. `--quick` uses smaller inputs for a fast smoke run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs (about a minute in all)")
    args = parser.parse_args()
    runs = [
        ["bench_data.py", "--rows", "200000" if args.quick else "1000000"],
        ["bench_indicators.py", *(["--quick"] if args.quick else [])],
        ["bench_backtest.py", *(["--bars", "100000", "--peer-bars", "20000"] if args.quick else
                                ["--peer-bars", "100000"])],
        ["bench_sweep.py", *(["--bars", "100000", "--vbt-columns", "10"] if args.quick else ["--vbt-columns", "25"])],
        ["bench_api.py", *(["--quick"] if args.quick else [])],
        ["bench_ml.py", *(["--quick"] if args.quick else [])],
    ]
    failed = []
    for script, *rest in runs:
        print(f"\n=== {script} {' '.join(rest)}", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / script), *rest])
        if proc.returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
