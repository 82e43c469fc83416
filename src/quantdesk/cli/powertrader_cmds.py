"""`quantdesk powertrader ...`: train pattern memories (original-compatible or improved), show the signal levels,
import the original's memory files, show training status, evaluate the predictions, and a DCA risk report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, kv_table, records_table

pt_app = typer.Typer(help="PowerTrader: pattern-memory trainer, multi-timeframe levels, DCA risk.",
                     no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(pt_app, name="powertrader")


CandlesDirOpt = Annotated[Path | None, typer.Option("--candles-dir", help="Folder with <tf>.csv per timeframe "
                                                     "(timestamp,open,high,low,close), e.g. the golden run's.")]
SymbolOpt = Annotated[str | None, typer.Option("--symbol", "-s", help="Stored symbol (e.g. BTC/USDT); every "
                                                "timeframe is resampled from its --base-timeframe candles.")]
ExchangeOpt = Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange of the stored symbol.")]
BaseTfOpt = Annotated[str, typer.Option("--base-timeframe", help="Stored bars to build the timeframes from.")]
TfOpt = Annotated[str | None, typer.Option("--timeframes", help="Comma-separated subset of "
                                            "1hour,2hour,4hour,8hour,12hour,1day,1week (default all).")]


@pt_app.command("train")
def train_cmd(
    coin: Annotated[str, typer.Option("--coin", help="Coin name (a folder-safe name, e.g. BTC).")],
    out: Annotated[Path | None, typer.Option("--out", help="Memory folder (default $QD_HOME/powertrader/<COIN>).")]
    = None,
    candles_dir: CandlesDirOpt = None,
    symbol: SymbolOpt = None,
    exchange: ExchangeOpt = None,
    base_timeframe: BaseTfOpt = "1h",
    compat: Annotated[bool, typer.Option("--compat", help="Reproduce the original trainer exactly (its files, "
                                         "its defects); default: the improved model.")] = False,
    flag_off: Annotated[list[str] | None, typer.Option("--flag-off", help="With --compat: fix one defect "
                        "(e.g. weights_not_persisted). Repeatable.")] = None,
    timeframes: TfOpt = None,
    until: Annotated[str | None, typer.Option("--until", help="Use only candles closed by this UTC time "
                     "(train before a backtest's period).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from an empty memory (default: continue the "
                     "folder's memory, or resume an interrupted training).")] = False,
) -> None:
    """Train a coin's pattern memory for each timeframe, with progress and ETA (resumable)."""
    from quantdesk.intel.powertrader import service as svc
    from quantdesk.intel.powertrader.timeframes import parse_timeframes

    tfs = parse_timeframes(timeframes)
    candles = svc.load_candles(candles_dir=candles_dir, symbol=symbol, exchange=exchange,
                               base_timeframe=base_timeframe, timeframes=tfs)
    out_dir = out if out is not None else svc.default_memory_dir(coin)
    listener = None if OutputState.json else _progress_printer()
    final = svc.train(coin=coin, out_dir=out_dir, candles=candles, compat=compat, timeframes=tfs,
                      flags_off=flag_off, until=svc.parse_until(until), fresh=fresh, listener=listener)
    rows = [{"timeframe": tf, "state": e["state"], "steps": e.get("done"), "memories": e.get("memories"),
             "trained_at": e.get("trained_at")} for tf, e in final["timeframes"].items()]
    emit({"coin": final["coin"], "mode": final["mode"], "out": str(out_dir), "state": final["state"],
          "timeframes": final["timeframes"]},
         render=lambda c, d: c.print(records_table(rows, title=f"{d['coin']} {d['mode']} memory in {d['out']}")))


def _progress_printer() -> Any:
    """One stderr line per timeframe and per 10 % step, with the ETA."""
    shown: dict[str, int] = {}

    def listener(data: dict[str, Any]) -> None:
        for tf, e in data.get("timeframes", {}).items():
            total, done = e.get("total"), e.get("done") or 0
            if e.get("state") == "done" and shown.get(tf) != 100:
                shown[tf] = 100
                err_console.print(f"{tf}: done ({e.get('memories')} memories)", highlight=False)
            elif e.get("state") == "running" and total:
                pct = int(100 * done / total) // 10 * 10
                if pct > shown.get(tf, -1) and pct < 100:
                    shown[tf] = pct
                    eta = e.get("eta_s")
                    err_console.print(f"{tf}: {pct:3d} % ({done}/{total} steps, ETA "
                                      f"{'?' if eta is None else f'{eta:.0f} s'})", highlight=False)

    return listener


