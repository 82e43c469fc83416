"""Walk-forward evaluation of the "bounce" predictions against no-skill baselines.

A *bounce prediction* is the trader's bet: the predicted lower bound of the next candle is support (if the price
touches it, the candle closes back above it), the upper bound is resistance. Per method and per side we measure
on a test fold: the touch rate (P(low <= lower)), the bounce rate (P(close > lower | touched)) and the original's
kind of "accuracy", containment (P(the candle stays inside [lower, upper])).

Folds (time order): the improved model learns walk-forward from the first candle; its calibration curve comes
from the PIT values of the calibration fold [train_frac, train_frac + calib_frac); the test fold is the rest,
predicted with the memory still learning causally and the calibration fixed. Baselines: an ATR band with its
multiplier set on the calibration fold to the same touch rate as the model's nominal `alpha` (so bounce rates
compare at equal depth), and the previous candle's low/high. The original (compat, its defects on) is trained
on the candles before the test fold and predicts the test fold with its fixed memory.

On a random walk a bound set at time t cannot be support: after touching it the path is as likely to end below
as above (reflection principle), so every method's bounce rate sits near the same value; skill is a bounce
rate above the equal-depth baseline's by more than the sampling error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from quantdesk.intel.powertrader import improved as imp
from quantdesk.intel.powertrader.candles import Candles
from quantdesk.intel.powertrader.compat import CompatFlags, train_compat
from quantdesk.intel.powertrader.levels import compat_bounds


@dataclass(frozen=True)
class EvalConfig:
    alpha: float = 0.2
    train_frac: float = 0.4
    calib_frac: float = 0.2
    atr_period: int = 14


def atr(c: Candles, period: int) -> np.ndarray:
    """Wilder's average true range (NaN in the warm-up)."""
    prev = np.concatenate([[np.nan], c.close[:-1]])
    tr = np.fmax(c.high - c.low, np.fmax(np.abs(c.high - prev), np.abs(c.low - prev)))
    tr[0] = c.high[0] - c.low[0]
    out = np.full(len(c), np.nan)
    if len(c) >= period:
        out[period - 1] = tr[:period].mean()
        for t in range(period, len(c)):
            out[t] = (out[t - 1] * (period - 1) + tr[t]) / period
    return out


def _side_stats(lower: np.ndarray, upper: np.ndarray, nxt_low: np.ndarray, nxt_high: np.ndarray,
                nxt_close: np.ndarray) -> dict[str, Any]:
    ok = np.isfinite(lower) & np.isfinite(upper)
    lo, up = lower[ok], upper[ok]
    nl, nh, nc = nxt_low[ok], nxt_high[ok], nxt_close[ok]
    touch_lo = nl <= lo
    touch_hi = nh >= up
    bounce_lo = touch_lo & (nc > lo)
    bounce_hi = touch_hi & (nc < up)
    n_touch = int(touch_lo.sum() + touch_hi.sum())
    n_bounce = int(bounce_lo.sum() + bounce_hi.sum())
    rate = n_bounce / n_touch if n_touch else math.nan
    return {
        "predictions": int(ok.sum()),
        "touch_rate_lower": float(touch_lo.mean()) if ok.any() else math.nan,
        "touch_rate_upper": float(touch_hi.mean()) if ok.any() else math.nan,
        "bounce_rate_lower": float(bounce_lo.sum() / touch_lo.sum()) if touch_lo.any() else math.nan,
        "bounce_rate_upper": float(bounce_hi.sum() / touch_hi.sum()) if touch_hi.any() else math.nan,
        "touches": n_touch,
        "bounce_rate": rate,
        "bounce_se": math.sqrt(rate * (1 - rate) / n_touch) if n_touch else math.nan,
        "containment": float(((nl >= lo) & (nh <= up)).mean()) if ok.any() else math.nan,
    }


