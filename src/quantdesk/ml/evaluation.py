"""Scores of probabilities against outcomes, always next to the no-skill baseline, and the deflated Sharpe of the
strategy the probabilities imply.

- `classification_scores(y, p)`: AUC (baseline 0.5), Brier and log loss (baseline: the constant base rate),
  accuracy at 0.5 (baseline: always predicting the majority class), expected calibration error (ECE).
- `reliability(p, y, bins)`: the reliability diagram (mean predicted vs observed frequency per probability bin).
- `deciles(confidence, hit, ret)`: hit rate and mean return by confidence decile.
- `signal_strategy(p, close_returns, ...)`: long when p > upper (short when p < lower, if allowed), held one bar,
  fee per unit of position change; per-bar returns with the Sharpe, the probabilistic Sharpe and the deflated
  Sharpe ratio (`quantdesk.research.overfitting`), deflated for `trials` models tried.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EPS = 1e-15


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def classification_scores(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Out-of-sample scores with their baselines (see the module docstring)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n = len(y)
    if n == 0:
        return {"n": 0}
    base = float(y.mean())
    pc = np.clip(p, EPS, 1 - EPS)
    bc = min(max(base, EPS), 1 - EPS)
    two = len(np.unique(y)) == 2
    return {
        "n": int(n),
        "auc": _f(roc_auc_score(y, p)) if two else math.nan,
        "brier": float(np.mean((p - y) ** 2)),
        "baseline_brier": float(np.mean((base - y) ** 2)),
        "logloss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "baseline_logloss": float(-np.mean(y * math.log(bc) + (1 - y) * math.log(1 - bc))),
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "baseline_accuracy": float(max(base, 1 - base)),
        "base_rate": base,
        "ece": expected_calibration_error(p, y, bins),
    }


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Equal-width probability bins: count, mean predicted probability, observed frequency."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        k = int(m.sum())
        out.append({"bin": b, "lo": b / bins, "hi": (b + 1) / bins, "n": k,
                    "mean_predicted": float(p[m].mean()) if k else math.nan,
                    "observed": float(y[m].mean()) if k else math.nan})
    return out


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """sum over bins of (n_bin / n) x |observed - mean predicted|."""
    n = len(p)
    if n == 0:
        return math.nan
    return float(sum(r["n"] / n * abs(r["observed"] - r["mean_predicted"])
                     for r in reliability(p, y, bins) if r["n"]))


def deciles(confidence: np.ndarray, hit: np.ndarray, ret: np.ndarray | None = None, q: int = 10
            ) -> list[dict[str, float]]:
    """Hit rate, mean confidence and mean return per confidence quantile (rank-based, ties split evenly)."""
    c = np.asarray(confidence, dtype=np.float64)
    n = len(c)
    if n == 0:
        return []
    order = np.argsort(c, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    d = np.minimum(rank * q // n, q - 1)
    h = np.asarray(hit, dtype=np.float64)
    r = np.asarray(ret, dtype=np.float64) if ret is not None else None
    out = []
    for k in range(q):
        m = d == k
        if not m.any():
            continue
        row = {"decile": k + 1, "n": int(m.sum()), "mean_confidence": float(c[m].mean()),
               "min_confidence": float(c[m].min()), "max_confidence": float(c[m].max()),
               "hit_rate": float(h[m].mean())}
        if r is not None:
            row["mean_return"] = float(np.nanmean(r[m])) if np.isfinite(r[m]).any() else math.nan
        out.append(row)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return {"rho": math.nan, "p_value": math.nan}
    res = spearmanr(a[ok], b[ok])
    return {"rho": _f(res.statistic), "p_value": _f(res.pvalue)}


def signal_strategy(p: np.ndarray, next_returns: np.ndarray, *, upper: float = 0.5, lower: float = 0.5,
                    allow_short: bool = True, fee: float = 0.001, trials: int = 1,
                    sr_variance: float | None = None) -> dict[str, float]:
    """The trading rule implied by the probabilities (see the module docstring). `next_returns[i]` = simple return
    from the close of the decision bar to the next close. `trials` > 1 deflates the Sharpe for the models tried."""
    from quantdesk.research.overfitting import deflated_sharpe_ratio, moments, probabilistic_sharpe_ratio

    p = np.asarray(p, dtype=np.float64)
    r = np.asarray(next_returns, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    pos = np.where(p > upper, 1.0, np.where((p < lower) & allow_short, -1.0, 0.0))
    turnover = np.abs(np.diff(np.concatenate(([0.0], pos))))
    gross = pos * r
    net = gross - fee * turnover
    out: dict[str, float] = {"bars": float(len(p)), "exposure": float(np.mean(pos != 0)) if len(p) else math.nan,
                             "turnover": float(turnover.sum()), "fee": fee, "trials": float(trials)}
    for label, series in (("", net), ("gross_", gross)):
        m = moments(series)
        sr = m["sr"]
        psr = probabilistic_sharpe_ratio(sr, m["n_obs"], m["skew"], m["kurtosis"])
        var = sr_variance if sr_variance is not None else (1.0 / max(m["n_obs"] - 1, 1.0))
        dsr = deflated_sharpe_ratio(sr, m["n_obs"], m["skew"], m["kurtosis"], max(1, int(trials)), var) \
            if math.isfinite(sr) else math.nan
        out[f"{label}sharpe"] = _f(sr)
        out[f"{label}psr"] = _f(psr)
        out[f"{label}dsr"] = _f(dsr)
        out[f"{label}total_return"] = float(np.prod(1 + series) - 1) if len(series) else math.nan
    out["dsr_significant"] = bool(out["dsr"] > 0.95) if math.isfinite(out["dsr"]) else False
    return out
