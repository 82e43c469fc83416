"""`quantdesk backtest`: run a strategy over stored candles or a file, write the report files, record the run.

    quantdesk backtest --strategy sma_cross --param fast=10 --param slow=30 --symbol BTC/USDT --timeframe 1h \\
        --out runs/sma --engine event
    quantdesk backtest --strategy sma_cross --data prices.csv --engine fast --out runs/file
    quantdesk backtest list
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from quantdesk.cli.output import emit, err_console, kv_table, records_table
from quantdesk.core.errors import DataError, NotFoundError, ParameterError, StrategyFailed
from quantdesk.core.logging import get_logger

log = get_logger(__name__)

HEADLINE = (
    "start_equity", "final_equity", "total_return_pct", "annual_return_pct", "annual_volatility_pct", "sharpe",
    "sortino", "calmar", "max_drawdown_pct", "max_drawdown_duration_days", "num_trades", "open_trades",
    "win_rate_pct", "profit_factor", "expectancy", "avg_win", "avg_loss", "best_trade_pct", "worst_trade_pct",
    "avg_holding_hours", "exposure_pct", "var_95_pct", "cvar_95_pct", "buy_and_hold_return_pct", "total_fees",
)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """`k=v` pairs; values as JSON when they parse (10, 0.5, true, "x"), else text."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"--param {item!r}: expected key=value, e.g. --param fast=10")
        raw = raw.strip()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = value
    return out


def _infer_timeframe(ts_ns) -> str:
    import numpy as np

    from quantdesk.model.timeframe import Timeframe

    ts = np.sort(np.asarray(ts_ns, dtype=np.int64))
    diffs = np.diff(ts)
    diffs = diffs[diffs > 0]
    if len(diffs) == 0:
        raise DataError("cannot infer the timeframe from fewer than two distinct timestamps; pass --timeframe")
    return str(Timeframe(int(np.median(diffs))))


def read_data_file(path: Path, timeframe: str | None) -> tuple[pd.DataFrame, str]:
    """A file the importer accepts -> validated OHLCV frame (UTC index) and its timeframe."""
    from quantdesk.data.io import read_file
    from quantdesk.data.validate import prepare

    if not path.exists():
        raise NotFoundError(f"data file not found: {path}")
    raw = read_file(path)
    tf = timeframe or _infer_timeframe(raw.ts[~raw.ts_bad])
    frame, _report = prepare(raw, tf)
    return frame, tf


def load_frame(symbol: str, timeframe: str, exchange: str | None, start: str | None, end: str | None) -> pd.DataFrame:
    from quantdesk.data import load

    return load(symbol, timeframe, exchange=exchange, start=start, end=end)


def _config(**kwargs: Any):
    from pydantic import ValidationError

    from quantdesk.backtest.config import BacktestConfig

    try:
        return BacktestConfig(**kwargs)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        flag = {"slippage_bps": "--slippage-bps", "maker_fee": "--maker-fee"}.get(where, f"--{where}")
        raise ParameterError(f"{flag}: {first['msg']} (got {first.get('input')!r})") from None


