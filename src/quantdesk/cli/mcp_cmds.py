"""`quantdesk mcp`: an MCP server on stdio (official `mcp` SDK), so any MCP client can drive QuantDesk.

Tools: `search` and `ask` (the knowledge base, with citations), `backtest` (run and record one on stored
candles), `indicators` and `compute_indicator` (the catalog), `strategies`, `bot_status` (paper bots from the
database), `brief` and `explain`. Configure a client with the command `quantdesk mcp` (e.g. Claude Desktop's
`mcpServers` entry). Stdout carries only the protocol; logs go to stderr. A QuantDesk error (bad parameter,
unknown symbol) comes back as a tool error with its one-line message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from quantdesk.core.errors import ConfigError, QuantDeskError


def _expected_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A QuantDesk error (bad input) reaches the client as a tool error with its message, without a server-side
    traceback; anything else stays a crash (the SDK hides its text from the client and logs it)."""
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import ValidationError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QuantDeskError as exc:
            raise ToolError(str(exc)) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ToolError(f"invalid {'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    return wrapper


def build_server(settings: Any) -> Any:
    """The MCPServer with QuantDesk's tools (ConfigError when the `mcp` package is missing)."""
    try:
        from mcp.server.mcpserver import MCPServer
    except ModuleNotFoundError:
        raise ConfigError("the MCP server needs the 'mcp' package (pip install 'quantdesk[kb]')") from None
    from quantdesk import __version__
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.intel.kb.service import knowledge_base

    server = MCPServer("quantdesk", version=__version__, instructions=(
        "QuantDesk: algorithmic trading research. Use `ask` or `search` for questions about indicators, strategies, "
        "risk, QuantDesk itself and the user's own recorded runs (answers cite sources); `backtest` to test a "
        "built-in strategy on stored candles; `indicators`/`compute_indicator` for the catalog; `bot_status` for "
        "paper bots."))

    @server.tool(description="Search QuantDesk's knowledge base (docs, knowledge pages, the user's files and "
                             "recorded runs). Returns passages with source, anchor, text and score.")
    @_expected_errors
    def search(query: str, k: int = 5) -> list[dict[str, Any]]:
        return knowledge_base(settings).search(query, k=k)

    @server.tool(description="Answer a question from the knowledge base with verbatim quotes and [n] citations "
                             "(source, anchor, quote), or abstain when the evidence is weak.")
    @_expected_errors
    def ask(question: str, k: int = 5) -> dict[str, Any]:
        return knowledge_base(settings).ask(question, k=k)

    @server.tool(description="Run a backtest of a built-in strategy on stored candles and record it. Returns the "
                             "run id, metrics and number of trades.")
    @_expected_errors
    def backtest(strategy: str, symbol: str = "BTC/USDT", timeframe: str = "1h",
                 params: dict[str, Any] | None = None, start: str | None = None, end: str | None = None,
                 cash: float = 10_000.0, fee: float = 0.001) -> dict[str, Any]:
        from quantdesk.backtest.config import BacktestConfig
        from quantdesk.backtest.runner import run_backtest
        from quantdesk.storage import db
        from quantdesk.strategies.loader import builtin_strategies

        if ":" in strategy or strategy not in builtin_strategies():
            raise ConfigError(f"unknown built-in strategy {strategy!r}; built-ins: {', '.join(builtin_strategies())}")
        cfg = BacktestConfig(strategy=strategy, params=params or {}, symbol=symbol, timeframe=timeframe,
                             start=start, end=end, cash=cash, fee=fee)
        result = run_backtest(cfg)
        run_id = db.record_result(result, out_dir=None, engine="event", url=settings.database_url)
        return {"run_id": run_id, "config": to_jsonable(cfg.model_dump(mode="json")),
                "metrics": to_jsonable(result.metrics), "trades": len(result.trades)}

    @server.tool(description="List catalog indicators (name, group, inputs, parameters with defaults, outputs, "
                             "TA-Lib name), optionally one group or a text search.")
    @_expected_errors
    def indicators(group: str | None = None, search: str | None = None) -> list[dict[str, Any]]:
        from quantdesk.indicators import catalog

        out = []
        for e in catalog():
            text = f"{e['name']} {e['talib'] or ''} {e['description']}".lower()
            if (group is None or e["group"] == group.lower()) and (search is None or search.lower() in text):
                out.append({k: e[k] for k in ("name", "group", "inputs", "params", "outputs", "talib",
                                              "description")})
        return to_jsonable(out)

    @server.tool(description="Compute a catalog indicator on stored candles; returns the last `tail` rows.")
    @_expected_errors
    def compute_indicator(name: str, symbol: str = "BTC/USDT", timeframe: str = "1h",
                          params: dict[str, Any] | None = None, tail: int = 5) -> dict[str, Any]:
        from quantdesk import data
        from quantdesk.indicators import registry

        spec = registry.get(name)
        frame = registry.compute(spec.name, data.load(symbol, timeframe), **(params or {}))
        rows = frame.tail(max(1, min(tail, 500)))
        return {"indicator": spec.name, "symbol": symbol, "timeframe": timeframe,
                "params": to_jsonable(spec.validate_params(params or {})), "rows": to_jsonable(rows)}

    @server.tool(description="Built-in strategies with their parameters (type, default, range).")
    @_expected_errors
    def strategies() -> list[dict[str, Any]]:
        from quantdesk.intel.kb.sources import strategy_chunks

        return [{"name": c.anchor, "description": c.text} for c in strategy_chunks()]

    @server.tool(description="Paper bots from the database: status, strategy, symbols, cash, equity, positions, "
                             "orders, fills.")
    @_expected_errors
    def bot_status() -> dict[str, Any]:
        from quantdesk.paper.node import status_from_db

        return {"bots": to_jsonable(status_from_db(settings.database_url))}

    @server.tool(description="A short market brief from stored candles, indicators, positions and alerts, every "
                             "statement cited.")
    @_expected_errors
    def brief(symbol: str | None = None, timeframe: str | None = None) -> dict[str, Any]:
        from quantdesk.intel.kb.brief import market_brief

        return market_brief([symbol] if symbol else None, timeframe, url=settings.database_url)

    @server.tool(description="Explain why: kind 'backtest' (id = run id), 'denial' or 'signal' (id = bot name or "
                             "id, seq = which one, default the latest).")
    @_expected_errors
    def explain(kind: str, id: str, seq: int | None = None) -> dict[str, Any]:  # noqa: A002 - the tool's word
        from quantdesk.intel.kb.explain import explain as run

        return run(kind, id, seq, url=settings.database_url)

    return server


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp_cmd() -> None:
        """Serve QuantDesk's tools to MCP clients over stdio (search, ask, backtest, indicators, bot status...)."""
        from quantdesk.core.config import get_settings

        build_server(get_settings()).run("stdio")
