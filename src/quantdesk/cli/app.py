"""The `quantdesk` command: global options, sub-command registration and error handling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from quantdesk import __version__
from quantdesk.cli.output import OutputState, emit, err_console, kv_table
from quantdesk.core.config import get_settings, load_settings, set_settings
from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import configure_logging, get_logger

log = get_logger(__name__)

app = typer.Typer(
    name="quantdesk",
    help="QuantDesk: market data, indicators, backtests, risk, paper and live trading.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show and check the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.callback()
def root(
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file (default ./quantdesk.toml).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines to stderr.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    OutputState.json = json_out
    settings = load_settings(config)
    set_settings(settings)
    configure_logging("DEBUG" if verbose else settings.log_level, json_lines=log_json)


@app.command()
def version() -> None:
    """Print the QuantDesk version."""
    emit({"version": __version__})


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration (secrets redacted)."""
    emit(get_settings().redacted(), render=lambda c, d: c.print(kv_table(_flatten(d), title="QuantDesk config")))


def _flatten(data: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _register_subcommands() -> None:
    """Each layer's commands live in their own module (cli/<layer>_cmds.py) exposing `register(app)`."""
    import importlib
    import pkgutil

    import quantdesk.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.endswith("_cmds"):
            module = importlib.import_module(f"quantdesk.cli.{info.name}")
            module.register(app)


_register_subcommands()


def main() -> None:
    """Console-script entry: user errors become one line on stderr and a non-zero exit."""
    try:
        code = app(standalone_mode=False)
        # With standalone_mode=False typer *returns* the exit code of typer.Exit/KeyboardInterrupt.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except QuantDeskError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors (typer vendors click) and anything unexpected
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        log.debug("unexpected error", exc_info=True)
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (run with -v for details)"
        )
        sys.exit(1)
