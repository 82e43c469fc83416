"""Signal tracking: every signal (ML or rule-based) joined with its realised outcome, and the reports that say
whether its confidence means anything.

    rec = SignalRecord(ts=t_ns, source="ml:abc123", symbol="BTC/USDT", timeframe="1h", direction=1,
                       price=43000.0, confidence=0.62, horizon=12)
    outcomes = resolve([rec], candles)            # per record: Outcome or None (not resolvable yet)
    doc = accuracy_report(table)                  # hit rate / mean return by confidence decile, Brier, ECE, ...
    rows = track_backtest(result, frame, horizon=12)   # the signals of a backtest, resolved

TIMING: `ts` is the decision bar's time (its open time, as the engine's clock reads during `on_bar`) and `price`
the price the decision was made at (that bar's close). The outcome is measured from `price` over the next
`horizon` bars: with a barrier ({"tp": 0.02, "sl": 0.01}, fractions of the price) the first bar whose high/low
touches a barrier resolves it (a bar touching both counts as the stop: its path is unknown), otherwise the close
`horizon` bars later. `ret` is the direction-signed simple return, `hit` = ret > 0.

REPORTS (`accuracy_report`): overall and per (source, symbol, timeframe): count, hit rate next to the no-skill
baselines (the better of "always long" and "always short" over the same windows; with the candles at hand also
the same directions entered at every bar of the period: a long-only signal must beat that), mean return, Brier score of
the confidence against the hit (baseline: the constant observed hit rate), expected calibration error, the
reliability diagram, hit rate and mean return by confidence decile, and the Spearman correlation between
confidence and realised return. `calibration_drift` computes the ECE of each source's most recent signals; the
tracker raises a `calibration_drift` alert when it passes the threshold.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.ml.evaluation import deciles, expected_calibration_error, reliability, spearman

COLUMNS = ("id", "ts", "source", "origin", "run", "symbol", "timeframe", "direction", "confidence", "price",
           "horizon", "barrier", "features", "status", "exit_ts", "exit_price", "ret", "hit", "resolved_by")


@dataclass(frozen=True)
class SignalRecord:
    """One signal as any producer can give it (a plain record: no engine types)."""

    ts: int
    source: str
    symbol: str
    timeframe: str
    direction: int
    price: float
    confidence: float | None = None
    horizon: int = 12
    barrier: dict[str, float] | None = None
    origin: str = "api"
    run: str | None = None
    features: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.direction not in (1, -1):
            raise ParameterError(f"signal direction must be 1 (long) or -1 (short), got {self.direction!r}")
        if not (isinstance(self.price, (int, float)) and math.isfinite(self.price) and self.price > 0):
            raise ParameterError(f"signal price must be a positive number, got {self.price!r}")
        if self.confidence is not None and not (0.0 <= float(self.confidence) <= 1.0):
            raise ParameterError(f"signal confidence must be between 0 and 1, got {self.confidence!r}")
        if int(self.horizon) < 1:
            raise ParameterError(f"signal horizon must be >= 1 bar, got {self.horizon!r}")
        for k, v in (self.barrier or {}).items():
            if k not in ("tp", "sl") or not (isinstance(v, (int, float)) and 0 < v < 10):
                raise ParameterError(f"signal barrier: expected tp/sl fractions of the price (e.g. 0.02), "
                                     f"got {k}={v!r}")

    @property
    def id(self) -> str:
        key = f"{self.origin}|{self.run or ''}|{self.source}|{self.symbol}|{self.timeframe}|{self.ts}|{self.direction}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def row(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self), "status": "pending", "exit_ts": None, "exit_price": None,
                "ret": None, "hit": None, "resolved_by": None}


@dataclass(frozen=True)
class Outcome:
    exit_ts: int
    exit_price: float
    ret: float
    hit: bool
    resolved_by: str  # horizon | tp | sl


def resolve(records: Iterable[SignalRecord], frame: pd.DataFrame) -> list[Outcome | None]:
    """Outcomes of `records` (all of one symbol and timeframe) on OHLCV `frame`; None = not resolvable yet."""
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    hi, lo, cl = (frame[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close"))
    n = len(ts)
    out: list[Outcome | None] = []
    for rec in records:
        i = int(np.searchsorted(ts, rec.ts, side="right")) - 1  # the decision bar (last bar at or before ts)
        if i < 0:
            out.append(None)
            continue
        d, p0 = rec.direction, float(rec.price)
        tp = (rec.barrier or {}).get("tp")
        sl = (rec.barrier or {}).get("sl")
        res: Outcome | None = None
        for j in range(i + 1, min(i + int(rec.horizon), n - 1) + 1):
            if sl is not None:
                stop = p0 * (1 - d * sl)
                if (lo[j] <= stop) if d > 0 else (hi[j] >= stop):
                    res = Outcome(int(ts[j]), stop, -sl, False, "sl")
                    break
            if tp is not None:
                take = p0 * (1 + d * tp)
                if (hi[j] >= take) if d > 0 else (lo[j] <= take):
                    res = Outcome(int(ts[j]), take, tp, True, "tp")
                    break
        if res is None and i + int(rec.horizon) <= n - 1:
            j = i + int(rec.horizon)
            r = d * (cl[j] / p0 - 1.0)
            res = Outcome(int(ts[j]), float(cl[j]), float(r), bool(r > 0), "horizon")
        out.append(res)
    return out


def apply_outcomes(rows: pd.DataFrame, outcomes: list[Outcome | None]) -> pd.DataFrame:
    rows = rows.copy()
    for col in ("exit_ts", "exit_price", "ret", "hit", "resolved_by"):
        rows[col] = rows[col].astype(object) if col in rows else None
    for k, o in enumerate(outcomes):
        if o is not None:
            idx = rows.index[k]
            values: tuple[Any, ...] = (o.exit_ts, o.exit_price, o.ret, o.hit, o.resolved_by, "resolved")
            for col, value in zip(("exit_ts", "exit_price", "ret", "hit", "resolved_by", "status"), values, strict=True):
                rows.at[idx, col] = value
    return rows


def records_frame(records: Iterable[SignalRecord]) -> pd.DataFrame:
    return pd.DataFrame([r.row() for r in records], columns=list(COLUMNS))


# ---- reports ---------------------------------------------------------------------------------------------
def _stats(g: pd.DataFrame, bins: int, full: bool) -> dict[str, Any]:
    res = g[g["status"] == "resolved"]
    out: dict[str, Any] = {"signals": int(len(g)), "resolved": int(len(res)), "pending": int(len(g) - len(res))}
    if len(res) == 0:
        return out
    hit = res["hit"].astype(bool).to_numpy().astype(np.float64)
    ret = res["ret"].astype(float).to_numpy()
    up = np.where(res["direction"].to_numpy() > 0, hit, 1 - hit)  # the market moved up over the window
    out.update({"hit_rate": float(hit.mean()), "baseline_hit_rate": float(max(up.mean(), 1 - up.mean())),
                "mean_return": float(ret.mean())})
    conf = pd.to_numeric(res["confidence"], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(conf)
    out["with_confidence"] = int(ok.sum())
    if ok.sum():
        c, h = conf[ok], hit[ok]
        out.update({"brier": float(np.mean((c - h) ** 2)), "baseline_brier": float(np.mean((h.mean() - h) ** 2)),
                    "ece": expected_calibration_error(c, h, bins), "mean_confidence": float(c.mean()),
                    "spearman": spearman(c, ret[ok])})
        if full:
            out["reliability"] = reliability(c, h, bins)
            out["deciles"] = deciles(c, h, ret[ok])
    return out


def random_entry_hit_rate(rows: pd.DataFrame, candles: pd.DataFrame) -> float:
    """No-skill baseline with the candles at hand: the hit rate of the same directions entered at EVERY bar of the
    signals' period (same horizon), i.e. what timing-free entries would have scored."""
    res = rows[rows["status"] == "resolved"]
    if len(res) == 0:
        return math.nan
    ts = pd.DatetimeIndex(candles.index).as_unit("ns").asi8
    c = candles["close"].to_numpy(dtype=np.float64)
    lo = int(np.searchsorted(ts, int(res["ts"].min()), side="left"))
    hi = int(np.searchsorted(ts, int(res["ts"].max()), side="right"))
    rates = []
    for h in sorted(set(int(x) for x in res["horizon"])):
        end = min(hi, len(c) - h)
        if end <= lo:
            continue
        up = float(np.mean(c[lo + h:end + h] > c[lo:end]))
        share_long = float(np.mean(res.loc[res["horizon"] == h, "direction"].to_numpy() > 0))
        weight = float(np.mean(res["horizon"] == h))
        rates.append(weight * (share_long * up + (1 - share_long) * (1 - up)))
    return float(sum(rates)) if rates else math.nan


