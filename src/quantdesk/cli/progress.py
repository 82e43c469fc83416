"""Progress bars for long CLI work, drawn on stderr so that stdout (tables, `--json`) stays clean.

Library code (data download, research) reports progress through a callback `(done, total)` and never prints;
the CLI turns that callback into a rich bar here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from quantdesk.cli.output import err_console

ProgressCallback = Callable[[int, int], None]  # (units done so far, units expected)


@contextmanager
def progress_bar(label: str, unit: str = "bars") -> Iterator[ProgressCallback]:
    """Yield a `(done, total)` callback that draws a rich bar on stderr; the bar appears on the first call."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                           TimeRemainingColumn(), console=err_console, transient=False)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
