"""Optimisers: our weights equal PyPortfolioOpt's own direct calls; bounds; equal risk contributions; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypfopt import BlackLittermanModel, EfficientFrontier, expected_returns, risk_models
from pypfopt.black_litterman import market_implied_prior_returns

from quantdesk.core.errors import ConfigError, ParameterError
from quantdesk.risk.portfolio import optimize as opt
from quantdesk.risk.portfolio.scenarios import ViewsFile, load_views

DATA = Path(__file__).resolve().parents[2] / "data"
COLS = ["A/X", "B/X", "C/X", "D/X", "E/X"]


@pytest.fixture(scope="module")
def rets() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    mix = np.array([[1, .3, .2, 0, .1], [0, 1, .4, .1, 0], [0, 0, 1, .5, .2], [0, 0, 0, 1, .3], [0, 0, 0, 0, 1.0]])
    x = rng.normal([0.002, 0.001, 0.0015, 0.0005, 0.001], 0.02, (600, 5)) @ mix
    return pd.DataFrame(x, columns=COLS)


def _direct(rets: pd.DataFrame, ppy: float = 365) -> tuple[pd.Series, pd.DataFrame]:
    return (expected_returns.mean_historical_return(rets, returns_data=True, frequency=ppy),
            risk_models.sample_cov(rets, returns_data=True, frequency=ppy))


def _check(w: pd.Series, lo: float = 0.0, hi: float = 1.0) -> None:
    assert w.sum() == pytest.approx(1.0, abs=1e-8)
    assert (w >= lo - 1e-8).all() and (w <= hi + 1e-8).all()


@pytest.mark.parametrize("bounds", [None, (0.0, 0.35), (0.05, 0.5)])
def test_max_sharpe_matches_pypfopt(rets: pd.DataFrame, bounds: tuple[float, float] | None) -> None:
    mu, S = _direct(rets)
    ef = EfficientFrontier(mu, S, weight_bounds=bounds or (0, 1))
    direct = pd.Series(ef.max_sharpe(risk_free_rate=0.02))
    ours = opt.max_sharpe(rets, bounds=bounds, risk_free_rate=0.02)
    assert np.allclose(ours.weights.to_numpy(), direct[COLS].to_numpy(), atol=1e-6)
    _check(ours.weights, *(bounds or (0, 1)))
    ret, vol, sharpe = ef.portfolio_performance(risk_free_rate=0.02)
    assert ours.expected_return == pytest.approx(ret, rel=1e-6) and ours.volatility == pytest.approx(vol, rel=1e-6)
    assert ours.sharpe == pytest.approx(sharpe, rel=1e-6)


@pytest.mark.parametrize("bounds", [None, (0.0, 0.25), (0.1, 0.6)])
def test_min_vol_matches_pypfopt(rets: pd.DataFrame, bounds: tuple[float, float] | None) -> None:
    mu, S = _direct(rets)
    direct = pd.Series(EfficientFrontier(mu, S, weight_bounds=bounds or (0, 1)).min_volatility())
    ours = opt.min_volatility(rets, bounds=bounds)
    assert np.allclose(ours.weights.to_numpy(), direct[COLS].to_numpy(), atol=1e-6)
    _check(ours.weights, *(bounds or (0, 1)))


def test_per_asset_bounds(rets: pd.DataFrame) -> None:
    per = {"A/X": (0.1, 0.2), "B/X": (0.0, 0.3), "C/X": (0.25, 0.5), "D/X": (0.0, 0.3), "E/X": (0.0, 0.3)}
    mu, S = _direct(rets)
    direct = pd.Series(EfficientFrontier(mu, S, weight_bounds=[per[c] for c in COLS]).min_volatility())
    ours = opt.min_volatility(rets, bounds=per)
    assert np.allclose(ours.weights.to_numpy(), direct[COLS].to_numpy(), atol=1e-6)
    for c, (lo, hi) in per.items():
        assert lo - 1e-8 <= ours.weights[c] <= hi + 1e-8


def test_risk_parity_equal_contributions(rets: pd.DataFrame) -> None:
    res = opt.risk_parity(rets)
    w = res.weights.to_numpy()
    _, S = _direct(rets)
    rc = w * (S.to_numpy() @ w)  # independent: contributions from the library's covariance
    assert np.max(np.abs(rc / rc.mean() - 1)) < 1e-6
    assert res.extra["equal_risk"] is True
    _check(res.weights)
    assert np.allclose(res.risk_contributions, 0.2, rtol=1e-6)


def test_risk_parity_on_real_alt_coins() -> None:
    closes = {}
    for c in ("ETH", "LTC", "XMR", "ADA", "ZEC"):
        df = pd.read_csv(DATA / "multi_5m_2018-01" / f"{c}-BTC_5m.csv", index_col="timestamp")
        closes[c] = df["close"]
    r = pd.concat(closes, axis=1, join="inner").pct_change().dropna()
    res = opt.risk_parity(r, periods_per_year=105_120)
    w = res.weights.to_numpy()
    c = np.cov(r.to_numpy(), rowvar=False)
    rc = w * (c @ w)
    assert np.max(np.abs(rc / rc.mean() - 1)) < 1e-6
    # lower-volatility coins get more weight
    vol = r.std()
    assert res.weights[vol.idxmin()] > res.weights[vol.idxmax()]


def test_risk_parity_with_binding_bounds(rets: pd.DataFrame) -> None:
    free = opt.risk_parity(rets)
    hi = float(free.weights.max()) - 0.02
    res = opt.risk_parity(rets, bounds=(0.0, hi))
    _check(res.weights, 0.0, hi)
    assert res.extra["equal_risk"] is False and "closest to equal risk" in res.extra["note"]


def test_black_litterman_matches_pypfopt(rets: pd.DataFrame) -> None:
    views = ViewsFile.model_validate({
        "prior": "market_cap",
        "market_caps": {"A/X": 5e11, "B/X": 2e11, "C/X": 1e11, "D/X": 5e10, "E/X": 2e10},
        "risk_aversion": 3.0,
        "tau": 0.05,
        "views": [
            {"asset": "A/X", "return": 0.25, "confidence": 0.6},
            {"long": "C/X", "short": "D/X", "return": 0.05, "confidence": 0.3},
        ],
    })
    ours = opt.black_litterman(rets, views, bounds=(0, 0.6), risk_free_rate=0.01)
    _, S = _direct(rets)
    caps = pd.Series({"A/X": 5e11, "B/X": 2e11, "C/X": 1e11, "D/X": 5e10, "E/X": 2e10})
    pi = market_implied_prior_returns(caps, 3.0, S, 0.01)
    P = np.array([[1, 0, 0, 0, 0], [0, 0, 1, -1, 0.0]])
    Q = np.array([[0.25], [0.05]])
    bl = BlackLittermanModel(S, pi=pi, P=P, Q=Q, omega="idzorek", view_confidences=[0.6, 0.3], tau=0.05, risk_aversion=3.0)
    direct = pd.Series(EfficientFrontier(bl.bl_returns(), bl.bl_cov(), weight_bounds=(0, 0.6)).max_sharpe(risk_free_rate=0.01))
    assert np.allclose(ours.weights.to_numpy(), direct[COLS].to_numpy(), atol=1e-6)
    _check(ours.weights, 0, 0.6)
    assert ours.extra["posterior_returns"]["A/X"] == pytest.approx(bl.bl_returns()["A/X"])


def test_black_litterman_equal_prior_is_implied_by_equal_weights(rets: pd.DataFrame) -> None:
    views = ViewsFile.model_validate({"views": [{"asset": "B/X", "return": 0.1, "confidence": 0.5}]})
    res = opt.black_litterman(rets, views)
    _, S = _direct(rets)
    expected_pi = 2.5 * S.to_numpy() @ np.full(5, 0.2)  # delta * Sigma * w_equal
    assert np.allclose(pd.Series(res.extra["prior_returns"])[COLS].to_numpy(), expected_pi, rtol=1e-10)


def test_infeasible_bounds_errors(rets: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="maximum weights sum to 0.75 < 1"):
        opt.max_sharpe(rets, bounds=(0, 0.15))
    with pytest.raises(ParameterError, match="minimum weights sum to 1.5 > 1"):
        opt.min_volatility(rets, bounds=(0.3, 1))
    with pytest.raises(ParameterError, match="bounds for A/X: min 0.5 > max 0.2"):
        opt.risk_parity(rets, bounds={"A/X": (0.5, 0.2)})
    with pytest.raises(ParameterError, match="Z/X not among the assets"):
        opt.min_volatility(rets, bounds={"Z/X": (0, 1)})
    with pytest.raises(ParameterError, match="method 'magic' unknown"):
        opt.optimize("magic", rets)


def test_max_sharpe_needs_a_return_above_rf(rets: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="exceeds the risk-free rate 50"):
        opt.max_sharpe(rets, risk_free_rate=50.0)


def test_views_file_errors(tmp_path: Path, rets: pd.DataFrame) -> None:
    p = tmp_path / "v.yaml"
    p.write_text("views:\n  - {asset: A/X, long: B/X, return: 0.1, confidence: 0.5}\n")
    with pytest.raises(ConfigError, match=r"v.yaml: views.0: give either `asset`"):
        load_views(p)
    p.write_text("views:\n  - {asset: A/X, return: 0.1, confidence: 1.5}\n")
    with pytest.raises(ConfigError, match=r"v.yaml: views.0.confidence: Input should be less than or equal to 1"):
        load_views(p)
    p.write_text("prior: market_cap\nviews:\n  - {asset: A/X, return: 0.1, confidence: 0.5}\n")
    with pytest.raises(ConfigError, match=r"v.yaml: \(top level\): prior 'market_cap' needs `market_caps"):
        load_views(p)
    p.write_text("views:\n  - {asset: Q/X, return: 0.1, confidence: 0.5}\n")
    with pytest.raises(ParameterError, match=r"views\[0\]: asset 'Q/X' is not among the optimised assets"):
        opt.black_litterman(rets, load_views(p))