@pt_app.command("levels")
def levels_cmd(
    memory: Annotated[Path | None, typer.Option("--memory", help="Memory folder (original files or improved "
                     "model; default $QD_HOME/powertrader/<COIN>).")] = None,
    coin: Annotated[str | None, typer.Option("--coin", help="Coin (for the default memory folder).")] = None,
    candles_dir: CandlesDirOpt = None,
    symbol: SymbolOpt = None,
    exchange: ExchangeOpt = None,
    base_timeframe: BaseTfOpt = "1h",
    mode: Annotated[str, typer.Option("--mode", help="auto | compat | improved")] = "auto",
    tail: Annotated[int, typer.Option("--tail", min=1, max=1000, help="Show the last N bars.")] = 1,
) -> None:
    """LONG/SHORT levels and every timeframe's bounds at the latest bar(s)."""
    from quantdesk.core.errors import ParameterError
    from quantdesk.intel.powertrader import service as svc

    if memory is None:
        if coin is None:
            raise ParameterError("give --memory DIR or --coin COIN")
        memory = svc.default_memory_dir(coin)
    bars = _bars(candles_dir, symbol, exchange, base_timeframe)
    doc = svc.levels_now(memory, bars, mode=mode, tail=tail)

    def render(console: Any, d: dict[str, Any]) -> None:
        for row in d["rows"]:
            console.print(kv_table({"time": row["time"], "price": row["price"], "LONG": row["long"],
                                    "SHORT": row["short"], "active timeframes": row["active"]},
                                   title=f"PowerTrader levels ({d['model']['mode']})"))
        last = d["rows"][-1]
        console.print(records_table([{"timeframe": tf, **v} for tf, v in last["timeframes"].items()],
                                    title="Bounds at the last bar"))

    emit(doc, render=render)


def _bars(candles_dir: Path | None, symbol: str | None, exchange: str | None, base_tf: str) -> Any:
    from quantdesk.core.errors import ParameterError

    if (candles_dir is None) == (symbol is None):
        raise ParameterError("give exactly one bar source: --candles-dir DIR (its 1hour.csv) or --symbol SYMBOL")
    if candles_dir is not None:
        from quantdesk.intel.powertrader.candles import read_candle_csv

        return read_candle_csv(Path(candles_dir) / "1hour.csv").to_frame()
    from quantdesk import data as qdata

    return qdata.load(symbol, base_tf, exchange)  # type: ignore[arg-type]


@pt_app.command("import-memories")
def import_cmd(
    src: Annotated[Path, typer.Argument(help="Folder with the original's memories_<tf>.txt and weight files.")],
    coin: Annotated[str | None, typer.Option("--coin", help="Coin (destination $QD_HOME/powertrader/<COIN>).")]
    = None,
    out: Annotated[Path | None, typer.Option("--out", help="Destination folder (instead of --coin).")] = None,
) -> None:
    """Check and import the original PowerTrader's memory files (same signal levels as the original)."""
    from quantdesk.core.errors import ParameterError
    from quantdesk.intel.powertrader import service as svc

    if (coin is None) == (out is None):
        raise ParameterError("give exactly one destination: --coin COIN or --out DIR")
    dest = out if out is not None else svc.default_memory_dir(coin)  # type: ignore[arg-type]
    doc = svc.import_memories(src, dest)
    emit(doc, render=lambda c, d: c.print(records_table(
        [{"timeframe": tf, **v} for tf, v in d["timeframes"].items()], title=f"Imported into {d['dest']}")))


@pt_app.command("status")
def status_cmd(
    coin: Annotated[str | None, typer.Option("--coin", help="Coin (default folder).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Memory folder.")] = None,
) -> None:
    """Training status of a memory folder: per timeframe state, steps, ETA, age."""
    from quantdesk.core.errors import ParameterError
    from quantdesk.intel.powertrader import service as svc

    if (coin is None) == (out is None):
        raise ParameterError("give exactly one of --coin COIN or --out DIR")
    folder = out if out is not None else svc.default_memory_dir(coin)  # type: ignore[arg-type]
    doc = svc.status(folder)
    rows = [{"timeframe": tf, "state": e["state"], "done": e.get("done"), "total": e.get("total"),
             "eta_s": e.get("eta_s"), "trained_at": e.get("trained_at")} for tf, e in doc["timeframes"].items()]
    emit(doc, render=lambda c, d: c.print(records_table(rows, title=f"{d['coin']} ({d['mode']}): {d['state']}, "
                                                                     f"age {d['age_hours']} h")))


