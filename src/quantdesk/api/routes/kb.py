"""Knowledge-base assistant: search, ask (with citations), the cited passage, status, a background re-ingest,
market brief and "why?" explanations. Ingest over the API reads only the configured sources (docs, [kb] user_dir,
recorded results): a client cannot make the server read a path of its choosing."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.responses.intel import Brief, Job, KbChunk, KbHit, KbStatus
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import TIMEFRAME, WORDS, Int, Symbol, _Body
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/kb", tags=["knowledge base"], responses=dict(ERRORS))
KIND = Literal["doc", "docstring", "knowledge", "indicator", "strategy", "api", "user", "run", "research",
               "journal", "alert", "risk"]


class AskBody(_Body):
    question: str = Field(min_length=1, max_length=2000, pattern=WORDS,
                          examples=["What does the Sortino ratio penalise?"])
    k: Int = Field(default=5, ge=1, le=50, description="Passages to read.")
    llm: bool | None = Field(default=None, description="Use the configured LLM (default: when one is configured).")


class IngestBody(_Body):
    rebuild: bool = Field(default=False, description="Drop the index and build it from scratch.")


def _kb(svc: QuantDeskService, request: Request | None = None) -> Any:
    """The knowledge base; given the request, its ingest also indexes this app's own API operations."""
    from quantdesk.intel.kb.service import knowledge_base

    return knowledge_base(svc.settings, request.app.openapi if request is not None else None)


@router.get("/search", response_model=list[KbHit], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def search(q: str = Query(min_length=1, max_length=2000, description="Question or keywords."),
           k: int = Query(default=5, ge=1, le=50), kind: list[KIND] | None = Query(default=None),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Hybrid search (BM25 + vectors fused by reciprocal rank): hits with source, anchor, text and score."""
    return _kb(svc).search(q, k=k, kinds=kind)


@router.post("/ask", dependencies=[Depends(read_access)])
def ask(body: AskBody, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """An answer quoting the sources with [n] citations (source, anchor, quote), or an abstention."""
    return _kb(svc).ask(body.question, k=body.k, use_llm=body.llm)


@router.get("/chunks/{chunk_id}", response_model=KbChunk, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def chunk(chunk_id: str = Path(pattern=r"^[0-9a-f]{20}$"), svc: QuantDeskService = Depends(service)
          ) -> dict[str, Any]:
    """The passage a citation points at."""
    return _kb(svc).chunk(chunk_id)


@router.get("/status", response_model=KbStatus, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def status(svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return _kb(svc).status()


@router.post("/ingest", status_code=202, dependencies=[Depends(write_access)])
def ingest(body: IngestBody, request: Request, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Re-index the configured sources in the background; poll GET /kb/ingest/{id}."""
    return {"id": _kb(svc, request).submit_ingest(rebuild=body.rebuild), "status": "running"}


@router.get("/ingest/{job_id}", response_model=Job, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def ingest_job(job_id: str = Path(max_length=64), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    return _kb(svc).job(job_id)


@router.get("/brief", response_model=Brief, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def brief(symbol: list[Symbol] | None = Query(default=None, max_length=5),
          timeframe: str | None = Query(default=None, pattern=TIMEFRAME),
          svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """A market brief from the stored candles, indicators, positions and alerts, every statement cited."""
    from quantdesk.intel.kb.brief import market_brief

    return market_brief(symbol, timeframe, url=svc.settings.database_url)


@router.get("/explain", dependencies=[Depends(read_access)])
def explain(kind: Literal["backtest", "denial", "signal"], id: str = Query(min_length=1, max_length=200),
            seq: int | None = Query(default=None, ge=0, le=10**9), svc: QuantDeskService = Depends(service)
            ) -> dict[str, Any]:
    """Why a backtest did what it did, why a risk rule denied an order, why a bot signalled."""
    from quantdesk.intel.kb.explain import explain as run

    return run(kind, id, seq, url=svc.settings.database_url)
