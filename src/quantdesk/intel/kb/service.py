"""The knowledge-base use cases the CLI, the API and the MCP server share: ingest, search, ask, status, chunk.

    kb = KnowledgeBase(get_settings())
    kb.ingest()                       # QuantDesk's docs + the user's folder + recorded results (incremental)
    kb.ingest([Path("notes/")])       # add a file or a folder (remembered: refreshed by later ingests)
    kb.search("what is the sortino ratio", k=5)
    kb.ask("what does the sortino ratio penalise?")

The index lives under `QD_HOME/kb` (files); when the database is PostgreSQL the chunks are also written to its
`kb_chunks` table and lexical search uses PostgreSQL full-text search there instead of BM25.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from quantdesk.core.errors import ConflictError, NotFoundError, ParameterError
from quantdesk.core.logging import get_logger
from quantdesk.intel.kb.answer import ABSTAIN_BELOW, Answer, extractive_answer
from quantdesk.intel.kb.chunks import KINDS, Chunk
from quantdesk.intel.kb.index import Index, Ranked
from quantdesk.intel.kb.sources import ApiSchema
from quantdesk.intel.kb.store import IndexStore

log = get_logger(__name__)
Progress = Callable[[str], None]
MAX_K = 50
MAX_QUESTION = 2000


def _user_collection(path: Path) -> str:
    return f"user:{path.expanduser().resolve()}"


class KnowledgeBase:
    def __init__(self, settings: Any, api_schema: ApiSchema | None = None) -> None:
        """`api_schema` returns the API's OpenAPI schema, so ingest indexes its operations (given by the API/CLI
        layer: intel does not import the API)."""
        self.settings = settings
        self.api_schema = api_schema
        self.store = IndexStore(Path(settings.home) / "kb")
        self._pg: Any = None
        self._jobs: dict[str, dict[str, Any]] = {}
        self._jobs_lock = threading.Lock()

    # ---- background ingest (the API) ---------------------------------------------------------------------
    def submit_ingest(self, *, rebuild: bool = False) -> str:
        """Start `ingest()` (configured sources only) on a thread; poll `job(id)` for its progress messages."""
        with self._jobs_lock:
            if any(j["status"] == "running" for j in self._jobs.values()):
                raise ConflictError("an ingest is already running; poll it instead of starting another")
            job_id = str(uuid.uuid4())
            job: dict[str, Any] = {"id": job_id, "status": "running", "steps": [], "result": None, "error": None}
            self._jobs[job_id] = job

        def work() -> None:
            try:
                job["result"] = self.ingest(rebuild=rebuild, progress=job["steps"].append)
                job["status"] = "completed"
            except Exception as exc:  # noqa: BLE001 - reported to the poller, not raised on a thread
                log.warning("kb ingest failed: %s", exc)
                job["status"], job["error"] = "failed", f"{type(exc).__name__}: {exc}"

        threading.Thread(target=work, name="qd-kb-ingest", daemon=True).start()
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        with self._jobs_lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no knowledge-base ingest job {job_id!r}")
        return {**job, "steps": list(job["steps"])}

    # ---- ingest ------------------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path] | None = None, *, rebuild: bool = False,
               progress: Progress | None = None) -> dict[str, Any]:
        """No paths: the project's docs and catalogs, the configured user folder, every folder ingested before,
        and the recorded results. With paths: those files/folders only (added to the remembered roots)."""
        from quantdesk.intel.kb import activity, results, sources

        say = progress or (lambda _m: None)
        kb = self.settings.kb
        url = self.settings.database_url
        manifest = self.store.manifest() if not rebuild else {}
        roots = list(manifest.get("roots", []))
        replace: dict[str, list[Chunk]] = {}
        drop: set[str] = set()
        if paths:
            for path in paths:
                say(f"reading {path}")
                coll = _user_collection(path)
                replace[coll] = sources.user_chunks(Path(path)) + self._result_folders(Path(path), url)
                roots.append(coll.removeprefix("user:"))
        else:
            replace["project"] = sources.project_chunks(lambda name: say(f"reading QuantDesk's {name}"),
                                                        self.api_schema)
            if kb.user_dir is not None:
                if not Path(kb.user_dir).expanduser().is_dir():
                    raise NotFoundError(f"[kb] user_dir {kb.user_dir} is not a folder")
                say(f"reading {kb.user_dir}")
                replace["user-dir"] = sources.user_chunks(Path(kb.user_dir))
            for root in roots:
                coll = f"user:{root}"
                if Path(root).exists():
                    say(f"reading {root}")
                    replace[coll] = sources.user_chunks(Path(root)) + self._result_folders(Path(root), url)
                else:
                    drop.add(coll)
            roots = [r for r in roots if Path(r).exists()]
            say("reading recorded backtest runs")
            runs, run_folders = results.run_chunks(url)
            replace["runs"] = runs
            say("reading research output folders")
            replace["research"] = results.research_chunks([Path(p) for p in kb.results_dirs], skip=run_folders)
            say("reading paper bots' journals")
            replace["journals"] = activity.bot_chunks(url)
            say("reading alerts")
            replace["alerts"] = activity.alert_chunks(url)
        report = self.store.update(replace, drop=drop, rebuild=rebuild, roots=roots, progress=say)
        pg = self._postgres()
        if pg is not None:
            say("writing chunks to PostgreSQL full-text search")
            index, _ = self.store.load()
            report["postgres"] = pg.sync(index)
        report["index"] = str(self.store.folder)
        return report

    @staticmethod
    def _result_folders(path: Path, url: str) -> list[Chunk]:
        """Research output folders under `path`, except report folders of recorded runs (ingested by run id)."""
        from quantdesk.intel.kb import results
        from quantdesk.storage import db

        if not path.is_dir():
            return []
        recorded = {str(Path(r["out_dir"]).resolve()) for r in db.list_runs(url, limit=results.MAX_RUNS)
                    if r.get("out_dir")}
        return results.research_chunks([path], skip=recorded)

    # ---- search and answers ------------------------------------------------------------------------------
    def _postgres(self) -> Any:
        if self._pg is None and str(self.settings.database_url).startswith("postgresql"):
            from quantdesk.intel.kb.pg import PgFullText

            self._pg = PgFullText(self.settings.database_url)
        return self._pg

    def index(self) -> Index:
        return self.store.load()[0]

    def _ranked(self, question: str, k: int, kinds: Sequence[str] | None = None) -> tuple[Index, list[Ranked]]:
        question = _check_question(question)
        if not 1 <= k <= MAX_K:
            raise ParameterError(f"k must be between 1 and {MAX_K}, got {k}")
        index = self.index()
        allowed = None
        if kinds:
            bad = sorted(set(kinds) - set(KINDS))
            if bad:
                raise ParameterError(f"unknown kind(s) {bad}; kinds are {', '.join(KINDS)}")
            wanted = set(kinds)
            allowed = lambda pos: index.chunks[pos].kind in wanted  # noqa: E731
        pg = self._postgres()
        lexical = pg.lexical_for(index) if pg is not None else None
        return index, index.search(question, k, lexical=lexical, allowed=allowed)

    def search(self, question: str, k: int = 5, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Hits, best first: source, anchor, title, text, score (RRF), kind, chunk id and each list's view."""
        index, hits = self._ranked(question, k, kinds)
        return [hit_dict(index, h) for h in hits]

    def threshold(self) -> float:
        value = self.settings.kb.abstain_below
        return ABSTAIN_BELOW if value is None else float(value)

    def ask(self, question: str, *, k: int = 5, use_llm: bool | None = None) -> dict[str, Any]:
        """An extractive answer with citations (or an abstention); through the configured LLM when asked (or by
        default when one is configured), verified sentence by sentence, falling back to extractive."""
        t0 = time.perf_counter()
        index, hits = self._ranked(question, max(k, 3))
        answer = extractive_answer(index, question, hits, threshold=self.threshold())
        llm_cfg = self.settings.kb.llm
        want_llm = bool(llm_cfg.url) if use_llm is None else use_llm
        if want_llm and not llm_cfg.url:
            raise ParameterError("no LLM is configured: set [kb.llm] url in quantdesk.toml (or QD_KB__LLM__URL)")
        if want_llm and not answer.abstained:
            from quantdesk.intel.kb.llm import llm_answer

            answer = llm_answer(index, question, hits[:k], llm_cfg, fallback=answer)
        out = answer.as_dict()
        if answer.citations and answer.citations[0].kind == "run" and _is_run_id(answer.citations[0].source):
            out["notes"].append(f"for the reasons, run: quantdesk kb why backtest {answer.citations[0].source}")
        out["seconds"] = round(time.perf_counter() - t0, 4)
        return out

    def answer_object(self, question: str, k: int = 5) -> Answer:
        index, hits = self._ranked(question, max(k, 3))
        return extractive_answer(index, question, hits, threshold=self.threshold())

    # ---- inspection --------------------------------------------------------------------------------------
    def chunk(self, chunk_id: str) -> dict[str, Any]:
        index = self.index()
        pos = index.by_id.get(chunk_id)
        if pos is None:
            raise NotFoundError(f"no knowledge-base chunk with id {chunk_id!r} (re-ingested since?)")
        return {**index.chunks[pos].as_dict(), "collection": index.collections[pos]}

    def status(self) -> dict[str, Any]:
        if not self.store.exists():
            return {"ingested": False, "index": str(self.store.folder), "chunks": 0,
                    "hint": "run `quantdesk kb ingest`"}
        index, manifest = self.store.load()
        kinds: dict[str, int] = {}
        for c in index.chunks:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        return {"ingested": True, "index": str(self.store.folder), "chunks": len(index),
                "updated_at": manifest.get("updated_at"), "fitted_at": manifest.get("fitted_at"),
                "dims": manifest.get("dims"), "kinds": kinds, "collections": manifest.get("collections", {}),
                "roots": manifest.get("roots", []), "lexical": "postgresql" if self._postgres() else "bm25",
                "llm": bool(self.settings.kb.llm.url), "abstain_below": self.threshold()}


