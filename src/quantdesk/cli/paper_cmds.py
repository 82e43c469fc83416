"""`quantdesk paper`: run a paper-trading node in the foreground, and show the persisted state.

    quantdesk paper --strategy sma_cross --param fast=5 --param slow=20 --symbol BTC/USDT --timeframe 1m \\
        --speed 60 --bot-name sma1 --cash 10000            # Ctrl-C stops cleanly (state persisted)
    quantdesk paper --bot-name sma1 --resume --strategy sma_cross ...   # continue after a stop or a crash
    quantdesk paper status                                 # bots, positions, cash, equity from the database

    quantdesk paper --feed exchange --exchange binance --symbol BTC/USDT --timeframe 1m --strategy sma_cross ...
        # live closed candles polled through ccxt (backfilled from --start if given), persisted to the candle
        # store; runs until Ctrl-C, --max-bars or --end

Fills are printed on stderr as they happen; the summary at the end goes to stdout (--json: one JSON document).
With QD_REDIS__URL set, bars, orders, fills, signals and alerts also go to Redis Streams (see quantdesk.paper.node).
"""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, kv_table, records_table
from quantdesk.core.errors import ParameterError

# options that define what a bot trades (fixed at its creation) and the BotSpec field each sets
DEFINING = {"strategy": "strategy", "param": "params", "symbol": "symbols", "timeframe": "timeframe",
            "exchange": "exchange", "feed": "feed", "start": "start", "end": "end", "cash": "cash", "fee": "fee",
            "margin": "margin", "risk": "risk"}
