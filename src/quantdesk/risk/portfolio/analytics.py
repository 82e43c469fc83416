"""Portfolio risk analytics: volatility, VaR/CVaR (four methods), beta, correlation, heat, component VaR.

Everything here is a pure function of plain pandas/numpy inputs (a DataFrame of per-period SIMPLE returns,
one column per asset, and portfolio weights), so it is testable without the candle store.

Conventions (all documented values are tested):

- Losses are reported as POSITIVE fractions of portfolio value (a VaR of 0.05 = "5 % of the book"), and in
  currency as `fraction * value`. A level `alpha` is the confidence (0.95, 0.99); the tail has mass `1 - alpha`.
- Portfolio return per period = returns @ weights (weights are fractions of the portfolio's net value; the
  weights are held constant, i.e. rebalanced every period).
- Historical VaR: the empirical `alpha`-quantile of the loss sample `L = -r` with LINEAR interpolation between
  order statistics (Hyndman-Fan type 7, numpy's default): sort L ascending as L(0) <= ... <= L(n-1), put
  h = (n - 1) * alpha, then VaR = L(floor h) + (h - floor h) * (L(floor h + 1) - L(floor h)).
  Historical CVaR (expected shortfall) = the mean of the losses that are >= VaR (the tail at or beyond VaR).
- Parametric (normal) VaR = -(mu + sigma * q) with q = Phi^-1(1 - alpha); CVaR = sigma * phi(q) / (1 - alpha) - mu.
  sigma is the sample standard deviation (ddof=1); mu the sample mean (set `include_mean=False` for a
  zero-mean VaR, as RiskMetrics does).
- Cornish-Fisher VaR replaces q by the skew/kurtosis-adjusted quantile
  q_cf = q + (q^2 - 1) S/6 + (q^3 - 3q) K/24 - (2q^3 - 5q) S^2/36, with S the sample skewness and K the
  sample EXCESS kurtosis, both the plain moment ratios (m3/m2^1.5 and m4/m2^2 - 3, scipy's default bias=True).
  Cornish-Fisher CVaR is the average of the Cornish-Fisher VaR over all tail levels u in (alpha, 1), which
  has the closed form CVaR = -(mu + sigma * E_cf) with, for p = 1 - alpha,
  E_cf = -phi(q)/p * [1 + q S/6 + (q^2 - 1) K/24 - (2q^2 - 1) S^2/36].
- Monte Carlo: `n_sims` draws of the asset return vector from a multivariate normal with the sample mean
  vector and the sample covariance (ddof=1), seeded (numpy default_rng(seed)); the simulated portfolio
  returns are then measured with the historical convention above.
- Component VaR (parametric, Euler): marginal_i = dVaR/dw_i = z (Sigma w)_i / sigma_p - mu_i and
  component_i = w_i * marginal_i, with z = Phi^-1(alpha); the components sum exactly to the parametric VaR
  (with `include_mean=False`, the mu terms vanish and component_i = w_i (Sigma w)_i / sigma_p * z).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError, ParameterError

METHODS = ("historical", "parametric", "cornish_fisher", "monte_carlo")
DEFAULT_LEVELS = (0.95, 0.99)
MIN_OBSERVATIONS = 3


# ---- inputs ----------------------------------------------------------------------------------------------
def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.5 <= alpha < 1.0:
        raise ParameterError(f"confidence level alpha={alpha} must be in [0.5, 1) (e.g. 0.95 or 0.99)")
    return alpha


def _as_1d(values: Any, name: str = "returns") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    if arr.size < MIN_OBSERVATIONS:
        raise DataError(f"{name}: need at least {MIN_OBSERVATIONS} non-missing observations, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{name}: contains infinite values")
    return arr


def _as_frame(returns: pd.DataFrame | np.ndarray, name: str = "returns") -> pd.DataFrame:
    if isinstance(returns, pd.Series):
        returns = returns.to_frame()
    frame = returns if isinstance(returns, pd.DataFrame) else pd.DataFrame(np.asarray(returns, dtype=np.float64))
    frame = frame.astype("float64").dropna(how="any")
    if len(frame) < MIN_OBSERVATIONS:
        raise DataError(f"{name}: need at least {MIN_OBSERVATIONS} complete rows (no NaN in any column), got {len(frame)}")
    if not np.all(np.isfinite(frame.to_numpy())):
        raise DataError(f"{name}: contains infinite values")
    return frame


@overload
def to_returns(prices: pd.DataFrame) -> pd.DataFrame: ...
@overload
def to_returns(prices: pd.Series) -> pd.Series: ...
def to_returns(prices: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Per-period simple returns p_t / p_{t-1} - 1 (the first row, which has no previous price, is dropped)."""
    if (np.asarray(prices, dtype=np.float64) <= 0).any():
        raise DataError("prices: every price must be > 0 to compute returns")
    return prices.pct_change().iloc[1:]