def evaluate(c: Candles, tf: str = "1hour", cfg: EvalConfig | None = None,
             model_cfg: imp.ImprovedConfig | None = None, with_original: bool = True) -> dict[str, Any]:
    """Walk-forward bounce evaluation of one candle series (see module doc)."""
    cfg = cfg or EvalConfig()
    model_cfg = (model_cfg or imp.ImprovedConfig()).validate()
    n = len(c)
    a = int(n * cfg.train_frac)
    b = int(n * (cfg.train_frac + cfg.calib_frac))
    if n - b < 100 or b - a < 50:
        raise ValueError(f"evaluation needs more candles (got {n}; the calibration and test folds are too small)")
    model = imp.TimeframeModel.new(tf, model_cfg)
    rec = imp.train_improved(model, c, record=True, calibrate=False)
    assert rec is not None
    f = imp.features(c, model_cfg)
    grid_lo = imp.calibration_grid(rec.pit[a:b, 0])
    grid_hi = imp.calibration_grid(rec.pit[a:b, 1])
    test = np.arange(b, n - 1)  # the prediction at t is for candle t + 1
    nb = imp.Neighbours(rec.nb_lo[test], rec.nb_hi[test], rec.nb_w[test], rec.nb_n[test].copy(),
                        np.tile(grid_lo, (len(test), 1)), np.tile(grid_hi, (len(test), 1)))
    nb.n[nb.n < model_cfg.min_neighbours] = 0
    lower, upper = imp.bounds_from(nb, c.close[test], f.sigma[test], cfg.alpha, model_cfg.bandwidth)
    active = nb.n > 0
    lower, upper = np.where(active, lower, np.nan), np.where(active, upper, np.nan)
    nl, nh, nc = c.low[test + 1], c.high[test + 1], c.close[test + 1]
    methods: dict[str, dict[str, Any]] = {"improved": _side_stats(lower, upper, nl, nh, nc)}
    # ATR band with the multiplier that gives the nominal touch rate on the calibration fold
    at = atr(c, cfg.atr_period)
    cal = np.arange(max(a, cfg.atr_period), b - 1)
    down = (c.close[cal] - c.low[cal + 1]) / at[cal]
    upm = (c.high[cal + 1] - c.close[cal]) / at[cal]
    m_lo = float(np.nanquantile(down, 1 - cfg.alpha))
    m_hi = float(np.nanquantile(upm, 1 - cfg.alpha))
    methods["atr_band"] = _side_stats(c.close[test] - m_lo * at[test], c.close[test] + m_hi * at[test], nl, nh, nc)
    methods["atr_band"]["multipliers"] = [m_lo, m_hi]
    methods["previous_candle"] = _side_stats(c.low[test], c.high[test], nl, nh, nc)
    if with_original:
        hist = c.head(b)
        bank = train_compat("1hour", {"1hour": hist}, flags=CompatFlags())
        pattern = (c.close[test] - c.open[test]) / c.open[test] * 100
        pred = compat_bounds(bank, pattern, c.close[test])
        methods["original"] = _side_stats(pred.lower, pred.upper, nl, nh, nc)
        methods["original"]["memories"] = len(bank)
    base = methods["atr_band"]
    verdict = {}
    for name, st in methods.items():
        if name == "atr_band":
            continue
        diff = st["bounce_rate"] - base["bounce_rate"]
        se = math.sqrt(st["bounce_se"] ** 2 + base["bounce_se"] ** 2)
        touch = (st["touch_rate_lower"] + st["touch_rate_upper"]) / 2
        touch_base = (base["touch_rate_lower"] + base["touch_rate_upper"]) / 2
        # bounce rates depend on how deep the bounds are: only equal touch rates compare (a shallower bound is
        # touched by the wicks of candles that close back inside, even on a random walk)
        comparable = abs(touch - touch_base) < 0.02
        verdict[name] = {"bounce_minus_atr_pp": 100 * diff, "se_pp": 100 * se,
                         "touch_minus_atr_pp": 100 * (touch - touch_base), "comparable": comparable,
                         "beats_atr_band": bool(comparable and diff > 2 * se)}
    return {"timeframe": tf, "candles": n, "folds": {"train": [0, a], "calibration": [a, b], "test": [b, n]},
            "alpha": cfg.alpha, "methods": methods, "verdict": verdict}


def random_walk(n: int, seed: int, sigma: float = 0.01, substeps: int = 24, tf_seconds: int = 3600) -> Candles:
    """Candles of a driftless Gaussian random walk sampled `substeps` times per candle (high/low = the path's
    extremes, open = the previous close): the no-skill world."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, sigma / math.sqrt(substeps), (n, substeps))
    path = np.cumsum(steps.ravel()).reshape(n, substeps)
    start = np.concatenate([[0.0], path[:-1, -1]])
    o = 100 * np.exp(start)
    cl = 100 * np.exp(path[:, -1])
    h = 100 * np.exp(np.maximum(path.max(axis=1), start))
    lo = 100 * np.exp(np.minimum(path.min(axis=1), start))
    return Candles(np.arange(n, dtype=np.float64) * tf_seconds, o, h, lo, cl)


def report_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per method (percentages)."""
    rows = []
    for name, st in result["methods"].items():
        rows.append({"method": name, "predictions": st["predictions"],
                     "touch_lower_%": round(100 * st["touch_rate_lower"], 2),
                     "touch_upper_%": round(100 * st["touch_rate_upper"], 2),
                     "bounce_%": round(100 * st["bounce_rate"], 2), "bounce_se_%": round(100 * st["bounce_se"], 2),
                     "containment_%": round(100 * st["containment"], 2)})
    return rows
