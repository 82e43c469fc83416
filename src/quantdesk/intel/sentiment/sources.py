"""Pluggable text sources: RSS/Atom feeds, JSON/JSONL/CSV files, any HTTP JSON API described in config
(fields mapped by JSONPath-like paths), and the Fear & Greed index (alternative.me's JSON format, any URL).

Each source's `fetch()` returns `RawItem`s (or, for an index, readings). HTTP fetches retry `retries` times with
exponential backoff on network errors, timeouts and HTTP 5xx/429, and fail with a `SourceError` naming the source
and URL (never a header value: headers may carry API keys; `${ENV}` in a header value is read from the
environment at fetch time).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import parse_utc
from quantdesk.intel.sentiment import jsonpath
from quantdesk.intel.sentiment.store import RawItem

log = get_logger(__name__)
TimeFormat = Literal["auto", "iso", "epoch_s", "epoch_ms", "epoch_ns"]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SourceError(QuantDeskError):
    """A source could not be read (after its retries). Names the source; never holds a secret."""


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    enabled: bool = True
    interval_s: float = Field(default=300.0, gt=0, description="poll every ... seconds")


class _HttpSource(_Source):
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0, le=60)


class Fields(BaseModel):
    """Where an item's fields are (paths relative to the item; for CSV, column names)."""

    model_config = ConfigDict(extra="forbid")

    title: str = "title"
    published: str | None = "published"
    url: str | None = "url"
    body: str | None = None
    time_format: TimeFormat = "auto"


class RssSource(_HttpSource):
    type: Literal["rss"] = "rss"


class HttpJsonSource(_HttpSource):
    type: Literal["http_json"] = "http_json"
    items: str = Field(default="$[*]", description="JSON path of the list of items")
    fields: Fields = Fields()


class FileSource(_Source):
    type: Literal["file"] = "file"
    path: str
    format: Literal["auto", "json", "jsonl", "csv"] = "auto"
    items: str = "$[*]"
    fields: Fields = Fields()


class FearGreedSource(_HttpSource):
    type: Literal["fear_greed"] = "fear_greed"
    url: str = "https://api.alternative.me/fng/?limit=30"


SourceSettings = Annotated[RssSource | HttpJsonSource | FileSource | FearGreedSource, Field(discriminator="type")]


# ---- helpers ------------------------------------------------------------------------------------------
def parse_time(value: Any, fmt: TimeFormat = "auto", *, where: str = "time") -> int | None:
    """UTC ns from an ISO string, an RFC 822 date, or epoch seconds/ms/ns (auto: by magnitude)."""
    if value is None or value == "":
        return None
    if fmt in ("epoch_s", "epoch_ms", "epoch_ns") or (fmt == "auto" and _is_number(value)):
        x = float(value)
        if fmt == "auto":
            fmt = "epoch_ns" if abs(x) >= 1e17 else "epoch_ms" if abs(x) >= 1e11 else "epoch_s"
        scale = {"epoch_s": 1e9, "epoch_ms": 1e6, "epoch_ns": 1.0}[fmt]
        return int(round(x * scale))
    text = str(value).strip()
    try:
        return int(parse_utc(text, name=where).value)
    except Exception:  # noqa: BLE001 - try RFC 822 (RSS pubDate) before giving up
        from email.utils import parsedate_to_datetime

        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise SourceError(f"{where}: cannot read the time {text[:60]!r}") from None
        if dt.tzinfo is None:
            raise SourceError(f"{where}: time {text[:60]!r} has no time zone") from None
        return int(dt.timestamp() * 1e9)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value) is not None


def _headers(src: _HttpSource) -> dict[str, str]:
    return {k: _ENV.sub(lambda m: os.environ.get(m.group(1), ""), v) for k, v in src.headers.items()}


def http_get(src: _HttpSource, client: Any = None, sleep: Any = time.sleep) -> bytes:
    """GET the source's URL with retries; SourceError after the last attempt."""
    import httpx

    own = client is None
    client = client or httpx.Client(timeout=src.timeout_s, follow_redirects=True)
    attempt = 0
    try:
        while True:
            attempt += 1
            retry = False
            try:
                resp = client.get(src.url, headers=_headers(src), timeout=src.timeout_s)
                if resp.status_code == 200:
                    return resp.content
                err = f"HTTP {resp.status_code}"
                retry = resp.status_code >= 500 or resp.status_code in (408, 429)
            except httpx.TimeoutException:
                err, retry = f"no answer within {src.timeout_s:g}s", True
            except httpx.HTTPError as exc:
                err, retry = type(exc).__name__, True
            if not retry or attempt > src.retries:
                raise SourceError(f"source {src.name!r} ({src.url}): {err} after {attempt} attempt(s)")
            delay = src.backoff_s * 2 ** (attempt - 1)
            log.info("sentiment source %s: %s; retry %d in %.2fs", src.name, err, attempt, delay)
            sleep(delay)
    finally:
        if own:
            client.close()


