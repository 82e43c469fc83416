"""Sentiment: an asset's sentiment now with its latest news, the news feed, the series, scoring texts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from quantdesk.api.deps import read_access
from quantdesk.api.pagination import LIMIT_MAX, PAGED, Page, page_params, slice_list
from quantdesk.api.responses.intel import NewsItem, Sentiment, SentimentPoint
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import SYMBOL, _Body, time_query
from quantdesk.intel.sentiment import service
from quantdesk.intel.sentiment.events import EVENT_KINDS

router = APIRouter(prefix="/sentiment", tags=["sentiment"], responses=ERRORS)

EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]
Text = Annotated[str, StringConstraints(max_length=service.MAX_CHARS)]


class ScoreRequest(_Body):
    texts: list[Text] = Field(min_length=1, max_length=service.MAX_TEXTS,
                              description=f"At most {service.MAX_TEXTS} texts of at most {service.MAX_CHARS} characters.")
    scorer: Literal["crypto", "vader"] = "crypto"


class ScoredTextOut(BaseModel):
    text: str
    score: float = Field(ge=-1, le=1)
    label: Literal["positive", "negative", "neutral"]
    entities: list[str]
    events: list[str]
    scorer: str


@router.get("", response_model=Sentiment, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def sentiment(symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
              limit: int = Query(default=20, ge=0, le=500, description="Latest texts to include."),
              half_life_h: float = Query(default=12.0, ge=0.01, le=8760),
              window_h: float = Query(default=24.0, ge=0.01, le=8760)) -> dict[str, Any]:
    """The asset's sentiment now: decayed mean, count, share positive/negative and negative events in the
    window, its latest texts (`news`) and the latest Fear & Greed reading."""
    return service.summary(symbol, half_life_h=half_life_h, window_h=window_h, limit=limit)


@router.post("/score", response_model=list[ScoredTextOut], dependencies=[Depends(read_access)])
def score(body: ScoreRequest) -> list[dict[str, Any]]:
    """Score texts offline: score in [-1, 1], label, entities (ccxt symbols) and events for each."""
    return service.score_texts(service.check_texts(body.texts), body.scorer)


@router.get("/news", response_model=list[NewsItem], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def news(response: Response, page: Page = Depends(page_params),
         symbol: str | None = Query(default=None, pattern=SYMBOL),
         event: EventKind | None = Query(default=None, description="Only texts naming this event kind.")
         ) -> list[dict[str, Any]]:
    """Stored texts, newest first: ts (publication, UTC ISO), source, title, url, score, label, entities, events."""
    return slice_list(service.news(symbol, LIMIT_MAX, event), page, response)


@router.get("/series", response_model=list[SentimentPoint], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def series(symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
           start: str | None = time_query(), end: str | None = time_query(),
           every: str = Query(default="1h", pattern=r"^[1-9][0-9]{0,3}[mhdw]$"),
           half_life_h: float = Query(default=12.0, ge=0.01, le=8760),
           window_h: float = Query(default=24.0, ge=0.01, le=8760)) -> list[dict[str, Any]]:
    """The causal series on a UTC grid: ts, mean, count, pos_share, neg_share, neg_events."""
    return service.series(symbol, start=start, end=end, every=every, half_life_h=half_life_h, window_h=window_h)


@router.get("/sources", dependencies=[Depends(read_access)], responses=PAGED)
def sources(response: Response, page: Page = Depends(page_params)) -> list[dict[str, Any]]:
    """The configured sources and the built-in `sample`."""
    return slice_list(service.sources_info(service.load_settings()), page, response)
