"""Find strategies: a built-in name, a strategy in your strategies folder, `module:Class` or `path/file.py[:Class]`.

Resolution of `--strategy TEXT`:
1. `path/to/file.py:Class` or `path/to/file.py` (the file's only Strategy subclass);
2. `package.module:Class`, imported with the working directory on the import path (a `my_module.py` next to you
   works, as it would with `python -c "import my_module"`);
3. a name: the built-ins (any `Strategy` subclass with a `name` in a module of `quantdesk.strategies`), then the
   strategies in the user folder (`Settings.user_strategies_dir`: `strategies_dir` in the config, default
   `QD_HOME/strategies`), matched by their `name` attribute, their class name or their file name.
Errors name the file and line of a user module that fails to import.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from quantdesk.core.errors import NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.strategies.base import Strategy

log = get_logger(__name__)
_SKIP = {"base", "loader", "__init__", "template"}
_BUILTINS: dict[str, type[Strategy]] = {}


@dataclass(frozen=True)
class StrategyInfo:
    """One strategy found: how to name it on the command line, where it comes from, and its class."""

    name: str
    source: str  # "built-in" or the file it was found in
    cls: type[Strategy]


def _discover() -> dict[str, type[Strategy]]:
    if _BUILTINS:
        return _BUILTINS
    import quantdesk.strategies as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_") or info.name in _SKIP:
            continue
        try:
            module = importlib.import_module(f"quantdesk.strategies.{info.name}")
        except Exception as exc:  # noqa: BLE001 - a broken built-in must not hide the others
            log.warning("cannot import built-in strategy module %s: %s", info.name, exc)
            continue
        for cls in _strategy_classes(module):
            if cls.name:
                _BUILTINS.setdefault(cls.name, cls)
    return _BUILTINS


def builtin_strategies() -> dict[str, type[Strategy]]:
    """Built-in name -> class, sorted by name."""
    return dict(sorted(_discover().items()))


def _strategy_classes(module: ModuleType) -> list[type[Strategy]]:
    """The Strategy subclasses defined in `module` (not imported into it)."""
    return [obj for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy
            and obj.__module__ == module.__name__]


def _user_error(what: str, exc: BaseException) -> ParameterError:
    """One line naming the user's file and line where importing it failed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({exc.filename}, line {exc.lineno})"
    elif frames:
        where = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return ParameterError(f"strategy {what}: importing it failed{where}: {type(exc).__name__}: {exc}")


def _import_file(path: Path, what: str) -> ModuleType:
    if not path.is_file():
        raise NotFoundError(f"strategy {what}: file not found: {path}")
    name = f"qd_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise NotFoundError(f"strategy {what}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _user_error(what, exc) from None
    return module


def _import_module(module_name: str, what: str) -> ModuleType:
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)  # `my_module:Class` next to the user, as `python -c` would find it
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise NotFoundError(
                f"strategy {what}: no module {module_name!r} in {cwd} or on the Python path "
                f"(give a file instead: path/to/{module_name.replace('.', '/')}.py:Class)") from None
        raise _user_error(what, exc) from None
    except Exception as exc:
        raise _user_error(what, exc) from None
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _pick(module: ModuleType, cls_name: str | None, what: str) -> type[Strategy]:
    if cls_name:
        cls = getattr(module, cls_name, None)
        if cls is None:
            found = ", ".join(c.__name__ for c in _strategy_classes(module)) or "none"
            raise NotFoundError(f"strategy {what}: no class {cls_name!r} in it (strategies there: {found})")
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise NotFoundError(f"strategy {what}: {cls_name} is not a quantdesk Strategy subclass")
        return cls
    classes = _strategy_classes(module)
    if len(classes) != 1:
        names = ", ".join(c.__name__ for c in classes) or "none"
        raise NotFoundError(f"strategy {what}: name the class (file.py:Class); strategies in it: {names}")
    return classes[0]


def user_strategies(folder: Path | None = None) -> Iterator[StrategyInfo]:
    """The strategies in the user folder (default: the configured one), one per Strategy subclass.
    A file that fails to import is reported in the log and skipped, so one broken file hides nothing else."""
    folder = folder if folder is not None else _user_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = _import_file(path, repr(path.name))
        except (ParameterError, NotFoundError) as exc:
            log.warning("%s", exc)
            continue
        for cls in _strategy_classes(module):
            yield StrategyInfo(cls.name or cls.__name__, str(path), cls)


def _user_dir() -> Path:
    from quantdesk.core.config import get_settings

    return get_settings().user_strategies_dir


def _find_user(name: str, folder: Path | None) -> type[Strategy] | None:
    key = name.lower()
    for info in user_strategies(folder):
        keys = {info.name.lower(), info.cls.__name__.lower(), Path(info.source).stem.lower()}
        if key in keys:
            return info.cls
    return None


def load_strategy(name: str, *, folder: Path | None = None) -> type[Strategy]:
    """A strategy class from `name` (see the module docstring for the forms it takes)."""
    text = name.strip()
    what = repr(text)
    path_part, _, cls_name = text.rpartition(":") if ":" in text else (text, "", "")
    if path_part.endswith(".py") or (not cls_name and text.endswith(".py")):
        file = Path(path_part if cls_name else text).expanduser()
        return _pick(_import_file(file, what), cls_name or None, what)
    if cls_name:
        return _pick(_import_module(path_part, what), cls_name, what)
    builtins = _discover()
    key = text.lower()
    if key in builtins:
        return builtins[key]
    found = _find_user(text, folder)
    if found is not None:
        return found
    where = folder if folder is not None else _user_dir()
    raise NotFoundError(
        f"unknown strategy {name!r}; built-in strategies: {', '.join(sorted(builtins))}; your strategies "
        f"folder {where} has none by that name (`quantdesk strategy list`; or give path/to/file.py:Class or "
        f"package.module:Class)"
    )


def create_strategy(name: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Strategy:
    """Load and instantiate with validated parameters (ParameterError names the bad one)."""
    cls = load_strategy(name)
    try:
        return cls(params or {}, **kwargs)
    except ParameterError:
        raise
    except TypeError as exc:
        raise ParameterError(f"strategy {name!r}: {exc}") from None
