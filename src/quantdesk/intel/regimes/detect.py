"""One entry point for every regime detector: `detect_regimes` (batch) and `RegimeStream` (one bar at a time).

Output columns (the catalog's `regime` indicator, same names everywhere):
    regime             code of the current regime (see `regime_labels(method, n_states)`), NaN while warming up
    p_regime_0..3      probability of each regime (hmm/markov: filtered; rules: 1 for the current quadrant,
                       0 for the others; bocpd: NaN, it has no states). Unused slots are NaN.
    p_changepoint      hmm/markov: P(state changed at this bar | bars so far); bocpd: P(run started in the
                       last cp_window bars); rules: 1 on a bar where the quadrant changed, else 0
    bars_since_change  bars since the last DECLARED change (0 on the bar it is declared; counting from the first
                       labelled bar). hmm/markov declare a change when another state's filtered probability
                       is >= `switch_prob` on `confirm` consecutive bars (hysteresis against one-bar blips).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.intel.regimes import METHODS
from quantdesk.intel.regimes.bocpd import BocpdState, bocpd_batch
from quantdesk.intel.regimes.features import bar_features, features_batch, first_valid
from quantdesk.intel.regimes.fitted import FittedStream, fitted_batch
from quantdesk.intel.regimes.rules import LABELS as RULE_LABELS
from quantdesk.intel.regimes.rules import new_state, rules_batch, rules_step

OUTPUTS = ("regime", "p_regime_0", "p_regime_1", "p_regime_2", "p_regime_3", "p_changepoint",
           "bars_since_change")
MAX_STATES = 4
NAN = math.nan

DEFAULTS: dict[str, Any] = {
    "method": "rules", "n_states": 2, "train": 250, "refit": 250, "window": 2000, "switch_prob": 0.9,
    "confirm": 3, "seed": 0, "trend_period": 100, "slope_bars": 20, "vol_period": 14, "vol_window": 250,
    "vol_quantile": 0.5, "hysteresis": 0.1, "expected_run": 500, "max_run": 300, "cp_window": 10,
    "threshold": 0.95,
}


def regime_labels(method: str = "rules", n_states: int = 2) -> list[str]:
    """Names of the regime codes 0, 1, ... of a method (states ordered by volatility, calmest first)."""
    if method == "rules":
        return list(RULE_LABELS)
    if method == "bocpd":
        return ["calm", "volatile"]
    return ["calm", "volatile"] if n_states == 2 else ["calm", "normal", "volatile"]


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in and cross-checked (the catalog checks each value's type and range)."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ParameterError(f"regime: unknown parameter(s) {sorted(unknown)}; expected {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    if p["method"] not in METHODS:
        raise ParameterError(f"regime: parameter 'method' must be one of {list(METHODS)}, got {p['method']!r}")
    if p["method"] in ("hmm", "markov") and p["window"] < p["train"]:
        raise ParameterError(f"regime: parameter 'window' ({p['window']}) must be >= 'train' ({p['train']})")
    if p["n_states"] not in (2, 3):
        raise ParameterError(f"regime: parameter 'n_states' must be 2 or 3, got {p['n_states']}")
    return p


# ---- labels with hysteresis (hmm / markov) ---------------------------------------------------------------------
class LabelTracker:
    """Label with hysteresis: the first label is the most probable state; afterwards the label moves to state j
    once p_j >= switch_prob on `confirm` consecutive bars (single-bar blips are not regime changes)."""

    __slots__ = ("switch_prob", "confirm", "label", "since", "cand", "count")

    def __init__(self, switch_prob: float, confirm: int) -> None:
        self.switch_prob, self.confirm = switch_prob, confirm
        self.label, self.since, self.cand, self.count = NAN, NAN, -1, 0

    def step(self, probs: np.ndarray) -> tuple[float, float]:
        j = int(np.argmax(probs))
        if math.isnan(self.label):
            self.label, self.since = float(j), 0.0
            return self.label, self.since
        if j != int(self.label) and probs[j] >= self.switch_prob:
            self.count = self.count + 1 if j == self.cand else 1
            self.cand = j
        else:
            self.cand, self.count = -1, 0
        if self.count >= self.confirm:
            self.label, self.since, self.cand, self.count = float(j), 0.0, -1, 0
        else:
            self.since += 1.0
        return self.label, self.since


def _pack(n: int, probs: np.ndarray | None, pc: np.ndarray, labels: np.ndarray, since: np.ndarray) -> np.ndarray:
    out = np.full((n, len(OUTPUTS)), NAN)
    out[:, 0] = labels
    if probs is not None:
        out[:, 1 : 1 + probs.shape[1]] = probs
    out[:, 5] = pc
    out[:, 6] = since
    return out


def regime_array(high: np.ndarray, low: np.ndarray, close: np.ndarray, **params: Any) -> np.ndarray:
    """(n, 7) array of OUTPUTS for the bars (leading NaN inputs allowed: NaN output there)."""
    p = check_params(params)
    n = len(close)
    if not (len(high) == len(low) == n):
        raise DataError(f"regime: high/low/close have different lengths ({len(high)}, {len(low)}, {n})")
    f0 = first_valid(high, low, close)
    out = np.full((n, len(OUTPUTS)), NAN)
    if f0 >= n:
        return out
    h, lo, c = (np.ascontiguousarray(a[f0:], dtype=np.float64) for a in (high, low, close))
    method = p["method"]
    if method == "rules":
        res = rules_batch(h, lo, c, trend_period=p["trend_period"], slope_bars=p["slope_bars"],
                          vol_period=p["vol_period"], vol_window=p["vol_window"], vol_quantile=p["vol_quantile"],
                          hysteresis=p["hysteresis"])
        probs = _one_hot(res[:, 0])
        out[f0:] = _pack(len(c), probs, res[:, 1], res[:, 0], res[:, 2])
        return out
    feats = features_batch(h, lo, c)[1:]  # the first bar has no return
    if method == "bocpd":
        res = bocpd_batch(feats, train=p["train"], expected_run=p["expected_run"], max_run=p["max_run"],
                          cp_window=p["cp_window"], threshold=p["threshold"])
        out[f0 + 1 :] = _pack(len(feats), None, res[:, 1], res[:, 0], res[:, 2])
        return out
    probs, pc = fitted_batch(feats, method=method, n_states=p["n_states"], train=p["train"], refit=p["refit"],
                             window=p["window"], seed=p["seed"])
    labels = np.full(len(feats), NAN)
    since = np.full(len(feats), NAN)
    tracker = LabelTracker(p["switch_prob"], p["confirm"])
    for i in range(len(feats)):
        if not np.isnan(probs[i, 0]):
            labels[i], since[i] = tracker.step(probs[i])
    out[f0 + 1 :] = _pack(len(feats), probs, pc, labels, since)
    return out


def _one_hot(codes: np.ndarray) -> np.ndarray:
    probs = np.full((len(codes), MAX_STATES), NAN)
    ok = np.isfinite(codes)
    probs[ok] = 0.0
    idx = np.flatnonzero(ok)
    probs[idx, codes[ok].astype(np.int64)] = 1.0
    return probs


def detect_regimes(df: pd.DataFrame, method: str = "rules", **params: Any) -> pd.DataFrame:
    """The regime columns for an OHLC frame (same index). See the module docstring."""
    cols = {str(c).lower(): c for c in df.columns}
    missing = [k for k in ("high", "low", "close") if k not in cols]
    if missing:
        raise DataError(f"regime: the bars need columns {missing} (have {list(df.columns)})")
    from quantdesk.indicators.validation import check_array

    arrays = [check_array(df[cols[k]].to_numpy(dtype=np.float64), name=k, indicator="regime")
              for k in ("high", "low", "close")]
    out = regime_array(*arrays, method=method, **params)
    return pd.DataFrame(out, index=df.index, columns=list(OUTPUTS))


class RegimeStream:
    """Streaming twin of `detect_regimes`: `update(bar)` returns the OUTPUTS tuple of that bar, equal to the batch
    row (bit for bit: both run the same jitted steps and fit the same windows)."""

    inputs = ("high", "low", "close")

    def __init__(self, **params: Any) -> None:
        self.p = p = check_params(params)
        self.method = p["method"]
        self.started = False
        self.prev_close = NAN
        self.labels = LabelTracker(p["switch_prob"], p["confirm"])
        if self.method == "rules":
            self._rules = new_state(p["trend_period"], p["slope_bars"], p["vol_window"])
        elif self.method == "bocpd":
            self._bocpd = BocpdState(p["train"], p["expected_run"], p["max_run"], p["cp_window"], p["threshold"])
        else:
            self._fitted = FittedStream(method=self.method, n_states=p["n_states"], train=p["train"],
                                        refit=p["refit"], window=p["window"], seed=p["seed"])

    def update(self, bar: Any) -> tuple[float, ...]:
        if isinstance(bar, dict) or hasattr(bar, "__getitem__") and not hasattr(bar, "high"):
            h, lo, c = float(bar["high"]), float(bar["low"]), float(bar["close"])
        else:
            h, lo, c = float(bar.high), float(bar.low), float(bar.close)
        return self.step(h, lo, c)

    def step(self, high: float, low: float, close: float) -> tuple[float, ...]:
        empty = (NAN,) * len(OUTPUTS)
        if not self.started:
            if not (math.isfinite(high) and math.isfinite(low) and math.isfinite(close)):
                return empty
            self.started = True
        p = self.p
        if self.method == "rules":
            st, closes, smas, natrs = self._rules
            code, changed, since = rules_step(high, low, close, st, closes, smas, natrs, p["vol_period"],
                                              p["vol_quantile"], p["hysteresis"])
            if math.isnan(code):
                return empty
            onehot = [0.0] * MAX_STATES
            onehot[int(code)] = 1.0
            return (code, *onehot, changed, since)
        prev, self.prev_close = self.prev_close, close
        r, lr = bar_features(high, low, close, prev)
        if math.isnan(prev):
            return empty
        if self.method == "bocpd":
            code, pcp, since = self._bocpd.row(r, lr)
            return (code, NAN, NAN, NAN, NAN, pcp, since)
        probs, pc = self._fitted.step(r, lr)
        if probs is None:
            return empty
        label, since = self.labels.step(probs)
        padded = list(probs) + [NAN] * (MAX_STATES - len(probs))
        return (label, *padded, pc, since)
