"""Find strategies by name: the built-ins (any `Strategy` subclass with a `name` in a module of
`quantdesk.strategies`, discovered automatically) or `module:Class` / `path/to/file.py:Class`."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Any

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.strategies.base import Strategy

log = get_logger(__name__)
_SKIP = {"base", "loader", "__init__"}
_BUILTINS: dict[str, type[Strategy]] = {}


def _discover() -> dict[str, type[Strategy]]:
    import quantdesk.strategies as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in _SKIP:
            continue
        try:
            module = importlib.import_module(f"quantdesk.strategies.{info.name}")
        except Exception as exc:  # noqa: BLE001 - a broken built-in must not hide the others
            log.warning("cannot import built-in strategy module %s: %s", info.name, exc)
            continue
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy and obj.name:
                if obj.__module__ == module.__name__:
                    _BUILTINS.setdefault(obj.name, obj)
    return _BUILTINS


def builtin_strategies() -> dict[str, type[Strategy]]:
    """Built-in name -> class, sorted by name."""
    return dict(sorted(_discover().items()))


def load_strategy(name: str) -> type[Strategy]:
    """A strategy class from a built-in name or `package.module:Class` (or `file.py:Class`)."""
    text = name.strip()
    if ":" in text:
        module_name, _, cls_name = text.rpartition(":")
        try:
            if module_name.endswith(".py"):
                path = Path(module_name)
                if not path.is_file():
                    raise NotFoundError(f"strategy file not found: {path}")
                spec = importlib.util.spec_from_file_location(f"qd_user_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
                sys.modules[spec.name] = module  # type: ignore[union-attr]
                spec.loader.exec_module(module)  # type: ignore[union-attr]
            else:
                module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise NotFoundError(f"strategy {text!r}: cannot import module {module_name!r} ({exc})") from None
        cls = getattr(module, cls_name, None)
        if cls is None:
            raise NotFoundError(f"strategy {text!r}: module {module_name!r} has no attribute {cls_name!r}")
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise NotFoundError(f"strategy {text!r}: {cls_name} is not a quantdesk Strategy subclass")
        return cls
    builtins = _discover()
    key = text.lower()
    if key not in builtins:
        raise NotFoundError(
            f"unknown strategy {name!r}; built-in strategies: {', '.join(sorted(builtins))} "
            f"(or give 'package.module:Class')"
        )
    return builtins[key]


def create_strategy(name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Strategy:
    """Load and instantiate with validated parameters (ParameterError names the bad one)."""
    cls = load_strategy(name)
    try:
        return cls(params or {}, **kwargs)
    except ParameterError:
        raise
    except TypeError as exc:
        raise ParameterError(f"strategy {name!r}: {exc}") from None
