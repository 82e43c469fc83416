"""REST routers, one module per area, each exposing `router`; all mounted under /api/v1.

A new area is a new module here: `routers()` finds it, so adding one never edits the app factory.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from quantdesk.api.schemas import Message

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Message} for code in (400, 401, 403, 404, 409, 429)}


def routers() -> list[Any]:
    """Every area's `router`, in module-name order (stable OpenAPI output)."""
    import quantdesk.api.routes as pkg

    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        if hasattr(module, "router"):
            found.append(module.router)
    return found
