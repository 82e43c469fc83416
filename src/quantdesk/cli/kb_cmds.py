"""`quantdesk kb ...`: the knowledge-base assistant (ingest, search, ask, brief, why, status).

    quantdesk kb ingest                      # QuantDesk's docs + [kb] user_dir + recorded results (incremental)
    quantdesk kb ingest notes/ paper.pdf     # add files or folders (remembered: refreshed by later ingests)
    quantdesk kb search "sortino ratio" --k 5
    quantdesk kb ask "why did my bot lose money in March?"
    quantdesk kb brief --symbol BTC/USDT
    quantdesk kb why backtest RUN_ID         # or latest; why denial BOT [SEQ], why signal BOT [SEQ]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from quantdesk.cli.output import emit, err_console, kv_table

kb_app = typer.Typer(help="Knowledge-base assistant: answers from QuantDesk's docs and your own research, with "
                          "citations, offline.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")


def _kb() -> Any:
    from quantdesk.api.app import openapi_schema
    from quantdesk.core.config import get_settings
    from quantdesk.intel.kb.service import knowledge_base

    settings = get_settings()
    return knowledge_base(settings, lambda: openapi_schema(settings))


@kb_app.command("ingest")
def ingest_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to add (Markdown, text, HTML, PDF, "
                                                            "research output folders). None: everything.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and build it again from scratch.")] = False,
) -> None:
    """Index QuantDesk's docs, your files and your recorded results (only what changed is embedded again)."""
    report = _kb().ingest(paths or None, rebuild=rebuild,
                          progress=lambda m: err_console.print(f"[dim]kb:[/] {escape(m)}", highlight=False,
                                                               soft_wrap=True))

    def render(console, d):
        console.print(kv_table({k: v for k, v in d.items() if k != "collections"}, title="knowledge base"))
        console.print(kv_table(d["collections"], title="chunks per collection"))

    emit(report, render)


@kb_app.command("search")
def search_cmd(
    question: Annotated[str, typer.Argument(help="What to look for (a question or keywords).", show_default=False)],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.", min=1, max=50)] = 5,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds (doc, knowledge, indicator, "
                                                                 "strategy, api, user, run, research, journal, alert, "
                                                                 "risk, docstring). Repeatable.")] = None,
) -> None:
    """Hybrid search (BM25 + vectors, reciprocal-rank fusion): source, anchor, score and the passage."""
    hits = _kb().search(question, k=k, kinds=kind)

    def render(console, rows):
        if not rows:
            console.print("no match")
        for i, h in enumerate(rows, start=1):
            console.print(f"[bold]{i}. {escape(h['source'])}#{escape(h['anchor'])}[/]  [dim]{h['kind']}, score "
                          f"{h['score']:.4f}[/]", highlight=False)
            text = " ".join(h["text"].split())
            console.print(f"   {escape(text[:300])}{'...' if len(text) > 300 else ''}", highlight=False)

    emit(hits, render)


@kb_app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="Your question.", show_default=False)],
    k: Annotated[int, typer.Option("--k", "-k", help="Passages to read.", min=1, max=50)] = 5,
    llm: Annotated[bool | None, typer.Option("--llm/--no-llm", help="Use the configured LLM ([kb.llm]); default: "
                                                                    "when one is configured.")] = None,
) -> None:
    """Answer with quotes and citations [n] -> source#anchor, or "I don't know" when the evidence is weak."""
    answer = _kb().ask(question, k=k, use_llm=llm)

    def render(console, d):
        console.print(escape(d["answer"]), highlight=False)
        for c in d["citations"]:
            console.print(f"  [bold][{c['n']}][/] {escape(c['source'])}#{escape(c['anchor'])}", highlight=False)
        if d["abstained"] and d["related"]:
            console.print("[dim]closest passages:[/] " + ", ".join(escape(f"{r['source']}#{r['anchor']}")
                                                                   for r in d["related"]), highlight=False)
        console.print(f"[dim]{d['mode']}, evidence {d['confidence']:.2f}[/]" +
                      "".join(f"[dim]; {escape(n)}[/]" for n in d["notes"]), highlight=False)

    emit(answer, render)


@kb_app.command("status")
def status_cmd() -> None:
    """What is indexed: chunks by kind and collection, when, which lexical engine, LLM configured or not."""
    emit(_kb().status())


@kb_app.command("chunk")
def chunk_cmd(chunk_id: Annotated[str, typer.Argument(help="A chunk id (from search or ask --json).")]) -> None:
    """Print one indexed passage (what a citation points at)."""
    def render(console: Any, d: dict[str, Any]) -> None:
        console.print(f"[bold]{escape(d['source'])}#{escape(d['anchor'])}[/] [dim]{escape(d['title'])}[/]",
                      highlight=False)
        console.print(escape(d["text"]), highlight=False)

    emit(_kb().chunk(chunk_id), render)


@kb_app.command("brief")
def brief_cmd(
    symbol: Annotated[list[str] | None, typer.Option("--symbol", "-s", help="Symbol(s); default: every stored "
                                                                            "one (at most 5).")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Bar length (default: the longest "
                                                                            "stored, up to 1d).")] = None,
) -> None:
    """A short market brief from QuantDesk's own data, every statement cited to the data it came from."""
    from quantdesk.intel.kb.brief import market_brief

    emit(market_brief(symbol or None, timeframe), _render_statements)


@kb_app.command("why")
def why_cmd(
    kind: Annotated[str, typer.Argument(help="backtest, denial or signal.", show_default=False)],
    ident: Annotated[str, typer.Argument(help="Run id or latest (backtest), or bot name/id (denial, signal).",
                                         show_default=False)],
    seq: Annotated[int | None, typer.Argument(help="Which denial/signal of the bot (its seq; default: the "
                                                   "latest).")] = None,
) -> None:
    """Explain a backtest's result, a risk denial or a signal from its recorded data plus the knowledge pages."""
    from quantdesk.intel.kb.explain import explain

    emit(explain(kind, ident, seq), _render_statements)


def _render_statements(console, d) -> None:
    if d.get("title"):
        console.print(f"[bold]{escape(d['title'])}[/]", highlight=False)
    for s in d["statements"]:
        refs = "".join(f"[{n}]" for n in s["citations"])
        console.print(f"- {escape(s['text'])} {escape(refs)}", highlight=False)
    for c in d["citations"]:
        where = f"{c['source']}#{c['anchor']}"
        console.print(f"  [bold][{c['n']}][/] {escape(where)}" + (f" [dim]{escape(str(c.get('detail')))}[/]"
                                                                  if c.get("detail") else ""), highlight=False)
