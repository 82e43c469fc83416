"""Market data (candles, symbols) and indicators."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response

from quantdesk.api.deps import read_access, service
from quantdesk.api.pagination import PAGED, Page, page_params, slice_list
from quantdesk.api.responses.market import Candle, IndicatorInfo, IndicatorValues, StoredSeries
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import EXCHANGE, SYMBOL, TIME, TIME_DOC, TIMEFRAME
from quantdesk.service.facade import QuantDeskService

router = APIRouter(tags=["market data"], responses=ERRORS, dependencies=[Depends(read_access)])
RESERVED = {"symbol", "timeframe", "start", "end", "limit"}


def _rows_response(data: Any) -> Response:
    """Large row payloads (candles, indicator values) serialised once by the C json encoder: FastAPI's generic
    response-model pass over every value costs more than the query. The data is JSON-able already (facade)."""
    return Response(json.dumps(data, separators=(",", ":"), allow_nan=False), media_type="application/json")


@router.get("/market/candles", response_model=list[Candle])
def candles(symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
            timeframe: str = Query(pattern=TIMEFRAME, examples=["1m"]),
            start: str | None = Query(default=None, max_length=40, pattern=TIME, description=TIME_DOC),
            end: str | None = Query(default=None, max_length=40, pattern=TIME, description=TIME_DOC),
            exchange: str | None = Query(default=None, pattern=EXCHANGE),
            limit: int | None = Query(default=None, ge=1, le=1_000_000),
            svc: QuantDeskService = Depends(service)) -> Response:
    """Candles, oldest first: timestamp (UTC ISO-8601), open, high, low, close, volume. `limit`: the last N."""
    return _rows_response(svc.candles(symbol, timeframe, start, end, exchange, limit))


@router.get("/market/symbols", response_model=list[StoredSeries], response_model_exclude_unset=True,
            responses=PAGED)
def symbols(response: Response, page: Page = Depends(page_params),
            svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """The stored series: exchange, symbol, timeframe, first, last, rows."""
    return slice_list(svc.symbols(), page, response)


@router.get("/indicators", response_model=list[IndicatorInfo], response_model_exclude_unset=True,
            responses=PAGED)
def indicators(response: Response, page: Page = Depends(page_params),
               svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """The indicator catalog: name, parameters, output columns."""
    return slice_list(svc.indicator_catalog(), page, response)


def _num(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


@router.get("/indicators/{name}", response_model=IndicatorValues)
def indicator(request: Request, name: str = Path(pattern=r"^[A-Za-z0-9_]{1,40}$"),
              symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
              timeframe: str = Query(pattern=TIMEFRAME, examples=["1m"]),
              start: str | None = Query(default=None, max_length=40, pattern=TIME, description=TIME_DOC),
              end: str | None = Query(default=None, max_length=40, pattern=TIME, description=TIME_DOC),
              limit: int | None = Query(default=None, ge=1, le=1_000_000),
              svc: QuantDeskService = Depends(service)) -> Response:
    """Compute an indicator; its parameters are extra query parameters (e.g. ?period=14)."""
    params = {k: _num(v) for k, v in request.query_params.items() if k not in RESERVED}
    if len(params) > 20:
        raise HTTPException(400, "too many parameters")
    return _rows_response(svc.indicator(name, symbol, timeframe, params, start, end, limit))
