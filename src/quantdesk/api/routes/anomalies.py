"""Anomalies: stored ones (filters), an on-the-fly scan of a stored series (markers for the Markets chart), a
detection job that stores its findings, and live watching of a running paper bot."""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import LIMIT_MAX, PAGED, Page, page_params, slice_list
from quantdesk.api.responses.intel import Anomaly, AnomalyScan, AnomalyWatch, Job
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME, SYMBOL, TIMEFRAME, Accepted, Int, _Body, time_field, time_query
from quantdesk.core.errors import NotFoundError
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/anomalies", tags=["anomalies"], responses=ERRORS)
Method = Literal["zscore", "iqr", "iforest", "ocsvm", "ecod"]


class DetectRequest(_Body):
    symbol: str = Field(pattern=SYMBOL, examples=["BTC/USDT"])
    timeframe: str = Field(pattern=TIMEFRAME, examples=["1h"])
    method: Method = "zscore"
    window: Int = Field(default=100, ge=10, le=100_000)
    threshold: float | None = Field(default=None, gt=0, le=1000)
    health: bool = True
    store: bool = True
    start: str | None = time_field()
    end: str | None = time_field()


class WatchRequest(_Body):
    bot: str = Field(pattern=NAME)
    method: Literal["zscore", "iqr"] = "zscore"
    window: Int = Field(default=100, ge=10, le=100_000)
    threshold: float | None = Field(default=None, gt=0, le=1000)


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.watchers: dict[str, Any] = {}


_STATES: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def _state(svc: QuantDeskService) -> _State:
    with _STATES_LOCK:
        st = _STATES.get(svc)
        if st is None:
            st = _STATES[svc] = _State()
        return st


def _jsonable(obj: Any) -> Any:
    from quantdesk.core.jsonable import to_jsonable

    return to_jsonable(obj)


def _repo(svc: QuantDeskService) -> Any:
    from quantdesk.storage.anomaly_repo import AnomalyRepository

    return AnomalyRepository(svc.settings.database_url)


