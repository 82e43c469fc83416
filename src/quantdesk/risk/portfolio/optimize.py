"""Portfolio optimisation: maximum Sharpe, minimum volatility, risk parity and Black-Litterman.

Inputs are per-period SIMPLE returns (one column per asset). Expected returns and the covariance are
annualised with `periods_per_year` the way PyPortfolioOpt does it:
`mu = expected_returns.mean_historical_return(returns, returns_data=True, frequency=ppy)` (geometric mean,
compounded) and `S = risk_models.sample_cov(returns, returns_data=True, frequency=ppy)`.

- max_sharpe / min_vol: PyPortfolioOpt's `EfficientFrontier(mu, S, weight_bounds).max_sharpe(rf)` /
  `.min_volatility()` (cvxpy under the hood).
- risk_parity (equal risk contribution, long-only): PyPortfolioOpt has no ERC solver (HRPOpt is a
  different allocation), so we solve the convex problem of Spinu (2013), min 1/2 y'Sy - (1/n) sum log y_i,
  by damped Newton iterations and set w = y / sum(y); at the optimum every w_i (S w)_i is equal. If the
  ERC weights break the bounds, scipy SLSQP finds the bounded weights closest to equal contributions and
  the result says `equal_risk: false`.
- black_litterman: PyPortfolioOpt's `BlackLittermanModel` with the prior pi = delta * S * w_prior
  (`market_implied_prior_returns`; w_prior from market caps, or equal weights), views as P/Q matrices
  (absolute: a row e_i; relative: e_long - e_short), Idzorek confidences, then max Sharpe on the posterior
  returns and covariance under the bounds.

Bounds: (low, high) for every asset, or {symbol: (low, high)} per asset; long-only (0, 1) by default.
Infeasible bounds (sum of lows > 1, sum of highs < 1, low > high) raise ParameterError before any solver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.risk.portfolio import analytics as an
from quantdesk.risk.portfolio.scenarios import ViewsFile

OPT_METHODS = ("max_sharpe", "min_vol", "risk_parity", "black_litterman")
Bounds = tuple[float, float] | Mapping[str, tuple[float, float]]


@dataclass
class OptimizationResult:
    method: str
    weights: pd.Series
    expected_return: float  # annual
    volatility: float  # annual
    sharpe: float
    risk_contributions: pd.Series  # fraction of portfolio variance per asset (sums to 1)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "weights": self.weights.to_dict(),
            "expected_return": self.expected_return,
            "volatility": self.volatility,
            "sharpe": self.sharpe,
            "risk_contributions": self.risk_contributions.to_dict(),
            **self.extra,
        }


def _pypfopt() -> tuple[Any, Any, Any, Any, Any]:
    """PyPortfolioOpt's entry points (imported on use: an optional dependency without type hints)."""
    try:
        import pypfopt  # noqa: F401
    except ModuleNotFoundError:  # pragma: no cover - depends on the install
        raise ParameterError("portfolio optimisation needs PyPortfolioOpt: pip install pyportfolioopt") from None
    from pypfopt import BlackLittermanModel, EfficientFrontier, expected_returns, risk_models
    from pypfopt.black_litterman import market_implied_prior_returns

    return EfficientFrontier, BlackLittermanModel, expected_returns, risk_models, market_implied_prior_returns


def estimate_inputs(returns: pd.DataFrame, periods_per_year: float = 365.0) -> tuple[pd.Series, pd.DataFrame]:
    """Annualised expected returns (compounded mean) and sample covariance, exactly as PyPortfolioOpt makes them."""
    frame = an._as_frame(returns)
    if periods_per_year <= 0:
        raise ParameterError(f"periods_per_year must be > 0, got {periods_per_year}")
    _, _, expected_returns, risk_models, _ = _pypfopt()
    mu = expected_returns.mean_historical_return(frame, returns_data=True, frequency=periods_per_year)
    cov = risk_models.sample_cov(frame, returns_data=True, frequency=periods_per_year)
    return mu, cov


def resolve_bounds(columns: Iterable[str], bounds: Bounds | None = None) -> list[tuple[float, float]]:
    cols = list(columns)
    if bounds is None:
        pairs = [(0.0, 1.0)] * len(cols)
    elif isinstance(bounds, Mapping):
        unknown = [k for k in bounds if k not in cols]
        if unknown:
            raise ParameterError(f"bounds: {', '.join(unknown)} not among the assets ({', '.join(cols)})")
        pairs = [(float(lo), float(hi)) for lo, hi in (bounds.get(c, (0.0, 1.0)) for c in cols)]
    else:
        lo, hi = bounds
        pairs = [(float(lo), float(hi))] * len(cols)
    for c, (lo, hi) in zip(cols, pairs, strict=True):
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
            raise ParameterError(f"bounds for {c}: min {lo:g} > max {hi:g} (or not finite)")
        if lo < -1 or hi > 1:
            raise ParameterError(f"bounds for {c}: ({lo:g}, {hi:g}) must lie within [-1, 1]")
    lo_sum, hi_sum = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    if lo_sum > 1 + 1e-12:
        raise ParameterError(f"bounds are infeasible: the minimum weights sum to {lo_sum:g} > 1")
    if hi_sum < 1 - 1e-12:
        raise ParameterError(
            f"bounds are infeasible: the maximum weights sum to {hi_sum:g} < 1 "
            f"({len(cols)} assets x max {pairs[0][1]:g} cannot reach 100%)"
        )
    return pairs


