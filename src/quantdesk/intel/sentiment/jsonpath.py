"""A small JSONPath subset for mapping fields of an HTTP JSON API: `$`, `.key`, `['key']`, `[n]`, `[*]`.

    find({"data": [{"t": 1}, {"t": 2}]}, "$.data[*].t")   # [1, 2]

A path that matches nothing gives []. A malformed path raises ConfigError naming the path.
"""

from __future__ import annotations

import re
from typing import Any

from quantdesk.core.errors import ConfigError

_STEP = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\*|-?\d+|'[^']*'|"[^"]*")\]""")


def parse(path: str) -> list[str | int | None]:
    """Steps of a path: key (str), index (int) or None for [*]."""
    p = path.strip()
    if p.startswith("$"):
        p = p[1:]
    elif p and not p.startswith((".", "[")):
        p = "." + p  # "data.items" = "$.data.items"
    steps: list[str | int | None] = []
    pos = 0
    while pos < len(p):
        m = _STEP.match(p, pos)
        if m is None:
            raise ConfigError(f"JSON path {path!r}: cannot read {p[pos:]!r} (use .key, ['key'], [n] or [*])")
        key, br = m.group(1), m.group(2)
        if key is not None:
            steps.append(key)
        elif br == "*":
            steps.append(None)
        elif br[0] in "'\"":
            steps.append(br[1:-1])
        else:
            steps.append(int(br))
        pos = m.end()
    return steps


def find(obj: Any, path: str) -> list[Any]:
    """Every value `path` reaches in `obj`."""
    current = [obj]
    for step in parse(path):
        nxt: list[Any] = []
        for value in current:
            if step is None:
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    nxt.append(value[step])
            elif isinstance(value, dict) and step in value:
                nxt.append(value[step])
        current = nxt
    return current


def first(obj: Any, path: str) -> Any:
    found = find(obj, path)
    return found[0] if found else None
