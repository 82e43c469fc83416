"""The `quantdesk` command: global options, sub-command registration and error handling."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from quantdesk import __version__
from quantdesk.cli.output import OutputState, emit, err_console, kv_table
from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import configure_logging, get_logger
from quantdesk.settings import get_settings, load_settings, set_settings

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


def _global_flag(command: Any, name: str, callback: Callable[..., None]) -> Any:
    """A copy of the root's flag `name` for a sub-command, applied through `callback` (not passed to it)."""
    flag = copy.copy(next(p for p in command.params if p.name == name))
    flag.expose_value = False
    flag.is_eager = True
    flag.callback = callback
    return flag


def _set_json(ctx: Any, param: Any, value: bool) -> None:
    if value:
        OutputState.json = True


def _set_log_json(ctx: Any, param: Any, value: bool) -> None:
    if value:
        configure_logging(get_settings().log_level, json_lines=True)


def _finish(command: Any, flags: list[Any]) -> None:
    """Conventions typer does not give: `--json`/`--log-json` after the sub-command too (`quantdesk data list
    --json`), and flags shown as flags in --help (typer prints every bool option as taking a `<bool>` value)."""
    names = {opt for p in command.params for opt in getattr(p, "opts", ())}
    for flag in flags:
        if not names.intersection(flag.opts):
            command.params.append(copy.copy(flag))
    help_flag = command.get_help_option(command.context_class(command))  # created once, then cached
    for p in [*command.params, help_flag]:
        if getattr(p, "is_flag", False) and p.metavar is None:
            p.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _finish(sub, flags)


def build_command() -> Any:
    """The click command tree of `quantdesk`, with the CLI-wide conventions applied (see `_finish`)."""
    command = typer.main.get_command(app)
    flags = [_global_flag(command, "json_out", _set_json), _global_flag(command, "log_json", _set_log_json)]
    _finish(command, [])
    for sub in getattr(command, "commands", {}).values():  # a click Group: the subcommands
        _finish(sub, flags)
    return command


def main() -> None:
    """Console-script entry: user errors become one line on stderr and a non-zero exit."""
    try:
        code = build_command().main(args=sys.argv[1:], prog_name="quantdesk", standalone_mode=False)
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
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(code, int):
            exc.show()
            sys.exit(code)
        log.debug("unexpected error", exc_info=True)
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (run with -v for details)"
        )
        sys.exit(1)
