"""Tracked signals in the database (`tracked_signals`), and the tracker that resolves them as prices arrive.

    store = TrackingStore(url)                    # url None = the configured database
    store.add(records)                            # idempotent: a signal's id is a hash of who/what/when
    tracker = SignalTracker(store, alerts=alert_manager)
    tracker.resolve_pending()                     # outcomes of every signal whose horizon has passed (candle store)
    tracker.report(source="ml_signal:abc")        # quantdesk.ml.tracking.accuracy_report of the stored signals
    tracker.training_data()                       # resolved signals that carry features: X + outcome

Paper bots: `records_from_bot(state, bot, candles)` turns a bot's stored signals and trade entries into records;
`collect_bot(name)` does it for a bot in the trading store and resolves what it can.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from quantdesk.core.errors import DataError, NotFoundError
from quantdesk.ml.tracking import (
    COLUMNS,
    DriftWatch,
    SignalRecord,
    accuracy_report,
    apply_outcomes,
    resolve,
)
from quantdesk.storage.ml_models import TrackedSignalRow

FILTERS = ("source", "symbol", "timeframe", "origin", "run", "status")


class TrackingStore:
    def __init__(self, url: str | None = None) -> None:
        from quantdesk.storage import db

        self.engine = db.get_engine(url)

    def add(self, records: Iterable[SignalRecord]) -> list[str]:
        """Insert new signals (existing ids are left as they are); returns every id."""
        ids = []
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            for rec in records:
                ids.append(rec.id)
                if session.get(TrackedSignalRow, rec.id) is not None:
                    continue
                row = rec.row()
                session.add(TrackedSignalRow(**{k: row[k] for k in COLUMNS}, created_at=now))
        return ids

    def set_outcomes(self, rows: pd.DataFrame) -> int:
        """Write the outcomes of resolved rows (status 'resolved'); returns how many."""
        done = rows[rows["status"] == "resolved"]
        with Session(self.engine) as session, session.begin():
            r: Any  # a namedtuple of the signal table's columns
            for r in done.itertuples(index=False):
                row = session.get(TrackedSignalRow, r.id)
                if row is None or row.status == "resolved":
                    continue
                row.status, row.resolved_by = "resolved", str(r.resolved_by)
                row.exit_ts, row.exit_price = int(r.exit_ts), float(r.exit_price)
                row.ret, row.hit = float(r.ret), bool(r.hit)
        return len(done)

    def query(self, *, limit: int | None = None, since: int | None = None, **filters: Any) -> pd.DataFrame:
        stmt = sa.select(TrackedSignalRow).order_by(TrackedSignalRow.ts.desc())
        for k, v in filters.items():
            if k not in FILTERS:
                raise NotFoundError(f"unknown signal filter {k!r} (use {', '.join(FILTERS)})")
            if v is not None:
                stmt = stmt.where(getattr(TrackedSignalRow, k) == v)
        if since is not None:
            stmt = stmt.where(TrackedSignalRow.ts >= since)
        if limit is not None:
            stmt = stmt.limit(limit)
        with Session(self.engine) as session:
            rows = [r.to_dict() for r in session.scalars(stmt)]
        frame = pd.DataFrame(rows, columns=[*COLUMNS, "created_at"])
        return frame.iloc[::-1].reset_index(drop=True)  # oldest first


def _records(rows: pd.DataFrame) -> list[SignalRecord]:
    out = []
    r: Any  # a namedtuple of the signal table's columns
    for r in rows.itertuples(index=False):
        out.append(SignalRecord(ts=int(r.ts), source=r.source, symbol=r.symbol, timeframe=r.timeframe,
                                direction=int(r.direction), price=float(r.price),
                                confidence=None if pd.isna(r.confidence) else float(r.confidence),
                                horizon=int(r.horizon), barrier=r.barrier or None, origin=r.origin, run=r.run,
                                features=r.features or None))
    return out


def _store_candles(symbol: str, timeframe: str) -> pd.DataFrame:
    from quantdesk import data as qdata

    return qdata.load(symbol, timeframe)


class SignalTracker:
    """Records signals, resolves their outcomes from candles, reports accuracy and watches calibration drift."""

    def __init__(self, store: TrackingStore | None = None, *,
                 candles: Callable[[str, str], pd.DataFrame] = _store_candles, alerts: Any = None,
                 drift_threshold: float = 0.1, drift_window: int = 200, drift_min_signals: int = 50) -> None:
        self.store = store or TrackingStore()
        self.candles = candles
        self.drift = DriftWatch(alerts, drift_window, drift_threshold, drift_min_signals)

    def record(self, records: SignalRecord | Iterable[SignalRecord]) -> list[str]:
        return self.store.add([records] if isinstance(records, SignalRecord) else list(records))

    def resolve_pending(self) -> dict[str, int]:
        """Resolve every pending signal whose horizon/barrier has passed; then check calibration drift."""
        pending = self.store.query(status="pending")
        resolved = skipped = 0
        for (symbol, tf), g in pending.groupby(["symbol", "timeframe"], sort=True):
            try:
                frame = self.candles(str(symbol), str(tf))
            except (DataError, NotFoundError):
                skipped += len(g)
                continue
            rows = apply_outcomes(g.reset_index(drop=True), resolve(_records(g), frame))
            resolved += self.store.set_outcomes(rows)
        drift = self.drift.check(self.store.query(status="resolved"))
        return {"pending": int(len(pending)), "resolved": resolved, "no_candles": skipped,
                "drifted": sum(1 for d in drift if d["drifted"])}

    def report(self, **filters: Any) -> dict[str, Any]:
        rows = self.store.query(**filters)
        doc = accuracy_report(rows)
        doc["drift"] = self.drift.check(rows)
        return doc

    def training_data(self, **filters: Any) -> pd.DataFrame:
        """Resolved signals with the features they were decided on: one column per feature + ret, hit, direction
        (what the paper/live bots' outcomes contribute as training data)."""
        rows = self.store.query(status="resolved", **filters)
        rows = rows[rows["features"].notna()]
        if len(rows) == 0:
            return pd.DataFrame()
        feats = pd.DataFrame([r if isinstance(r, dict) else json.loads(r) for r in rows["features"]])
        out = pd.concat([rows[["id", "ts", "source", "symbol", "direction", "confidence", "ret", "hit"]]
                         .reset_index(drop=True), feats], axis=1)
        out["hit"] = out["hit"].astype(bool)
        return out


def records_from_bot(state: Any, bot: dict[str, Any], candles: pd.DataFrame, *, horizon: int = 12,
                     source: str | None = None) -> list[SignalRecord]:
    """A paper bot's signals (manual / simulated, with their confidence) and trade entries as records."""
    ts_all = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
    close = candles["close"].to_numpy(dtype=np.float64)
    src = source or str(bot.get("strategy") or bot.get("name"))
    tf = str(bot.get("timeframe"))
    symbol0 = (bot.get("symbols") or [""])[0]
    out: list[SignalRecord] = []

    def price_at(ts: int) -> float | None:
        i = int(np.searchsorted(ts_all, ts, side="right")) - 1
        return float(close[i]) if i >= 0 else None

    for s in getattr(state, "signals", []) or []:
        if s.get("action", "trade") != "trade":
            continue
        p = price_at(int(s["ts"]))
        if p is None:
            continue
        out.append(SignalRecord(ts=int(s["ts"]), source=f"{src}:{s.get('source', 'signal')}",
                                symbol=str(s.get("symbol") or symbol0), timeframe=tf,
                                direction=1 if str(s["side"]).lower() == "buy" else -1, price=p,
                                confidence=s.get("confidence"), horizon=horizon, origin="paper",
                                run=str(bot.get("name"))))
    for t in getattr(state, "trades", []) or []:
        p = price_at(int(t["entry_ts"]) - 1)  # decided on the bar before the entry fill
        i = int(np.searchsorted(ts_all, int(t["entry_ts"]), side="left")) - 1
        if p is None or i < 0:
            continue
        out.append(SignalRecord(ts=int(ts_all[i]), source=src, symbol=str(t.get("symbol") or symbol0),
                                timeframe=tf, direction=1 if t.get("side") == "long" else -1, price=p,
                                horizon=horizon, origin="paper", run=str(bot.get("name"))))
    return out


def attach_model_features(records: list[SignalRecord], candles: pd.DataFrame, model_id: str | None
                          ) -> list[SignalRecord]:
    """Records of a model-driven bot get the model's features at their decision bar. The features are causal
    (checked when the model was trained), so computing them now on the stored history gives exactly the values
    the bot saw when it decided."""
    if not model_id or not records:
        return records
    from dataclasses import replace

    from quantdesk.ml.features import build_features
    from quantdesk.ml.predictor import Predictor

    pred = Predictor.for_model(model_id)
    feats = build_features(candles, pred.features, base_timeframe=pred.base_ns(candles))
    ts = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
    out = []
    for r in records:
        i = int(np.searchsorted(ts, r.ts, side="right")) - 1
        row = feats.iloc[i] if i >= 0 else None
        values = {str(k): float(v) for k, v in row.items() if np.isfinite(v)} if row is not None else None
        out.append(replace(r, features=values or None) if r.features is None else r)
    return out


def collect_bot(name: str, *, horizon: int = 12, url: str | None = None,
                candles: Callable[[str, str], pd.DataFrame] = _store_candles, store: TrackingStore | None = None
                ) -> dict[str, Any]:
    """Track a paper bot's signals and trade entries (with the model's features for an `ml_signal` bot) and
    resolve what can be resolved: the bot's outcomes become tracked signals and training data."""
    from quantdesk.storage.trading import TradingStore

    trading = TradingStore(url)
    try:
        row = trading.find_bot(name)
        if row is None:
            raise NotFoundError(f"no bot named {name!r}")
        state = trading.load_state(row["id"])
    finally:
        trading.close()
    symbol = (row.get("symbols") or [""])[0]
    frame = candles(symbol, str(row["timeframe"]))
    recs = records_from_bot(state, row, frame, horizon=horizon)
    recs = attach_model_features(recs, frame, (row.get("params") or {}).get("model"))
    store = store or TrackingStore(url)
    store.add(recs)
    ids = {r.id for r in recs}
    pending = store.query(status="pending", run=str(row["name"]))
    pending = pending[pending["id"].isin(ids)].reset_index(drop=True)
    resolved = store.set_outcomes(apply_outcomes(pending, resolve(_records(pending), frame))) if len(pending) else 0
    return {"bot": row["name"], "signals": len(recs), "resolved": resolved}
