"""`quantdesk optimize`: search strategy parameters (grid / random / Bayesian), with overfitting statistics.

    quantdesk optimize --strategy sma_cross --symbol BTC/USDT --timeframe 1h \\
        --space fast=5:50:5 --space slow=20:200:10 --constraint "slow>fast" --constraint "trades>=20" \\
        --objective sharpe --out runs/opt
    quantdesk optimize --strategy rsi_reversion --data prices.csv --method bayes --trials 100 --out runs/rsi
    quantdesk optimize ... --out runs/opt --resume          # continue an interrupted run

Writes into --out: trials.jsonl (every finished trial, appended as it finishes: what --resume reads),
results.csv (all trials ranked: rank, feasible, params, every metric, error), best_config.json (a BacktestConfig:
`BacktestConfig.model_validate_json(Path("best_config.json").read_text())`), summary.json and report.html; and
prints the exact `quantdesk backtest ...` command that re-runs the best parameters.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from quantdesk.cli.output import emit, err_console, kv_table
from quantdesk.core.errors import ParameterError
from quantdesk.core.numfmt import format_key, format_value

METHOD_HELP = "grid (every combination), random (--trials points) or bayes (Optuna TPE, --trials)."


def backtest_command(cfg: Any) -> str:
    """The `quantdesk backtest` command line that runs `cfg` (a BacktestConfig)."""
    parts = ["quantdesk", "backtest", "--strategy", cfg.strategy]
    for k, v in cfg.params.items():
        parts += ["--param", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
    if cfg.data_file:
        parts += ["--data", cfg.data_file, "--timeframe", cfg.timeframe]
    else:
        parts += ["--symbol", cfg.symbol, "--timeframe", cfg.timeframe]
        if cfg.exchange:
            parts += ["--exchange", cfg.exchange]
    for flag, value, default in (("--start", cfg.start, None), ("--end", cfg.end, None),
                                 ("--cash", cfg.cash, 10_000.0), ("--fee", cfg.fee, 0.001),
                                 ("--maker-fee", cfg.maker_fee, None), ("--slippage-bps", cfg.slippage_bps, 0.0)):
        if value is not None and value != default:
            parts += [flag, str(value)]
    if cfg.margin:
        parts.append("--margin")
    return " ".join(shlex.quote(p) for p in parts)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        if v.is_integer() and abs(v) < 1e6:
            return f"{int(v)}"
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:.4g}"
    return str(v)


def _render(console: Console, doc: dict[str, Any]) -> None:
    params = list(doc["space"])
    obj = doc["objective"]
    table = Table(title=f"Top {len(doc['top'])} of {doc['trials']} trials ({doc['feasible']} feasible), "
                        f"objective {obj} ({doc['direction']})")
    cols = ["rank", *params, obj, "total_return_pct", "sharpe", "max_drawdown_pct", "num_trades"]
    cols = list(dict.fromkeys(cols))
    for c in cols:
        table.add_column(c, justify="right")

    def cell(row: dict[str, Any], c: str) -> str:
        if c == "rank":
            rank = row.get("rank")
            return str(int(rank)) if rank == rank and rank is not None else "-"  # NaN != NaN
        value = row.get(c if c in row else f"param_{c}")
        return _fmt(value) if c in params else format_key(c, value)

    for row in doc["top"]:
        table.add_row(*(cell(row, c) for c in cols))
    console.print(table)
    o = doc["overfitting"]
    console.print(kv_table({
        "deflated Sharpe ratio": format_value(o.get("dsr"), "ratio3"),
        "probabilistic Sharpe ratio": format_value(o.get("psr"), "ratio3"),
        "prob. of backtest overfitting": f"{format_value(o.get('pbo'), 'ratio3')} (CSCV, {o.get('pbo_splits', 0)} blocks)",
        "trials taken into account": o.get("n_trials"),
    }, title="Overfitting"))
    console.print(kv_table({
        "best": ", ".join(f"{k}={v}" for k, v in (doc["best_params"] or {}).items()) or "no feasible trial",
        "engine / executor": f"{doc['engine']} / {doc['executor'].get('executor')} ({doc['executor'].get('workers')})",
        "trials run / resumed": f"{doc['evaluated']} / {doc['resumed']}",
        "files": doc.get("out_dir"),
    }, title="Result"))
    if doc.get("backtest_command"):
        console.print("re-run the best parameters:")
        console.print(doc["backtest_command"], highlight=False, soft_wrap=True, markup=False)


def run(
    *, strategy: str, symbol: str | None, timeframe: str | None, exchange: str | None, data_file: Path | None,
    start: str | None, end: str | None, space: list[str], method: str, trials: int | None, objective: str,
    constraints: list[str], jobs: int | None, ray_address: str | None, resume: bool, out: Path, seed: int,
    top: int, cash: float, fee: float, maker_fee: float | None, slippage_bps: float, margin: bool,
    fixed: dict[str, Any], engine: str, progress: bool,
) -> dict[str, Any]:
    from quantdesk.cli.backtest_cmds import _config, load_frame, read_data_file
    from quantdesk.research.executors import make_executor
    from quantdesk.research.objectives import Objective, parse_constraints
    from quantdesk.research.optimize import METHODS, optimize
    from quantdesk.research.optimize_report import write_report
    from quantdesk.research.space import grid, parse_space_args, strategy_constraints, strategy_space
    from quantdesk.research.trial_store import STORE_NAME
    from quantdesk.strategies.loader import load_strategy

    # everything that can be checked without data first: a typo fails fast
    if method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if trials is not None and trials < 1:
        raise ParameterError(f"--trials must be >= 1, got {trials}")
    if top < 1:
        raise ParameterError(f"--top must be >= 1, got {top}")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    if data_file is None and not symbol:
        raise ParameterError("give --symbol SYMBOL (with --timeframe) or --data FILE")
    cls = load_strategy(strategy)
    specs = cls.param_space()
    dims = parse_space_args(space, specs) if space else strategy_space(cls)
    cls.validate_params({k: v for k, v in fixed.items()})
    Objective.parse(objective)
    held = {k: spec.get("default") for k, spec in specs.items()} | dict(fixed)
    cons = parse_constraints(strategy_constraints(cls, constraints), list(specs), held)
    if method == "grid":
        combos = grid(dims)
        if not [c for c in combos if all(pc.holds(c) for pc in cons if not pc.uses_metrics)]:
            raise ParameterError("no parameter combination satisfies the constraints")
    store = Path(out) / STORE_NAME
    if store.exists() and store.stat().st_size > 0 and not resume:
        raise ParameterError(f"{store} exists: pass --resume to continue that run, or choose another --out")

    if data_file is not None:
        frame, tf = read_data_file(data_file, timeframe)
        symbol = symbol or data_file.stem
    else:
        tf = timeframe or "1h"
        frame = load_frame(symbol, tf, exchange, start, end)  # type: ignore[arg-type]
    base = _config(strategy=strategy, params=fixed, symbol=symbol, timeframe=tf, exchange=exchange,
                   data_file=str(data_file) if data_file is not None else None, start=start, end=end, cash=cash,
                   fee=fee, maker_fee=maker_fee, slippage_bps=slippage_bps, margin=margin)
    executor = make_executor(jobs, ray_address)
    try:
        res = optimize(strategy, frame, dims, method=method, objective=objective, constraints=constraints,
                       trials=trials, base_config=base, executor=executor, seed=seed, store_path=store,
                       progress=progress, engine=engine)
    except KeyboardInterrupt:
        from quantdesk.research.trial_store import read_trials

        n = len(read_trials(store)) if store.exists() else 0
        err_console.print(f"interrupted: {n} finished trial(s) kept in {store}; continue with --resume",
                          highlight=False, soft_wrap=True)
        # SystemExit, not typer.Exit: with standalone_mode=False typer RETURNS the code of Exit/KeyboardInterrupt
        # and cli.app.main ignores it (exit status 0)
        sys.exit(130)
    finally:
        executor.close()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"trials": str(store)}
    res.table.to_csv(out / "results.csv", index=False)
    files["results"] = str(out / "results.csv")
    command = None
    if res.best_config is not None:
        (out / "best_config.json").write_text(res.best_config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        files["best_config"] = str(out / "best_config.json")
        command = backtest_command(res.best_config)
    write_report(res, out / "report.html", command=command)
    files["report"] = str(out / "report.html")
    doc = res.summary(top=top)
    doc["backtest_command"] = command
    doc["out_dir"] = str(out.resolve())
    doc["files"] = files
    from quantdesk.core.jsonable import to_jsonable

    (out / "summary.json").write_text(json.dumps(to_jsonable(doc), indent=2) + "\n", encoding="utf-8")
    files["summary"] = str(out / "summary.json")
    return doc


def register(app: typer.Typer) -> None:
    @app.command("optimize")
    def optimize_cmd(
        strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")] = None,
        symbol: Annotated[str | None, typer.Option("--symbol", help="Symbol in the candle store, e.g. BTC/USDT.")] = None,
        timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Bar length (default 1h; inferred for --data).")] = None,
        exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange in the store (if several).")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="Optimise on a CSV/Parquet file instead of the store.")] = None,
        start: Annotated[str | None, typer.Option("--start", help="First bar (UTC ISO-8601), inclusive.")] = None,
        end: Annotated[str | None, typer.Option("--end", help="Last bar (UTC ISO-8601), inclusive.")] = None,
        space: Annotated[list[str] | None, typer.Option("--space", help="name=low:high:step | name=v1,v2,v3 | name=low:high (repeat). Default: the strategy's declared ranges.")] = None,
        method: Annotated[str, typer.Option("--method", "-m", help=METHOD_HELP)] = "grid",
        trials: Annotated[int | None, typer.Option("--trials", "-n", help="Trials for random/bayes (default 50).")] = None,
        objective: Annotated[str, typer.Option("--objective", help="Metric key or alias to maximise (sharpe, sortino, calmar, return, profit_factor, dd, ...; 'min:KEY' to minimise).")] = "sharpe",
        constraint: Annotated[list[str] | None, typer.Option("--constraint", "-c", help="e.g. \"trades>=20\", \"dd>-30\", \"slow>fast\" (repeat).")] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Local worker processes (default: all cores; 1 = in-process).")] = None,
        ray_address: Annotated[str | None, typer.Option("--ray-address", help="Run on a Ray cluster: ADDRESS, 'auto' (running cluster) or 'local'.")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the run stored in --out, skipping finished trials.")] = False,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (results.csv, best_config.json, report.html, trials.jsonl).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of random/bayes sampling.")] = 42,
        top: Annotated[int, typer.Option("--top", help="Rows of the printed table.")] = 10,
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Fixed strategy parameter k=v (repeat).")] = None,
        cash: Annotated[float, typer.Option("--cash", help="Starting cash.")] = 10_000.0,
        fee: Annotated[float, typer.Option("--fee", help="Fee, fraction of notional per fill (taker).")] = 0.001,
        maker_fee: Annotated[float | None, typer.Option("--maker-fee", help="Limit-order fee (default --fee).")] = None,
        slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Adverse slippage in basis points.")] = 0.0,
        margin: Annotated[bool, typer.Option("--margin", help="Allow short positions.")] = False,
        engine: Annotated[str, typer.Option("--engine", help="auto (fast path for sma_cross fast/slow sweeps), fast or event.")] = "auto",
    ) -> None:
        """Search strategy parameters; prints the top trials, the deflated Sharpe ratio and the probability of
        backtest overfitting, and writes results.csv, best_config.json, summary.json and report.html to --out."""
        from quantdesk.cli.backtest_cmds import parse_params

        if strategy is None:
            raise ParameterError("missing --strategy NAME (e.g. --strategy sma_cross); `quantdesk optimize --help`")
        if out is None:
            raise ParameterError("missing --out DIR (where the trials and results are written)")
        doc = run(
            strategy=strategy, symbol=symbol, timeframe=timeframe, exchange=exchange, data_file=data, start=start,
            end=end, space=list(space or []), method=method, trials=trials, objective=objective,
            constraints=list(constraint or []), jobs=jobs, ray_address=ray_address, resume=resume, out=out,
            seed=seed, top=top, cash=cash, fee=fee, maker_fee=maker_fee, slippage_bps=slippage_bps, margin=margin,
            fixed=parse_params(param), engine=engine, progress=err_console.is_terminal,
        )
        emit(doc, render=_render)
