"""Market regimes: regimes of a stored series (values + bands for the Markets chart) and performance split by
regime for a backtest (by id) or a paper bot. Detector parameters are extra query parameters (?train=500)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from quantdesk.api.deps import read_access, service
from quantdesk.api.responses.intel import Regimes
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import EXCHANGE, NAME, SYMBOL, TIMEFRAME, time_query
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/regimes", tags=["regimes"], responses=ERRORS, dependencies=[Depends(read_access)])
RESERVED = {"symbol", "timeframe", "start", "end", "limit", "exchange", "method"}
METHOD = r"^(rules|hmm|markov|bocpd)$"


def _params(request: Request, method: str) -> dict[str, Any]:
    """Extra query parameters, typed and range-checked by the catalog spec (400 names the bad one)."""
    from quantdesk.indicators import get

    raw: dict[str, Any] = {}
    for k, v in request.query_params.items():
        if k in RESERVED:
            continue
        for cast in (int, float):
            try:
                raw[k] = cast(v)
                break
            except ValueError:
                continue
        else:
            raw[k] = v
    if len(raw) > 20:
        raise HTTPException(400, "too many parameters")
    values = get("regime").validate_params({**raw, "method": method})
    return {k: values[k] for k in raw}


def _jsonable(obj: Any) -> Any:
    from quantdesk.core.jsonable import to_jsonable

    return to_jsonable(obj)


@router.get("", response_model=Regimes, response_model_exclude_unset=True)
def regimes(request: Request, symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
            timeframe: str = Query(pattern=TIMEFRAME, examples=["1h"]),
            method: str = Query(default="rules", pattern=METHOD),
            start: str | None = time_query(), end: str | None = time_query(),
            exchange: str | None = Query(default=None, pattern=EXCHANGE),
            limit: int | None = Query(default=None, ge=1, le=1_000_000, description="Return the last N bars "
                                      "(the detector still runs on all the bars, so it is warm)."),
            svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Causal regimes of a stored series: `summary`, `values` (timestamp, regime, p_regime_0..3, p_changepoint,
    bars_since_change) and `segments` [{start, end, regime, name}] (the background bands of the Markets page)."""
    from quantdesk.intel.regimes import service as rsvc
    from quantdesk.intel.regimes.chart import segments
    from quantdesk.intel.regimes.report import regime_names

    params = _params(request, method)
    bars, sym, tf = rsvc.load_bars(symbol=symbol, timeframe=timeframe, exchange=exchange, start=start, end=end)
    out, labels = rsvc.detect(bars, method, params)
    summary = rsvc.summarize(out, method, params, sym, tf)
    if limit is not None:
        out = out.iloc[-limit:]
    names = regime_names(out["regime"], labels)
    segs = [{"start": s, "end": e, "name": n, "regime": labels.index(n) if n in labels else None}
            for s, e, n in segments(names)] if len(out) else []
    values = out.reset_index().rename(columns={out.index.name or "index": "timestamp"})
    return _jsonable({"symbol": sym, "timeframe": tf, "method": method, "labels": labels, "summary": summary,
                      "segments": segs, "values": values})


@router.get("/report/backtest/{run_id}")
def report_backtest(request: Request, run_id: str = Path(max_length=64),
                    method: str = Query(default="rules", pattern=METHOD),
                    svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Return, Sharpe, win rate and trades per regime of a backtest run (from memory, its folder, or re-run from
    its stored config, which reproduces it)."""
    from quantdesk.intel.regimes import service as rsvc

    return _jsonable(rsvc.report_backtest(svc, run_id, method, _params(request, method)))


@router.get("/report/bot/{name}")
def report_bot(request: Request, name: str = Path(pattern=NAME), method: str = Query(default="rules", pattern=METHOD),
               svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """The same split for a paper bot's committed equity snapshots and closed trades."""
    from quantdesk.intel.regimes import service as rsvc

    return _jsonable(rsvc.report_bot(svc.node.store, name, method, _params(request, method)))