PACING = {"speed": "speed", "bar_sleep": "bar_sleep"}  # may change between runs: applied, and said


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option was set on the command line (or its environment variable), not left at its default."""
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


def _same(field: str, given: Any, stored: Any) -> bool:
    if field in ("start", "end"):
        if given is None or stored is None:
            return given is stored
        from quantdesk.core.timeutil import parse_utc

        return parse_utc(given) == parse_utc(stored)
    if field in ("cash", "fee"):
        return stored is not None and float(given) == float(stored)
    if field == "risk":  # stored: False/None (no rules) or the limits frozen at creation (--risk)
        return bool(given) == bool(stored)
    if field == "params":
        return {k: str(v) for k, v in given.items()} == {k: str(v) for k, v in (stored or {}).items()}
    if field == "symbols":
        return [str(x).upper() for x in given] == [str(x).upper() for x in stored or []]
    return given == stored


def resume_changes(ctx: typer.Context, spec: Any, stored: dict[str, Any]) -> list[str]:
    """`paper --resume` of an existing bot: options that would change what the bot trades are REFUSED (one
    ParameterError naming each, with the bot's value); pacing options (--speed) are applied and returned as notes
    to print. Options left at their defaults never conflict."""
    conflicts = []
    for option, field in DEFINING.items():
        if _given(ctx, option):
            value, was = getattr(spec, field), stored.get(field)
            if not _same(field, value, was):
                flag = "--" + option.replace("_", "-")
                conflicts.append(f"{flag} {value!r} (the bot has {was!r})")
    if conflicts:
        raise ParameterError(
            f"--resume {spec.name}: {'; '.join(conflicts)}. A resumed bot keeps what it was started with: drop "
            "these options, or start a new bot under another --bot-name")
    notes = []
    for option, field in PACING.items():
        if _given(ctx, option) and str(getattr(spec, field)) != str(stored.get(field)):
            notes.append(f"{option.replace('_', '-')} {getattr(spec, field)} applied (was {stored.get(field)})")
    return notes


def register(app: typer.Typer) -> None:
    paper_app = typer.Typer(help="Paper trading: bots on live-like feeds with simulated fills, persisted.",
                            invoke_without_command=True)
    app.add_typer(paper_app, name="paper")

    @paper_app.callback()
    def paper(
        ctx: typer.Context,
        strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Built-in name or module:Class.")] = None,
        param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Strategy parameter k=v.")] = None,
        symbol: Annotated[list[str] | None, typer.Option("--symbol", help="Symbol (repeat for several).")] = None,
        timeframe: Annotated[str, typer.Option("--timeframe", "-t")] = "1m",
        exchange: Annotated[str | None, typer.Option("--exchange", help="Exchange of the stored candles.")] = None,
        feed: Annotated[str, typer.Option("--feed", help="replay (stored candles) | exchange (live ccxt polling).")] = "replay",
        speed: Annotated[str, typer.Option("--speed", help="Replay speed x real time; 'max' or 0 = no wait.")] = "1",
        start: Annotated[str | None, typer.Option("--start", help="Replay from (UTC, inclusive).")] = None,
        end: Annotated[str | None, typer.Option("--end", help="Replay to (UTC, inclusive).")] = None,
        bot_name: Annotated[str | None, typer.Option("--bot-name", help="Bot name (default: the strategy).")] = None,
        cash: Annotated[float, typer.Option("--cash", help="Starting cash (quote currency).")] = 10_000.0,
        fee: Annotated[float, typer.Option("--fee", help="Fee as a fraction of notional.")] = 0.001,
        margin: Annotated[bool, typer.Option("--margin", help="Allow shorts.")] = False,
        risk: Annotated[bool, typer.Option("--risk/--no-risk", help="Apply the configured risk limits.")] = True,
        resume: Annotated[bool, typer.Option("--resume", help="Continue an existing bot of that name.")] = False,
        bar_sleep: Annotated[float, typer.Option("--bar-sleep", hidden=True,
                                                 help="Extra wall seconds per bar (tests).")] = 0.0,
        max_bars: Annotated[int | None, typer.Option("--max-bars", help="Stop after this many bars.")] = None,
    ) -> None:
        """Run a paper-trading node in the foreground until the replay ends or Ctrl-C."""
        if ctx.invoked_subcommand is not None:
            return
        if feed not in ("replay", "exchange"):
            raise ParameterError(f"--feed {feed!r}: expected 'replay' or 'exchange'")
        if feed == "exchange" and strategy is not None and not exchange:
            raise ParameterError("--feed exchange needs --exchange (a ccxt exchange id such as binance)")
        if strategy is None and not (resume and bot_name):
            raise ParameterError("--strategy is required (or --resume --bot-name NAME to continue a bot)")
        from quantdesk.cli.backtest_cmds import parse_params
        from quantdesk.paper.feeds import parse_speed
        from quantdesk.paper.node import PaperNode
        from quantdesk.paper.spec import BotSpec

        parse_speed(speed)
        spec = None
        if strategy is not None:
            spec = BotSpec(name=bot_name or strategy.replace(":", "_").replace("/", "_"), strategy=strategy,
                           params=parse_params(param), symbols=list(symbol or ["BTC/USDT"]), timeframe=timeframe,
                           exchange=exchange, start=start, end=end, cash=cash, fee=fee, margin=margin,
                           risk=True if risk else False, feed=feed, speed=speed, bar_sleep=bar_sleep)
        quiet = OutputState.json
        from quantdesk.cli.console_feed import Progress, RiskNotes, fill_line, progress_line
        from quantdesk.model.bot_events import watch_bot

        node = PaperNode()
        if spec is not None and resume:
            stored = node.store.find_bot(spec.name)
            if stored is not None:
                for note in resume_changes(ctx, spec, stored["config"]):  # refuses conflicting options
                    if not quiet:
                        err_console.print(f"resume {spec.name}: {note}", highlight=False)
        if spec is not None:
            bot = node.add_bot(spec, resume=resume)
        else:
            bot = node.start_bot(bot_name)  # type: ignore[arg-type]
        if not quiet:
            err_console.print(f"bot {bot.name}: {bot.spec.strategy} on {', '.join(bot.spec.symbols)} "
                              f"{bot.spec.timeframe}, bar {bot.next_index}/{len(bot.feed)}"
                              + (" (recovered)" if bot.next_index else ""), highlight=False)
            notes, progress = RiskNotes(err_console), Progress()
            bot.engine.bus.subscribe("*", lambda ev: notes.note(bot.name, ev.to_dict())
                                     if type(ev).__name__ in ("RiskDenied", "OrderResized") else None)

            def on_commit(ev: Any) -> None:
                for f in ev.fills:
                    err_console.print(fill_line(bot.name, f), highlight=False)

            def on_bar(ev: Any) -> None:
                if progress.due(bot.name):
                    err_console.print(progress_line(bot.summary()), highlight=False)

            watch_bot(bot.engine.bus, bot.name, bar=on_bar, commit=on_commit)

        def _term(signum, frame):  # SIGTERM behaves like Ctrl-C: stop cleanly, persist
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, _term)
        interrupted = False
        try:
            node.run(max_steps=max_bars)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            signal.signal(signal.SIGTERM, old)
            summaries = node.status()
            live_bots = [b.live and not b.done for b in node.bots.values()]
            node.shutdown()
        for s, live in zip(summaries, live_bots, strict=False):
            s["status"] = "finished" if s["bars"] >= s["bars_total"] and not live else "stopped"
        doc = summaries[0] if len(summaries) == 1 else {"bots": summaries}
        if interrupted and not quiet:
            err_console.print("interrupted: state persisted; continue with --resume")
        emit(doc, render=lambda c, d: c.print(kv_table(d, title="paper bot")) if "bots" not in d
             else c.print(records_table(d["bots"], title="paper bots")))

    @paper_app.command("status")
    def status() -> None:
        """Bots, positions, cash and equity from the database."""
        from quantdesk.paper.node import status_from_db

        rows = status_from_db()

        def render(c, data):
            if not data:
                c.print("no paper bots yet (start one with `quantdesk paper --strategy NAME`)")
                return
            c.print(records_table([{k: r[k] for k in ("bot", "status", "strategy", "symbols", "cursor", "cash",
                                                       "equity", "positions", "orders", "fills", "open_orders")}
                                   for r in data], title="paper bots"))

        emit(rows, render=render)