def items_from_json(doc: Any, items_path: str, fields: Fields, source: str) -> list[RawItem]:
    out = []
    for k, it in enumerate(jsonpath.find(doc, items_path)):
        if not isinstance(it, dict):
            continue
        title = jsonpath.first(it, fields.title)
        if not isinstance(title, str) or not title.strip():
            continue
        pub = jsonpath.first(it, fields.published) if fields.published else None
        url = jsonpath.first(it, fields.url) if fields.url else None
        body = jsonpath.first(it, fields.body) if fields.body else None
        out.append(RawItem(source, title, parse_time(pub, fields.time_format, where=f"{source} item {k}"),
                           url if isinstance(url, str) else None, body if isinstance(body, str) else None))
    return out


def items_from_feed(content: bytes, source: str) -> list[RawItem]:
    """RSS 0.9x/1.0/2.0 or Atom, parsed by feedparser (BSD-2-Clause)."""
    try:
        import feedparser
    except ImportError:
        raise SourceError("RSS/Atom sources need the feedparser package: pip install 'quantdesk[sentiment]'") from None
    feed = feedparser.parse(content)
    if not feed.entries and getattr(feed, "bozo", False):
        raise SourceError(f"source {source!r}: not an RSS/Atom feed ({type(feed.bozo_exception).__name__})")
    out = []
    for e in feed.entries:
        title = (e.get("title") or "").strip()
        if not title:
            continue
        st = e.get("published_parsed") or e.get("updated_parsed")
        pub = int(__import__("calendar").timegm(st) * 1_000_000_000) if st else None
        out.append(RawItem(source, title, pub, e.get("link"), e.get("summary")))
    return out


def read_file_items(src: FileSource) -> list[RawItem]:
    p = Path(src.path).expanduser()
    if not p.is_file():
        raise SourceError(f"source {src.name!r}: file not found: {p}")
    fmt: str = src.format
    if fmt == "auto":
        fmt = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(p.suffix.lower(), "json")
    text = p.read_text(encoding="utf-8-sig")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and src.fields.title not in rows[0]:
            raise SourceError(f"source {src.name!r}: {p} has no column {src.fields.title!r}")
        return items_from_json(rows, "$[*]", src.fields, src.name)
    try:
        doc = [json.loads(line) for line in text.splitlines() if line.strip()] if fmt == "jsonl" else json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"source {src.name!r}: {p} is not valid {fmt.upper()}: {exc}") from None
    return items_from_json(doc, src.items if fmt == "json" else "$[*]", src.fields, src.name)


def fear_greed_values(content: bytes, source: str) -> list[tuple[int, float, str | None]]:
    """alternative.me format: {"data": [{"value": "40", "value_classification": "Fear", "timestamp": "1551157200"}]}"""
    try:
        doc = json.loads(content)
        rows = doc["data"]
        out = []
        for r in rows:
            v = float(r["value"])
            if not 0 <= v <= 100:
                raise ValueError(f"value {v} outside 0..100")
            out.append((int(parse_time(r["timestamp"], "epoch_s") or 0), v, r.get("value_classification")))
        return out
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"source {source!r}: not a Fear & Greed answer ({exc})") from None


def fetch(src: Any, client: Any = None, sleep: Any = time.sleep) -> list[RawItem] | list[tuple[int, float, str | None]]:
    """What one source has now: RawItems, or (ts_ns, value, classification) readings for an index."""
    if isinstance(src, FileSource):
        return read_file_items(src)
    content = http_get(src, client, sleep)
    if isinstance(src, RssSource):
        return items_from_feed(content, src.name)
    if isinstance(src, FearGreedSource):
        return fear_greed_values(content, src.name)
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        raise SourceError(f"source {src.name!r} ({src.url}): the answer is not JSON ({exc.msg})") from None
    return items_from_json(doc, src.items, src.fields, src.name)