@pt_app.command("evaluate")
def evaluate_cmd(
    candles_dir: CandlesDirOpt = None,
    symbol: SymbolOpt = None,
    exchange: ExchangeOpt = None,
    base_timeframe: BaseTfOpt = "1h",
    timeframe: Annotated[str, typer.Option("--timeframe", help="PowerTrader timeframe to evaluate.")] = "1hour",
    alpha: Annotated[float, typer.Option("--alpha", min=0.01, max=0.49, help="Bounds' tail probability.")] = 0.2,
    random_walk: Annotated[int, typer.Option("--random-walk", min=0, help="Evaluate on N candles of a seeded "
                                             "random walk instead (the no-skill world).")] = 0,
) -> None:
    """Walk-forward 'bounce' evaluation: improved and original bounds vs no-skill baselines."""
    from quantdesk.intel.powertrader import evaluation as ev
    from quantdesk.intel.powertrader import service as svc
    from quantdesk.intel.powertrader.timeframes import normalize_timeframe

    tf = normalize_timeframe(timeframe)
    if random_walk:
        c = ev.random_walk(random_walk, 2024)
    else:
        c = svc.load_candles(candles_dir=candles_dir, symbol=symbol, exchange=exchange,
                             base_timeframe=base_timeframe, timeframes=(tf,))[tf]
    res = ev.evaluate(c, tf, ev.EvalConfig(alpha=alpha, train_frac=0.3, calib_frac=0.2))
    doc = {"timeframe": tf, "candles": res["candles"], "folds": res["folds"], "methods": ev.report_rows(res),
           "verdict": res["verdict"]}

    def render(console: Any, d: dict[str, Any]) -> None:
        console.print(records_table(d["methods"], title=f"Bounce evaluation, {d['timeframe']}, {d['candles']} candles"))
        console.print(records_table([{"method": k, **{kk: (round(vv, 2) if isinstance(vv, float) else vv)
                                                       for kk, vv in v.items()}} for k, v in d["verdict"].items()],
                                    title="Against the ATR band (same touch rate)"))

    emit(doc, render=render)


@pt_app.command("dca-report")
def dca_report_cmd(
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Stored symbol, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length of the backtest.")] = "1h",
    exchange: ExchangeOpt = None,
    memory: Annotated[str, typer.Option("--memory", help="Memory folder ('' = self-training).")] = "",
    start: Annotated[str | None, typer.Option("--start", help="First bar (UTC).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last bar (UTC).")] = None,
    params: Annotated[str | None, typer.Option("--params", help="Strategy parameters as JSON.")] = None,
) -> None:
    """Backtest the powertrader strategy and report its DCA risk: worst-case ladder, stages reached, capital
    deployed, time under water, 24 h cap hits."""
    import json as _json

    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.core.errors import ParameterError
    from quantdesk.intel.powertrader.dca_report import ladder, run_report
    from quantdesk.strategies.loader import create_strategy

    try:
        extra = _json.loads(params) if params else {}
    except ValueError:
        raise ParameterError("--params must be a JSON object, e.g. '{\"trade_start_level\": 2}'") from None
    if not isinstance(extra, dict):
        raise ParameterError("--params must be a JSON object")
    p = {"memory_dir": memory, **extra}
    cfg = BacktestConfig(strategy="powertrader", params=p, symbol=symbol, timeframe=timeframe, exchange=exchange,
                         start=start, end=end)
    strat = create_strategy("powertrader", p)
    res = run_backtest(cfg, strategy=strat)
    from quantdesk import data as qdata

    bars = qdata.load(symbol, timeframe, exchange, start, end)
    events = getattr(strat, "events", None)  # the powertrader strategy records its decisions
    rep = run_report(res.orders, bars, res.equity, events, strat.p.max_dca_buys_per_24h)
    levels = tuple(strat.p[f"dca_level_{i + 1}"] for i in range(7))
    doc = {"ladder": ladder(strat.p.start_allocation_pct, strat.p.dca_multiplier, levels),
           "run": {k: v for k, v in rep.items() if k != "cycle_list"}, "cycles": rep["cycle_list"]}

    def render(console: Any, d: dict[str, Any]) -> None:
        console.print(records_table([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                                     for r in d["ladder"]], title="Worst case: every stage fires"))
        run = d["run"]
        console.print(kv_table({"cycles": run["cycles"], "max stage": run["max_stage"],
                                "worst cost, % of equity": round(run["worst_cost_pct_equity"], 2),
                                "time under water, h": round(run["time_under_water_h"], 1),
                                "under water, % of the run": round(run["time_under_water_pct"], 2),
                                "longest under water, h": round(run["longest_under_water_h"], 1),
                                "24 h cap hits": run["cap_hits_24h"]}, title="This run"))
        console.print(records_table(run["by_stage"], title="Cycles by stage reached"))

    emit(doc, render=render)
