"""`quantdesk anomaly ...`: detect bar anomalies and feed problems, find whale trades, list what is stored.

    quantdesk anomaly detect --data prices.csv --method zscore --out out/anom        # DIR/anomalies.csv
    quantdesk anomaly detect --symbol BTC/USDT --timeframe 1m --method iforest --alert  # + the alert rules
    quantdesk anomaly whales --trades trades.csv --symbol BTC/USDT --out out/whales   # DIR/whales.csv
    quantdesk anomaly list --symbol BTC/USDT --kind gap
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import emit, kv_table, records_table
from quantdesk.cli.regime_cmds import parse_params
from quantdesk.core.errors import ParameterError

anomaly_app = typer.Typer(help="Anomalies: bar anomalies, feed health, whale trades.", no_args_is_help=True)
METHOD_HELP = "zscore (robust, median/MAD) | iqr | iforest (Isolation Forest) | ocsvm (One-Class SVM) | ecod"
MODEL_PARAMS = {"train", "refit", "window_fit", "contamination", "seed"}
HEALTH_PARAMS = {"stale_bars", "jump_atr", "atr_period"}


def register(app: typer.Typer) -> None:
    app.add_typer(anomaly_app, name="anomaly")


def _split_params(params: dict[str, Any], method: str) -> dict[str, Any]:
    known = MODEL_PARAMS | HEALTH_PARAMS
    unknown = set(params) - known
    if unknown:
        raise ParameterError(f"--param {', '.join(sorted(unknown))}: unknown; use {', '.join(sorted(known))}")
    model = {("window" if k == "window_fit" else k): v for k, v in params.items() if k in MODEL_PARAMS}
    if model and method in ("zscore", "iqr"):
        raise ParameterError(f"--param {', '.join(sorted(model))} only applies to iforest, ocsvm and ecod")
    health = {k: v for k, v in params.items() if k in HEALTH_PARAMS}
    return {**model, "health_params": health}


@anomaly_app.command("detect")
def detect_cmd(
    data: Annotated[Path | None, typer.Option("--data", help="OHLCV file (CSV/Parquet) instead of the store.")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Stored symbol, e.g. BTC/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="e.g. 1m (inferred for --data).")] = None,
    exchange: Annotated[str | None, typer.Option("--exchange")] = None,
    method: Annotated[str, typer.Option("--method", "-m", help=METHOD_HELP)] = "zscore",
    window: Annotated[int, typer.Option("--window", help="zscore/iqr: previous bars each bar is judged against.")] = 100,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Alarm level (default 5 zscore, 3 iqr, "
                                                    "8 for the models' robust score).")] = None,
    health: Annotated[bool, typer.Option("--health/--no-health", help="Feed-health checks (gaps, stale, zero "
                                         "volume, jumps).")] = True,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value: train, refit, window_fit, "
                                                    "contamination, seed (models); stale_bars, jump_atr, atr_period")] = None,
    start: Annotated[str | None, typer.Option("--start")] = None,
    end: Annotated[str | None, typer.Option("--end")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for anomalies.csv.")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store the anomalies in the database.")] = True,
    alert: Annotated[bool, typer.Option("--alert", help="Route them through the configured alert rules.")] = False,
) -> None:
    """One row per anomalous bar (timestamp, kind, kinds, score, method), judged causally on earlier bars."""
    from quantdesk.core.config import get_settings
    from quantdesk.intel.anomalies import BAR_METHODS
    from quantdesk.intel.anomalies import service as asvc
    from quantdesk.intel.regimes.service import load_bars

    if method not in BAR_METHODS:
        raise ParameterError(f"--method must be one of {', '.join(BAR_METHODS)}, got {method!r}")
    extra = _split_params(parse_params(param), method)
    bars, sym, tf = load_bars(data_file=data, symbol=symbol, timeframe=timeframe, exchange=exchange, start=start,
                              end=end)
    rows, events = asvc.detect_bars(bars, symbol=sym, timeframe=tf, method=method, source="cli", window=window,
                                    threshold=threshold, health=health, **extra)
    doc = asvc.summary(rows, len(bars), symbol=sym, timeframe=tf, method=method)
    settings = get_settings()
    doc.update(asvc.dispatch(events, store=store, store_url=settings.database_url))
    if alert:
        from quantdesk.monitoring.alert_once import alert_and_wait

        doc["alerts"] = alert_and_wait(events, settings)
    if out is not None:
        doc["files"] = {"anomalies.csv": asvc.write_rows(rows, Path(out) / "anomalies.csv")}
    doc["first_rows"] = rows.head(20)
    emit(doc, render=_render)


def _render(console: Any, doc: dict[str, Any]) -> None:
    view = {k: doc[k] for k in ("symbol", "timeframe", "method", "bars", "anomalous_bars", "rate_pct", "stored")}
    view.update({f"kind {k}": v for k, v in doc["by_kind"].items()})
    view.update(doc.get("files") or {})
    if "alerts" in doc:
        view["alerts raised"] = len(doc["alerts"])
    console.print(kv_table(view, title="Anomalies"))
    rows = doc["first_rows"]
    if len(rows):
        console.print(records_table(rows.to_dict("records"), title="First anomalous bars"))


@anomaly_app.command("whales")
def whales_cmd(
    trades: Annotated[Path | None, typer.Option("--trades", help="Trade file: timestamp, price, amount (or size), "
                                                "side.")] = None,
    exchange: Annotated[str | None, typer.Option("--exchange", help="Poll this exchange's public trades (ccxt) "
                                                 "instead of a file.")] = None,
    polls: Annotated[int, typer.Option("--polls", min=1, help="With --exchange: number of polls.")] = 1,
    interval: Annotated[float, typer.Option("--interval", min=0.0, help="With --exchange: seconds between polls.")] = 2.0,
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Symbol the trades are of.")] = "",
    window: Annotated[int, typer.Option("--window", help="Previous trades forming the size distribution.")] = 500,
    z: Annotated[float, typer.Option("--z", help="Robust z of log notional above which a trade is a whale.")] = 6.0,
    min_notional: Annotated[float, typer.Option("--min-notional", help="Ignore smaller trades.")] = 0.0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for whales.csv.")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store")] = True,
    alert: Annotated[bool, typer.Option("--alert", help="Route them through the configured alert rules.")] = False,
) -> None:
    """Whale trades: far beyond the rolling trade-size distribution, with side and notional."""
    import time

    import pandas as pd

    from quantdesk.core.config import get_settings
    from quantdesk.intel.anomalies import service as asvc
    from quantdesk.intel.anomalies.whales import WhaleWatcher, read_trades

    if (trades is None) == (exchange is None):
        raise ParameterError("give exactly one of --trades FILE or --exchange NAME")
    settings = get_settings()
    if trades is not None:
        frame = read_trades(trades)
        sym = symbol or trades.stem
        rows, events = asvc.detect_trades(frame, symbol=sym, source="cli", window=window, z=z,
                                          min_notional=min_notional)
        n_trades = len(frame)
    else:
        from quantdesk.data.ccxt_client import make_exchange
        from quantdesk.intel.anomalies.trade_feed import TradePoller

        if not symbol:
            raise ParameterError("--exchange needs --symbol (e.g. BTC/USDT)")
        sym = symbol
        assert exchange is not None  # exactly one of trades / exchange (checked above)
        poller = TradePoller(make_exchange(exchange, settings), sym, WhaleWatcher(window=window, z=z,
                             min_notional=min_notional), source=f"cli:{exchange}")
        events = []
        for k in range(polls):
            events += poller.poll()
            if k + 1 < polls:
                time.sleep(interval)
        rows = pd.DataFrame([{"timestamp": pd.Timestamp(e.ts_event, unit="ns", tz="UTC"), "side": e.side,
                              "price": e.price, "amount": e.details["amount"], "notional": e.notional,
                              "score": e.score} for e in events],
                            columns=["timestamp", "side", "price", "amount", "notional", "score"])
        n_trades = poller.trades
    doc: dict[str, Any] = {"symbol": sym, "trades": int(n_trades), "whales": int(len(rows)),
                           "buy_notional": float(rows.loc[rows["side"] == "buy", "notional"].sum()),
                           "sell_notional": float(rows.loc[rows["side"] == "sell", "notional"].sum())}
    doc.update(asvc.dispatch(events, store=store, store_url=settings.database_url))
    if alert:
        from quantdesk.monitoring.alert_once import alert_and_wait

        doc["alerts"] = alert_and_wait(events, settings)
    if out is not None:
        doc["files"] = {"whales.csv": asvc.write_rows(rows, Path(out) / "whales.csv")}
    doc["largest"] = rows.sort_values("notional", ascending=False).head(10)
    emit(doc, render=_render_whales)


def _render_whales(console: Any, doc: dict[str, Any]) -> None:
    console.print(kv_table({k: v for k, v in doc.items() if k != "largest"}, title="Whale trades"))
    if len(doc["largest"]):
        console.print(records_table(doc["largest"].to_dict("records"), title="Largest"))


@anomaly_app.command("list")
def list_cmd(
    symbol: Annotated[str | None, typer.Option("--symbol", "-s")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="e.g. gap, stale, return_spike, whale.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Bot name, cli or api.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 50,
) -> None:
    """Stored anomalies, newest first."""
    from quantdesk.core.config import get_settings
    from quantdesk.storage.anomaly_repo import AnomalyRepository

    rows = AnomalyRepository(get_settings().database_url).query(symbol=symbol, kind=kind, source=source, limit=limit)
    keep = ("timestamp", "symbol", "timeframe", "kind", "kinds", "score", "method", "source", "side", "notional")
    emit(rows, render=lambda c, d: c.print(records_table([{k: r[k] for k in keep} for r in d], title="Anomalies"))
         if d else c.print("no anomalies stored"))
