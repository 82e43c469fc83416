"""Anomaly use cases shared by the CLI and the API: detect on bars or trades, turn findings into
`AnomalyDetected` events, publish them on a bus (alert rules listen there), store them and count them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from quantdesk.intel.anomalies.detect import detect_anomalies
from quantdesk.intel.anomalies.events import AnomalyDetected
from quantdesk.intel.anomalies.whales import detect_whales


def bar_events(rows: pd.DataFrame, *, symbol: str, timeframe: str, source: str) -> list[AnomalyDetected]:
    out = []
    for ts, kind, kinds, score, method in rows[["timestamp", "kind", "kinds", "score", "method"]].itertuples(
            index=False):
        t = int(pd.Timestamp(ts).value)
        out.append(AnomalyDetected(t, t, symbol, kind, float(score), method, timeframe, kinds, source=source))
    return out


def whale_events(rows: pd.DataFrame, *, symbol: str, source: str) -> list[AnomalyDetected]:
    out = []
    r: Any  # a namedtuple of the whale rows' columns
    for r in rows.itertuples(index=False):
        t = int(pd.Timestamp(r.timestamp).value)
        out.append(AnomalyDetected(t, t, symbol, "whale", float(r.score), "robust_z", "", "whale", side=r.side,
                                   price=float(r.price), notional=float(r.notional), source=source,
                                   details={"amount": float(r.amount)}))
    return out


def write_rows(rows: pd.DataFrame, path: str | Path) -> str:
    """CSV with the bar (or trade) timestamp first, UTC ISO-8601."""
    from quantdesk.core.timeutil import iso

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    table = rows.copy()
    table["timestamp"] = [iso(pd.Timestamp(t)) for t in table["timestamp"]]
    table.to_csv(p, index=False, float_format="%.10g")
    return str(p)


def dispatch(events: list[AnomalyDetected], *, store_url: str | None = None, store: bool = True, bus: Any = None,
             metrics: Any = None) -> dict[str, int]:
    """Publish each event on `bus`, count it in `metrics` (PlatformMetrics.anomalies) and store them all."""
    for e in events:
        if bus is not None:
            bus.publish(e)
        if metrics is not None:
            metrics.anomalies.labels(e.symbol, e.kind).inc()
    stored = 0
    if store and events:
        from quantdesk.storage.anomaly_repo import AnomalyRepository

        stored = AnomalyRepository(store_url).add(events)
    return {"events": len(events), "stored": stored}


def summary(rows: pd.DataFrame, bars: int, **info: Any) -> dict[str, Any]:
    by_kind: dict[str, int] = {}
    for kinds in rows.get("kinds", rows.get("kind", pd.Series(dtype=str))):
        for k in str(kinds).split(";"):
            by_kind[k] = by_kind.get(k, 0) + 1
    return {**info, "bars": bars, "anomalous_bars": int(len(rows)), "by_kind": dict(sorted(by_kind.items())),
            "rate_pct": round(100.0 * len(rows) / bars, 4) if bars else math.nan}


def detect_bars(bars: pd.DataFrame, *, symbol: str, timeframe: str, method: str, source: str,
                **params: Any) -> tuple[pd.DataFrame, list[AnomalyDetected]]:
    rows = detect_anomalies(bars, method, **params)
    return rows, bar_events(rows, symbol=symbol, timeframe=timeframe, source=source)


def detect_trades(trades: pd.DataFrame, *, symbol: str, source: str, **params: Any
                  ) -> tuple[pd.DataFrame, list[AnomalyDetected]]:
    rows = detect_whales(trades, **params)
    return rows, whale_events(rows, symbol=symbol, source=source)
