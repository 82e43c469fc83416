"""Sweep rate (backtests per second) of a 2-parameter sma_cross grid via the compiled fast path, vs vectorbt.

    .venv/bin/python benchmarks/bench_sweep.py                 # 1,000,000 synthetic 1m bars, 20 x 20 = 400 pairs
    .venv/bin/python benchmarks/bench_sweep.py --bars 100000   # quick
    .venv/bin/python benchmarks/bench_sweep.py --optimize      # also the full optimiser (every metric per trial)

Data: `quantdesk.data.synth.synth_ohlcv(bars, "1m", seed=42)` (deterministic). Grid: fast = 5, 10, ..., 100 and
slow = 110, 120, ..., 300 (every pair has fast < slow). Same trade semantics on both sides: signal on the close,
fill at the next open, all-in long only, fee 0.1 % per fill, an open position marked to the last close.

Measured (after a warm-up that compiles the numba kernels):
- `fastpath.sweep_sma_cross`: the summary kernel (final equity, return, Sharpe, drawdown, trades per pair), with the
  event engine's rounding rules (price tick from the data, 8-decimal lots), all 400 columns in one call;
- `research.optimize` (with --optimize): the optimiser's grid path (fast path + every metric of
  `compute_metrics` + per-trial returns for the overfitting statistics), in-process;
- vectorbt (if installed): `MA.run` + `ma_crossed_above/below` + `Portfolio.from_signals(price=open, signals
  shifted one bar)` + `total_return()`, in column chunks (to bound memory), same process. The agreement of the
  total returns with our kernel WITHOUT rounding is printed as a sanity check.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np


def _grid(n_fast: int, n_slow: int) -> tuple[np.ndarray, np.ndarray]:
    from quantdesk.backtest.fastpath import param_grid

    return param_grid(list(range(5, 5 * n_fast + 1, 5)), list(range(110, 110 + 10 * n_slow, 10)))


def bench_fastpath(df, fast, slow, fee: float, repeat: int, rounding: bool = True):
    from quantdesk.backtest.fastpath import instrument_precision, sweep_sma_cross

    prec = instrument_precision(df) if rounding else {}
    sweep_sma_cross(df.iloc[:2000], fast[:4], slow[:4], fee=fee, **prec)  # compile / load the cache
    best = np.inf
    table = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        table = sweep_sma_cross(df, fast, slow, fee=fee, **prec)
        best = min(best, time.perf_counter() - t0)
    return best, table


def bench_optimize(df, fast, slow, fee: float):
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.research.optimize import optimize

    pairs = sorted(set(zip(fast.tolist(), slow.tolist(), strict=True)))
    space = {"fast": sorted({p[0] for p in pairs}), "slow": sorted({p[1] for p in pairs})}
    base = BacktestConfig(strategy="sma_cross", fee=fee)
    optimize("sma_cross", df.iloc[:2000], {"fast": [5], "slow": [110]}, base_config=base)  # warm-up
    t0 = time.perf_counter()
    res = optimize("sma_cross", df, space, base_config=base, constraints=["slow>fast"])
    return time.perf_counter() - t0, res


def bench_vectorbt(df, fast, slow, fee: float, chunk: int):
    try:
        import vectorbt as vbt
    except Exception as exc:  # noqa: BLE001 - ImportError or an incompatible numpy/pandas
        return None, f"vectorbt not installed ({type(exc).__name__}: {exc})"
    close, open_ = df["close"], df["open"].to_numpy()

    def run(f, s):
        fm = vbt.MA.run(close, list(f), short_name="fast")
        sm = vbt.MA.run(close, list(s), short_name="slow")
        ent = fm.ma_crossed_above(sm).to_numpy()
        ext = fm.ma_crossed_below(sm).to_numpy()
        ent = np.vstack([np.zeros((1, ent.shape[1]), bool), ent[:-1]])  # fill at the next bar's open
        ext = np.vstack([np.zeros((1, ext.shape[1]), bool), ext[:-1]])
        price = np.broadcast_to(open_[:, None], ent.shape)
        pf = vbt.Portfolio.from_signals(close, ent, ext, price=price, fees=fee, init_cash=10_000.0, freq="1min")
        return np.asarray(pf.total_return()) * 100.0

    run(fast[:2], slow[:2])  # compile
    out = []
    t0 = time.perf_counter()
    for i in range(0, len(fast), chunk):
        out.append(run(fast[i : i + chunk], slow[i : i + chunk]))
        gc.collect()
    return time.perf_counter() - t0, np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--n-fast", type=int, default=20)
    ap.add_argument("--n-slow", type=int, default=20)
    ap.add_argument("--fee", type=float, default=0.001)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=25, help="vectorbt columns per call (memory)")
    ap.add_argument("--vbt-columns", type=int, default=None,
                    help="run vectorbt on the first N pairs only (its rate is per backtest; default all)")
    ap.add_argument("--no-vectorbt", action="store_true")
    ap.add_argument("--optimize", action="store_true", help="also time research.optimize (every metric)")
    args = ap.parse_args()

    from quantdesk.data.synth import synth_ohlcv

    t0 = time.perf_counter()
    df = synth_ohlcv(args.bars, "1m", seed=42)
    fast, slow = _grid(args.n_fast, args.n_slow)
    n = len(fast)
    print(f"data: {len(df):,} synthetic 1m bars (seed 42, {time.perf_counter() - t0:.1f} s); grid: {n} (fast, slow) pairs")

    secs, table = bench_fastpath(df, fast, slow, args.fee, args.repeat)
    print(f"quantdesk fast path (sweep_sma_cross): {secs:.3f} s -> {n / secs:,.1f} backtests/s "
          f"({n * len(df) / secs / 1e6:,.0f} M bar-steps/s)")
    if args.optimize:
        osecs, res = bench_optimize(df, fast, slow, args.fee)
        print(f"quantdesk optimize (grid, every metric + overfitting stats): {osecs:.2f} s -> "
              f"{len(res.table) / osecs:,.1f} backtests/s; best {res.best_params}, "
              f"DSR {res.overfitting['dsr']:.3f}, PBO {res.overfitting['pbo']:.3f}")
    if args.no_vectorbt:
        return
    m = min(n, args.vbt_columns) if args.vbt_columns else n
    vsecs, vret = bench_vectorbt(df, fast[:m], slow[:m], args.fee, args.chunk)
    if vsecs is None:
        print(vret if str(vret).startswith("vectorbt not installed") else f"vectorbt not installed: {vret}")
        return
    print(f"vectorbt (MA.run + Portfolio.from_signals, chunks of {args.chunk}, {m} pairs): {vsecs:.3f} s -> "
          f"{m / vsecs:,.1f} backtests/s")
    print(f"ratio: quantdesk fast path sweep rate = {(n / secs) / (m / vsecs):,.1f}x vectorbt's")
    _, raw = bench_fastpath(df, fast[:m], slow[:m], args.fee, 1, rounding=False)
    diff = np.abs(raw["total_return_pct"].to_numpy() - vret)
    print(f"agreement (total return %, no rounding): max |diff| {np.nanmax(diff):.2e}, "
          f"median {np.nanmedian(diff):.2e}, columns differing by > 1e-6: {(diff > 1e-6).sum()} of {m}")


if __name__ == "__main__":
    main()