def accuracy_report(rows: pd.DataFrame, *, by: tuple[str, ...] = ("source", "symbol", "timeframe"),
                    bins: int = 10, candles: pd.DataFrame | None = None) -> dict[str, Any]:
    """Overall figures (with the reliability diagram and deciles) and one entry per group (see module doc).
    `candles` (one symbol's bars) adds `random_entry_hit_rate` (see `random_entry_hit_rate`)."""
    doc: dict[str, Any] = {"overall": _stats(rows, bins, True), "groups": []}
    if candles is not None and len(rows):
        doc["overall"]["random_entry_hit_rate"] = random_entry_hit_rate(rows, candles)
    if len(rows) and by:
        for key, g in rows.groupby(list(by), sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            doc["groups"].append({**dict(zip(by, key, strict=True)), **_stats(g, bins, True)})
    return doc


def calibration_drift(rows: pd.DataFrame, *, window: int = 200, threshold: float = 0.1, min_signals: int = 50,
                      bins: int = 10) -> list[dict[str, Any]]:
    """Per source: ECE of its `window` most recent resolved signals with a confidence; `drifted` past threshold."""
    res = rows[(rows["status"] == "resolved") & rows["confidence"].notna()]
    out = []
    for source, g in res.sort_values("ts").groupby("source", sort=True):
        tail = g.iloc[-window:]
        if len(tail) < min_signals:
            continue
        c = tail["confidence"].astype(float).to_numpy()
        h = tail["hit"].astype(bool).to_numpy().astype(np.float64)
        ece = expected_calibration_error(c, h, bins)
        out.append({"source": str(source), "signals": int(len(tail)), "ece": ece, "threshold": threshold,
                    "mean_confidence": float(c.mean()), "hit_rate": float(h.mean()), "drifted": bool(ece > threshold),
                    "last_ts": int(tail["ts"].iloc[-1])})
    return out


# ---- backtests ------------------------------------------------------------------------------------------
def backtest_records(result: Any, frame: pd.DataFrame, *, source: str | None = None, horizon: int = 12,
                     barrier: dict[str, float] | None = None, strategy: Any = None, run: str | None = None
                     ) -> list[SignalRecord]:
    """The entry signals of a backtest: from `strategy.signal_log` when the strategy keeps one (ML strategies:
    with confidence), else from its trades (the decision bar = the bar before the entry fill, price = its close)."""
    cfg = result.config
    src = source or (f"{cfg.strategy}:{cfg.params['model']}" if cfg.params.get("model") else cfg.strategy)
    tf = str(cfg.timeframe)
    symbol = str(result.data_info.get("symbol") or cfg.symbol)
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    close = frame["close"].to_numpy(dtype=np.float64)
    log = getattr(strategy, "signal_log", None)
    recs: list[SignalRecord] = []
    if log:
        for s in log:
            recs.append(SignalRecord(ts=int(s["ts"]), source=src, symbol=symbol, timeframe=tf,
                                     direction=int(s["direction"]), price=float(s["price"]),
                                     confidence=float(s["confidence"]), horizon=horizon, barrier=barrier,
                                     origin="backtest", run=run))
        return recs
    trades = result.trades
    for row in trades.itertuples(index=False):
        t = pd.Timestamp(row.entry_time).value
        i = int(np.searchsorted(ts, t, side="left")) - 1  # the fill is at the open after the decision bar
        if i < 0:
            continue
        recs.append(SignalRecord(ts=int(ts[i]), source=src, symbol=str(row.symbol or symbol), timeframe=tf,
                                 direction=1 if row.side == "long" else -1, price=float(close[i]),
                                 horizon=horizon, barrier=barrier, origin="backtest", run=run))
    return recs


def track_backtest(result: Any, frame: pd.DataFrame, *, horizon: int = 12, barrier: dict[str, float] | None = None,
                   strategy: Any = None, source: str | None = None, run: str | None = None,
                   store: Any = None) -> pd.DataFrame:
    """The backtest's signals with their outcomes (resolved on `frame`); stored when `store` is given."""
    recs = backtest_records(result, frame, source=source, horizon=horizon, barrier=barrier, strategy=strategy,
                            run=run)
    rows = apply_outcomes(records_frame(recs), resolve(recs, frame))
    if store is not None:
        store.add(recs)
        store.set_outcomes(rows)
    return rows


@dataclass
class DriftWatch:
    """Feeds each source's recent ECE to an AlertManager's `calibration_drift` rules (the manager fires once per
    crossing of a rule's threshold and re-arms below it); `threshold` here only sets the report's `drifted`."""

    alerts: Any = None
    window: int = 200
    threshold: float = 0.1
    min_signals: int = 50

    def check(self, rows: pd.DataFrame) -> list[dict[str, Any]]:
        found = calibration_drift(rows, window=self.window, threshold=self.threshold, min_signals=self.min_signals)
        if self.alerts is not None:
            for d in found:
                self.alerts.on_calibration(d["source"], d["ece"], signals=d["signals"], ts=d["last_ts"])
        return found
