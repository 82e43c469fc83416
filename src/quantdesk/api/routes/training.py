"""PowerTrader training (background jobs with progress per coin and timeframe), its levels for the Markets
chart, and the DCA ladder of a position."""

from __future__ import annotations

import json
import math
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field

from quantdesk.api.deps import read_access, write_access
from quantdesk.api.responses.intel import Ladder, Levels, TrainingStatus
from quantdesk.api.routes import ERRORS
from quantdesk.api.schemas import EXCHANGE, SYMBOL, TIMEFRAME, _Body, time_field, time_query

router = APIRouter(prefix="/training", tags=["powertrader"], responses=ERRORS)
COIN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"


def _any_case(word: str) -> str:
    """`hour` -> `[hH][oO][uU][rR]`: JSON Schema patterns have no flags, the parser ignores case."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_PT_TF = "(?:" + "|".join(_any_case(w) for w in ("1hour", "2hour", "4hour", "8hour", "12hour", "1day", "1week", "1h",
                                                 "2h", "4h", "8h", "12h", "24h", "1d", "7d", "1w")) + ")"
PT_TIMEFRAMES = rf"^ *(?:{_any_case('all')}|{_PT_TF} *(?:, *{_PT_TF} *){{0,15}}) *$"
# a loss in % strictly between -100 and 0, and 1-20 of them comma separated (what parse_levels accepts)
_LEVEL = r"-(?:[1-9][0-9]?(?:\.[0-9]{1,6})?|0\.[0-9]{0,5}[1-9][0-9]{0,5})"
DCA_LEVELS = rf"^ *{_LEVEL} *(?:, *{_LEVEL} *){{0,19}}$"
_LOCK = threading.Lock()


class StartTraining(_Body):
    coin: str = Field(pattern=COIN, examples=["BTC"], description="Coin; its memory lives in $QD_HOME/powertrader/<COIN>.")
    symbol: str = Field(pattern=SYMBOL, examples=["BTC/USDT"], description="Stored symbol to train on.")
    exchange: str | None = Field(default=None, pattern=EXCHANGE)
    base_timeframe: str = Field(default="1h", pattern=TIMEFRAME, description="Stored bars to resample from.")
    mode: Literal["improved", "compat"] = "improved"
    timeframes: str | None = Field(default=None, max_length=120, pattern=PT_TIMEFRAMES,
                                   examples=["1hour,4hour,1day"], description="'all' or a comma-separated list.")
    until: str | None = time_field("Only candles closed by this UTC time (ISO-8601, years 1678-2261).")
    fresh: bool = False


def _jobs(request: Request) -> Any:
    """One bounded job registry per app (created on first use)."""
    from quantdesk.intel.powertrader.service import TrainingJobs

    with _LOCK:
        jobs = getattr(request.app.state, "powertrader_jobs", None)
        if jobs is None:
            jobs = TrainingJobs(max_running=1)
            request.app.state.powertrader_jobs = jobs
        return jobs


@router.post("/start", status_code=202, dependencies=[Depends(write_access)])
def start(body: StartTraining, request: Request) -> dict[str, Any]:
    """Start training a coin in the background (409 while another training runs)."""
    return _jobs(request).start(coin=body.coin, symbol=body.symbol, exchange=body.exchange,
                                compat=body.mode == "compat", timeframes=body.timeframes,
                                base_timeframe=body.base_timeframe, until=body.until, fresh=body.fresh)


@router.get("/status", response_model=TrainingStatus, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def status(request: Request) -> dict[str, Any]:
    """Jobs of this server (progress per timeframe: done/total steps, ETA) and every trained coin on disk."""
    from quantdesk.intel.powertrader.service import coins_on_disk

    return {"jobs": _jobs(request).list(), "coins": coins_on_disk()}


@router.get("/levels", response_model=Levels, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def levels(coin: str | None = Query(default=None, pattern=COIN),
           symbol: str = Query(pattern=SYMBOL, examples=["BTC/USDT"]),
           timeframe: str = Query(default="1h", pattern=TIMEFRAME),
           exchange: str | None = Query(default=None, pattern=EXCHANGE),
           limit: int = Query(default=500, ge=10, le=20_000),
           end: str | None = time_query("Last bar (UTC, ISO-8601); default: the newest."),
           mode: Literal["auto", "compat", "improved"] = "auto") -> Response:
    """LONG/SHORT and every timeframe's bounds over the last `limit` bars (the Markets chart's lines). Without a
    coin (or before it is trained) the improved model trains on the bars themselves, walk-forward."""
    from quantdesk import data as qdata
    from quantdesk.intel.powertrader.service import default_memory_dir, level_series
    from quantdesk.intel.powertrader.signals import OUTPUTS

    memory = ""
    if coin is not None:
        folder = default_memory_dir(coin)
        if folder.is_dir():
            memory = str(folder)
    bars = qdata.load(symbol, timeframe, exchange, end=end, tail=limit)
    if len(bars) == 0:
        from quantdesk.core.errors import NotFoundError

        raise NotFoundError(f"no {timeframe} bars of {symbol} up to {end}")
    out = level_series(memory, bars, mode=mode if memory else "auto")
    times = [t.isoformat().replace("+00:00", "Z") for t in bars.index]
    doc = {"symbol": symbol, "timeframe": timeframe, "memory": "self-trained" if not memory else memory,
           "time": times, **{k: [_num(v) for v in out[k]] for k in OUTPUTS}}
    return Response(json.dumps(doc, separators=(",", ":"), allow_nan=False), media_type="application/json")


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@router.get("/ladder", response_model=Ladder, response_model_exclude_unset=True,
            dependencies=[Depends(read_access)])
def ladder(avg_price: float = Query(ge=1e-12, le=1e12, description="Average cost of the open position."),
           quantity: float = Query(ge=1e-12, le=1e15), stages_done: int = Query(default=0, ge=0, le=50),
           dca_multiplier: float = Query(default=2.0, ge=0, le=100),
           dca_levels: str = Query(default="-2.5,-5,-10,-20,-30,-40,-50", max_length=400, pattern=DCA_LEVELS,
                                   description="Losses in % (between -100 and 0), comma separated, deepest last."),
           stages: int = Query(default=7, ge=1, le=20)) -> dict[str, Any]:
    """The DCA ladder of an open position: for each next stage the trigger price (loss level from the average
    cost as it will be), the buy size, and the position's cost after it."""
    from quantdesk.strategies.powertrader import parse_levels

    levels_pct = parse_levels(dca_levels)
    rows = []
    qty, cost = quantity, quantity * avg_price
    for k in range(stages_done, stages_done + stages):
        level = levels_pct[min(k, len(levels_pct) - 1)]
        avg = cost / qty
        price = avg * (1 + level / 100)
        buy = dca_multiplier * qty * price
        qty += buy / price
        cost += buy
        rows.append({"stage": k + 1, "trigger_pnl_pct": level, "trigger_price": price, "buy_notional": buy,
                     "cost_after": cost, "quantity_after": qty, "avg_after": cost / qty})
    return {"avg_price": avg_price, "quantity": quantity, "cost": quantity * avg_price, "stages": rows}
