"""`quantdesk regime ...`: detect market regimes on a file or a stored series, split a run's results by regime.

    quantdesk regime detect --data prices.csv --method hmm --out out/regimes      # regimes.csv + regimes.html
    quantdesk regime detect --symbol BTC/USDT --timeframe 1h --method bocpd --out out/cp
    quantdesk --json regime detect --symbol BTC/USDT --timeframe 1d --method rules --no-chart
    quantdesk regime report --run runs/sma --method hmm             # a `backtest --out` or `walk-forward --out` DIR
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import emit, frame_table, kv_table
from quantdesk.core.errors import ParameterError

regime_app = typer.Typer(help="Market regimes: detect (rules, hmm, markov, bocpd), reports by regime.",
                         no_args_is_help=True)

METHOD_HELP = "rules (trend x volatility) | hmm (Gaussian HMM) | markov (Markov switching) | bocpd (change points)"


def register(app: typer.Typer) -> None:
    app.add_typer(regime_app, name="regime")


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """`--param key=value` pairs; values become int/float when they look like numbers."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--param must look like key=value, got {item!r}")
        text = value.strip()
        for cast in (int, float):
            try:
                out[key.strip()] = cast(text)
                break
            except ValueError:
                continue
        else:
            out[key.strip()] = text
    return out


def _validated(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Types and ranges through the catalog spec (the same checks as `Ind("regime", ...)`)."""
    from quantdesk.indicators import get

    values = get("regime").validate_params({**params, "method": method})
    values.pop("method")
    return {k: v for k, v in values.items() if k in params}


@regime_app.command("detect")
def detect_cmd(
    data: Annotated[Path | None, typer.Option("--data", help="OHLCV file (CSV/Parquet) instead of the store.")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Stored symbol, e.g. BTC/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="e.g. 1h (inferred for --data).")] = None,
    exchange: Annotated[str | None, typer.Option("--exchange", help="Stored exchange (when several).")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=METHOD_HELP)] = "rules",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Detector parameter key=value "
                                                    "(see `quantdesk indicators show regime`).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="UTC ISO-8601 start.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="UTC ISO-8601 end.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for regimes.csv and regimes.html.")] = None,
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Write the offline HTML chart.")] = True,
) -> None:
    """Detect regimes causally (each bar from the bars before it): writes DIR/regimes.csv (timestamp, regime,
    regime_name, p_regime_0..3, p_changepoint, bars_since_change) and DIR/regimes.html; prints a summary."""
    from quantdesk.intel.regimes import service

    params = _validated(method, parse_params(param))
    bars, sym, tf = service.load_bars(data_file=data, symbol=symbol, timeframe=timeframe, exchange=exchange,
                                      start=start, end=end)
    result, labels = service.detect(bars, method, params)
    doc = service.summarize(result, method, params, sym, tf)
    if out is not None:
        doc["files"] = service.write_outputs(out, bars, result, labels, f"{sym} {tf}: {method} regimes", chart)
    emit(doc, render=_render_detect)


def _render_detect(console: Any, doc: dict[str, Any]) -> None:
    cur = doc.get("current") or {}
    view = {"series": f"{doc['symbol']} {doc['timeframe']} ({doc['bars']} bars, {doc['labelled_bars']} labelled)",
            "method": doc["method"], "changes": doc["changes"], "last change": doc["last_change"],
            "current regime": cur.get("regime"), "p_changepoint": cur.get("p_changepoint"),
            "bars since change": cur.get("bars_since_change")}
    for name, share in doc["time_share"].items():
        view[f"time in {name}"] = f"{share * 100:.1f}%"
    for name, path in (doc.get("files") or {}).items():
        view[name] = path
    console.print(kv_table(view, title="Regimes"))


@regime_app.command("report")
def report_cmd(
    run: Annotated[Path | None, typer.Option("--run", help="A `backtest --out` or `walk-forward --out` folder.")] = None,
    bot: Annotated[str | None, typer.Option("--bot", help="A paper bot (its committed equity and trades).")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=METHOD_HELP)] = "rules",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Detector parameter key=value.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="The bars (default: the run's own data).")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Stored symbol (default: the run's).")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t")] = None,
) -> None:
    """Split a run's (or a paper bot's) performance by regime: return, Sharpe, win rate, trades per regime."""
    from quantdesk.intel.regimes import service

    if (run is None) == (bot is None):
        raise ParameterError("give exactly one of --run DIR or --bot NAME")
    params = _validated(method, parse_params(param))
    if bot is not None:
        from quantdesk.core.config import get_settings
        from quantdesk.storage.trading import TradingStore

        store = TradingStore(get_settings().database_url)
        try:
            doc = service.report_bot(store, bot, method, params)
        finally:
            store.close()
        doc["timeframe"] = doc.get("timeframe", "")
    else:
        assert run is not None  # exactly one of run / bot (checked above)
        doc = service.report_run_dir(run, method, params, data_file=str(data) if data else None, symbol=symbol,
                                     timeframe=timeframe)
    emit(doc, render=lambda c, d: c.print(frame_table(d["by_regime"], title=f"By regime ({d['method']}): "
                                                                               f"{d['symbol']} {d['timeframe']}")))