def _ef_bounds(pairs: list[tuple[float, float]]) -> list[tuple[float, float]] | tuple[float, float]:
    return pairs[0] if all(p == pairs[0] for p in pairs) else pairs


def _finish(method: str, w: np.ndarray, mu: pd.Series, cov: pd.DataFrame, rf: float, **extra: Any) -> OptimizationResult:
    cols = list(cov.columns)
    w = np.asarray(w, dtype=np.float64)
    s = cov.to_numpy()
    var = float(w @ s @ w)
    vol = float(np.sqrt(max(var, 0.0)))
    ret = float(w @ mu.reindex(cols).to_numpy())
    rc = w * (s @ w) / var if var > 0 else np.full(len(w), np.nan)
    return OptimizationResult(
        method, pd.Series(w, index=cols, name="weight"), ret, vol, (ret - rf) / vol if vol > 0 else float("nan"),
        pd.Series(rc, index=cols, name="risk_contribution"), dict(extra),
    )


def _solver_error(method: str, exc: Exception) -> ParameterError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ParameterError(f"{method}: the optimiser found no solution ({text}); check the bounds and the data")


def max_sharpe(returns: pd.DataFrame, *, bounds: Bounds | None = None, risk_free_rate: float = 0.0,
               periods_per_year: float = 365.0) -> OptimizationResult:
    EfficientFrontier, *_ = _pypfopt()
    mu, cov = estimate_inputs(returns, periods_per_year)
    pairs = resolve_bounds(cov.columns, bounds)
    if not (mu > risk_free_rate).any():
        raise ParameterError(
            f"max_sharpe: no asset's expected return exceeds the risk-free rate {risk_free_rate:g} "
            f"(best {mu.max():.4g}); use min_vol or risk_parity"
        )
    ef = EfficientFrontier(mu, cov, weight_bounds=_ef_bounds(pairs))
    try:
        w = ef.max_sharpe(risk_free_rate=risk_free_rate)
    except Exception as exc:
        raise _solver_error("max_sharpe", exc) from None
    return _finish("max_sharpe", np.array([w[c] for c in cov.columns]), mu, cov, risk_free_rate)


def min_volatility(returns: pd.DataFrame, *, bounds: Bounds | None = None, risk_free_rate: float = 0.0,
                   periods_per_year: float = 365.0) -> OptimizationResult:
    EfficientFrontier, *_ = _pypfopt()
    mu, cov = estimate_inputs(returns, periods_per_year)
    pairs = resolve_bounds(cov.columns, bounds)
    ef = EfficientFrontier(mu, cov, weight_bounds=_ef_bounds(pairs))
    try:
        w = ef.min_volatility()
    except Exception as exc:
        raise _solver_error("min_vol", exc) from None
    return _finish("min_vol", np.array([w[c] for c in cov.columns]), mu, cov, risk_free_rate)


