"""`quantdesk data download`: resumable exchange history download through ccxt into the candle store."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from quantdesk.cli.output import OutputState, emit, err_console, kv_table, records_table
from quantdesk.cli.progress import progress_bar


def register(app: typer.Typer) -> None:
    from quantdesk.cli.data_cmds import data_app  # `data download` joins the `data` group

    @data_app.command("download")
    def download(
        exchange: Annotated[str, typer.Option("--exchange", "-e", help="ccxt exchange id, e.g. binance.")],
        symbol: Annotated[str, typer.Option("--symbol", "-s", help="Unified symbol, e.g. BTC/USDT.")],
        since: Annotated[str, typer.Option("--since", help="Start (UTC, ISO-8601), inclusive.")],
        timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length, e.g. 1m, 1h, 1d.")] = "1m",
        until: Annotated[
            str | None, typer.Option("--until", help="End (UTC, ISO-8601), exclusive. Default: the last closed bar.")
        ] = None,
        limit: Annotated[
            int | None, typer.Option("--limit", help="Candles per request (default and maximum: the exchange's).")
        ] = None,
        rate_limit_ms: Annotated[
            float | None, typer.Option("--rate-limit-ms", help="ccxt rateLimit: ms between requests per unit of request cost (default: the exchange's).")
        ] = None,
        retries: Annotated[
            int | None, typer.Option("--retries", help="Retries per request (default: data.download_retries).")
        ] = None,
        backoff_s: Annotated[float, typer.Option("--backoff", help="First retry delay in seconds (doubles, capped).")] = 0.5,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print the missing ranges; fetch nothing.")] = False,
        no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
    ) -> None:
        """Download OHLCV history from an exchange; only the bars missing from the store are fetched."""
        from quantdesk.core.config import get_settings
        from quantdesk.data.download import RetryPolicy, download_history

        settings = get_settings()
        policy = RetryPolicy(
            retries=settings.data.download_retries if retries is None else retries,
            base_s=backoff_s,
        )
        show_progress = not (no_progress or OutputState.json or dry_run) and err_console.is_terminal
        with progress_bar(f"{exchange} {symbol} {timeframe}") as advance:
            report = download_history(
                exchange,
                symbol,
                timeframe,
                since,
                until,
                settings=settings,
                limit=limit,
                retry=policy,
                rate_limit_ms=rate_limit_ms,
                progress=advance if show_progress else False,
                dry_run=dry_run,
            )
        emit(report.to_dict(), render=_render)


def _render(console: Console, data: dict[str, Any]) -> None:
    summary = {
        "exchange": data["exchange"],
        "symbol": data["symbol"],
        "timeframe": data["timeframe"],
        "requested": f"{data['since']} -> {data['until']}",
        "already stored": data["existing_bars"],
        "missing bars": data["missing_bars"],
        "ranges": len(data["ranges"]),
    }
    if data["dry_run"]:
        title = "Download plan (dry run: nothing fetched)"
    else:
        title = "Download"
        summary.update(
            {
                "bars fetched": data["fetched_bars"],
                "new bars stored": data["new_bars"],
                "pages": data["pages"],
                "retries": data["retries"],
                "not on the exchange": data["not_returned_bars"],
            }
        )
    console.print(kv_table(summary, title=title))
    if data["ranges"]:
        rows = [
            {"start": r["start"], "end": r["end"], "missing": r["expected_bars"]}
            | ({} if data["dry_run"] else {"fetched": r["bars"], "new": r["new_bars"], "pages": r["pages"]})
            for r in data["ranges"][:50]
        ]
        table = records_table(rows, title="Missing ranges" if data["dry_run"] else "Ranges fetched")
        if len(data["ranges"]) > 50:
            table.caption = f"{len(data['ranges'])} ranges; showing the first 50"
        console.print(table)
    elif not data["dry_run"]:
        console.print("nothing to fetch: the store already holds every bar of the range")
