"""Signal levels over a bar series (batch) and bar by bar (streaming), from a trained memory folder.

Each PowerTrader timeframe's candles are built from the bars (epoch-aligned buckets; a candle is closed at the
bar whose close reaches the bucket's end, or at the first bar after it when the calendar has a gap; timeframes
shorter than the bars stay inactive, e.g. the hour ones on daily bars), and at each bar the last *closed*
candle of each timeframe gives that timeframe's prediction. The batch and the streaming forms run the same
per-candle code, so they agree bar for bar; neither looks ahead.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.intel.powertrader import improved as imp
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.levels import compat_bounds, compat_levels, push_apart
from quantdesk.intel.powertrader.memory_io import MemoryBank, memory_files_exist, read_bank
from quantdesk.intel.powertrader.timeframes import TF_SECONDS, TIMEFRAMES
from quantdesk.intel.powertrader.walkforward import SelfTrainedTimeframe

#: what `levels_batch` returns per bar (the catalog publishes the first five; the chart draws the lines)
OUTPUTS: tuple[str, ...] = ("long", "short", "active", "lower", "upper",
                            *(f"lower_{tf}" for tf in TIMEFRAMES), *(f"upper_{tf}" for tf in TIMEFRAMES))
CATALOG_OUTPUTS: tuple[str, ...] = OUTPUTS[:5]


@dataclass
class LevelsModel:
    """What the levels need from a memory folder: per timeframe a compat bank or an improved model."""

    mode: str  # "compat" | "improved" | "self" (no memory: the improved model trains on the bars themselves)
    banks: dict[str, MemoryBank] = field(default_factory=dict)
    models: dict[str, imp.TimeframeModel] = field(default_factory=dict)
    timeframes: tuple[str, ...] = TIMEFRAMES
    cfg: imp.ImprovedConfig = field(default_factory=imp.ImprovedConfig)

    def has(self, tf: str) -> bool:
        if self.mode == "self":
            return True
        return tf in (self.banks if self.mode == "compat" else self.models)

    def bandwidth(self, tf: str) -> float:
        return self.models[tf].cfg.bandwidth if tf in self.models else self.cfg.bandwidth


_CACHE: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[float, ...], LevelsModel]] = {}


def load_levels_model(directory: str | Path, mode: str = "auto",
                      timeframes: tuple[str, ...] = TIMEFRAMES) -> LevelsModel:
    """Load (cached by the files' modification times) the memories of a folder. `auto`: improved models when
    the folder has them, else the original's memory files. No folder (''): self-training mode."""
    if mode not in ("auto", "compat", "improved"):
        raise ParameterError(f"powertrader_levels: mode must be auto, compat or improved, got {mode!r}")
    if not str(directory).strip():
        if mode == "compat":
            raise ParameterError("powertrader_levels: mode 'compat' needs 'memory_dir' (the original's files)")
        return LevelsModel("self", timeframes=timeframes)
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise DataError(f"powertrader_levels: memory folder not found: {d}")
    has_improved = [tf for tf in timeframes if (d / imp.model_file(tf)).is_file()]
    has_compat = [tf for tf in timeframes if memory_files_exist(d, tf)]
    if mode == "auto":
        mode = "improved" if has_improved else "compat"
    found = has_improved if mode == "improved" else has_compat
    if not found:
        raise DataError(f"powertrader_levels: {d} holds no {mode} PowerTrader memory for {', '.join(timeframes)}")
    stamps = tuple(os.stat(p).st_mtime_ns for p in sorted(d.iterdir()) if p.is_file())
    key = (str(d.resolve()), mode, timeframes)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamps:
        return hit[1]
    model = LevelsModel(mode, timeframes=timeframes)
    for tf in found:
        if mode == "improved":
            model.models[tf] = imp.TimeframeModel.load(d / imp.model_file(tf))
        else:
            model.banks[tf] = read_bank(d, tf)
    _CACHE[key] = (stamps, model)
    return model


# ---- per-candle predictions ----------------------------------------------------------------------------------
@dataclass
class CandlePredictions:
    """Predictions for the candle after each closed candle of one timeframe."""

    end: np.ndarray  # close time of the candle (epoch s)
    close: np.ndarray
    sigma: np.ndarray  # improved only (else NaN)
    active: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    nb: imp.Neighbours | None = None


def predict_candles(model: LevelsModel, tf: str, candles: Candles, alpha: float) -> CandlePredictions:
    end = np.asarray(candles.ts, dtype=np.float64) + TF_SECONDS[tf]
    q = len(candles)
    if not model.has(tf) or q == 0:
        nan = np.full(q, np.nan)
        return CandlePredictions(end, candles.close, nan, np.zeros(q, bool), nan, nan.copy())
    if model.mode == "compat":
        pattern = (candles.close - candles.open) / candles.open * 100
        pred = compat_bounds(model.banks[tf], pattern, candles.close)
        return CandlePredictions(end, candles.close, np.full(q, np.nan), pred.active, pred.lower, pred.upper)
    if model.mode == "self":
        raise RuntimeError("self-training predictions are stateful: use SelfPredictor")
    tfm = model.models[tf]
    nb, f = imp.neighbours_for(tfm, candles)
    return _from_neighbours(end, candles.close, f.sigma, nb, alpha, tfm.cfg.bandwidth)


def _from_neighbours(end: np.ndarray, close: np.ndarray, sigma: np.ndarray, nb: imp.Neighbours, alpha: float,
                     bandwidth: float) -> CandlePredictions:
    lower, upper = imp.bounds_from(nb, close, sigma, alpha, bandwidth)
    active = nb.n > 0
    return CandlePredictions(end, close, sigma, active, np.where(active, lower, np.nan),
                             np.where(active, upper, np.nan), nb)


class SelfPredictor:
    """Stateful per-timeframe predictions of the self-training mode (batch = the stream run over all rows)."""

    def __init__(self, tf: str, cfg: imp.ImprovedConfig, alpha: float) -> None:
        self.tf, self.alpha, self.cfg = tf, alpha, cfg
        self.state = SelfTrainedTimeframe(tf, cfg)

    def batch(self, candles: Candles) -> CandlePredictions:
        nb, sigma = self.state.run(candles)
        end = np.asarray(candles.ts, dtype=np.float64) + TF_SECONDS[self.tf]
        return _from_neighbours(end, np.asarray(candles.close, dtype=np.float64), sigma, nb, self.alpha,
                                self.cfg.bandwidth)

    def step(self, ts: float, o: float, h: float, lo: float, c: float) -> CandlePredictions:
        nb, sigma, close = self.state.step(ts, o, h, lo, c)
        return _from_neighbours(np.array([ts + TF_SECONDS[self.tf]]), np.array([close]), np.array([sigma]), nb,
                                self.alpha, self.cfg.bandwidth)


# ---- bars -> timeframe candles --------------------------------------------------------------------------------
def bar_lengths(ts: np.ndarray, bar_seconds: int) -> np.ndarray:
    """Bar length at each bar: given, or the smallest positive step seen so far (NaN at the first bar)."""
    if bar_seconds > 0:
        return np.full(len(ts), float(bar_seconds))
    steps = np.diff(ts)
    steps = np.where(steps > 0, steps, np.inf)
    run = np.minimum.accumulate(steps) if len(steps) else steps
    out = np.concatenate([[np.nan], run])
    out[~np.isfinite(out)] = np.nan
    return out


def closed_candles(ts: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
                   d: np.ndarray, sec: int) -> tuple[Candles, np.ndarray]:
    """`sec` candles built from the bars, and for each the index of the bar at which it is known to be closed:
    the bar whose close reaches the bucket's end, or else (a calendar gap: weekends, holidays, missing bars) the
    first bar of a later bucket."""
    n = len(ts)
    if n == 0:
        e = np.empty(0)
        return Candles(e, e, e, e, e), np.empty(0, dtype=np.int64)
    bucket = np.floor(ts / sec) * sec
    first = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    last = np.concatenate([first[1:] - 1, [n - 1]])
    with np.errstate(invalid="ignore"):
        by_bar = ts[last] + d[last] >= bucket[first] + sec
    next_first = np.concatenate([first[1:], [-1]])
    done_at = np.where(by_bar, last, next_first)
    keep = done_at >= 0
    with np.errstate(invalid="ignore"):
        keep[keep] = d[done_at[keep]] <= sec  # bars longer than the timeframe cannot make its candles
    f, la = first[keep], last[keep]
    hi = np.maximum.reduceat(h, first)[keep]
    low = np.minimum.reduceat(lo, first)[keep]
    return Candles(bucket[f], o[f], hi, low, c[la]), done_at[keep]


def _bar_rows(ts: np.ndarray, d: np.ndarray, pred: CandlePredictions, done_at: np.ndarray, sec: int) -> np.ndarray:
    """Row of `pred` that is the last closed candle at each bar (-1 when that candle is missing)."""
    with np.errstate(invalid="ignore"):
        want = np.floor((ts + d) / sec) * sec  # close time of the candle that must be the last closed one
    rows = np.searchsorted(pred.end, want)
    rows = np.minimum(rows, max(len(pred.end) - 1, 0))
    ok = len(pred.end) > 0
    good = np.zeros(len(ts), dtype=bool)
    if ok:
        good = (pred.end[rows] == want) & (done_at[rows] <= np.arange(len(ts))) & np.isfinite(want)
    return np.where(good, rows, -1)


def _combine(model: LevelsModel, price: np.ndarray, per_tf: dict[str, tuple[CandlePredictions, np.ndarray]]
             ) -> dict[str, np.ndarray]:
    n = len(price)
    lower = np.full((n, len(TIMEFRAMES)), np.nan)
    upper = np.full((n, len(TIMEFRAMES)), np.nan)
    active = np.zeros((n, len(TIMEFRAMES)), dtype=bool)
    p_long = np.zeros((n, len(TIMEFRAMES)))
    p_short = np.zeros((n, len(TIMEFRAMES)))
    for k, tf in enumerate(TIMEFRAMES):
        if tf not in per_tf:
            continue
        pred, rows = per_tf[tf]
        has = rows >= 0
        r = rows[has]
        active[has, k] = pred.active[r]
        lower[has, k] = pred.lower[r]
        upper[has, k] = pred.upper[r]
        if model.mode != "compat" and pred.nb is not None and has.any():
            sel = np.flatnonzero(has)
            act = pred.active[r]
            sel, r = sel[act], r[act]
            if len(sel):
                p_low, p_high = imp.touch_probabilities(pred.nb, r, price[sel], pred.close, pred.sigma,
                                                        model.bandwidth(tf))
                p_long[sel, k] = 1.0 - p_low
                p_short[sel, k] = 1.0 - p_high
    lower = np.where(active, lower, np.nan)
    upper = np.where(active, upper, np.nan)
    if model.mode == "compat":
        lower = push_apart(lower, active)
        long, short = compat_levels(price, lower, upper, active)
    else:
        long, short = np.nansum(p_long, axis=1), np.nansum(p_short, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no active timeframe: NaN
        nearest_lower = np.nanmax(lower, axis=1)
        nearest_upper = np.nanmin(upper, axis=1)
    out = {"long": long, "short": short, "active": active.sum(axis=1).astype(np.float64),
           "lower": nearest_lower, "upper": nearest_upper}
    for k, tf in enumerate(TIMEFRAMES):
        out[f"lower_{tf}"] = lower[:, k]
        out[f"upper_{tf}"] = upper[:, k]
    return out


def levels_batch(model: LevelsModel, ts: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                 c: np.ndarray, *, bar_seconds: int = 0, alpha: float = 0.1) -> dict[str, np.ndarray]:
    """Levels and bounds at every bar (`ts` = bar open times, epoch seconds). NaN until the bar length is known."""
    ts = np.asarray(ts, dtype=np.float64)
    d = bar_lengths(ts, bar_seconds)
    per_tf = {}
    for tf in model.timeframes:
        sec = TF_SECONDS[tf]
        candles, done_at = closed_candles(ts, o, h, lo, c, d, sec)
        if model.mode == "self":
            pred = SelfPredictor(tf, model.cfg, alpha).batch(candles)
        else:
            pred = predict_candles(model, tf, candles, alpha)
        per_tf[tf] = (pred, _bar_rows(ts, d, pred, done_at, sec))
    out = _combine(model, np.asarray(c, dtype=np.float64), per_tf)
    unknown = ~np.isfinite(d)
    for key in out:
        out[key][unknown] = np.nan
    return out


class LevelsStream:
    """Bar-by-bar twin of `levels_batch` (same values): keeps each timeframe's forming candle and a short
    history of closed ones; a closing candle is predicted once."""

    def __init__(self, model: LevelsModel, bar_seconds: int = 0, alpha: float = 0.1) -> None:
        self.model, self.bar_seconds, self.alpha = model, bar_seconds, alpha
        self.prev_ts: float | None = None
        self.d = math.nan
        keep = 2
        if model.mode == "improved" and model.models:
            keep = max(m.cfg.warmup for m in model.models.values()) + 2
        self.keep = keep
        self.selfp = {tf: SelfPredictor(tf, model.cfg, alpha) for tf in model.timeframes} if model.mode == "self" \
            else {}
        self.forming: dict[str, list[float] | None] = dict.fromkeys(model.timeframes)
        self.history: dict[str, deque[list[float]]] = {tf: deque(maxlen=keep) for tf in model.timeframes}
        self.last: dict[str, tuple[CandlePredictions, float]] = {}

    def update(self, ts: float, o: float, h: float, lo: float, c: float) -> dict[str, float]:
        ts = float(ts)
        if self.bar_seconds > 0:
            self.d = float(self.bar_seconds)
        elif self.prev_ts is not None and ts > self.prev_ts:
            step = ts - self.prev_ts
            self.d = step if not (self.d <= step) else self.d
        self.prev_ts = ts
        d = self.d
        for tf in self.model.timeframes:
            self._advance(tf, ts, o, h, lo, c, d)
        per_tf = {}
        want_rows = {}
        for tf in self.model.timeframes:
            sec = TF_SECONDS[tf]
            hit = self.last.get(tf)
            want = math.floor((ts + d) / sec) * sec if math.isfinite(d) else math.nan
            if hit is not None and hit[1] == want:
                per_tf[tf] = (hit[0], np.array([0]))
            else:
                per_tf[tf] = (hit[0] if hit else _empty_prediction(), np.array([-1]))
            want_rows[tf] = want
        out = _combine(self.model, np.array([float(c)]), per_tf)
        values = {k: float(v[0]) for k, v in out.items()}
        if not math.isfinite(d):
            values = dict.fromkeys(values, math.nan)
        return values

    def _advance(self, tf: str, ts: float, o: float, h: float, lo: float, c: float, d: float) -> None:
        sec = TF_SECONDS[tf]
        bucket = math.floor(ts / sec) * sec
        cur = self.forming[tf]
        if cur is not None and cur[0] != bucket:  # a bucket that ended without a bar reaching its end: closed now
            if d <= sec:
                self._close(tf, cur)
            cur = None
        if cur is None:
            cur = [bucket, o, h, lo, c]
        else:
            cur[2] = max(cur[2], h)
            cur[3] = min(cur[3], lo)
            cur[4] = c
        self.forming[tf] = cur
        if ts + d >= bucket + sec:
            if d <= sec:
                self._close(tf, cur)
            self.forming[tf] = None

    def _close(self, tf: str, cur: list[float]) -> None:
        sec = TF_SECONDS[tf]
        if self.model.mode == "self":
            pred = self.selfp[tf].step(*cur[:5])
        else:
            self.history[tf].append(cur[:5])
            hist = np.array(self.history[tf])
            candles = Candles(hist[:, 0], hist[:, 1], hist[:, 2], hist[:, 3], hist[:, 4])
            pred = predict_candles(self.model, tf, candles, self.alpha)
        self.last[tf] = (_last_row(pred), cur[0] + sec)


def _last_row(p: CandlePredictions) -> CandlePredictions:
    s = slice(-1, None)
    nb = p.nb.rows(s) if p.nb is not None else None
    return CandlePredictions(p.end[s], p.close[s], p.sigma[s], p.active[s], p.lower[s], p.upper[s], nb)


def _empty_prediction() -> CandlePredictions:
    e = np.empty(0)
    return CandlePredictions(e, e, e, np.empty(0, bool), e, e)


def describe_model(model: LevelsModel) -> dict[str, Any]:
    if model.mode == "self":
        return {"mode": "self", "timeframes": list(model.timeframes)}
    if model.mode == "compat":
        return {"mode": "compat", "timeframes": {tf: {"memories": len(b), "threshold": b.threshold}
                                                 for tf, b in model.banks.items()}}
    return {"mode": "improved", "timeframes": {tf: imp.describe(m) for tf, m in model.models.items()}}
