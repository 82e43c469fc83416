"""The embedded, file-based index store under `QD_HOME/kb`: versioned index folders and a CURRENT pointer.

A new index is written to a fresh folder and published by replacing the CURRENT file atomically, so readers
(the API server, the MCP server) never see half an index and pick up a re-ingest on their next query.
`update` is the incremental step: it replaces the chunks of the collections given, keeps the others, embeds
only chunks with new ids and retrains the vectors only when the corpus changed by more than `REFIT_SHARE`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quantdesk.core.errors import NotFoundError
from quantdesk.core.logging import get_logger
from quantdesk.intel.kb.chunks import Chunk, dedupe
from quantdesk.intel.kb.index import Index

log = get_logger(__name__)
REFIT_SHARE = 0.2
FORMAT = 1
_CACHE: dict[str, tuple[str, Index, dict[str, Any]]] = {}
_LOCK = threading.Lock()


class IndexStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @property
    def _pointer(self) -> Path:
        return self.folder / "CURRENT"

    def current(self) -> str | None:
        try:
            return self._pointer.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def exists(self) -> bool:
        name = self.current()
        return name is not None and (self.folder / name / "manifest.json").is_file()

    def manifest(self) -> dict[str, Any]:
        name = self.current()
        if name is None:
            return {}
        try:
            return json.loads((self.folder / name / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def load(self) -> tuple[Index, dict[str, Any]]:
        """The current index (cached per process until CURRENT changes). NotFoundError before any ingest."""
        key = str(self.folder.resolve())
        for _attempt in range(3):
            name = self.current()
            if name is None:
                raise NotFoundError("the knowledge base is empty: run `quantdesk kb ingest` first")
            with _LOCK:
                cached = _CACHE.get(key)
                if cached is not None and cached[0] == name:
                    return cached[1], cached[2]
            try:
                manifest = json.loads((self.folder / name / "manifest.json").read_text(encoding="utf-8"))
                index = Index.load(self.folder / name)
            except FileNotFoundError:  # replaced while we read it: read the new one
                time.sleep(0.05)
                continue
            with _LOCK:
                _CACHE[key] = (name, index, manifest)
            return index, manifest
        raise NotFoundError(f"the knowledge base at {self.folder} is being rewritten; try again")

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        """One writer at a time across processes (an exclusive lock file); readers never wait."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / ".lock").open("a") as fh:
            try:
                import fcntl
            except ModuleNotFoundError:  # pragma: no cover - Windows: no cross-process lock
                yield
                return
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def update(self, replace: Mapping[str, list[Chunk]], *, drop: set[str] | None = None, rebuild: bool = False,
               roots: list[str] | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Replace whole collections with new chunks (and drop others); returns what changed."""
        with self._writer():
            return self._update(replace, drop=drop, rebuild=rebuild, roots=roots, progress=progress)

    def _update(self, replace: Mapping[str, list[Chunk]], *, drop: set[str] | None, rebuild: bool,
                roots: list[str] | None, progress: Callable[[str], None] | None) -> dict[str, Any]:
        t0 = time.perf_counter()
        previous: Index | None = None
        manifest: dict[str, Any] = {}
        if self.exists() and not rebuild:
            with _LOCK:  # another process may have published since this one cached: read the current one
                _CACHE.pop(str(self.folder.resolve()), None)
            previous, manifest = self.load()
        keep_chunks: list[Chunk] = []
        keep_colls: list[str] = []
        drop = set(drop or ())
        if previous is not None:
            for c, coll in zip(previous.chunks, previous.collections, strict=True):
                if coll not in replace and coll not in drop:
                    keep_chunks.append(c)
                    keep_colls.append(coll)
        chunks, colls = list(keep_chunks), list(keep_colls)
        for coll, new in replace.items():
            for c in dedupe(new):
                chunks.append(c)
                colls.append(coll)
        # the same passage in two collections (a file ingested twice) is kept once
        seen: set[str] = set()
        uniq: list[tuple[Chunk, str]] = []
        for c, k in zip(chunks, colls, strict=True):
            if c.id not in seen:
                seen.add(c.id)
                uniq.append((c, k))
        chunks = [c for c, _ in uniq]
        colls = [k for _, k in uniq]
        old_ids = set(previous.by_id) if previous is not None else set()
        new_ids = {c.id for c in chunks}
        added, removed = len(new_ids - old_ids), len(old_ids - new_ids)
        since_fit = int(manifest.get("changed_since_fit", 0)) + added + removed
        fit_size = max(1, int(manifest.get("fit_size", 0)))
        refit = previous is None or since_fit > REFIT_SHARE * fit_size or not chunks
        index = Index.build(chunks, colls, previous=previous, refit=refit, progress=progress)
        counts: dict[str, int] = {}
        for coll in colls:
            counts[coll] = counts.get(coll, 0) + 1
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        new_manifest = {
            "format": FORMAT, "updated_at": now, "chunks": len(chunks), "collections": counts,
            "roots": sorted(set(roots if roots is not None else manifest.get("roots", []))),
            "fit_size": len(chunks) if refit else fit_size, "changed_since_fit": 0 if refit else since_fit,
            "fitted_at": now if refit else manifest.get("fitted_at"), "dims": index.embedder.dims,
        }
        self._publish(index, new_manifest)
        return {"chunks": len(chunks), "added": added, "removed": removed,
                "unchanged": len(new_ids & old_ids), "refit": refit, "collections": counts,
                "seconds": round(time.perf_counter() - t0, 3)}

    def _publish(self, index: Index, manifest: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"index-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        target = self.folder / name
        index.save(target)
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        tmp = self.folder / f"CURRENT.{uuid.uuid4().hex[:6]}"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self._pointer)
        with _LOCK:
            _CACHE[str(self.folder.resolve())] = (name, index, manifest)
        for old in self.folder.glob("index-*"):  # older versions: a reader still loading one retries
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
