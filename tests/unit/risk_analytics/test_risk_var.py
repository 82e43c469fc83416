"""VaR/CVaR, volatility, beta/correlation, component VaR and heat against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.risk.portfolio import analytics as an

# 20 hand-picked returns. Losses (-r) sorted ascending end with ... 0.020, 0.027, 0.035, 0.050.
R20 = np.array([0.01, -0.02, 0.015, -0.035, 0.005, 0.02, -0.01, 0.0, 0.03, -0.05,
                0.012, -0.004, 0.007, -0.015, 0.025, -0.008, 0.018, -0.027, 0.003, -0.001])


def test_historical_var_by_hand_linear_interpolation() -> None:
    # n = 20, h = (n-1)*alpha. alpha 0.95: h = 18.05 -> L(18) + 0.05*(L(19)-L(18)) = 0.035 + 0.05*0.015
    assert an.historical_var(R20, 0.95) == pytest.approx(0.03575, abs=1e-15)
    # alpha 0.99: h = 18.81 -> 0.035 + 0.81*0.015
    assert an.historical_var(R20, 0.99) == pytest.approx(0.04715, abs=1e-15)
    # alpha 0.90: h = 17.1 -> L(17) + 0.1*(L(18)-L(17)) = 0.027 + 0.1*0.008
    assert an.historical_var(R20, 0.90) == pytest.approx(0.0278, abs=1e-15)


def test_historical_var_matches_sorted_order_statistics_generally() -> None:
    rng = np.random.default_rng(7)
    r = rng.standard_t(3, 37) * 0.01
    losses = np.sort(-r)
    for alpha in (0.95, 0.99, 0.975):
        h = (len(r) - 1) * alpha
        lo = int(np.floor(h))
        expected = losses[lo] + (h - lo) * (losses[min(lo + 1, len(r) - 1)] - losses[lo])
        assert an.historical_var(r, alpha) == pytest.approx(expected, rel=1e-12)


def test_historical_cvar_by_hand() -> None:
    # losses >= VaR95 (0.03575): only 0.05
    assert an.historical_cvar(R20, 0.95) == pytest.approx(0.05)
    # losses >= VaR90 (0.0278): 0.035 and 0.05
    assert an.historical_cvar(R20, 0.90) == pytest.approx((0.035 + 0.05) / 2)
    assert an.historical_cvar(R20, 0.95) >= an.historical_var(R20, 0.95)


def test_parametric_against_scipy_norm() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0.002, 0.03, 250)
    mu, sd = r.mean(), r.std(ddof=1)
    for alpha in (0.95, 0.99):
        assert an.parametric_var(r, alpha) == pytest.approx(-stats.norm.ppf(1 - alpha, loc=mu, scale=sd), rel=1e-12)
        # ES by numeric integration of the normal tail (independent of the closed form)
        q = stats.norm.ppf(1 - alpha, loc=mu, scale=sd)
        tail_mean = stats.norm.expect(lambda x: x, loc=mu, scale=sd, ub=q, conditional=True)
        assert an.parametric_cvar(r, alpha) == pytest.approx(-tail_mean, rel=1e-7)
        # zero-mean variant
        assert an.parametric_var(r, alpha, include_mean=False) == pytest.approx(-stats.norm.ppf(1 - alpha) * sd, rel=1e-12)


def test_cornish_fisher_against_formula() -> None:
    rng = np.random.default_rng(11)
    r = rng.lognormal(0, 0.4, 400) * 0.01 - 0.012  # skewed
    mu, sd = r.mean(), r.std(ddof=1)
    s, k = stats.skew(r), stats.kurtosis(r)  # bias=True, Fisher (excess) kurtosis
    assert abs(s) > 0.5
    for alpha in (0.95, 0.99):
        z = stats.norm.ppf(1 - alpha)
        zcf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
        assert an.cornish_fisher_var(r, alpha) == pytest.approx(-(mu + zcf * sd), rel=1e-10)


def test_cornish_fisher_cvar_is_tail_average_of_cf_var() -> None:
    rng = np.random.default_rng(12)
    r = rng.standard_t(5, 500) * 0.02
    mu, sd = r.mean(), r.std(ddof=1)
    s, k = stats.skew(r), stats.kurtosis(r)

    def cf_var(u: float) -> float:
        z = stats.norm.ppf(1 - u)
        zcf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
        return -(mu + zcf * sd)

    for alpha in (0.95, 0.99):
        integral, _ = integrate.quad(cf_var, alpha, 1, limit=200)
        assert an.cornish_fisher_cvar(r, alpha) == pytest.approx(integral / (1 - alpha), rel=1e-6)


def test_cornish_fisher_z_reduces_to_normal_without_skew_or_kurtosis() -> None:
    q = stats.norm.ppf(0.05)
    assert an.cornish_fisher_z(q, 0.0, 0.0) == q
    # fat tails push the 95% quantile further out; negative skew too
    assert an.cornish_fisher_z(stats.norm.ppf(0.01), 0.0, 3.0) < stats.norm.ppf(0.01)
    assert an.cornish_fisher_z(q, -0.5, 0.0) < q


@pytest.fixture(scope="module")
def normal_returns() -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    cov = np.array([[4.0, 1.2, 0.5], [1.2, 2.25, 0.3], [0.5, 0.3, 1.0]]) * 1e-4
    x = rng.multivariate_normal([0.001, 0.0005, 0.0002], cov, size=3000)
    return pd.DataFrame(x, columns=["A/X", "B/X", "C/X"])


def test_monte_carlo_converges_to_parametric(normal_returns: pd.DataFrame) -> None:
    w = np.array([0.5, 0.3, 0.2])
    port = normal_returns.to_numpy() @ w
    for alpha in (0.95, 0.99):
        mc = an.monte_carlo_var(normal_returns, w, alpha, n_sims=400_000, seed=5)
        assert mc == pytest.approx(an.parametric_var(port, alpha), rel=0.01)
        mc_es = an.monte_carlo_cvar(normal_returns, w, alpha, n_sims=400_000, seed=5)
        assert mc_es == pytest.approx(an.parametric_cvar(port, alpha), rel=0.015)


def test_monte_carlo_is_seeded(normal_returns: pd.DataFrame) -> None:
    a = an.monte_carlo_var(normal_returns, None, 0.99, n_sims=5000, seed=1)
    b = an.monte_carlo_var(normal_returns, None, 0.99, n_sims=5000, seed=1)
    c = an.monte_carlo_var(normal_returns, None, 0.99, n_sims=5000, seed=2)
    assert a == b and a != c


def test_var_table_currency_and_methods(normal_returns: pd.DataFrame) -> None:
    t = an.var_table(normal_returns, [0.5, 0.3, 0.2], value=25_000, n_sims=2000)
    assert len(t) == 8 and set(t["method"]) == set(an.METHODS) and set(t["level"]) == {0.95, 0.99}
    assert np.allclose(t["var_value"], t["var"] * 25_000) and np.allclose(t["cvar_value"], t["cvar"] * 25_000)
    assert (t["cvar"] >= t["var"] - 1e-12).all()
    port = normal_returns.to_numpy() @ np.array([0.5, 0.3, 0.2])
    hist95 = t[(t.method == "historical") & (t.level == 0.95)]["var"].item()
    assert hist95 == pytest.approx(-np.percentile(port, 5), rel=1e-12)
    with pytest.raises(ParameterError, match="method 'bogus'"):
        an.var_table(normal_returns, None, methods=["bogus"])


def test_portfolio_volatility(normal_returns: pd.DataFrame) -> None:
    w = np.array([0.2, 0.5, 0.3])
    vol = an.portfolio_volatility(normal_returns, w, periods_per_year=365)
    independent = float(pd.Series(normal_returns.to_numpy() @ w).std(ddof=1))
    assert vol["per_period"] == pytest.approx(independent, rel=1e-12)
    assert vol["annualised"] == pytest.approx(independent * np.sqrt(365), rel=1e-12)
    assert an.portfolio_volatility(normal_returns, w, 252)["annualised"] == pytest.approx(independent * np.sqrt(252), rel=1e-12)


def test_beta_and_correlation_against_numpy(normal_returns: pd.DataFrame) -> None:
    a, b = normal_returns["A/X"].to_numpy(), normal_returns["B/X"].to_numpy()
    slope, _ = np.polyfit(b, a, 1)
    assert an.beta(a, b) == pytest.approx(slope, rel=1e-10)
    assert an.correlation(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-12)
    cm = an.correlation_matrix(normal_returns)
    assert np.allclose(cm.to_numpy(), np.corrcoef(normal_returns.to_numpy(), rowvar=False), atol=1e-14)
    assert list(cm.columns) == ["A/X", "B/X", "C/X"]


def test_beta_aligns_series_on_common_timestamps() -> None:
    idx = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    bench = pd.Series(np.linspace(-0.02, 0.03, 10) * np.array([1, -1] * 5), index=idx)
    asset = 2.0 * bench.iloc[2:] + 0.001  # exact beta 2 on the 8 common days
    assert an.beta(asset, bench) == pytest.approx(2.0, rel=1e-12)
    assert an.correlation(asset, bench) == pytest.approx(1.0, rel=1e-12)
    stats_frame = an.asset_stats(pd.DataFrame({"X": asset}), bench, 365)
    assert stats_frame.loc["X", "beta"] == pytest.approx(2.0)


def test_component_var_sums_to_total(normal_returns: pd.DataFrame) -> None:
    w = np.array([0.6, 0.3, 0.1])
    port = normal_returns.to_numpy() @ w
    for include_mean in (True, False):
        for alpha in (0.95, 0.99):
            cv = an.component_var(normal_returns, w, alpha, value=1000, include_mean=include_mean)
            assert cv["component_var"].sum() == pytest.approx(an.parametric_var(port, alpha, include_mean), rel=1e-12)
            assert cv["pct_contribution"].sum() == pytest.approx(1.0)
            assert np.allclose(cv["component_var_value"], cv["component_var"] * 1000)


def test_component_var_zero_mean_formula(normal_returns: pd.DataFrame) -> None:
    w = np.array([0.6, 0.3, 0.1])
    cov = np.cov(normal_returns.to_numpy(), rowvar=False)
    sig = np.sqrt(w @ cov @ w)
    z = stats.norm.ppf(0.99)
    expected = w * (cov @ w) / sig * z
    cv = an.component_var(normal_returns, w, 0.99, include_mean=False)
    assert np.allclose(cv["component_var"].to_numpy(), expected, rtol=1e-12)
    # marginal VaR is the numerical derivative of the VaR in w_i
    eps = 1e-7
    for i in range(3):
        up = w.copy()
        up[i] += eps
        num = (z * np.sqrt(up @ cov @ up) - z * sig) / eps
        assert cv["marginal_var"].iloc[i] == pytest.approx(num, rel=1e-5)


def test_portfolio_heat_by_hand() -> None:
    positions = [
        {"symbol": "BTC/USDT", "qty": 0.5, "entry": 40_000, "stop": 38_000},  # 0.5 * 2000 = 1000
        {"symbol": "ETH/USDT", "qty": -10, "entry": 2_000, "stop": 2_100},  # short: 10 * 100 = 1000
        {"symbol": "SOL/USDT", "qty": 100, "entry": 20, "stop": 21},  # stop above entry: locked profit -> 0
        an.StopPosition("ADA/USDT", 1000, 0.5, None),  # unprotected: whole 500 at risk
    ]
    h = an.portfolio_heat(positions, equity=25_000)
    assert [p["risk"] for p in h["positions"]] == [1000.0, 1000.0, -100.0, 500.0]
    assert h["heat"] == 2500.0
    assert h["heat_pct"] == pytest.approx(0.1)
    assert h["unprotected"] == ["ADA/USDT"]
    with pytest.raises(ParameterError, match="missing key 'entry'"):
        an.portfolio_heat([{"symbol": "X/Y", "qty": 1, "stop": 1}])


def test_weights_and_book_validation() -> None:
    cols = ["A/X", "B/X"]
    with pytest.raises(ParameterError, match="got 3 weights for 2 assets"):
        an.resolve_weights(cols, [0.3, 0.3, 0.4])
    with pytest.raises(ParameterError, match="sum to 0.9, not 1"):
        an.resolve_weights(cols, [0.5, 0.4])
    w, _ = an.resolve_weights(cols, [0.5, 0.4], normalize=True)
    assert np.allclose(w, [5 / 9, 4 / 9])
    w, v = an.resolve_weights(cols, book={"A/X": 3000, "B/X": 1000})
    assert np.allclose(w, [0.75, 0.25]) and v == 4000
    with pytest.raises(ParameterError, match="no return history for C/X"):
        an.resolve_weights(cols, book={"C/X": 1.0})
    with pytest.raises(ParameterError, match="alpha=0.3"):
        an.historical_var(R20, 0.3)
    with pytest.raises(DataError, match="at least 3"):
        an.historical_var([0.01, np.nan], 0.95)


def test_align_prices_inner_join() -> None:
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC"))
    b = pd.Series([5.0, 6.0, 7.0], index=pd.date_range("2024-01-02", periods=3, freq="2D", tz="UTC"))
    frame, info = an.align_prices({"A": a, "B": b})
    assert list(frame.index.strftime("%m-%d")) == ["01-02", "01-04"]
    assert info["rows_kept"] == 2 and info["rows"] == {"A": 4, "B": 3}


def test_book_of_positions_gives_weights_and_value(normal_returns: pd.DataFrame) -> None:
    book = {"A/X": 6000.0, "B/X": 3000.0, "C/X": 1000.0}
    t = an.var_table(normal_returns, book=book, methods=["historical", "parametric"])
    port = normal_returns.to_numpy() @ np.array([0.6, 0.3, 0.1])
    row = t[(t.method == "historical") & (t.level == 0.99)].iloc[0]
    assert row["var"] == pytest.approx(-np.percentile(port, 1), rel=1e-12)
    assert row["var_value"] == pytest.approx(row["var"] * 10_000, rel=1e-12)
    cv = an.component_var(normal_returns, book=book)
    assert cv["component_var_value"].sum() == pytest.approx(an.parametric_var(port, 0.95) * 10_000, rel=1e-12)
