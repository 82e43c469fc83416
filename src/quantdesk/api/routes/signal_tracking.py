"""Signal tracking: every signal (ML or rule-based) with its realised outcome, and the accuracy/calibration report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from quantdesk.api.deps import read_access, service, write_access
from quantdesk.api.pagination import LIMIT_MAX, PAGED, Page, page_params, slice_list
from quantdesk.api.responses.intel import Accuracy, TrackedSignal
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import NAME, SYMBOL, TIME, TIMEFRAME, Int, _Body
from quantdesk.service.facade import QuantDeskService

router = APIRouter(prefix="/signal-tracking", tags=["signal-tracking"], responses=ERRORS)
SOURCE = r"^[A-Za-z0-9_.:\-]{1,200}$"
SourceQ = Query(default=None, pattern=SOURCE, description="Signal source (strategy name or strategy:model id).")
SymbolQ = Query(default=None, pattern=SYMBOL)
TimeframeQ = Query(default=None, pattern=TIMEFRAME)
OriginQ = Query(default=None, pattern=r"^(backtest|paper|live|api)$")


class SignalIn(_Body):
    time: str = Field(max_length=40, pattern=TIME, description="Decision bar time, UTC ISO-8601.",
                      examples=["2024-01-05T10:00:00Z"])
    source: str = Field(pattern=SOURCE)
    symbol: str = Field(pattern=SYMBOL)
    timeframe: str = Field(pattern=TIMEFRAME)
    direction: Literal[1, -1]
    price: float = Field(gt=0, le=1e12)
    confidence: float | None = Field(default=None, ge=0, le=1)
    horizon: Int = Field(default=12, ge=1, le=100_000)
    tp: float | None = Field(default=None, gt=0, lt=10, description="Take-profit, fraction of the price.")
    sl: float | None = Field(default=None, gt=0, lt=10, description="Stop, fraction of the price.")
    features: dict[str, float] | None = Field(default=None, max_length=500)


class ValidateBody(_Body):
    signals: list[SignalIn] = Field(default_factory=list, max_length=10_000)
    store: bool = Field(default=True, description="Keep the signals (they are tracked until resolved).")
    resolve_pending: bool = Field(default=True, description="Also resolve every stored pending signal.")
    bots: list[Annotated[str, Field(pattern=NAME)]] = Field(default_factory=list, max_length=50,
                            description="Paper bots whose signals and trade entries are collected (and resolved).")
    horizon: Int = Field(default=12, ge=1, le=100_000, description="Horizon of the collected bot signals (bars).")


def _store(svc: QuantDeskService) -> Any:
    from quantdesk.ml.tracking_store import TrackingStore

    return TrackingStore(svc.settings.database_url)


@router.get("/signals", response_model=list[TrackedSignal], response_model_exclude_unset=True,
            dependencies=[Depends(read_access)], responses=PAGED)
def signals(response: Response, source: str | None = SourceQ, symbol: str | None = SymbolQ,
            timeframe: str | None = TimeframeQ, origin: str | None = OriginQ,
            status: str | None = Query(default=None, pattern=r"^(pending|resolved)$"),
            page: Page = Depends(page_params), svc: QuantDeskService = Depends(service)) -> list[dict[str, Any]]:
    """Tracked signals, oldest first (the latest `limit`): time, source, direction, confidence, price and, once
    resolved, the exit, the realised return and whether it was a hit."""
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.core.timeutil import iso

    rows = _store(svc).query(limit=LIMIT_MAX, source=source, symbol=symbol, timeframe=timeframe, origin=origin,
                             status=status)
    out = []
    for r in rows.drop(columns=["created_at"]).to_dict(orient="records"):
        r["time"] = iso(int(r["ts"]))
        r["exit_time"] = iso(int(r["exit_ts"])) if r.get("exit_ts") is not None and r["exit_ts"] == r["exit_ts"] \
            else None
        out.append(r)
    return to_jsonable(slice_list(out, page, response))


@router.get("/accuracy", response_model=Accuracy, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def accuracy(source: str | None = SourceQ, symbol: str | None = SymbolQ, timeframe: str | None = TimeframeQ,
             origin: str | None = OriginQ, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Hit rate (next to the no-skill baseline) and mean return by confidence decile, Brier score, expected
    calibration error, reliability diagram and Spearman(confidence, return): overall and per source, symbol and
    timeframe; plus the calibration drift of each source's recent signals."""
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.ml.tracking import accuracy_report, calibration_drift

    rows = _store(svc).query(source=source, symbol=symbol, timeframe=timeframe, origin=origin)
    doc = accuracy_report(rows)
    doc["drift"] = calibration_drift(rows) if len(rows) else []
    return to_jsonable(doc)


@router.post("/validate", dependencies=[Depends(write_access)])
def validate(body: ValidateBody, svc: QuantDeskService = Depends(service)) -> dict[str, Any]:
    """Resolve the given signals against the candle store (404 when a symbol/timeframe has no candles) and report
    their accuracy; optionally store them, collect paper bots' signals and trades (`bots`), and resolve every
    stored pending signal."""
    from quantdesk import data as qdata
    from quantdesk.core.jsonable import to_jsonable
    from quantdesk.core.timeutil import parse_utc
    from quantdesk.ml.tracking import SignalRecord, accuracy_report, apply_outcomes, records_frame, resolve
    from quantdesk.ml.tracking_store import SignalTracker

    recs = []
    for s in body.signals:
        barrier = {k: v for k, v in (("tp", s.tp), ("sl", s.sl)) if v is not None} or None
        recs.append(SignalRecord(ts=parse_utc(s.time, name="time").value, source=s.source, symbol=s.symbol,
                                 timeframe=s.timeframe, direction=s.direction, price=s.price,
                                 confidence=s.confidence, horizon=s.horizon, barrier=barrier, origin="api",
                                 features=s.features))
    frames = []
    for key in sorted({(r.symbol, r.timeframe) for r in recs}):
        group = [r for r in recs if (r.symbol, r.timeframe) == key]
        candles = qdata.load(key[0], key[1])
        frames.append(apply_outcomes(records_frame(group), resolve(group, candles)))
    import pandas as pd

    rows = pd.concat(frames, ignore_index=True) if frames else records_frame([])
    store = _store(svc)
    if body.store and recs:
        store.add(recs)
        store.set_outcomes(rows)
    from quantdesk.ml.tracking_store import collect_bot

    collected = []
    for name in body.bots:
        collected.append(collect_bot(name, horizon=body.horizon, url=svc.settings.database_url, store=store))
    pending = SignalTracker(store).resolve_pending() if body.resolve_pending else None
    return to_jsonable({"validated": rows.to_dict(orient="records"), "report": accuracy_report(rows),
                        "collected": collected, "pending": pending})
