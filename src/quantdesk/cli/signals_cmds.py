"""`quantdesk signals ...`: track signals against their outcomes.

    quantdesk signals track-backtest --strategy sma_cross --symbol BTC/USDT --timeframe 1h --horizon 12
    quantdesk signals track-backtest --strategy ml_signal -p model=<id> --symbol BTC/USDT --store
    quantdesk signals report [--source sma_cross] [--symbol BTC/USDT]     # from the stored signals
    quantdesk signals resolve                                            # outcomes of pending stored signals
    quantdesk signals collect --bot my-bot --horizon 12                  # a paper bot's signals + trade entries

Reports: hit rate next to the no-skill baseline, mean return and hit rate by confidence decile, Brier score, ECE,
Spearman(confidence, return), per source/symbol/timeframe; `--json` prints the whole document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from quantdesk.cli.output import emit, kv_table, records_table
from quantdesk.core.errors import ParameterError

signals_app = typer.Typer(help="Signal tracking: outcomes, accuracy by confidence, calibration.", no_args_is_help=True)


def _render(console: Console, doc: dict[str, Any]) -> None:
    o = doc["report"]["overall"] if "report" in doc else doc["overall"]
    keys = ("signals", "resolved", "pending", "hit_rate", "baseline_hit_rate", "random_entry_hit_rate",
            "mean_return", "brier",
            "baseline_brier", "ece", "mean_confidence")
    console.print(kv_table({k: o.get(k) for k in keys if k in o}, title="Signal outcomes (overall)"))
    if o.get("spearman"):
        console.print(f"Spearman(confidence, return): rho={o['spearman']['rho']}, p={o['spearman']['p_value']}")
    if o.get("deciles"):
        console.print(records_table(o["deciles"], title="By confidence decile"))
    groups = (doc["report"] if "report" in doc else doc).get("groups") or []
    if len(groups) > 1:
        console.print(records_table([{k: g.get(k) for k in ("source", "symbol", "timeframe", "resolved", "hit_rate",
                                                             "baseline_hit_rate", "ece")} for g in groups],
                                    title="Per source, symbol, timeframe"))


def track_backtest_cmd(
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v (repeat).")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t")] = None,
    exchange: Annotated[str | None, typer.Option("--exchange", "-e")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="A CSV/Parquet file instead of the store.")] = None,
    start: Annotated[str | None, typer.Option("--start")] = None,
    end: Annotated[str | None, typer.Option("--end")] = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Bars after the signal its outcome is measured at.")] = 12,
    tp: Annotated[float | None, typer.Option("--tp", help="Take-profit barrier, fraction of the price (0.02).")] = None,
    sl: Annotated[float | None, typer.Option("--sl", help="Stop barrier, fraction of the price.")] = None,
    store: Annotated[bool, typer.Option("--store", help="Keep the signals in the database.")] = False,
) -> None:
    """Backtest a strategy and join every entry signal with its outcome."""
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.cli.backtest_cmds import parse_params
    from quantdesk.ml.service import load_frame
    from quantdesk.ml.tracking import accuracy_report, track_backtest
    from quantdesk.strategies.loader import create_strategy

    if horizon < 1:
        raise ParameterError(f"--horizon must be >= 1 bar, got {horizon}")
    params = parse_params(param)
    frame, sym, tf = load_frame(symbol=symbol, timeframe=timeframe, exchange=exchange,
                                data_file=str(data) if data else None, start=start, end=end)
    strat = create_strategy(strategy, params)
    res = run_backtest(BacktestConfig(strategy=strategy, params=params, symbol=sym, timeframe=tf), frame,
                       strategy=strat)
    barrier = {k: v for k, v in (("tp", tp), ("sl", sl)) if v is not None} or None
    tracker_store = None
    if store:
        from quantdesk.ml.tracking_store import TrackingStore

        tracker_store = TrackingStore()
    rows = track_backtest(res, frame, horizon=horizon, barrier=barrier, strategy=strat, store=tracker_store)
    emit({"strategy": strategy, "params": params, "symbol": sym, "timeframe": tf, "horizon": horizon,
          "report": accuracy_report(rows, candles=frame), "signals": rows.drop(columns=["features"]).to_dict(orient="records")},
         render=_render)


def report_cmd(source: Annotated[str | None, typer.Option("--source")] = None,
               symbol: Annotated[str | None, typer.Option("--symbol")] = None,
               timeframe: Annotated[str | None, typer.Option("--timeframe", "-t")] = None,
               origin: Annotated[str | None, typer.Option("--origin", help="backtest, paper, live or api.")] = None
               ) -> None:
    """Accuracy and calibration of the stored signals (resolved ones; pending are counted)."""
    from quantdesk.ml.tracking_store import SignalTracker

    emit(SignalTracker().report(source=source, symbol=symbol, timeframe=timeframe, origin=origin), render=_render)


def resolve_cmd() -> None:
    """Resolve the outcomes of stored pending signals whose horizon has passed (candles from the store)."""
    from quantdesk.ml.tracking_store import SignalTracker

    emit(SignalTracker().resolve_pending())


def collect_cmd(bot: Annotated[str, typer.Option("--bot", help="Paper bot name.")],
                horizon: Annotated[int, typer.Option("--horizon", help="Bars after each signal.")] = 12) -> None:
    """Track a paper bot's signals and trade entries (with the model's features for ml_signal bots)."""
    from quantdesk.ml.tracking_store import collect_bot

    if horizon < 1:
        raise ParameterError(f"--horizon must be >= 1 bar, got {horizon}")
    emit(collect_bot(bot, horizon=horizon))


def register(app: typer.Typer) -> None:
    signals_app.command("track-backtest")(track_backtest_cmd)
    signals_app.command("report")(report_cmd)
    signals_app.command("resolve")(resolve_cmd)
    signals_app.command("collect")(collect_cmd)
    app.add_typer(signals_app, name="signals")
