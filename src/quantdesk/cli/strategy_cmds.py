"""`quantdesk strategy list|new`: the strategies you can run, and a new one from a template that runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from quantdesk.cli.output import emit, records_table
from quantdesk.core.errors import ConflictError, ParameterError


def _describe(name: str, source: str, cls: Any) -> dict[str, Any]:
    doc = cls.description or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
    return {
        "name": name,
        "source": source,
        "class": f"{cls.__module__}:{cls.__name__}",
        "description": doc,
        "params": {k: v["default"] for k, v in cls.param_space().items()},
        "search_space": dict(getattr(cls, "search_space", {}) or {}),
    }


def list_strategies() -> dict[str, Any]:
    from quantdesk.core.config import get_settings
    from quantdesk.strategies.loader import builtin_strategies, user_strategies

    folder = get_settings().user_strategies_dir.resolve()
    rows = [_describe(n, "built-in", c) for n, c in builtin_strategies().items()]
    rows += [_describe(i.name, i.source, i.cls) for i in user_strategies(folder)]
    return {"folder": str(folder), "strategies": rows}


def _render_list(console: Console, doc: dict[str, Any]) -> None:
    rows = [{"name": r["name"], "source": "built-in" if r["source"] == "built-in" else Path(r["source"]).name,
             "parameters (default)": ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "-",
             "description": r["description"]} for r in doc["strategies"]]
    table = records_table(rows, title="Strategies")
    table.caption = (f"your strategies folder: {doc['folder']} (`quantdesk strategy new NAME` writes one); "
                     "also --strategy path/to/file.py:Class or module:Class")
    console.print(table)


def new_strategy(name: str, folder: Path | None, force: bool) -> dict[str, Any]:
    from quantdesk.core.config import get_settings
    from quantdesk.strategies.loader import builtin_strategies
    from quantdesk.strategies.template import render

    source = render(name)
    if name in builtin_strategies():
        raise ParameterError(f"strategy name {name!r} is a built-in; choose another name")
    folder = (folder if folder is not None else get_settings().user_strategies_dir).resolve()
    path = folder / f"{name}.py"
    if path.exists() and not force:
        raise ConflictError(f"{path} exists; pass --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return {"name": name, "path": str(path),
            "run": f"quantdesk backtest --strategy {name} --symbol BTC/USDT --timeframe 1h"}


def register(app: typer.Typer) -> None:
    st_app = typer.Typer(help="List strategies, or write a new one from a template.", no_args_is_help=True)
    app.add_typer(st_app, name="strategy")

    @st_app.command("list")
    def list_cmd() -> None:
        """The built-in strategies and those in your strategies folder (QD_HOME/strategies or strategies_dir)."""
        emit(list_strategies(), render=_render_list)

    @st_app.command("new")
    def new_cmd(
        name: Annotated[str, typer.Argument(help="Name: lower-case letters, digits and _ (e.g. my_sma).")],
        folder: Annotated[Path | None, typer.Option("--dir", help="Write it here (default: your strategies folder).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    ) -> None:
        """Write a strategy that runs as it is (an SMA cross with a stop-loss) to edit; run it by its name."""
        doc = new_strategy(name, folder, force)
        emit(doc, render=lambda c, d: c.print(f"wrote {d['path']}\nrun it: {d['run']}", highlight=False))
