"""`quantdesk live`: run a strategy on a real venue (or the exchange simulator), and show what the node believes.

    quantdesk live --exchange binance --symbol BTC/USDT --timeframe 1m --strategy sma_cross -p fast=5 -p slow=20 \\
        --bot-name sma-live --confirm-live [--exchange-url http://127.0.0.1:18123] [--resume]
    quantdesk live status [NAME] [--json]     # orders, fills, positions, balances, reconciliation
    quantdesk live stop NAME | quantdesk live kill NAME    # ask a running node to stop / cancel + flatten

Refuses without the opt-in (--confirm-live, or [live] enabled = true) and without the venue's keys
(QD_EXCHANGES__<NAME>__API_KEY / __SECRET); keys are never printed. See docs/live.md.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, kv_table, records_table
from quantdesk.core.errors import ParameterError


def register(app: typer.Typer) -> None:
    live_app = typer.Typer(help="Live trading on a venue through ccxt (opt-in), exactly once.",
                           invoke_without_command=True)
    app.add_typer(live_app, name="live")

    @live_app.callback()
    def live(
        ctx: typer.Context,
        exchange: Annotated[str, typer.Option("--exchange", help="ccxt exchange id (binance...).")] = "binance",
        symbol: Annotated[str, typer.Option("--symbol", help="The market traded.")] = "BTC/USDT",
        timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1m",
        strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")] = None,
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v.")] = None,
        bot_name: Annotated[str | None, typer.Option("--bot-name", help="Bot name (default: the strategy).")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue an existing live bot.")] = False,
        exchange_url: Annotated[str | None, typer.Option("--exchange-url", help="REST origin of the venue (e.g. "
                                                         "the exchange simulator http://127.0.0.1:18123).")] = None,
        confirm_live: Annotated[bool, typer.Option("--confirm-live", help="Opt in to sending real orders.")] = False,
        risk: Annotated[bool, typer.Option("--risk/--no-risk", help="Apply the configured risk limits.")] = True,
        max_bars: Annotated[int | None, typer.Option("--max-bars", help="Stop after this many bars.")] = None,
        run_for: Annotated[float | None, typer.Option("--run-for", help="Stop after this many idle seconds.")] = None,
    ) -> None:
        """Run a live bot in the foreground until Ctrl-C, `quantdesk live stop`, a halt or --max-bars."""
        if ctx.invoked_subcommand is not None:
            return
        from quantdesk.cli.backtest_cmds import parse_params
        from quantdesk.live.node import LiveNode, LiveRequest, check_opt_in
        from quantdesk.settings import get_settings

        settings = get_settings()
        check_opt_in(confirm_live, settings)  # before anything else: no venue, no database
        if strategy is None and not (resume and bot_name):
            raise ParameterError("--strategy is required (or --resume --bot-name NAME to continue a bot)")
        name = bot_name or str(strategy).replace(":", "_").replace("/", "_")
        if strategy is None:
            from quantdesk.paper.spec import BotSpec
            from quantdesk.storage.trading import TradingStore

            row = TradingStore().find_bot(name)
            if row is None:
                raise ParameterError(f"no live bot named {name!r} to resume; give --strategy to create it")
            stored = BotSpec.from_config(row["config"])
            strategy, exchange, symbol, timeframe = (stored.strategy, stored.exchange or exchange, stored.symbols[0],
                                                     stored.timeframe)
        req = LiveRequest(exchange=exchange, symbol=symbol, timeframe=timeframe, strategy=strategy,
                          bot_name=name, params=parse_params(param), resume=resume, confirm=confirm_live,
                          exchange_url=exchange_url, risk=risk)
        quiet = OutputState.json
        node = LiveNode.start(req, settings=settings)
        bot = node.bot
        if not quiet:
            err_console.print(f"LIVE bot {bot.name}: {bot.spec.strategy} on {symbol} {timeframe} at "
                              f"{node.ctx.config.exchange}" + (f" ({exchange_url})" if exchange_url else "")
                              + f", bar {bot.next_index}" + (" (recovered)" if bot.next_index else ""),
                              highlight=False)
            from quantdesk.cli.console_feed import fill_line
            from quantdesk.model.bot_events import watch_bot

            def print_fills(ev: Any) -> None:
                for f in ev.fills:
                    err_console.print(fill_line(bot.name, f), highlight=False)

            watch_bot(bot.engine.bus, bot.name, commit=print_fills)
        try:
            reason = node.run(max_bars=max_bars, run_for_s=run_for)
            if reason in ("max_bars", "time", "kill"):
                node.settle(1.0)
        finally:
            node.shutdown()
        from quantdesk.live.node import live_status

        doc = {**live_status(node.store, bot.name), "stopped": reason}
        if reason == "interrupted" and not quiet:
            err_console.print("interrupted: state persisted; continue with --resume")
        emit(doc, render=_render)
        if reason == "halted":
            err_console.print(f"[bold red]halted:[/] {doc.get('halted')}", highlight=False)
            raise typer.Exit(3)

    @live_app.command("status")
    def status(name: Annotated[str | None, typer.Argument(help="Bot name (default: every live bot).")] = None) -> None:
        """What the node believes: orders, fills, positions, balances, reconciliation (from the database)."""
        from quantdesk.live.node import live_status
        from quantdesk.storage.trading import TradingStore

        data = live_status(TradingStore(), name)
        emit(data, render=_render if name else _render_many)

    @live_app.command("stop")
    def stop(name: Annotated[str, typer.Argument(help="Bot name.")]) -> None:
        """Ask a running live bot to stop (state persisted; continue with --resume)."""
        _command(name, "stop")

    @live_app.command("kill")
    def kill(name: Annotated[str, typer.Argument(help="Bot name.")]) -> None:
        """Kill switch: the running bot cancels its orders on the venue and flattens its position."""
        _command(name, "kill")


def _command(name: str, command: str) -> None:
    from quantdesk.live.node import send_command
    from quantdesk.storage.trading import TradingStore

    emit(send_command(TradingStore(), name, command))


def _render(c: Any, d: dict[str, Any]) -> None:
    head: dict[str, Any] = {k: d[k] for k in ("bot", "status", "exchange", "strategy", "symbols", "cursor", "halted")
                            if k in d}
    head["positions"] = d.get("positions")
    head["balances"] = d.get("balances")
    head["reconciliation"] = (d.get("reconciliation") or {}).get("verdict")
    c.print(kv_table(head, title="LIVE bot"))
    if d.get("orders"):
        c.print(records_table(d["orders"][-20:], title="orders (last 20)"))
    if d.get("fills"):
        c.print(records_table(d["fills"][-20:], title="fills (last 20)"))


def _render_many(c: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        c.print("no live bots yet (start one with `quantdesk live --strategy NAME --confirm-live`)")
        return
    c.print(records_table([{"bot": r["bot"], "status": r["status"], "exchange": r["exchange"],
                            "positions": r["positions"], "orders": len(r["orders"]), "fills": len(r["fills"]),
                            "reconciliation": (r["reconciliation"] or {}).get("verdict")} for r in rows],
                          title="LIVE bots"))