def align_prices(series: Mapping[str, pd.Series]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Inner-join price series on their common timestamps; returns the frame and what was kept.

    The info dict has `rows_kept` and per-symbol `rows` (before the join) so callers can say how much the
    different calendars cost.
    """
    if not series:
        raise ParameterError("no price series to align")
    frame = pd.concat({k: pd.Series(v, dtype="float64") for k, v in series.items()}, axis=1, join="inner").sort_index()
    frame = frame.dropna(how="any")
    info = {"rows": {k: int(len(v)) for k, v in series.items()}, "rows_kept": int(len(frame))}
    if len(frame):
        info["first"], info["last"] = frame.index[0], frame.index[-1]
    return frame, info


def resolve_weights(
    columns: Iterable[str],
    weights: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
    *,
    book: Mapping[str, float] | None = None,
    tol: float = 1e-6,
    normalize: bool = False,
) -> tuple[np.ndarray, float | None]:
    """Weights as an array aligned with `columns`, plus the book's net value when `book` was given.

    `weights` (sequence in column order or {symbol: weight}) must sum to 1 within `tol` unless
    `normalize=True`. A `book` {symbol: market value} gives weights = value_i / sum(values) (short positions
    are negative values) and the portfolio value = sum(values), which must be > 0. None = equal weights.
    """
    cols = list(columns)
    n = len(cols)
    if book is not None:
        if weights is not None:
            raise ParameterError("give either weights or a book of positions, not both")
        unknown = [k for k in book if k not in cols]
        if unknown:
            raise ParameterError(f"book: no return history for {', '.join(map(str, unknown))} (have {', '.join(cols)})")
        values = np.array([float(book.get(c, 0.0)) for c in cols])
        total = float(values.sum())
        if not np.isfinite(total) or total <= 0:
            raise ParameterError(f"book: the net market value must be > 0 to express weights, got {total:g}")
        return values / total, total
    if weights is None:
        return np.full(n, 1.0 / n), None
    if isinstance(weights, Mapping):
        unknown = [k for k in weights if k not in cols]
        if unknown:
            raise ParameterError(f"weights: no return history for {', '.join(map(str, unknown))} (have {', '.join(cols)})")
        w = np.array([float(weights.get(c, 0.0)) for c in cols])
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.size != n:
            raise ParameterError(f"weights: got {w.size} weights for {n} assets ({', '.join(cols)})")
    if not np.all(np.isfinite(w)):
        raise ParameterError("weights: must be finite numbers")
    total = float(w.sum())
    if abs(total - 1.0) > tol:
        if not normalize:
            raise ParameterError(f"weights sum to {total:.6g}, not 1 (pass normalize=True / --normalize to rescale)")
        if total <= 0:
            raise ParameterError(f"weights sum to {total:.6g}; cannot normalise a non-positive total")
        w = w / total
    return w, None


def portfolio_returns(returns: pd.DataFrame, weights: Any = None, **kw: Any) -> pd.Series:
    """Per-period portfolio returns with constant weights (returns @ w)."""
    frame = _as_frame(returns)
    w, _ = resolve_weights(frame.columns, weights, **kw)
    return pd.Series(frame.to_numpy() @ w, index=frame.index, name="portfolio")


# ---- volatility ------------------------------------------------------------------------------------------
def portfolio_volatility(returns: pd.DataFrame, weights: Any = None, periods_per_year: float = 365.0) -> dict[str, float]:
    """sigma_p = sqrt(w' Sigma w) per period (sample covariance, ddof=1) and annualised by sqrt(periods_per_year)."""
    if periods_per_year <= 0:
        raise ParameterError(f"periods_per_year must be > 0, got {periods_per_year}")
    frame = _as_frame(returns)
    w, _ = resolve_weights(frame.columns, weights)
    cov = np.cov(frame.to_numpy(), rowvar=False, ddof=1).reshape(len(w), len(w))
    vol = float(np.sqrt(max(w @ cov @ w, 0.0)))
    return {"per_period": vol, "annualised": vol * float(np.sqrt(periods_per_year)), "periods_per_year": float(periods_per_year)}


def asset_volatility(returns: pd.DataFrame, periods_per_year: float = 365.0) -> pd.DataFrame:
    frame = _as_frame(returns)
    sd = frame.std(ddof=1)
    return pd.DataFrame({"vol": sd, "vol_annual": sd * np.sqrt(periods_per_year)})


# ---- VaR / CVaR kernels on one return vector -----------------------------------------------------------
def historical_var(returns: Any, alpha: float = 0.95) -> float:
    """Loss at the empirical alpha-quantile of L = -r, linear interpolation (type 7). Positive = loss."""
    alpha = _check_alpha(alpha)
    losses = -_as_1d(returns)
    return float(np.quantile(losses, alpha, method="linear"))


def historical_cvar(returns: Any, alpha: float = 0.95) -> float:
    """Mean of the losses at or beyond the historical VaR."""
    alpha = _check_alpha(alpha)
    losses = -_as_1d(returns)
    var = np.quantile(losses, alpha, method="linear")
    tail = losses[losses >= var]
    return float(tail.mean() if tail.size else losses.max())


def _moments(r: np.ndarray) -> tuple[float, float, float, float]:
    mu = float(r.mean())
    sigma = float(r.std(ddof=1))
    d = r - mu
    m2 = float(np.mean(d**2))
    if m2 <= 0:
        return mu, sigma, 0.0, 0.0
    skew = float(np.mean(d**3) / m2**1.5)
    kurt = float(np.mean(d**4) / m2**2 - 3.0)
    return mu, sigma, skew, kurt


def _norm_ppf(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def _norm_pdf(x: float) -> float:
    return float(np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi))


def parametric_var(returns: Any, alpha: float = 0.95, include_mean: bool = True) -> float:
    alpha = _check_alpha(alpha)
    mu, sigma, _, _ = _moments(_as_1d(returns))
    mu = mu if include_mean else 0.0
    return float(-(mu + sigma * _norm_ppf(1 - alpha)))


def parametric_cvar(returns: Any, alpha: float = 0.95, include_mean: bool = True) -> float:
    alpha = _check_alpha(alpha)
    mu, sigma, _, _ = _moments(_as_1d(returns))
    mu = mu if include_mean else 0.0
    q = _norm_ppf(1 - alpha)
    return float(sigma * _norm_pdf(q) / (1 - alpha) - mu)


def cornish_fisher_z(q: float, skew: float, kurt: float) -> float:
    """The Cornish-Fisher adjusted standard-normal quantile (kurt = EXCESS kurtosis)."""
    return q + (q**2 - 1) * skew / 6 + (q**3 - 3 * q) * kurt / 24 - (2 * q**3 - 5 * q) * skew**2 / 36


def cornish_fisher_var(returns: Any, alpha: float = 0.95, include_mean: bool = True) -> float:
    alpha = _check_alpha(alpha)
    mu, sigma, skew, kurt = _moments(_as_1d(returns))
    mu = mu if include_mean else 0.0
    return float(-(mu + sigma * cornish_fisher_z(_norm_ppf(1 - alpha), skew, kurt)))


def cornish_fisher_cvar(returns: Any, alpha: float = 0.95, include_mean: bool = True) -> float:
    """Average of the Cornish-Fisher VaR over the tail levels (closed form, see the module docstring)."""
    alpha = _check_alpha(alpha)
    mu, sigma, skew, kurt = _moments(_as_1d(returns))
    mu = mu if include_mean else 0.0
    p = 1 - alpha
    q = _norm_ppf(p)
    e_cf = -_norm_pdf(q) / p * (1 + q * skew / 6 + (q**2 - 1) * kurt / 24 - (2 * q**2 - 1) * skew**2 / 36)
    return float(-(mu + sigma * e_cf))


def simulate_portfolio_returns(
    returns: pd.DataFrame, weights: Any = None, n_sims: int = 100_000, seed: int | None = 0, include_mean: bool = True
) -> np.ndarray:
    """Seeded multivariate-normal draws (sample mean, sample covariance) mapped to portfolio returns."""
    if int(n_sims) < 100:
        raise ParameterError(f"n_sims must be >= 100, got {n_sims}")
    frame = _as_frame(returns)
    w, _ = resolve_weights(frame.columns, weights)
    x = frame.to_numpy()
    mean = x.mean(axis=0) if include_mean else np.zeros(x.shape[1])
    cov = np.cov(x, rowvar=False, ddof=1).reshape(len(w), len(w))
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(mean, cov, size=int(n_sims), method="eigh")
    out: np.ndarray = draws @ w
    return out


def monte_carlo_var(returns: pd.DataFrame, weights: Any = None, alpha: float = 0.95, **kw: Any) -> float:
    return historical_var(simulate_portfolio_returns(returns, weights, **kw), alpha)


def monte_carlo_cvar(returns: pd.DataFrame, weights: Any = None, alpha: float = 0.95, **kw: Any) -> float:
    return historical_cvar(simulate_portfolio_returns(returns, weights, **kw), alpha)


# ---- the full VaR table ---------------------------------------------------------------------------------
def var_table(
    returns: pd.DataFrame,
    weights: Any = None,
    *,
    value: float | None = None,
    levels: Iterable[float] = DEFAULT_LEVELS,
    methods: Iterable[str] = METHODS,
    n_sims: int = 100_000,
    seed: int | None = 0,
    include_mean: bool = True,
    book: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """VaR and CVaR of the portfolio for every (method, level): fractions and, with `value`, currency.

    Columns: method, level, var, cvar, var_value, cvar_value (the last two only when value is known).
    With `book` ({symbol: market value}) the weights and the value (net sum) come from the book.
    """
    frame = _as_frame(returns)
    w, book_value = resolve_weights(frame.columns, weights, book=book)
    value = book_value if value is None else value
    levels = [_check_alpha(a) for a in levels]
    methods = list(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ParameterError(f"VaR method {bad[0]!r} unknown; choose from {', '.join(METHODS)}")
    port = frame.to_numpy() @ w
    sims = simulate_portfolio_returns(frame, w, n_sims=n_sims, seed=seed, include_mean=include_mean) if "monte_carlo" in methods else None
    rows = []
    for method in methods:
        for a in levels:
            if method == "historical":
                v, c = historical_var(port, a), historical_cvar(port, a)
            elif method == "parametric":
                v, c = parametric_var(port, a, include_mean), parametric_cvar(port, a, include_mean)
            elif method == "cornish_fisher":
                v, c = cornish_fisher_var(port, a, include_mean), cornish_fisher_cvar(port, a, include_mean)
            else:
                v, c = historical_var(sims, a), historical_cvar(sims, a)
            row = {"method": method, "level": a, "var": v, "cvar": c}
            if value is not None:
                row["var_value"] = v * float(value)
                row["cvar_value"] = c * float(value)
            rows.append(row)
    return pd.DataFrame(rows)


# ---- beta, correlation ---------------------------------------------------------------------------------
def _pair(asset: Any, benchmark: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(asset, pd.Series) and isinstance(benchmark, pd.Series):
        both = pd.concat([asset, benchmark], axis=1, join="inner").dropna()
        a, b = both.iloc[:, 0].to_numpy(np.float64), both.iloc[:, 1].to_numpy(np.float64)
    else:
        a, b = np.asarray(asset, dtype=np.float64).ravel(), np.asarray(benchmark, dtype=np.float64).ravel()
        if a.size != b.size:
            raise DataError(f"beta/correlation: series lengths differ ({a.size} vs {b.size})")
        ok = ~(np.isnan(a) | np.isnan(b))
        a, b = a[ok], b[ok]
    if a.size < MIN_OBSERVATIONS:
        raise DataError(f"beta/correlation: need at least {MIN_OBSERVATIONS} common observations, got {a.size}")
    return a, b


def beta(asset: Any, benchmark: Any) -> float:
    """OLS slope of asset returns on benchmark returns: cov(a, b) / var(b) (same as numpy.polyfit deg 1)."""
    a, b = _pair(asset, benchmark)
    db = b - b.mean()
    var_b = float(db @ db)
    if var_b == 0:
        raise DataError("beta: the benchmark returns are constant (zero variance)")
    return float((a - a.mean()) @ db / var_b)


def correlation(asset: Any, benchmark: Any) -> float:
    a, b = _pair(asset, benchmark)
    da, db = a - a.mean(), b - b.mean()
    den = float(np.sqrt((da @ da) * (db @ db)))
    return float(da @ db / den) if den > 0 else float("nan")


def correlation_matrix(returns: pd.DataFrame) -> pd.DataFrame:
    frame = _as_frame(returns)
    c = np.corrcoef(frame.to_numpy(), rowvar=False).reshape(frame.shape[1], frame.shape[1])
    return pd.DataFrame(c, index=pd.Index(frame.columns, name="symbol"), columns=list(frame.columns))


def asset_stats(
    returns: pd.DataFrame, benchmark: pd.Series | None = None, periods_per_year: float = 365.0
) -> pd.DataFrame:
    """Per-asset volatility (per period, annualised) and, with a benchmark, beta and correlation to it."""
    frame = _as_frame(returns)
    out = asset_volatility(frame, periods_per_year)
    if benchmark is not None:
        out["beta"] = [beta(frame[c], benchmark) for c in frame.columns]
        out["corr"] = [correlation(frame[c], benchmark) for c in frame.columns]
    out.index.name = "symbol"
    return out


# ---- component VaR -------------------------------------------------------------------------------------
def component_var(
    returns: pd.DataFrame,
    weights: Any = None,
    alpha: float = 0.95,
    *,
    value: float | None = None,
    include_mean: bool = True,
    book: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Parametric marginal and component VaR per asset (Euler allocation; components sum to the total).

    Columns: weight, marginal_var, component_var, pct_contribution (+ component_var_value with a value
    or a book). The total is `parametric_var(returns @ w, alpha, include_mean)`.
    """
    alpha = _check_alpha(alpha)
    frame = _as_frame(returns)
    w, book_value = resolve_weights(frame.columns, weights, book=book)
    value = book_value if value is None else value
    x = frame.to_numpy()
    cov = np.cov(x, rowvar=False, ddof=1).reshape(len(w), len(w))
    mu = x.mean(axis=0) if include_mean else np.zeros(len(w))
    sigma_p = float(np.sqrt(max(w @ cov @ w, 0.0)))
    if sigma_p == 0:
        raise DataError("component VaR: the portfolio has zero variance")
    z = _norm_ppf(alpha)
    marginal = z * (cov @ w) / sigma_p - mu
    comp = w * marginal
    total = float(comp.sum())
    out = pd.DataFrame(
        {"weight": w, "marginal_var": marginal, "component_var": comp, "pct_contribution": comp / total if total else np.nan},
        index=pd.Index(frame.columns, name="symbol"),
    )
    if value is not None:
        out["component_var_value"] = comp * float(value)
    return out


# ---- heat ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StopPosition:
    """An open position with its protective stop. qty > 0 long, < 0 short; stop None = unprotected."""

    symbol: str
    qty: float
    entry: float
    stop: float | None = None


def portfolio_heat(positions: Iterable[StopPosition | Mapping[str, Any]], equity: float | None = None) -> dict[str, Any]:
    """Total risk to the stops: sum over positions of qty * (entry - stop) (long; for shorts qty < 0 gives
    |qty| * (stop - entry)). A stop already past the entry (profit locked in) counts as 0 risk; a position
    without a stop counts its whole entry notional |qty| * entry and is listed in `unprotected`.
    """
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(positions):
        if isinstance(p, Mapping):
            try:
                p = StopPosition(str(p["symbol"]), float(p["qty"]), float(p["entry"]), None if p.get("stop") is None else float(p["stop"]))
            except KeyError as exc:
                raise ParameterError(f"position {i}: missing key {exc.args[0]!r} (need symbol, qty, entry, stop)") from None
        if p.entry <= 0 or (p.stop is not None and p.stop < 0):
            raise ParameterError(f"position {i} ({p.symbol}): entry must be > 0 and stop >= 0")
        raw = abs(p.qty) * p.entry if p.stop is None else p.qty * (p.entry - p.stop)
        rows.append({"symbol": p.symbol, "qty": p.qty, "entry": p.entry, "stop": p.stop, "risk": raw, "heat": max(raw, 0.0)})
    heat = float(sum(r["heat"] for r in rows))
    out: dict[str, Any] = {"positions": rows, "heat": heat, "unprotected": [r["symbol"] for r in rows if r["stop"] is None]}
    if equity is not None:
        if equity <= 0:
            raise ParameterError(f"equity must be > 0, got {equity}")
        out["heat_pct"] = heat / float(equity)
    return out
