"""Backtest speed and memory: QuantDesk (event engine, plain-Python strategy, compiled fast path, sweep) against
backtesting.py, backtrader and vectorbt on the same synthetic 1-minute series, in the same run.

    .venv/bin/python benchmarks/bench_backtest.py                      # 1M bars (peers too: takes minutes)
    .venv/bin/python benchmarks/bench_backtest.py --bars 200000        # quick
    .venv/bin/python benchmarks/bench_backtest.py --peer-bars 200000   # 1M for QuantDesk, 200k for the peers

Every strategy is sma_cross(10, 30): buy all cash on the cross up, sell on the cross down, market orders filled
at the next open, fee 0.1%. Rates are bars per second of wall time on this machine (single runs after a warm-up;
JIT compile time excluded and reported apart). When peers run on fewer bars (`--peer-bars`), their per-bar rate is
measured on those bars and the ratios compare RATES: the peers are (close to) linear in bars, but that is an
extrapolation, and the output says so. Peers that are not installed are reported as 'not installed'.
Goals: event engine >= 10x backtrader and >= 2x backtesting.py; fast path >= 1x vectorbt from_signals;
peak memory of the 1M-bar backtest < 1 GB (resident set size of a fresh process, measured by a child probe).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

FAST, SLOW = 10, 30
FEE = 0.001
CASH = 10_000.0


# ---- data ------------------------------------------------------------------------------------------------------
def make_data(bars: int, seed: int = 42) -> pd.DataFrame:
    """Seeded synthetic 1m OHLCV (quantdesk.data.synth if present, else a plain random walk)."""
    try:
        from quantdesk.data.synth import synth_ohlcv

        return synth_ohlcv(bars, "1m", seed=seed)
    except ImportError:
        rng = np.random.default_rng(seed)
        close = np.round(1000 * np.exp(np.cumsum(rng.normal(0, 0.0008, bars))), 2)
        open_ = np.r_[1000.0, close[:-1]]
        spread = np.abs(rng.normal(0, 0.0005, bars)) * close
        idx = pd.date_range("2020-01-01", periods=bars, freq="min", tz="UTC", name="timestamp")
        return pd.DataFrame({"open": open_, "high": np.round(np.maximum(open_, close) + spread, 2),
                             "low": np.round(np.minimum(open_, close) - spread, 2), "close": close,
                             "volume": rng.uniform(1, 10, bars)}, index=idx)


LAST_CPU: list[float] = [0.0]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of fn() (its CPU seconds, all threads, are left in LAST_CPU[0])."""
    gc.collect()
    c = time.process_time()
    t = time.perf_counter()
    out = fn()
    LAST_CPU[0] = time.process_time() - c
    return time.perf_counter() - t, out


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """High-water mark of this process's resident set (VmHWM; ru_maxrss would include the parent's peak)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak measures the backtest alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# ---- QuantDesk ---------------------------------------------------------------------------------------------------
def qd_config():
    from quantdesk.backtest.config import BacktestConfig

    return BacktestConfig(strategy="sma_cross", params={"fast": FAST, "slow": SLOW}, symbol="SYN/USD",
                          timeframe="1m", cash=CASH, fee=FEE)


def plain_python_strategy():
    """sma_cross written as plain Python in on_bar (running sums; no catalog indicators)."""
    from quantdesk.strategies.base import Strategy

    class PlainSmaCross(Strategy):
        name = ""

        def on_start(self) -> None:
            self.win: list[float] = []
            self.sf = self.ss = 0.0
            self.prev: tuple[float, float] | None = None

        def on_bar(self, bar) -> None:
            c = bar.close
            w = self.win
            w.append(c)
            self.sf += c
            self.ss += c
            n = len(w)
            if n > FAST:
                self.sf -= w[n - FAST - 1]
            if n > SLOW:
                self.ss -= w[n - SLOW - 1]
                w.pop(0) if n > 4 * SLOW else None
            if n < SLOW:
                return
            f, s = self.sf / FAST, self.ss / SLOW
            prev, self.prev = self.prev, (f, s)
            if prev is None:
                return
            if f > s and prev[0] <= prev[1] and self.is_flat:
                self.buy_all_cash()
            elif f < s and prev[0] >= prev[1] and self.is_long:
                self.close()

    return PlainSmaCross()


def run_event(df: pd.DataFrame):
    from quantdesk.backtest.runner import run_backtest

    return run_backtest(qd_config(), df)


def run_event_plain(df: pd.DataFrame):
    from quantdesk.backtest.runner import run_backtest

    return run_backtest(qd_config(), df, strategy=plain_python_strategy())


def run_fast(df: pd.DataFrame):
    from quantdesk.backtest.fastpath import run_fast as rf

    return rf(qd_config(), df)


def grid() -> tuple[np.ndarray, np.ndarray]:
    fasts = np.arange(5, 101, 5)  # 20
    slows = np.arange(110, 301, 10)  # 20 -> 400 combinations, all fast < slow
    from quantdesk.backtest.fastpath import param_grid

    return param_grid(fasts, slows)


# ---- peers ---------------------------------------------------------------------------------------------------------
def bench_backtestingpy(df: pd.DataFrame) -> dict[str, Any]:
    try:
        from backtesting import Backtest, Strategy
    except ImportError:
        return {"status": "not installed"}
    from quantdesk.backtest.fastpath import sma

    class SmaCross(Strategy):
        def init(self):
            self.f = self.I(sma, self.data.Close, FAST)
            self.s = self.I(sma, self.data.Close, SLOW)

        def next(self):
            f, s = self.f, self.s
            if f[-1] > s[-1] and f[-2] <= s[-2] and not self.position:
                self.buy()
            elif f[-1] < s[-1] and f[-2] >= s[-2] and self.position.is_long:
                self.position.close()

    data = df.rename(columns=str.capitalize)
    data.index = data.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(data, SmaCross, cash=CASH * 1000, commission=FEE, trade_on_close=False, finalize_trades=True)
        secs, stats = timed(lambda: bt.run())
    import backtesting

    return {"status": "ok", "version": backtesting.__version__, "seconds": secs, "bars": len(df),
            "trades": int(stats["# Trades"])}


def bench_backtrader(df: pd.DataFrame) -> dict[str, Any]:
    try:
        import backtrader as bt
    except ImportError:
        return {"status": "not installed"}

    class SmaCross(bt.Strategy):
        def __init__(self):
            self.cross = bt.indicators.CrossOver(bt.indicators.SMA(self.data.close, period=FAST),
                                                 bt.indicators.SMA(self.data.close, period=SLOW))

        def next(self):
            if self.cross[0] > 0 and not self.position:
                self.buy(size=self.broker.getcash() / (self.data.close[0] * (1 + FEE)) * 0.98)
            elif self.cross[0] < 0 and self.position:
                self.close()

    data = df.copy()
    data.index = data.index.tz_localize(None)

    def go():
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=data))
        cerebro.addstrategy(SmaCross)
        cerebro.broker.setcash(CASH)
        cerebro.broker.setcommission(commission=FEE)
        return cerebro.run()

    secs, _ = timed(go)
    return {"status": "ok", "version": bt.__version__, "seconds": secs, "bars": len(df)}


def bench_vectorbt(df: pd.DataFrame, sweep_bars: int) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import vectorbt as vbt
    except Exception as exc:  # noqa: BLE001 - report precisely why it cannot run
        return {"status": f"cannot import: {type(exc).__name__}: {exc}"}
    from quantdesk.backtest import fastpath as fp

    out: dict[str, Any] = {"status": "ok", "version": vbt.__version__}
    ent, ext = fp.sma_cross_signals(df["close"].to_numpy(), FAST, SLOW)
    # our semantics in vectorbt's terms: act on the bar AFTER the signal, at its open
    ent_n = np.r_[False, ent[:-1]]
    ext_n = np.r_[False, ext[:-1]]
    close, open_ = df["close"], df["open"]

    def vbt_run(c, o, e, x):
        return vbt.Portfolio.from_signals(c, e, x, price=o, fees=FEE, init_cash=CASH, size=np.inf, freq="1min")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n0 = min(5000, len(df))
            vbt_run(close.iloc[:n0], open_.iloc[:n0], ent_n[:n0], ext_n[:n0])  # compile
            secs, pf = timed(lambda: vbt_run(close, open_, ent_n, ext_n))
            secs_total, total = timed(lambda: float(pf.total_return()))
    except Exception as exc:  # noqa: BLE001
        return {"status": f"cannot run: {type(exc).__name__}: {exc}"}
    out.update(seconds=secs, stats_seconds=secs_total, bars=len(df), total_return_pct=total * 100,
               trades=int(pf.trades.count()))
    # the same 1-column simulation in our kernel, on the same precomputed signals, no rounding
    fp.simulate(df.iloc[:n0], ent[:n0], ext[:n0], cash=CASH, fee=FEE)
    ours_secs, fr = timed(lambda: fp.simulate(df, ent, ext, cash=CASH, fee=FEE))
    out.update(ours_seconds=ours_secs, ours_total_return_pct=float(fr.summary["total_return_pct"].iloc[0]))
    # 2-D sweep: 400 columns on the first `sweep_bars` bars
    sub = df.iloc[:sweep_bars]
    f, s = grid()
    e2, x2 = fp.sma_cross_signals(sub["close"].to_numpy(), f, s)
    e2n = np.vstack([np.zeros((1, e2.shape[1]), bool), e2[:-1]])
    x2n = np.vstack([np.zeros((1, x2.shape[1]), bool), x2[:-1]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            secs2, pf2 = timed(lambda: vbt_run(sub["close"], sub["open"], e2n, x2n))
            secs2b, _ = timed(lambda: pf2.total_return())
        out.update(sweep_seconds=secs2 + secs2b, sweep_bars=len(sub), sweep_columns=e2.shape[1])
    except Exception as exc:  # noqa: BLE001
        out["sweep_status"] = f"cannot run: {type(exc).__name__}: {exc}"
    return out


# ---- memory probe (child process) ---------------------------------------------------------------------------------
def mem_probe(kind: str, bars: int) -> None:
    df = make_data(bars)
    from quantdesk.backtest import fastpath  # noqa: F401 - imports + compiled kernels loaded before the baseline

    if kind == "fast":
        run_fast(make_data(2000))  # JIT warm-up not counted as the backtest's memory
    elif kind == "event":
        run_event(make_data(2000))
    gc.collect()
    base = rss_mb()
    process_peak_before = peak_rss_mb()
    reset = reset_peak_rss()
    t = time.perf_counter()
    res = {"event": run_event, "event_plain": run_event_plain, "fast": run_fast}[kind](df)
    secs = time.perf_counter() - t
    print(json.dumps({"kind": kind, "bars": bars, "baseline_rss_mb": base, "peak_rss_mb": peak_rss_mb(),
                      "peak_reset": reset, "peak_before_backtest_mb": process_peak_before,
                      "seconds": secs, "trades": len(res.trades)}))


def probe(kind: str, bars: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--mem-probe", kind, "--bars", str(bars)], capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- main ------------------------------------------------------------------------------------------------------------
def fmt_rate(bars: float, secs: float) -> str:
    return f"{bars / secs:>14,.0f}" if secs > 0 else "             -"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=1_000_000, help="bars for QuantDesk (default 1,000,000)")
    ap.add_argument("--peer-bars", type=int, default=None, help="bars for backtesting.py/backtrader/vectorbt "
                    "(default: --bars); rates are per bar")
    ap.add_argument("--sweep-peer-bars", type=int, default=100_000,
                    help="bars for vectorbt's 400-column sweep (default 100,000; 2-D signals are bars x 400)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON document")
    ap.add_argument("--mem-probe", choices=["event", "event_plain", "fast"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.mem_probe:
        mem_probe(args.mem_probe, args.bars)
        return 0
    bars = args.bars
    peer_bars = min(args.peer_bars or bars, bars)
    results: dict[str, Any] = {"bars": bars, "peer_bars": peer_bars, "cpus": os.cpu_count()}
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print

    log(f"data: {bars:,} synthetic 1m bars (seeded); sma_cross({FAST},{SLOW}), fee {FEE}, cash {CASH:,.0f}")
    try:
        log(f"load average (1/5/15 min): {os.getloadavg()} on {os.cpu_count()} CPUs: other work skews wall times")
        results["loadavg"] = os.getloadavg()
    except OSError:
        pass
    t, df = timed(lambda: make_data(bars))
    log(f"  generated in {t:.1f}s")
    from quantdesk.backtest import fastpath as fp

    t_compile, _ = timed(lambda: (run_fast(make_data(3000)), fp.sweep_sma_cross(make_data(3000), *grid())))
    results["fast_warmup_seconds"] = t_compile
    run_event(make_data(3000))  # import + first-call costs out of the measurement

    rows: list[tuple[str, int, float, str]] = []
    secs, ev = timed(lambda: run_event(df))
    rows.append(("quantdesk event engine (built-in sma_cross)", bars, secs, f"{len(ev.trades)} trades"))
    results["event"] = {"seconds": secs, "trades": len(ev.trades)}
    log(f"  event engine: {secs:.2f}s")
    secs, evp = timed(lambda: run_event_plain(df))
    rows.append(("quantdesk event engine (plain Python on_bar)", bars, secs, f"{len(evp.trades)} trades"))
    results["event_plain"] = {"seconds": secs, "trades": len(evp.trades)}
    log(f"  event engine, plain strategy: {secs:.2f}s")
    secs, fr = timed(lambda: run_fast(df))
    rows.append(("quantdesk fast path (run_fast: signals+sim+result)", bars, secs, f"{len(fr.trades)} trades"))
    results["fast"] = {"seconds": secs, "trades": len(fr.trades)}
    same = len(fr.trades) == len(ev.trades) and np.allclose(fr.equity.to_numpy(), ev.equity.to_numpy(), rtol=1e-9)
    results["fast_equals_event"] = bool(same)
    if not same:  # where do they part? (float cash vs the event engine's Decimal cash, at near-zero equity)
        n = min(len(fr.trades), len(ev.trades))
        diff = np.flatnonzero(fr.trades["entry_time"].to_numpy()[:n] != ev.trades["entry_time"].to_numpy()[:n])
        k = int(diff[0]) if len(diff) else n
        t_k = ev.trades["entry_time"].iloc[max(k - 1, 0)]
        results["fast_event_divergence"] = {
            "identical_trades": k, "event_trades": len(ev.trades), "fast_trades": len(fr.trades),
            "event_equity_there": float(ev.equity.loc[t_k]), "fast_equity_there": float(fr.equity.loc[t_k]),
        }
    f, s = grid()
    secs, sw = timed(lambda: fp.sweep_sma_cross(df, f, s, price_precision=2, size_precision=8,
                                                   money_precision=10))
    rows.append((f"quantdesk fast sweep ({len(f)} combos, summary only)", bars * len(f), secs,
                 f"{len(f) / secs:,.1f} backtests/s; {LAST_CPU[0]:.1f} CPU-s on {os.cpu_count()} cores"))
    results["sweep"] = {"seconds": secs, "cpu_seconds": LAST_CPU[0], "combos": len(f),
                        "backtests_per_second": len(f) / secs}
    log(f"  fast path: {results['fast']['seconds']:.2f}s, sweep {secs:.2f}s")

    peers: dict[str, Any] = {}
    if not args.skip_peers:
        pdf = df.iloc[:peer_bars]
        for name, fn in (("backtesting.py", bench_backtestingpy), ("backtrader", bench_backtrader)):
            log(f"  running {name} on {peer_bars:,} bars ...")
            peers[name] = fn(pdf)
        log(f"  running vectorbt on {peer_bars:,} bars ...")
        peers["vectorbt"] = bench_vectorbt(pdf, min(args.sweep_peer_bars, peer_bars))
        for name, r in peers.items():
            if r.get("status") == "ok":
                rows.append((f"{name} {r.get('version', '')}", r["bars"], r["seconds"], ""))
        v = peers["vectorbt"]
        if v.get("status") == "ok":
            rows.append(("  quantdesk simulate() on the same signals", v["bars"], v["ours_seconds"],
                         f"return {v['ours_total_return_pct']:.4f}% vs vectorbt {v['total_return_pct']:.4f}%"))
            if "sweep_seconds" in v:
                rows.append((f"vectorbt sweep ({v['sweep_columns']} columns from_signals + stats)",
                             v["sweep_bars"] * v["sweep_columns"], v["sweep_seconds"],
                             f"{v['sweep_columns'] / v['sweep_seconds']:,.1f} backtests/s on {v['sweep_bars']:,} bars"))
    results["peers"] = peers

    mem: dict[str, Any] = {}
    if not args.skip_memory:
        for kind in ("event", "fast"):
            log(f"  memory probe: {kind} on {bars:,} bars (fresh process) ...")
            mem[kind] = probe(kind, bars)
    results["memory"] = mem

    # ---- report ----
    def rate(key: str) -> float | None:
        if key == "event":
            return bars / results["event"]["seconds"]
        if key == "fast":
            return bars / results["fast"]["seconds"]
        r = peers.get(key, {})
        return r["bars"] / r["seconds"] if r.get("status") == "ok" else None

    ratios: dict[str, Any] = {}
    for label, ours, peer, goal in (
        ("event vs backtrader", "event", "backtrader", 10.0),
        ("event vs backtesting.py", "event", "backtesting.py", 2.0),
    ):
        a, b = rate(ours), rate(peer)
        ratios[label] = {"ratio": a / b if a and b else None, "goal": goal}
    v = peers.get("vectorbt", {})
    if v.get("status") == "ok":
        ratios["fast simulate vs vectorbt from_signals (same signals, 1 column)"] = {
            "ratio": v["seconds"] / v["ours_seconds"], "goal": 1.0}
        ratios["fast run_fast (incl. signals + result) vs vectorbt from_signals"] = {
            "ratio": (v["bars"] / v["seconds"]) and (bars / results["fast"]["seconds"]) / (v["bars"] / v["seconds"]),
            "goal": 1.0}
        if "sweep_seconds" in v:
            ours_rate = bars * results["sweep"]["combos"] / results["sweep"]["seconds"]
            theirs = v["sweep_bars"] * v["sweep_columns"] / v["sweep_seconds"]
            ratios["fast sweep vs vectorbt sweep (bar-columns/s)"] = {"ratio": ours_rate / theirs, "goal": 1.0}
    results["ratios"] = ratios

    if args.json:
        print(json.dumps(results, indent=2, default=float))
        return 0
    print()
    print(f"{'run':<58}{'bars':>12}{'seconds':>10}{'bars/s':>15}  note")
    for name, n, secs, note in rows:
        print(f"{name:<58}{n:>12,}{secs:>10.2f}{fmt_rate(n, secs)}  {note}")
    for name, r in peers.items():
        if r.get("status") != "ok":
            print(f"{name:<58}  {r.get('status')}")
    if peer_bars < bars:
        print(f"\nNOTE: peers ran on {peer_bars:,} bars, QuantDesk on {bars:,}; ratios compare per-bar rates "
              f"(extrapolated, assuming linear cost in bars).")
    print(f"fast path == event engine (trades and equity): {results['fast_equals_event']}; "
          f"JIT warm-up {results['fast_warmup_seconds']:.1f}s (excluded)")
    div = results.get("fast_event_divergence")
    if div:
        print(f"  the first {div['identical_trades']:,} trades are identical (of {div['event_trades']:,} event / "
              f"{div['fast_trades']:,} fast); they part where the equity has fallen to "
              f"{div['event_equity_there']:.3g} (event, Decimal cash) vs {div['fast_equity_there']:.3g} (fast, float "
              f"cash) from {CASH:,.0f}: one-lot orders decided by 1e-9 of float rounding")
    print("\nratios (higher is better for QuantDesk):")
    for label, r in ratios.items():
        ratio = r["ratio"]
        verdict = "-" if ratio is None else ("meets goal" if ratio >= r["goal"] else "BELOW goal")
        shown = "n/a" if ratio is None else f"{ratio:.2f}x"
        print(f"  {label:<66} {shown:>9}  (goal >= {r['goal']:g}x) {verdict}")
    if mem:
        print("\npeak memory (fresh process, resident set):")
        for kind, m in mem.items():
            if "error" in m:
                print(f"  {kind}: probe failed: {m['error']}")
            else:
                what = "during the backtest" if m.get("peak_reset") else "whole process"
                print(f"  {kind:<6} {m['bars']:,} bars: peak RSS {m['peak_rss_mb']:.0f} MB {what} (RSS before it "
                      f"{m['baseline_rss_mb']:.0f} MB: interpreter, imports, data; process peak before it "
                      f"{m['peak_before_backtest_mb']:.0f} MB); {m['seconds']:.1f}s  (goal < 1024 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
