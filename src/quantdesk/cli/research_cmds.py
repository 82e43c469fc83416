"""Research commands: `quantdesk walk-forward`, `quantdesk monte-carlo`, `quantdesk check-bias`.

    quantdesk walk-forward --strategy sma_cross --symbol BTC/USDT --timeframe 1h --train 180d --test 30d \\
        --space fast=5:30:5 --space slow=20:100:20 --out runs/wf
    quantdesk monte-carlo --run runs/sma --method trades-shuffle --sims 1000 --out runs/mc
    quantdesk monte-carlo --strategy sma_cross --symbol BTC/USDT --timeframe 1h --method returns-block-bootstrap \\
        --block 24 --out runs/mc2
    quantdesk check-bias --strategy ema_cross --symbol BTC/USDT --timeframe 1h --samples 20
    quantdesk check-bias --all-builtins --symbol BTC/USDT --timeframe 1h

Files go to --out; --json prints one JSON document (the summary); progress goes to stderr. `check-bias` exits
with 1 when a bias is found (0 when every check passes), 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from quantdesk.cli.output import emit, err_console, kv_table
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.core.numfmt import format_key, format_value, metric_label

StrategyOpt = Annotated[str | None, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v (repeat).")]
SymbolOpt = Annotated[str | None, typer.Option("--symbol", help="Symbol in the candle store, e.g. BTC/USDT.")]
TimeframeOpt = Annotated[str | None, typer.Option("--timeframe", "-t", help="Bar length (default 1h; inferred for --data).")]
ExchangeOpt = Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange in the store (if several).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="A CSV/Parquet file instead of the store.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First bar (UTC ISO-8601), inclusive.")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last bar (UTC ISO-8601), inclusive.")]
CashOpt = Annotated[float, typer.Option("--cash", help="Starting cash.")]
FeeOpt = Annotated[float, typer.Option("--fee", help="Fee, fraction of notional per fill.")]


def _load(symbol: str | None, timeframe: str | None, exchange: str | None, data: Path | None,
          start: str | None, end: str | None) -> tuple[pd.DataFrame, str, str]:
    """The OHLCV frame, its symbol label and timeframe (store or --data file)."""
    from quantdesk.cli.backtest_cmds import load_frame, read_data_file
    from quantdesk.core.timeutil import parse_utc

    if data is None and not symbol:
        raise ParameterError("give --symbol SYMBOL (with --timeframe) or --data FILE")
    t0 = parse_utc(start, name="--start") if start else None
    t1 = parse_utc(end, name="--end") if end else None
    if t0 is not None and t1 is not None and t0 > t1:
        raise ParameterError(f"--start {start} is after --end {end}")
    if data is not None:
        frame, tf = read_data_file(data, timeframe)
        if t0 is not None:
            frame = frame[frame.index >= t0]
        if t1 is not None:
            frame = frame[frame.index <= t1]
        label = symbol or data.stem
    else:
        tf = timeframe or "1h"
        frame = load_frame(symbol, tf, exchange, start, end)  # type: ignore[arg-type]
        label = symbol  # type: ignore[assignment]
    if len(frame) == 0:
        raise DataError(f"no bars for {label} {tf} between start={start} and end={end}")
    return frame, label, tf


def _base_config(strategy: str, params: dict[str, Any], symbol: str, timeframe: str, exchange: str | None,
                 cash: float, fee: float, margin: bool = False):
    from quantdesk.cli.backtest_cmds import _config

    return _config(strategy=strategy, params=params, symbol=symbol if "," not in symbol else symbol.split(",")[0],
                   timeframe=timeframe, exchange=exchange, cash=cash, fee=fee, margin=margin)


class _Bar:
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""

    def __init__(self, description: str, total: int) -> None:
        self.progress = None
        if err_console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=err_console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(description, total=total)

    def update(self, done: int, total: int, description: str | None = None) -> None:
        if self.progress is not None:
            kw: dict[str, Any] = {"description": description} if description else {}
            self.progress.update(self.task, completed=done, total=total, **kw)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


# ---- walk-forward ----------------------------------------------------------------------------------------
def _render_wf(console: Console, doc: dict[str, Any]) -> None:
    head = {
        "strategy": doc["strategy"],
        "windows": f"{doc['n_windows']} ({'anchored' if doc['anchored'] else 'rolling'}; train {doc['train']}, "
                   f"test {doc['test']}, step {doc['step']})",
        "optimiser": f"{doc['method']} on {doc['objective']}",
        "walk-forward efficiency": format_value(doc.get("wfe"), "ratio") + " (OOS / IS return per bar)",
        "files": doc.get("out_dir"),
    }
    console.print(kv_table(head, title="Walk-forward"))
    t = Table(title="Windows: returns over each window, not annualised (IS = train window, OOS = test window)")
    for col in ("#", "test from", "params", "IS ret. %", "OOS ret. %", "OOS sharpe", "OOS trades",
                "OOS max dd %", "WFE"):
        t.add_column(col, justify="left" if col in ("test from", "params") else "right")
    midnight = all(w["test_start"][10:16] in ("", "T00:00") for w in doc["windows"])
    for w in doc["windows"]:
        params = " ".join(f"{k}={v}" for k, v in (w["params"] or {}).items())
        t.add_row(str(w["window"] + 1), w["test_start"][: 10 if midnight else 16].replace("T", " "), params,
                  format_value(w["is"].get("total_return_pct"), "pct", signed=True),
                  format_value(w["oos"].get("total_return_pct"), "pct", signed=True),
                  format_value(w["oos"].get("sharpe"), "ratio"), format_value(w["oos"].get("num_trades"), "count"),
                  format_value(w["oos"].get("max_drawdown_pct"), "pct"), format_value(w.get("wfe"), "ratio"))
    console.print(t)
    tot = Table(title="Totals (OOS = stitched out-of-sample curve; IS = mean over the train windows)")
    tot.add_column("metric", style="bold cyan")
    tot.add_column("IS", justify="right")
    tot.add_column("OOS", justify="right")
    for k in ("total_return_pct", "annual_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct"):
        # a mean of the train windows' annualised returns says nothing (short windows explode): OOS only
        is_v = None if k == "annual_return_pct" else (doc.get("is_mean") or {}).get(k)
        tot.add_row(metric_label(k), format_key(k, is_v), format_key(k, (doc.get("oos") or {}).get(k)))
    console.print(tot)


def walk_forward_cmd(
    strategy: StrategyOpt = None,
    param: ParamOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    data: DataOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    train: Annotated[str | None, typer.Option("--train", help="Train window: 180d, 12h, 4w or 500b (bars).")] = None,
    test: Annotated[str | None, typer.Option("--test", help="Test window: 30d, ... or bars (100b).")] = None,
    step: Annotated[str | None, typer.Option("--step", help="Step between windows (default --test; >= --test).")] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train windows all start at the first bar.")] = False,
    space: Annotated[list[str] | None, typer.Option("--space", help="Searched parameter: fast=5:50:5 or mode=a,b (repeat).")] = None,
    method: Annotated[str, typer.Option("--method", help="grid, random or bayes.")] = "grid",
    objective: Annotated[str, typer.Option("--objective", help="Metric to maximise (prefix - to minimise).")] = "sharpe",
    constraint: Annotated[list[str] | None, typer.Option("--constraint", help="e.g. 'slow>fast', 'trades>=10' (repeat).")] = None,
    trials: Annotated[int | None, typer.Option("--trials", help="Trials per window (random/bayes).")] = None,
    warmup: Annotated[int | None, typer.Option("--warmup", help="Warm-up bars before each test window (default: the train window).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default 1 = in-process).")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Run trials on Ray ('auto', 'local' or an address).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of random/bayes search.")] = 42,
    cash: CashOpt = 10_000.0,
    fee: FeeOpt = 0.001,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
) -> None:
    """Walk-forward analysis: optimise on each train window, trade the chosen parameters on the next test window
    (with indicator warm-up, no trade before the window), stitch the out-of-sample equity. Writes windows.csv,
    oos_equity.csv, oos_trades.csv, summary.json and report.html into --out."""
    from quantdesk.cli.backtest_cmds import parse_params
    from quantdesk.research.space import parse_space_args
    from quantdesk.research.walkforward import parse_span, walk_forward, write_outputs
    from quantdesk.strategies.loader import load_strategy

    if strategy is None:
        raise ParameterError("missing --strategy NAME (e.g. --strategy sma_cross)")
    if train is None or test is None:
        raise ParameterError("give --train and --test window lengths, e.g. --train 180d --test 30d")
    if out is None:
        raise ParameterError("missing --out DIR (the output folder)")
    tr, te = parse_span(train, "--train"), parse_span(test, "--test")
    st = parse_span(step, "--step") if step else None
    if st is not None and (st.bars is not None and te.bars is not None and st.bars < te.bars
                           or st.delta is not None and te.delta is not None and st.delta < te.delta):
        raise ParameterError(f"--step {step} must be >= --test {test} (test windows may not overlap)")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    cls = load_strategy(strategy)
    params = parse_params(param)
    cls.validate_params(params)
    dims = parse_space_args(space or [], cls.param_space()) if space else None
    frame, label, tf = _load(symbol, timeframe, exchange, data, start, end)
    base = _base_config(strategy, params, label, tf, exchange, cash, fee)
    from quantdesk.research.executors import make_executor

    ex = make_executor(jobs=jobs or 1, ray_address=ray_address)
    bar = _Bar(f"walk-forward {strategy}", 1)
    try:
        wf = walk_forward(strategy, frame, train=tr, test=te, step=st, anchored=anchored, space=dims, method=method,
                          objective=objective, constraints=constraint or (), trials=trials, base_config=base,
                          executor=ex, seed=seed, warmup=warmup, progress=lambda d, t, m: bar.update(d, t, m))
    finally:
        bar.close()
        ex.close()
    extra = {"out_dir": str(Path(out).resolve()), "data": {"symbol": label, "timeframe": tf, "bars": len(frame),
                                                          "first": frame.index[0], "last": frame.index[-1]}}
    paths = write_outputs(wf, out, extra=extra)
    doc = wf.summary()
    doc.update(extra)
    doc["files"] = {k: str(v) for k, v in paths.items()}
    from quantdesk.core.jsonable import to_jsonable

    emit(to_jsonable(doc), render=_render_wf)


# ---- monte carlo ----------------------------------------------------------------------------------------
def _render_mc(console: Console, doc: dict[str, Any]) -> None:
    head = {
        "source": doc.get("source"),
        "method": f"{doc['method']}" + (f" (block {doc['block']}, {doc['block_kind']})" if doc.get("block") else ""),
        "simulations": f"{doc['sims']} x {doc['n']} {doc['unit']} (seed {doc['seed']})",
        "probability of loss": format_value(doc["prob_loss"], "fraction"),
        f"probability of a {doc['ruin_dd_pct']:g}% drawdown": format_value(doc["prob_ruin"], "fraction"),
        "files": doc.get("out_dir"),
    }
    console.print(kv_table(head, title="Monte Carlo"))
    t = Table(title="Distributions over the simulations")
    t.add_column("statistic", style="bold cyan")
    for col in ("original", "p5", "p25", "p50", "p75", "p95", "orig. rank"):
        t.add_column(col, justify="right")
    labels = {"final_return_pct": ("return %", "pct"), "max_drawdown_pct": ("max dd %", "pct"),
              "sharpe": ("sharpe", "ratio")}
    for key, d in doc["distributions"].items():
        label, kind = labels.get(key, (key, "general"))
        t.add_row(label, *(format_value(d.get(c), kind) for c in ("original", "p5", "p25", "p50", "p75", "p95")),
                  format_value(d.get("original_percentile"), "pct"))
    console.print(t)
    bt = doc.get("backtest") or {}
    if bt:
        b = Table(title="The original run vs the backtest")
        b.add_column("statistic", style="bold cyan")
        b.add_column("original", justify="right")
        b.add_column("backtest", justify="right")
        b.add_column("why they differ")
        for key, row in bt.items():
            label, kind = labels.get(key, (key, "general"))
            b.add_row(label, format_value(row.get("original"), kind), format_value(row.get("backtest"), kind),
                      "same" if row.get("matches") else (row.get("why") or "differs"))
        console.print(b)


def monte_carlo_cmd(
    run: Annotated[Path | None, typer.Option("--run", help="A backtest output folder (trades.csv, equity.csv).")] = None,
    strategy: StrategyOpt = None,
    param: ParamOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    data: DataOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    method: Annotated[str, typer.Option("--method", help="trades-shuffle, trades-bootstrap or returns-block-bootstrap.")] = "trades-shuffle",
    sims: Annotated[int, typer.Option("--sims", help="Number of simulations.")] = 1000,
    block: Annotated[int, typer.Option("--block", help="Block length in bars (returns-block-bootstrap).")] = 24,
    block_kind: Annotated[str, typer.Option("--block-kind", help="circular or stationary blocks.")] = "circular",
    ruin_dd: Annotated[float, typer.Option("--ruin-dd", help="Ruin = a drawdown of this many percent.")] = 50.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same numbers).")] = 7,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default 1 = in-process).")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Run chunks on Ray ('auto', 'local' or an address).")] = None,
    cash: CashOpt = 10_000.0,
    fee: FeeOpt = 0.001,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
) -> None:
    """Monte Carlo robustness of a backtest: shuffle or bootstrap its trades, or block-bootstrap its bar returns;
    percentiles of final return, max drawdown and Sharpe, probability of loss and of ruin. Writes summary.json,
    simulations.csv and montecarlo.html (equity fan chart + histograms) into --out."""
    from quantdesk.cli.backtest_cmds import parse_params
    from quantdesk.research.montecarlo import BLOCK_KINDS, METHODS, load_run_dir, monte_carlo, write_outputs

    if method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}; got {method!r}")
    if block_kind not in BLOCK_KINDS:
        raise ParameterError(f"--block-kind must be one of {', '.join(BLOCK_KINDS)}; got {block_kind!r}")
    if sims < 1:
        raise ParameterError(f"--sims must be >= 1, got {sims}")
    if block < 1:
        raise ParameterError(f"--block must be >= 1 bar, got {block}")
    if not (0 < ruin_dd <= 100):
        raise ParameterError(f"--ruin-dd must be a percentage in (0, 100], got {ruin_dd}")
    if out is None:
        raise ParameterError("missing --out DIR (the output folder)")
    if (run is None) == (strategy is None):
        raise ParameterError("give either --run DIR (a backtest output folder) or --strategy NAME (with data)")
    if run is not None:
        trades, equity = load_run_dir(run)
        source = f"run {run}"
        start_equity = float(equity.iloc[0]) if len(equity) else cash
    else:
        from quantdesk.backtest.runner import run_backtest
        from quantdesk.strategies.loader import load_strategy

        params = parse_params(param)
        load_strategy(strategy).validate_params(params)  # type: ignore[arg-type]
        frame, label, tf = _load(symbol, timeframe, exchange, data, start, end)
        cfg = _base_config(strategy, params, label, tf, exchange, cash, fee)  # type: ignore[arg-type]
        res = run_backtest(cfg, frame)
        trades, equity = res.trades, res.equity
        source = f"backtest {strategy} {params or ''} on {label} {tf} ({len(frame)} bars)"
        start_equity = cash
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    from quantdesk.research.executors import make_executor

    ex = make_executor(jobs=jobs or 1, ray_address=ray_address)
    try:
        mc = monte_carlo(trades=trades, equity=equity, method=method, sims=sims, block=block, block_kind=block_kind,
                         ruin_dd_pct=ruin_dd, seed=seed, start_equity=start_equity, executor=ex)
    finally:
        ex.close()
    extra = {"source": source, "out_dir": str(Path(out).resolve())}
    paths = write_outputs(mc, out, title=f"Monte Carlo: {source}", extra=extra)
    from quantdesk.core.jsonable import to_jsonable

    doc = to_jsonable({**mc.summary(), **extra, "files": {k: str(v) for k, v in paths.items()}})
    emit(doc, render=_render_mc)


# ---- check-bias -----------------------------------------------------------------------------------------
def _render_bias(console: Console, doc: dict[str, Any]) -> None:
    reports = doc["reports"]
    t = Table(title=f"Bias check ({doc['bars']} bars of {doc['data']})")
    for col in ("strategy", "status", "runs", "warm-up", "checked", "slowest convergence"):
        t.add_column(col, justify="right" if col in ("runs", "warm-up") else "left")
    for r in reports:
        colour = {"PASS": "green", "ERROR": "yellow"}.get(r["status"], "red")
        conv = dict(r.get("convergence_bars") or {})
        never = [k for k, v in conv.items() if v is None]
        if never:
            slow_txt = f"{never[0]}: never"
        elif conv:
            k, v = max(conv.items(), key=lambda kv: kv[1])
            slow_txt = f"{k}: {v} bars"
        else:
            slow_txt = "-"
        checked = f"{len(r['checked'])} series, {r['orders_checked']} orders"
        t.add_row(_short_name(r["strategy"]), f"[{colour}]{r['status']}[/]",
                  f"{len(r['cuts'])}+{len(r['starts'])}", str(r["warmup"]), checked, slow_txt)
    console.print(t)
    for r in reports:
        for f in (*r["lookahead"], *r["recursion"]):
            where = "orders" if f["source"] == "orders" else f"{f['source']} {f['name']!r}"
            console.print(f"[bold red]{f['kind'].upper()}[/] {_short_name(r['strategy'])}: {where}, first differing "
                          f"bar {f['first_bar']} ({f['first_time']}): {f['detail']}", highlight=False)
        for note in r.get("notes") or []:
            console.print(f"[dim]{_short_name(r['strategy'])}: note: {note}[/]", highlight=False)
        if r.get("error"):
            console.print(f"[yellow]{_short_name(r['strategy'])}: not checked, the strategy failed: {r['error']}[/]",
                          highlight=False)
    console.print("runs = look-ahead cuts + recursion starts; warm-up in bars "
                  "(strategy.warmup, --warmup or 10 x the longest indicator look-back)", style="dim")


def _short_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def check_bias_cmd(
    strategy: StrategyOpt = None,
    param: ParamOpt = None,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    exchange: ExchangeOpt = None,
    data: DataOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    samples: Annotated[int, typer.Option("--samples", help="Cut points for the look-ahead check.")] = 20,
    bars: Annotated[int, typer.Option("--bars", help="Use the last N bars of the data (0 = all).")] = 1000,
    warmup: Annotated[int | None, typer.Option("--warmup", help="Declared warm-up in bars (if the strategy declares none).")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Recursion check tolerance (relative to the series' mean |value|).")] = 1e-3,
    all_builtins: Annotated[bool, typer.Option("--all-builtins", help="Check every built-in strategy (default params).")] = False,
    margin: Annotated[bool, typer.Option("--margin", help="Allow short positions.")] = False,
) -> None:
    """Look-ahead and recursion (warm-up dependency) checks: re-run the strategy with the future cut off and with
    the past cut off, and name every indicator, recorded value or order that changes. Exit code 1 when a bias
    is found."""
    from quantdesk.cli.backtest_cmds import parse_params
    from quantdesk.research.bias import check_bias, check_builtins
    from quantdesk.strategies.loader import load_strategy

    if all_builtins and strategy:
        raise ParameterError("give --strategy NAME or --all-builtins, not both")
    if not all_builtins and not strategy:
        raise ParameterError("missing --strategy NAME (or --all-builtins)")
    if samples < 1:
        raise ParameterError(f"--samples must be >= 1, got {samples}")
    if bars < 0 or 0 < bars < 50:
        raise ParameterError(f"--bars must be 0 (all) or >= 50, got {bars}")
    if not (tolerance > 0):
        raise ParameterError(f"--tolerance must be > 0, got {tolerance}")
    params = parse_params(param)
    if all_builtins and params:
        raise ParameterError("--param cannot be combined with --all-builtins (each built-in uses its defaults)")
    if strategy:
        load_strategy(strategy).validate_params(params)
    frame, label, tf = _load(symbol, timeframe, exchange, data, start, end)
    if bars:
        frame = frame.iloc[-bars:]
    cfg = {"timeframe": tf, "margin": margin}
    bar = _Bar("check-bias", samples + 2)
    try:
        if all_builtins:
            reps = check_builtins(frame, samples=samples, warmup=warmup, tolerance=tolerance, config=cfg)
            reports = list(reps.values())
        else:
            rep = check_bias(strategy, frame, params=params, samples=samples, warmup=warmup,  # type: ignore[arg-type]
                             tolerance=tolerance, config=cfg, progress=lambda d, t: bar.update(d, t))
            if rep.error is not None:  # e.g. a strategy that needs two instruments: add a synthetic companion
                from quantdesk.research.bias import companion_frame

                rep2 = check_bias(strategy, {label: frame, "SYN/USDT": companion_frame(frame)}, params=params,  # type: ignore[arg-type]
                                  samples=samples, warmup=warmup, tolerance=tolerance,
                                  config={**cfg, "margin": True})
                if rep2.error is None:
                    rep = rep2
            reports = [rep]
    finally:
        bar.close()
    passed = all(r.passed for r in reports)
    doc = {"data": f"{label} {tf}", "bars": len(frame), "first": frame.index[0], "last": frame.index[-1],
           "passed": passed, "reports": [r.summary() for r in reports]}
    from quantdesk.core.jsonable import to_jsonable

    emit(to_jsonable(doc), render=_render_bias)
    if not passed:
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    app.command("walk-forward")(walk_forward_cmd)
    app.command("monte-carlo")(monte_carlo_cmd)
    app.command("check-bias")(check_bias_cmd)
