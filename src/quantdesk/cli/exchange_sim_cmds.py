"""`quantdesk exchange-sim`: a local Binance-compatible exchange replaying candles (see docs/exchange-simulator.md).

    quantdesk exchange-sim --port 18123 --data candles.csv --symbol BTC/USDT --timeframe 1m --speed 60
    quantdesk exchange-sim --data candles.csv --fault rate_limit:count=3,retry_after=1 --fault reorder_reports
    quantdesk --json exchange-sim --port 0 ...     # one JSON line with the URLs once it listens (port 0 = any)

Runs in the foreground until Ctrl-C. Its truth is at GET http://127.0.0.1:PORT/_sim/state; faults are added at
run time with POST /_sim/faults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, err_console


def register(app: typer.Typer) -> None:
    @app.command("exchange-sim")
    def exchange_sim(
        port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0 = any free port).",
                                          min=0, max=65535)] = 18123,
        data: Annotated[Path | None, typer.Option("--data", help="Candle file (CSV/Parquet); default: the "
                                                  "candle store's candles of --symbol/--timeframe.")] = None,
        exchange: Annotated[str | None, typer.Option("--exchange", help="Without --data: which exchange's stored "
                                                     "candles (when the store has several).")] = None,
        symbol: Annotated[str, typer.Option("--symbol", help="The one spot market served.")] = "BTC/USDT",
        timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Candle timeframe of the data.")] = "1m",
        speed: Annotated[float, typer.Option("--speed", help="Simulated seconds per wall second (0 = the clock "
                                             "moves only by POST /_sim/advance).")] = 60.0,
        start: Annotated[str | None, typer.Option("--start", help="Start at this UTC time (default: the first "
                                                  "candle).")] = None,
        balance: Annotated[list[str] | None, typer.Option("--balance", help="Starting balance ASSET=AMOUNT "
                                                          "(repeat; default USDT=10000).")] = None,
        fee: Annotated[str | None, typer.Option("--fee", help="Maker and taker fee (fraction).")] = None,
        maker_fee: Annotated[str, typer.Option("--maker-fee", help="Maker fee (fraction).")] = "0.001",
        taker_fee: Annotated[str, typer.Option("--taker-fee", help="Taker fee (fraction).")] = "0.001",
        fee_asset: Annotated[str, typer.Option("--fee-asset", help="quote (every fee in the quote asset) or "
                                               "received (a buy pays in the base asset, like Binance).")] = "quote",
        tick_size: Annotated[str | None, typer.Option("--tick-size", help="Price step (default: the data's "
                                                      "finest).")] = None,
        step_size: Annotated[str, typer.Option("--step-size", help="Quantity step.")] = "0.00001",
        min_notional: Annotated[str | None, typer.Option("--min-notional", help="Smallest order value in the "
                                                         "quote asset (default 5 for USD quotes).")] = None,
        spread_ticks: Annotated[int, typer.Option("--spread-ticks", help="Best ask above the last trade, in "
                                                  "ticks.", min=0)] = 0,
        depth_levels: Annotated[int, typer.Option("--depth-levels", help="Synthetic book levels per side.",
                                                  min=1, max=5000)] = 20,
        participation: Annotated[str | None, typer.Option("--participation", help="Largest fraction of a "
                                                          "replayed trade's volume orders may take.")] = None,
        partial_fills: Annotated[int | None, typer.Option("--partial-fills", help="Split every fill into N "
                                                          "fills.", min=2, max=100)] = None,
        fault: Annotated[list[str] | None, typer.Option("--fault", help="KIND[:key=value,...] (repeat), e.g. "
                                                        "drop_response:count=1, rate_limit:retry_after=2.")] = None,
        api_key: Annotated[str | None, typer.Option("--api-key", envvar="QD_SIM_API_KEY",
                                                    help="Accepted API key (default qd-sim-key).")] = None,
        api_secret: Annotated[str | None, typer.Option("--api-secret", envvar="QD_SIM_API_SECRET",
                                                       help="Its secret (default qd-sim-secret).")] = None,
    ) -> None:
        """Serve a simulated Binance spot exchange on 127.0.0.1 for ccxt (REST + WebSocket)."""
        from dataclasses import replace

        from quantdesk.adapters.simulator import ExchangeSimulator, SimConfig, make_fault, parse_fault
        from quantdesk.adapters.simulator.config import dec, parse_balances

        faults = [parse_fault(spec) for spec in fault or []]
        if partial_fills is not None:
            faults.append(make_fault("partial_fills", parts=partial_fills))
        settings: dict[str, Any] = {
            "data": data, "exchange": exchange, "symbol": symbol, "timeframe": timeframe, "speed": speed, "start": start,
            "maker_fee": dec(fee if fee is not None else maker_fee, "--maker-fee"),
            "taker_fee": dec(fee if fee is not None else taker_fee, "--taker-fee"),
            "fee_asset": fee_asset, "step_size": dec(step_size, "--step-size"), "spread_ticks": spread_ticks,
            "depth_levels": depth_levels,
        }
        if balance:
            settings["balances"] = parse_balances(balance)
        for name, value in (("tick_size", tick_size), ("min_notional", min_notional),
                            ("participation", participation)):
            if value is not None:
                settings[name] = dec(value, f"--{name.replace('_', '-')}")
        if api_key:
            settings["api_key"] = api_key
        if api_secret:
            settings["api_secret"] = api_secret
        sim = ExchangeSimulator(config=replace(SimConfig(), **settings), port=port)
        for item in faults:
            sim.runtime.faults.add(item)

        def ready(s: ExchangeSimulator) -> None:
            info = {"rest_url": s.rest_url, "ws_url": s.ws_url, "ws_api_url": s.ws_api_url, "port": s.port,
                    "symbol": s.config.symbol, "timeframe": s.config.timeframe, "speed": s.config.speed,
                    "api_key": s.api_key, "faults": [f.kind for f in faults]}
            if OutputState.json:
                typer.echo(json.dumps(info))
                return
            typer.echo(f"exchange simulator: {s.config.symbol} {s.config.timeframe} at speed {s.config.speed:g} "
                       f"on {s.rest_url}")
            err_console.print(f"  REST       {s.rest_url}/api/v3   (truth: {s.rest_url}/_sim/state)\n"
                              f"  streams    {s.ws_url}\n  user data  {s.ws_api_url}\n"
                              f"  API key    {s.api_key} (secret as configured)\n  Ctrl-C stops.", highlight=False)

        try:
            sim.serve_forever(on_ready=ready)
        except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises the signal
            pass
        err_console.print("exchange simulator stopped", highlight=False)