def _ns(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    from quantdesk.core.timeutil import parse_utc

    return int(parse_utc(text, name=name).value)


@router.get("", response_model=list[Anomaly], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def stored(response: Response, page: Page = Depends(page_params), symbol: str | None = Query(default=None, pattern=SYMBOL), timeframe: str | None = Query(default=None,
           pattern=TIMEFRAME), kind: str | None = Query(default=None, pattern=r"^[a-z_]{1,40}$"),
           source: str | None = Query(default=None, pattern=NAME),
           start: str | None = time_query(), end: str | None = time_query(),
           svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Stored anomalies, newest first: timestamp (bar/trade time, UTC ISO), symbol, timeframe, kind, kinds, score,
    method, source (bot, cli, api), side / price / notional (whale trades), details."""
    rows = _repo(svc).query(symbol=symbol, timeframe=timeframe, kind=kind, source=source,
                            start_ns=_ns(start, "start"), end_ns=_ns(end, "end"), limit=LIMIT_MAX)
    return _jsonable(slice_list(rows, page, response))


@router.get("/scan", response_model=AnomalyScan, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def scan(symbol: str = Query(pattern=SYMBOL), timeframe: str = Query(pattern=TIMEFRAME),
         method: Literal["zscore", "iqr"] = "zscore", window: int = Query(default=100, ge=10, le=100_000),
         threshold: float | None = Query(default=None, gt=0, le=1000),
         limit: int | None = Query(default=None, ge=1, le=1_000_000, description="Only the last N bars' rows."),
         svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Detect on a stored series now (nothing stored): one row per anomalous bar of the last `limit` bars."""
    from quantdesk.intel.anomalies.detect import detect_anomalies
    from quantdesk.intel.regimes.service import load_bars

    bars, sym, tf = load_bars(symbol=symbol, timeframe=timeframe)
    rows = detect_anomalies(bars, method, window=window, threshold=threshold)
    if limit is not None and len(bars) > limit:
        rows = rows[rows["timestamp"] >= bars.index[-limit]]
    return _jsonable({"symbol": sym, "timeframe": tf, "method": method, "bars": len(bars), "rows": rows})


@router.post("/detect", status_code=202, response_model=Accepted, dependencies=[Depends(write_access)])
def detect(body: DetectRequest, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Start a detection job on a stored series (store + count + publish its findings); poll /anomalies/jobs/{id}."""
    from quantdesk.intel.regimes.service import load_bars

    load_bars(symbol=body.symbol, timeframe=body.timeframe, start=body.start, end=body.end)  # 404 now, not later
    job_id = str(uuid.uuid4())
    st = _state(svc)
    with st.lock:
        st.jobs[job_id] = {"id": job_id, "status": "running", "progress": 0.0, "request": body.model_dump(),
                           "started": time.time()}
    threading.Thread(target=_run_detect, args=(svc, job_id, body), daemon=True, name="qd-anomalies").start()
    return {"id": job_id, "status": "running"}


def _run_detect(svc: QuantDeskService, job_id: str, body: DetectRequest) -> None:
    from quantdesk.intel.anomalies import service as asvc
    from quantdesk.intel.regimes.service import load_bars

    job = _state(svc).jobs[job_id]
    try:
        bars, sym, tf = load_bars(symbol=body.symbol, timeframe=body.timeframe, start=body.start, end=body.end)
        job["progress"] = 0.1
        rows, events = asvc.detect_bars(bars, symbol=sym, timeframe=tf, method=body.method, source="api",
                                        window=body.window, threshold=body.threshold, health=body.health)
        job["progress"] = 0.9
        counts = asvc.dispatch(events, store=body.store, store_url=svc.settings.database_url, metrics=svc.metrics)
        job.update(status="completed", progress=1.0, summary=_jsonable(asvc.summary(rows, len(bars), symbol=sym,
                   timeframe=tf, method=body.method)), **counts, rows=_jsonable(rows.head(1000)))
    except Exception as exc:  # noqa: BLE001 - the job reports it
        job.update(status="failed", error=f"{type(exc).__name__}: {exc}")


@router.get("/jobs/{job_id}", response_model=Job, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def job(job_id: str = Path(max_length=64), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    st = _state(svc)
    with st.lock:
        found = st.jobs.get(job_id)
    if found is None:
        raise NotFoundError(f"no anomaly job {job_id!r}")
    return dict(found)


@router.post("/watch", dependencies=[Depends(write_access)])
def watch(body: WatchRequest, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Watch a running paper bot's bars: anomalies become events on its bus (alert rules of kind `anomaly`,
    WebSocket "events"), stored rows and `qd_anomalies_total`. Stops with the bot or DELETE /anomalies/watch/{bot}."""
    from quantdesk.intel.anomalies.watcher import AnomalyWatcher

    node = svc.node
    st = _state(svc)
    with node.lock:
        bot = node.bots.get(body.bot)
        if bot is None:
            raise NotFoundError(f"no bot {body.bot!r} is running on this node")
        with st.lock:
            old = st.watchers.pop(body.bot, None)
            if old is not None:
                old.detach()
            w = AnomalyWatcher(bot, method=body.method, repo=_repo(svc), metrics=svc.metrics, window=body.window,
                               threshold=body.threshold)
            w.attach()
            st.watchers[body.bot] = w
    return {"bot": body.bot, "watching": True, "method": body.method, "window": body.window}


@router.get("/watch", response_model=list[AnomalyWatch], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def watching(response: Response, page: Page = Depends(page_params),
             svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    st = _state(svc)
    with st.lock:
        items = list(st.watchers.items())
    from quantdesk.core.timeutil import iso

    rows = [{"bot": name, "method": w.method, "found": len(w.found), "attached": w.attached,
             "since": {s: iso(t) for s, t in w.first_ts.items()}} for name, w in items]
    return slice_list(rows, page, response)


@router.delete("/watch/{bot}", dependencies=[Depends(write_access)])
def unwatch(bot: str = Path(pattern=NAME), svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    st = _state(svc)
    with st.lock:
        w = st.watchers.pop(bot, None)
    if w is None:
        raise NotFoundError(f"bot {bot!r} is not watched")
    w.detach()
    return {"bot": bot, "watching": False, "found": len(w.found)}
