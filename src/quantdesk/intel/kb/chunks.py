"""Chunks: the unit the assistant indexes, retrieves and cites.

A chunk's id is derived from (source, anchor, content hash): the same passage gets the same id on every
ingest, an edited passage gets a new one, so re-indexing only embeds what changed. `source` is a path relative
to the project root for project files, an absolute path for a user's file, a run id for a recorded run, or a
catalog name (`catalog:indicators`, `api:openapi`); `anchor` is a heading slug, a page, an indicator or a month.

Splitters keep the chunk text a verbatim slice of what was read (Markdown is not re-rendered), so a quoted
sentence can always be found again in its source.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from quantdesk.core.errors import DataError
from quantdesk.intel.kb.text import slug

MAX_CHARS = 1400  # a section longer than this is split at paragraph boundaries
KINDS = ("doc", "docstring", "knowledge", "indicator", "strategy", "api", "user", "run", "research", "journal",
         "alert", "risk")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable, citable passage."""

    source: str
    anchor: str
    title: str
    text: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()[:16]

    @property
    def id(self) -> str:
        key = f"{self.source}#{self.anchor}@{self.hash}"
        return hashlib.sha1(key.encode()).hexdigest()[:20]

    @property
    def body(self) -> str:
        """What is indexed: the title (heading path) and the text."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "hash": self.hash, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(source=data["source"], anchor=data["anchor"], title=data.get("title", ""), text=data["text"],
                   kind=data["kind"], meta=dict(data.get("meta") or {}))


class _Anchors:
    """Unique anchors within one source, like GitHub's (`setup`, `setup-1`, ...)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        return base if n == 0 else f"{base}-{n}"


def _pieces(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Split a long section at blank lines (never inside a fenced code block) into pieces of <= ~limit chars."""
    if len(text) <= limit:
        return [text]
    blocks: list[str] = []
    fence = False
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            fence = not fence
        if not line.strip() and not fence and current:
            blocks.append("\n".join(current))
            current = []
        elif line.strip() or current:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    out: list[str] = []
    buf = ""
    for block in blocks:
        if buf and len(buf) + len(block) + 2 > limit:
            out.append(buf)
            buf = block
        else:
            buf = f"{buf}\n\n{block}" if buf else block
    if buf:
        out.append(buf)
    return out


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def markdown_chunks(text: str, source: str, kind: str, *, doc_title: str = "",
                    meta: dict[str, Any] | None = None) -> list[Chunk]:
    """One chunk per heading section (anchor = the heading's slug), long sections in parts (`slug`, `slug-2`)."""
    anchors = _Anchors()
    out: list[Chunk] = []
    path: list[tuple[int, str]] = []  # heading stack
    lines: list[str] = []
    fence = False

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if not body.strip():
            return
        heading = path[-1][1] if path else (doc_title or "introduction")
        base = anchors(slug(heading))
        title = " > ".join(h for _, h in path) or doc_title
        for i, piece in enumerate(_pieces(body)):
            out.append(Chunk(source, base if i == 0 else f"{base}-part{i + 1}", title, piece, kind,
                             dict(meta or {})))

    for line in text.splitlines():
        if line.strip().startswith("```"):
            fence = not fence
        match = None if fence else _HEADING.match(line)
        if match:
            flush()
            lines = []
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2).strip())]
            continue
        lines.append(line)
    flush()
    return out


def plain_chunks(text: str, source: str, kind: str, *, title: str = "", anchor_prefix: str = "part",
                 meta: dict[str, Any] | None = None) -> list[Chunk]:
    """Plain text in paragraph-bounded pieces: anchors `part-1`, `part-2`..."""
    pieces = _pieces(text.strip("\n"))
    return [Chunk(source, f"{anchor_prefix}-{i + 1}", title, p, kind, dict(meta or {}))
            for i, p in enumerate(pieces) if p.strip()]


class _HtmlText(HTMLParser):
    """HTML -> Markdown-ish text: headings become '# ...' lines, scripts/styles dropped, blocks on new lines."""

    BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "pre", "blockquote", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self.skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCK:
            self.parts.append("\n\n" if tag in ("p", "div", "section", "article", "table", "pre") else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript"):
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self._in_title:
            self.title += data
            return
        self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        lines = [ln.strip() for ln in raw.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_text(markup: str) -> tuple[str, str]:
    """(title, text) of an HTML page, headings kept as Markdown headings."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return html.unescape(parser.title.strip()), parser.text()


def pdf_pages(path: Path) -> Iterator[tuple[int, str]]:
    """(page number from 1, extracted text) with pypdf (pure Python, BSD); DataError when unreadable."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ModuleNotFoundError:
        raise DataError(f"{path}: reading PDF files needs the 'pypdf' package (pip install 'quantdesk[kb]')") \
            from None
    try:
        reader = PdfReader(str(path))
        for i, page in enumerate(reader.pages):
            yield i + 1, page.extract_text() or ""
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise DataError(f"{path}: not a readable PDF ({exc})") from None


USER_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".rst", ".html", ".htm", ".pdf")


def file_chunks(path: Path, source: str, kind: str = "user") -> list[Chunk]:
    """Chunks of one user file by its type (Markdown, text, HTML, PDF). DataError names the file."""
    suffix = path.suffix.lower()
    meta = {"path": str(path)}
    if suffix == ".pdf":
        out: list[Chunk] = []
        for page, text in pdf_pages(path):
            if text.strip():
                for i, piece in enumerate(_pieces(text.strip())):
                    anchor = f"page-{page}" if i == 0 else f"page-{page}-part{i + 1}"
                    out.append(Chunk(source, anchor, f"{path.name} page {page}", piece, kind, dict(meta)))
        return out
    try:
        raw = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (convert it, or give a .pdf/.html/.md/.txt file)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if suffix in (".html", ".htm"):
        title, text = html_text(raw)
        return markdown_chunks(text, source, kind, doc_title=title or path.stem, meta=meta)
    if suffix in (".md", ".markdown"):
        return markdown_chunks(raw, source, kind, doc_title=path.stem, meta=meta)
    return plain_chunks(raw, source, kind, title=path.name, meta=meta)


def dedupe(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Drop exact repeats (same id), keep the first; order preserved."""
    seen: set[str] = set()
    out = []
    for c in chunks:
        if c.id not in seen:
            seen.add(c.id)
            out.append(c)
    return out