def run(
    *,
    strategy: str,
    params: dict[str, Any],
    symbol: str | None,
    timeframe: str | None,
    exchange: str | None,
    data_file: Path | None,
    start: str | None,
    end: str | None,
    cash: float,
    fee: float,
    maker_fee: float | None,
    slippage_bps: float,
    margin: bool,
    engine: str,
    out: Path | None,
    record: bool = True,
    html_report: bool = True,
    risk: bool = False,
    timeframe_detail: str | None = None,
) -> dict[str, Any]:
    """Run one backtest, write its files and record it; returns the summary document (+ run_id, out_dir)."""
    from quantdesk.backtest.report import write_report
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.settings import get_settings
    from quantdesk.strategies.loader import load_strategy

    if engine not in ("event", "fast"):
        raise ParameterError(f"--engine must be 'event' or 'fast', got {engine!r}")
    if data_file is None and not symbol:
        raise ParameterError("give --symbol SYMBOL (with --timeframe) or --data FILE")
    t0 = parse_utc(start, name="--start") if start else None
    t1 = parse_utc(end, name="--end") if end else None
    if t0 is not None and t1 is not None and t0 > t1:
        raise ParameterError(f"--start {start} is after --end {end}")
    # strategy and parameters first: a typo fails before any data is read
    cls = load_strategy(strategy)
    cls.validate_params(params)
    if engine == "fast":
        from quantdesk.backtest.signals import is_vectorised, vectorised_strategies

        if not is_vectorised(strategy):
            raise ParameterError(f"--engine fast runs only the vectorised built-ins "
                                 f"({', '.join(vectorised_strategies())}); got {strategy!r}; use --engine event")
        if margin:
            raise ParameterError("--engine fast is long only (--margin is not supported); use --engine event")
    if engine == "fast" and risk:
        raise ParameterError("--risk needs the event engine (the fast path has no pre-trade risk checks); "
                             "drop --engine fast")
    # Risk limits are opt-in for backtests (a stored config must reproduce its run): --risk copies the
    # effective [risk] section (quantdesk.toml / QD_RISK__*) into the run's config.
    risk_cfg = get_settings().risk.model_dump(mode="json") if risk else None
    if timeframe_detail is not None:
        if engine == "fast":
            raise ParameterError("--timeframe-detail needs the event engine (the fast path resolves bars pessimistically)")
        if data_file is not None:
            raise ParameterError("--timeframe-detail reads the finer bars from the store: use --symbol, not --data")

    if data_file is not None:
        frame, tf = read_data_file(data_file, timeframe)
        symbol = symbol or data_file.stem
    else:
        tf = timeframe or "1h"
        frame = load_frame(symbol, tf, exchange, start, end)  # type: ignore[arg-type]
    cfg = _config(strategy=strategy, params=params, symbol=symbol, timeframe=tf, exchange=exchange,
                  data_file=str(data_file) if data_file is not None else None, start=start, end=end, cash=cash,
                  fee=fee, maker_fee=maker_fee, slippage_bps=slippage_bps, margin=margin, risk=risk_cfg,
                  timeframe_detail=timeframe_detail)
    if len(frame) == 0:
        raise DataError(f"no bars for {symbol} {tf} between start={start} and end={end}")
    detail = None
    if timeframe_detail is not None:
        from quantdesk.model.timeframe import Timeframe

        coarse, fine = Timeframe.parse(tf), Timeframe.parse(timeframe_detail)
        if fine >= coarse or not coarse.is_multiple_of(fine):
            raise ParameterError(f"--timeframe-detail {timeframe_detail} must divide --timeframe {tf} (e.g. 1m for 1h)")
        # the detail bars of the last coarse bar run up to its close
        detail_end = (frame.index[-1] + coarse.timedelta - fine.timedelta).isoformat()
        detail = load_frame(symbol, timeframe_detail, exchange, start, detail_end)  # type: ignore[arg-type]

    if engine == "fast":
        from quantdesk.backtest.fastpath import prepare_frame, run_fast

        frame = prepare_frame(frame, cfg)
        result = run_fast(cfg, frame)
    else:
        from quantdesk.backtest.fastpath import prepare_frame
        from quantdesk.backtest.runner import run_backtest

        frame = prepare_frame(frame, cfg)
        result = run_backtest(cfg, frame, detail=detail)

    run_id = str(uuid.uuid4())
    if out is None:
        stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
        out = get_settings().home / "runs" / f"{stamp}-{cfg.strategy.replace(':', '_').replace('/', '_')}-{run_id[:8]}"
    extra = {"run_id": run_id if record else None, "out_dir": str(Path(out).resolve())}
    paths = write_report(result, out, data=frame, engine=engine, html_report=html_report, extra=extra)
    if record:
        from quantdesk.storage.db import record_run

        try:
            record_run(config=cfg.model_dump(mode="json"), metrics=result.metrics,
                       data_fingerprint=result.data_info.get("fingerprint"), out_dir=extra["out_dir"],
                       engine=engine, run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - the files are written; a DB problem must not lose the run
            err_console.print(f"[yellow]warning:[/] run not recorded in the database: {exc}", highlight=False)
            extra["run_id"] = None
    from quantdesk.backtest.report import summary_document

    doc = summary_document(result, engine=engine, extra=extra)
    doc["files"] = {name: str(p) for name, p in paths.items()}
    return doc


def _render(console: Console, doc: dict[str, Any]) -> None:
    cfg, data, m = doc["config"], doc["data"], doc["metrics"]
    head = {
        "strategy": f"{cfg['strategy']} {cfg['params'] or ''}",
        "engine": doc.get("engine"),
        "data": f"{data.get('symbol')} {data.get('timeframe')} {data.get('first')} -> {data.get('last')} "
                f"({data.get('rows')} bars)",
        "cash / fee / slippage": f"{cfg['cash']} / {cfg['fee']} / {cfg['slippage_bps']} bps",
        "run id": doc.get("run_id") or "- (not recorded)",
        "files": doc.get("out_dir"),
    }
    console.print(kv_table(head, title="Backtest"))
    table = Table(title="Metrics", show_header=True)
    table.add_column("metric", style="bold cyan")
    table.add_column("value", justify="right")
    for key in HEADLINE:
        if key in m:
            table.add_row(key, _fmt(key, m[key], m))
    console.print(table)
    _render_events(console, doc)


def _render_events(console: Console, doc: dict[str, Any]) -> None:
    """What the risk engine did to the strategy's orders (denied or sized to fit, by rule, with the numbers),
    halts and strategy errors: one row per kind and rule."""
    from quantdesk.backtest.result import event_summary

    rows = event_summary(doc.get("events") or [])
    if not rows:
        return
    console.print("[bold]Risk and run events[/] (all of them in summary.json):", highlight=False)
    for r in rows:
        what = _EVENT_WORDS.get(r["kind"], r["kind"])
        rule = f" {r['rule']}" if r["rule"] else ""
        console.print(f"  [yellow]{r['count']}[/] {what}{rule} (last {r['last']}: {escape(r['example'])})",
                      highlight=False)


_EVENT_WORDS = {"OrderResized": "order(s) sized down to fit", "OrderDenied": "order(s) denied by",
                "TradingStateChanged": "trading state change(s)", "CooldownStarted": "cooldown(s)",
                "KillSwitchActivated": "kill switch", "StrategyErrored": "strategy error(s) in"}


def _fmt(key: str, value: Any, metrics: dict[str, Any] | None = None) -> str:
    """A metric for people: percent with %, money 2 decimals, ratios 2 (quantdesk.core.numfmt). A profit
    factor is null in JSON both without trades ("-") and without a losing trade (infinite: said so)."""
    from quantdesk.core.numfmt import format_key

    if value is None:
        if key == "profit_factor" and metrics and (metrics.get("num_trades") or 0) > 0 \
                and metrics.get("win_rate_pct") == 100:
            return "inf (no losing trade)"
        return "-"
    return format_key(key, value)


def _raise_on_strategy_error(doc: dict[str, Any]) -> None:
    """A run whose strategy raised is a failed run: exit non-zero naming the bar, the callback and the error."""
    from quantdesk.backtest.result import strategy_errors
    from quantdesk.core.timeutil import iso

    errors = strategy_errors(doc.get("events") or [])
    if not errors:
        return
    e = errors[0]
    bar = e.get("bar_index", -1)
    at = f"bar {bar} ({iso(int(e['ts_event']))})" if bar is not None and bar >= 0 else "start"
    raise StrategyFailed(
        f"strategy {e.get('strategy_id')} raised in {e.get('callback')} at {at}: {e.get('error')}; it was "
        f"stopped there, so the results cover only the bars before (files in {doc.get('out_dir')})")


def _render_runs(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no recorded backtest runs")
        return
    compact = []
    for r in rows:
        params = r.get("params") or {}
        compact.append({
            "id": str(r["id"])[:8],
            "created (UTC)": pd.Timestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M") if r.get("created_at") else "-",
            "strategy": r["strategy"] + (" " + ",".join(f"{k}={v}" for k, v in params.items()) if params else ""),
            "data": f"{r['symbol']} {r['timeframe']}",
            "engine": r.get("engine") or "-",
            "return %": r.get("total_return_pct"),
            "sharpe": r.get("sharpe"),
            "max dd %": r.get("max_drawdown_pct"),
            "trades": int(r["num_trades"]) if r.get("num_trades") is not None else None,
        })
    table = records_table(compact, title="Backtest runs (newest first)")
    table.columns[0].no_wrap = True
    table.columns[0].min_width = 8
    table.caption = "full ids and output folders: --json"
    console.print(table)


def register(app: typer.Typer) -> None:
    bt_app = typer.Typer(help="Backtest a strategy; `backtest list` shows recorded runs.")
    app.add_typer(bt_app, name="backtest")

    @bt_app.callback(invoke_without_command=True)
    def backtest(
        ctx: typer.Context,
        strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")] = None,
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v (repeat).")] = None,
        symbol: Annotated[str | None, typer.Option("--symbol", help="Symbol in the candle store, e.g. BTC/USDT.")] = None,
        timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Bar length (default 1h; inferred for --data).")] = None,
        exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange in the store (if several).")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="Backtest a CSV/Parquet file instead of the store.")] = None,
        start: Annotated[str | None, typer.Option("--start", help="First bar (UTC ISO-8601), inclusive.")] = None,
        end: Annotated[str | None, typer.Option("--end", help="Last bar (UTC ISO-8601), inclusive.")] = None,
        cash: Annotated[float, typer.Option("--cash", help="Starting cash.")] = 10_000.0,
        fee: Annotated[float, typer.Option("--fee", help="Fee, fraction of notional per fill (taker).")] = 0.001,
        maker_fee: Annotated[float | None, typer.Option("--maker-fee", help="Limit-order fee (default --fee).")] = None,
        slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Adverse slippage in basis points.")] = 0.0,
        margin: Annotated[bool, typer.Option("--margin", help="Allow short positions.")] = False,
        engine: Annotated[str, typer.Option("--engine", help="event (any strategy) or fast (compiled; sma_cross, ema_cross, rsi_reversion, macd, bollinger, momentum, vwap_flow, buy_and_hold; long only).")] = "event",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default QD_HOME/runs/<stamp>).")] = None,
        no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the run in the database.")] = False,
        no_html: Annotated[bool, typer.Option("--no-html", help="Skip report.html.")] = False,
        risk: Annotated[bool, typer.Option("--risk", help="Apply the [risk] limits and breakers of the config "
                                           "(off by default in backtests); denials and halts go in the report.")] = False,
        timeframe_detail: Annotated[str | None, typer.Option(
            "--timeframe-detail", help="Finer stored bars (e.g. 1m) that decide which of stop-loss/take-profit "
            "filled first inside a bar; without it the worse one is assumed.")] = None,
    ) -> None:
        """Run a backtest: prints the metrics and writes summary.json, trades.csv, equity.csv, orders.csv and
        report.html (offline, interactive) into --out. --json prints the summary.json document."""
        if ctx.invoked_subcommand is not None:
            return
        if strategy is None:
            raise ParameterError("missing --strategy NAME (e.g. --strategy sma_cross); `quantdesk backtest --help`")
        doc = run(
            strategy=strategy, params=parse_params(param), symbol=symbol, timeframe=timeframe, exchange=exchange,
            data_file=data, start=start, end=end, cash=cash, fee=fee, maker_fee=maker_fee,
            slippage_bps=slippage_bps, margin=margin, engine=engine, out=out, record=not no_record,
            html_report=not no_html, risk=risk, timeframe_detail=timeframe_detail,
        )
        emit(doc, render=_render)
        _raise_on_strategy_error(doc)

    @bt_app.command("list")
    def list_cmd(
        limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs (newest first).")] = 20,
        strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Only this strategy.")] = None,
    ) -> None:
        """List recorded backtest runs (newest first)."""
        from quantdesk.storage.db import list_runs

        if limit <= 0:
            raise ParameterError(f"--limit must be > 0, got {limit}")
        rows = []
        for r in list_runs(limit=limit, strategy=strategy):
            m = r["metrics"] or {}
            rows.append({
                "id": r["id"], "created_at": r["created_at"], "strategy": r["strategy"], "params": r["params"],
                "symbol": r["symbol"], "timeframe": r["timeframe"], "engine": r["engine"],
                "total_return_pct": m.get("total_return_pct"), "sharpe": m.get("sharpe"),
                "max_drawdown_pct": m.get("max_drawdown_pct"), "num_trades": m.get("num_trades"),
                "out_dir": r["out_dir"], "status": r["status"],
            })
        emit(rows, render=_render_runs)