def hit_dict(index: Index, hit: Ranked) -> dict[str, Any]:
    c = index.chunks[hit.pos]
    return {"source": c.source, "anchor": c.anchor, "title": c.title, "text": c.text, "score": round(hit.score, 6),
            "kind": c.kind, "chunk_id": c.id, "lexical_rank": hit.lexical_rank, "vector_rank": hit.vector_rank,
            "cosine": round(hit.cosine, 4)}


def _is_run_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ParameterError("the question is empty: give some words to search for")
    if len(question) > MAX_QUESTION:
        raise ParameterError(f"the question is {len(question)} characters long; at most {MAX_QUESTION}")
    return question.strip()


_INSTANCES: dict[tuple[str, str], KnowledgeBase] = {}


def knowledge_base(settings: Any | None = None, api_schema: ApiSchema | None = None) -> KnowledgeBase:
    """One KnowledgeBase per (home, database) in this process."""
    from quantdesk.core.config import get_settings

    settings = settings or get_settings()
    key = (str(Path(settings.home).resolve()), str(settings.database_url))
    if key not in _INSTANCES:
        _INSTANCES[key] = KnowledgeBase(settings, api_schema)
    else:
        _INSTANCES[key].settings = settings
        _INSTANCES[key].api_schema = api_schema or _INSTANCES[key].api_schema
    return _INSTANCES[key]
