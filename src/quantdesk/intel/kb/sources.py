"""What the knowledge base reads about QuantDesk itself: README, docs/, module docstrings, the bundled
knowledge pages, the indicator catalog, the strategy catalog and the API schema; and the user's own files.

Each collector returns chunks for one *collection* (`project`, or `user:<folder>`); the index replaces a
collection's chunks as a whole when it is ingested again, and keeps the others.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from quantdesk.core.errors import DataError, NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.intel.kb.chunks import USER_SUFFIXES, Chunk, file_chunks, markdown_chunks

log = get_logger(__name__)
PACKAGE_DIR = Path(__file__).resolve().parents[2]  # .../quantdesk
KNOWLEDGE_DIR = Path(__file__).resolve().parent / "knowledge"


def project_root() -> Path:
    """The source checkout holding README.md and docs/ (src layout), else the folder above the package."""
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "quantdesk").is_dir():
            return parent
    return PACKAGE_DIR.parent


def display_source(path: Path, root: Path | None = None) -> str:
    """Path relative to the project root when inside it (POSIX separators), else absolute."""
    path = path.resolve()
    root = (root or project_root()).resolve()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def docs_chunks(root: Path | None = None) -> list[Chunk]:
    """README.md and every Markdown page under docs/ (whatever other features have added)."""
    root = root or project_root()
    files = [root / "README.md"] if (root / "README.md").is_file() else []
    if (root / "docs").is_dir():
        files += sorted(p for p in (root / "docs").rglob("*.md") if p.is_file())
    out: list[Chunk] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        out += markdown_chunks(text, display_source(path, root), "doc", doc_title=path.stem)
    return out


def knowledge_chunks() -> list[Chunk]:
    """The project-written knowledge pages shipped in the package (indicators, strategies, risk, markets)."""
    out: list[Chunk] = []
    for path in sorted(KNOWLEDGE_DIR.glob("*.md")):
        out += markdown_chunks(path.read_text(encoding="utf-8"), display_source(path), "knowledge",
                               doc_title=path.stem)
    return out


def docstring_chunks() -> list[Chunk]:
    """Every quantdesk module's docstring (anchor `module`), read with `ast` so nothing is imported; kept as
    written (not dedented), so indented examples stay recognisable as code and quotes match the file."""
    out: list[Chunk] = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "migrations" in path.parts or "__pycache__" in path.parts:
            continue
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
        except (SyntaxError, UnicodeDecodeError):  # pragma: no cover - our own sources parse
            continue
        if not doc or len(doc) < 40:
            continue
        module = ".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
        src = display_source(path)
        for i, piece in enumerate(_split(doc)):
            out.append(Chunk(src, "module" if i == 0 else f"module-part{i + 1}", f"module {module}", piece,
                             "docstring", {"module": module}))
    return out


def _split(text: str) -> list[str]:
    from quantdesk.intel.kb.chunks import _pieces

    return _pieces(text)


def _param_text(p: dict[str, Any]) -> str:
    rng = ""
    if p.get("choices"):
        rng = f", one of {', '.join(str(c) for c in p['choices'])}"
    elif p.get("min") is not None or p.get("max") is not None:
        rng = f", from {p.get('min')} to {p.get('max')}"
    desc = f": {p['description']}" if p.get("description") else ""
    return f"{p['name']} (default {p['default']}{rng}){desc}"


def indicator_chunks() -> list[Chunk]:
    """One chunk per catalog indicator: definition, inputs, parameters with defaults and ranges, outputs."""
    from quantdesk.indicators import catalog

    out = []
    for e in catalog():
        params = "; ".join(_param_text(p) for p in e["params"]) or "none"
        talib = f" TA-Lib equivalent: {e['talib']} (values match TA-Lib)." if e.get("talib") else ""
        drawn = "drawn on the price chart (overlay)" if e.get("overlay") else "drawn in its own pane"
        text = (f"Indicator `{e['name']}` ({e['group']} group): {e['description'].strip()} "
                f"Inputs: {', '.join(e['inputs'])}. Parameters: {params}. Outputs: {', '.join(e['outputs'])}. "
                f"It is {drawn}; streaming form: {'yes' if e.get('streaming') else 'no'}.{talib} "
                f"Use it in a strategy as Ind(\"{e['name']}\", ...) or compute it with "
                f"`quantdesk indicators compute {e['name']}`.")
        out.append(Chunk("catalog:indicators", e["name"], f"indicator {e['name']}", text, "indicator",
                         {"group": e["group"]}))
    return out


def strategy_chunks() -> list[Chunk]:
    """One chunk per built-in strategy: its docstring and parameters (type, default, range)."""
    from quantdesk.strategies.loader import builtin_strategies

    out = []
    for name, cls in builtin_strategies().items():
        params = []
        for pname, spec in cls.params.items():
            d = spec.as_dict()
            rng = ""
            if d.get("choices"):
                rng = f", one of {', '.join(str(c) for c in d['choices'])}"
            elif d.get("minimum") is not None or d.get("maximum") is not None:
                rng = f", from {d.get('minimum')} to {d.get('maximum')}"
            desc = f": {d['description']}" if d.get("description") else ""
            params.append(f"{pname} ({d['type']}, default {d.get('default')}{rng}){desc}")
        doc = " ".join((cls.__doc__ or "").split())
        text = (f"Built-in strategy `{name}`: {doc} Parameters: {'; '.join(params) or 'none'}. "
                f"Run it with `quantdesk backtest --strategy {name}` (set a parameter with --param key=value).")
        out.append(Chunk("catalog:strategies", name, f"strategy {name}", text, "strategy"))
    return out


def api_chunks(schema: Mapping[str, Any]) -> list[Chunk]:
    """One chunk per API operation of an OpenAPI schema (method, path, summary, parameters). The schema comes
    from the caller (the API layer sits above intel)."""
    out = []
    for path, ops in sorted(schema.get("paths", {}).items()):
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            summary = op.get("summary") or ""
            desc = " ".join((op.get("description") or "").split())
            params = [f"{p['name']} ({p.get('in')}{', required' if p.get('required') else ''})"
                      for p in op.get("parameters", []) if p.get("name")]
            body = ""
            ref = ((op.get("requestBody") or {}).get("content", {}).get("application/json", {})
                   .get("schema", {}).get("$ref"))
            if ref:
                model = ref.rsplit("/", 1)[-1]
                fields = schema.get("components", {}).get("schemas", {}).get(model, {}).get("properties", {})
                body = f" JSON body {model} with fields: {', '.join(fields)}."
            tags = ", ".join(op.get("tags", []))
            text = (f"API endpoint {method.upper()} {path} ({tags}): {summary}. {desc} "
                    f"Parameters: {', '.join(params) or 'none'}.{body}").replace(". .", ".")
            out.append(Chunk("api:openapi", f"{method.upper()} {path}", f"API {method.upper()} {path}", text,
                             "api"))
    return out


PROJECT_COLLECTORS: dict[str, Callable[[], list[Chunk]]] = {
    "docs": docs_chunks,
    "knowledge": knowledge_chunks,
    "docstrings": docstring_chunks,
    "indicators": indicator_chunks,
    "strategies": strategy_chunks,
}
ApiSchema = Callable[[], Mapping[str, Any]]


def project_chunks(progress: Callable[[str], None] | None = None,
                   api_schema: ApiSchema | None = None) -> list[Chunk]:
    """QuantDesk's own docs and catalogs; the API's operations too when `api_schema` gives its OpenAPI schema."""
    out: list[Chunk] = []
    for name, collect in PROJECT_COLLECTORS.items():
        if progress:
            progress(name)
        out += collect()
    if api_schema is not None:
        if progress:
            progress("api")
        out += api_chunks(api_schema())
    return out


def user_chunks(root: Path) -> list[Chunk]:
    """A user's file, or every supported file under a folder (hidden folders skipped); sources absolute."""
    root = root.expanduser()
    if not root.exists():
        raise NotFoundError(f"{root}: no such file or folder")
    files: Iterable[Path]
    if root.is_file():
        if root.suffix.lower() not in USER_SUFFIXES:
            raise DataError(f"{root}: unsupported file type {root.suffix or '(none)'}; the knowledge base reads "
                            f"{', '.join(USER_SUFFIXES)}")
        files = [root]
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in USER_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
    out: list[Chunk] = []
    for path in files:
        try:
            out += file_chunks(path, str(path.resolve()))
        except DataError as exc:
            if root.is_file():
                raise
            log.warning("skipped %s", exc)  # one unreadable file in a folder does not stop the others
    return out