def erc_weights(cov: np.ndarray, tol: float = 1e-14, max_iter: int = 200) -> np.ndarray:
    """Long-only equal-risk-contribution weights by Newton's method on Spinu's convex problem."""
    s = np.asarray(cov, dtype=np.float64)
    n = s.shape[0]
    d = np.sqrt(np.diag(s))
    if np.any(d <= 0) or not np.all(np.isfinite(s)):
        raise ParameterError("risk_parity: every asset needs a positive, finite variance")
    # scale to unit variances for conditioning; y_i of the scaled problem maps back through 1/d_i
    c = s / np.outer(d, d)
    y = np.full(n, 1.0 / np.sqrt(n * c.sum() / n)) if c.sum() > 0 else np.full(n, 1.0)
    b = 1.0 / n
    for _ in range(max_iter):
        grad = c @ y - b / y
        if np.max(np.abs(grad * y)) < tol:
            break
        hess = c + np.diag(b / y**2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while np.any(y - t * step <= 0):
            t *= 0.5
        y = y - t * step
    w = y / d
    out: np.ndarray = w / w.sum()
    return out


def risk_parity(returns: pd.DataFrame, *, bounds: Bounds | None = None, risk_free_rate: float = 0.0,
                periods_per_year: float = 365.0) -> OptimizationResult:
    mu, cov = estimate_inputs(returns, periods_per_year)
    pairs = resolve_bounds(cov.columns, bounds)
    s = cov.to_numpy()
    w = erc_weights(s)
    lo, hi = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    if np.all(w >= lo - 1e-12) and np.all(w <= hi + 1e-12):
        return _finish("risk_parity", w, mu, cov, risk_free_rate, equal_risk=True, solver="newton-spinu")
    from scipy.optimize import minimize

    def objective(x: np.ndarray) -> float:
        rc = x * (s @ x)
        return float(np.sum((rc / rc.sum() - 1.0 / len(x)) ** 2))

    x0 = np.clip(w, lo, hi)
    x0 = x0 / x0.sum() if x0.sum() > 0 else np.full(len(w), 1.0 / len(w))
    def fully_invested(x: np.ndarray) -> float:
        return float(x.sum() - 1.0)

    res = minimize(objective, x0, method="SLSQP", bounds=list(zip(lo, hi, strict=True)),
                   constraints=[{"type": "eq", "fun": fully_invested}], options={"ftol": 1e-12, "maxiter": 1000})
    x = np.clip(res.x, lo, hi)
    # SLSQP may stop with "positive directional derivative" at a feasible optimum; accept any feasible point
    if not np.all(np.isfinite(x)) or abs(x.sum() - 1.0) > 1e-6:
        raise ParameterError(f"risk_parity: no solution within the bounds ({res.message})")
    return _finish("risk_parity", x / x.sum(), mu, cov, risk_free_rate, equal_risk=False, solver="scipy-slsqp",
                   note="the equal-risk weights break the bounds; these are the bounded weights closest to equal risk")


def black_litterman(returns: pd.DataFrame, views: ViewsFile, *, bounds: Bounds | None = None,
                    risk_free_rate: float = 0.0, periods_per_year: float = 365.0) -> OptimizationResult:
    EfficientFrontier, BlackLittermanModel, _, _, market_implied_prior_returns = _pypfopt()
    mu, cov = estimate_inputs(returns, periods_per_year)
    cols = list(cov.columns)
    pairs = resolve_bounds(cols, bounds)
    P, Q, conf = bl_view_matrices(cols, views)
    if views.prior == "market_cap":
        caps = views.market_caps or {}
        missing = [c for c in cols if c not in caps]
        if missing:
            raise ParameterError(f"views: market_caps lacks {', '.join(missing)}")
        cap_series = pd.Series({c: float(caps[c]) for c in cols})
    else:
        cap_series = pd.Series(1.0, index=cols)
    pi = market_implied_prior_returns(cap_series, views.risk_aversion, cov, risk_free_rate)
    try:
        bl = BlackLittermanModel(cov, pi=pi, P=P, Q=Q, omega="idzorek", view_confidences=conf,
                                 tau=views.tau, risk_aversion=views.risk_aversion)
        post_mu, post_cov = bl.bl_returns(), bl.bl_cov()
    except Exception as exc:
        raise _solver_error("black_litterman", exc) from None
    if not (post_mu > risk_free_rate).any():
        raise ParameterError(f"black_litterman: no posterior return exceeds the risk-free rate {risk_free_rate:g}")
    ef = EfficientFrontier(post_mu, post_cov, weight_bounds=_ef_bounds(pairs))
    try:
        w = ef.max_sharpe(risk_free_rate=risk_free_rate)
    except Exception as exc:
        raise _solver_error("black_litterman", exc) from None
    return _finish(
        "black_litterman", np.array([w[c] for c in cols]), post_mu, post_cov, risk_free_rate,
        prior_returns=pi.to_dict(), posterior_returns=post_mu.to_dict(), historical_returns=mu.to_dict(),
        prior=views.prior, n_views=len(views.views),
    )


def bl_view_matrices(cols: Sequence[str], views: ViewsFile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The picking matrix P, view returns Q (column) and confidences from a views file."""
    from quantdesk.model.identifiers import normalize_symbol

    index = {c: i for i, c in enumerate(cols)}

    def pos(sym: str, i: int) -> int:
        key = sym if sym in index else normalize_symbol(sym)
        if key not in index:
            raise ParameterError(f"views[{i}]: asset {sym!r} is not among the optimised assets ({', '.join(cols)})")
        return index[key]

    P = np.zeros((len(views.views), len(cols)))
    Q = np.zeros((len(views.views), 1))
    conf = np.zeros(len(views.views))
    for i, v in enumerate(views.views):
        if v.relative:
            assert v.long is not None and v.short is not None  # checked by the view's validator
            P[i, pos(v.long, i)] = 1.0
            P[i, pos(v.short, i)] = -1.0
        else:
            assert v.asset is not None  # checked by the view's validator
            P[i, pos(v.asset, i)] = 1.0
        Q[i, 0] = v.return_
        conf[i] = v.confidence
    return P, Q, conf


def optimize(method: str, returns: pd.DataFrame, *, views: ViewsFile | None = None, **kw: Any) -> OptimizationResult:
    if method == "max_sharpe":
        return max_sharpe(returns, **kw)
    if method == "min_vol":
        return min_volatility(returns, **kw)
    if method == "risk_parity":
        return risk_parity(returns, **kw)
    if method == "black_litterman":
        if views is None:
            raise ParameterError("black_litterman needs views (--views FILE)")
        return black_litterman(returns, views, **kw)
    raise ParameterError(f"optimisation method {method!r} unknown; choose from {', '.join(OPT_METHODS)}")
