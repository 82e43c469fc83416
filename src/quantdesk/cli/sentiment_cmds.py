"""`quantdesk sentiment ...`: score text offline, list and poll sources, show the news feed and the per-asset
series. Scoring needs no network and no model download (the crypto lexicon ships with QuantDesk)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from quantdesk.cli.output import OutputState, emit, err_console, records_table
from quantdesk.core.errors import DataError, ParameterError

sentiment_app = typer.Typer(help="Market sentiment from news and social text (offline).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ConfigOpt = Annotated[Path | None, typer.Option("--sentiment-config",
                                                help="Sentiment TOML (default QD_HOME/sentiment.toml).")]


def register(app: typer.Typer) -> None:
    app.add_typer(sentiment_app, name="sentiment")


def _json(flag: bool) -> None:
    if flag:
        OutputState.json = True


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@sentiment_app.command("score")
def score(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Text file, one text per line ('-' = stdin).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="A text to score (repeatable).")] = None,
    scorer: Annotated[str, typer.Option("--scorer", help="crypto (default), vader, or the configured one.")] = "crypto",
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Score texts: score in [-1, 1], label, entities (ccxt symbols) and events for each line."""
    from quantdesk.intel.sentiment import service

    _json(json_out)
    lines: list[str] = list(text or [])
    if file is not None:
        if str(file) == "-":
            lines += sys.stdin.read().splitlines()
        else:
            if not file.is_file():
                raise DataError(f"--file: {file} not found")
            try:
                lines += file.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise DataError(f"--file: {file} is not UTF-8 text") from None
    lines = [ln.strip() for ln in lines if ln.strip()]
    if not lines:
        raise ParameterError("nothing to score: give --file FILE (one text per line) or --text TEXT")
    settings = service.load_settings(str(config) if config else None)
    rows = service.score_texts(lines, scorer, settings) if len(lines) <= 100_000 else None
    if rows is None:
        raise ParameterError(f"{len(lines)} lines: at most 100,000 per call")

    def render(c: Any, data: list[dict[str, Any]]) -> None:
        c.print(records_table([{"score": f"{r['score']:+.3f}", "label": r["label"], "text": _short(r["text"]),
                                "entities": " ".join(r["entities"]), "events": " ".join(r["events"])}
                               for r in data], title=f"sentiment ({rows[0]['scorer']})"))

    emit(rows, render)


@sentiment_app.command("sources")
def sources(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List the configured sources (and the built-in `sample`)."""
    from quantdesk.intel.sentiment import service

    _json(json_out)
    rows = service.sources_info(service.load_settings(str(config) if config else None))
    emit(rows, lambda c, d: c.print(records_table(d, title="sentiment sources")))


@sentiment_app.command("poll")
def poll(
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these sources (repeatable).")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Also import the bundled sample headlines.")] = False,
    forever: Annotated[bool, typer.Option("--forever", help="Keep polling each source on its interval.")] = False,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fetch, score, de-duplicate and store the sources' texts (once, or --forever). New texts naming an event
    raise alerts through the configured channels when an alert rule of kind sentiment_event exists."""
    from quantdesk.intel.sentiment import service
    from quantdesk.intel.sentiment.poller import Poller

    _json(json_out)
    settings = service.load_settings(str(config) if config else None)
    alerts = _alert_manager()
    bus = None
    if alerts is not None:
        from quantdesk.core.bus import MessageBus

        bus = MessageBus()
        alerts.attach(bus)
        alerts.start(stall_checker=False)
    try:
        _poll(Poller(settings, service.store(), bus=bus,
                     include_sample=sample or bool(source and "sample" in source)), source, forever)
    finally:
        if alerts is not None:
            alerts.flush(30)
            alerts.detach()
            alerts.stop()


def _alert_manager() -> Any:
    """The configured alert channels when some rule has kind sentiment_event (alerts stored in the database)."""
    from quantdesk.settings import get_settings

    cfg = get_settings().alerts
    if not cfg.enabled or not any(r.kind == "sentiment_event" for r in cfg.rules):
        return None
    from quantdesk.monitoring.alerts import AlertManager
    from quantdesk.storage.alert_repo import AlertRepository

    return AlertManager(cfg, repo=AlertRepository())


def _poll(poller: Any, source: list[str] | None, forever: bool) -> None:
    if not poller.sources:
        raise ParameterError("no source to poll: configure [[sources]] in sentiment.toml or pass --sample")
    if forever:
        stop = threading.Event()
        err_console.print(f"polling {len(poller.sources)} source(s); Ctrl-C to stop")
        try:
            poller.run(stop, on_report=lambda r: err_console.print(
                f"{r['source']}: {r['status']}, {r['new']} new of {r['fetched']}" + (f" ({r['error']})" if r["error"] else "")))
        except KeyboardInterrupt:
            stop.set()
        return
    reports = poller.poll_once(source or None)
    emit(reports, lambda c, d: c.print(records_table(d, title="sentiment poll")))
    if all(r["status"] == "error" for r in reports):
        raise DataError("every source failed: " + "; ".join(r["error"] for r in reports))


@sentiment_app.command("news")
def news_cmd(
    symbol: Annotated[str | None, typer.Option("--symbol", "-s", help="Only texts naming this asset.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 30,
    event: Annotated[str | None, typer.Option("--event", help="Only texts naming this event kind.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The stored texts, newest first, with their scores and events."""
    from quantdesk.intel.sentiment import service

    _json(json_out)
    rows = service.news(symbol, limit, event)
    emit(rows, lambda c, d: c.print(records_table(
        [{"ts": r["ts"], "score": f"{r['score']:+.2f}", "label": r["label"], "title": _short(r["title"], 60),
          "entities": " ".join(r["entities"]), "events": " ".join(r["events"])} for r in d], title="news")))


@sentiment_app.command("series")
def series_cmd(
    symbol: Annotated[str, typer.Option("--symbol", "-s", help="Asset, e.g. BTC/USDT.")],
    start: Annotated[str | None, typer.Option("--start", help="First point (UTC).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last point (UTC).")] = None,
    every: Annotated[str, typer.Option("--every", help="Grid step, e.g. 1h, 15m, 1d.")] = "1h",
    half_life_h: Annotated[float, typer.Option("--half-life", min=0.01, help="Half-life of a text's weight, hours.")] = 12.0,
    window_h: Annotated[float, typer.Option("--window", min=0.01, help="Window of count/shares/events, hours.")] = 24.0,
    json_out: JsonOpt = False,
) -> None:
    """The asset's causal sentiment series (decayed mean, count, shares, negative events) on a time grid."""
    from quantdesk.intel.sentiment import service

    _json(json_out)
    rows = service.series(symbol, start=start, end=end, every=every, half_life_h=half_life_h, window_h=window_h)
    if not rows and not OutputState.json:
        err_console.print(f"no stored text names {symbol}; run `quantdesk sentiment poll --sample` to try it")
    emit(rows, lambda c, d: c.print(records_table(
        [{"ts": r["ts"], "mean": f"{r['mean']:+.3f}", "count": int(r["count"]), "pos": f"{r['pos_share']:.2f}",
          "neg": f"{r['neg_share']:.2f}", "neg_events": int(r["neg_events"])} for r in d],
        title=f"sentiment {symbol}")))
