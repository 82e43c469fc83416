"""compute_metrics: hand-computed small cases for each statistic, plus independent numpy cross-checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.metrics import METRIC_KEYS, compute_metrics, infer_periods_per_year
from quantdesk.backtest.result import TRADE_COLUMNS


def _trades(rows: list[dict]) -> pd.DataFrame:
    base = {"symbol": "X", "side": "long", "fees": 0.0, "bars_held": 1, "is_open": False}
    return pd.DataFrame([{**base, **r} for r in rows], columns=list(TRADE_COLUMNS))


def _days(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="D", tz="UTC")


EMPTY = pd.DataFrame(columns=list(TRADE_COLUMNS))


def test_equity_statistics_by_hand() -> None:
    eq = pd.Series([100.0, 110.0, 99.0, 121.0], index=_days(4))
    m = compute_metrics(EMPTY, eq, periods_per_year=365)
    assert set(METRIC_KEYS) <= set(m)
    assert m["start_equity"] == 100 and m["final_equity"] == 121
    assert m["total_return_pct"] == pytest.approx(21.0)
    r = np.array([0.10, -0.10, 121 / 99 - 1])
    mean, sd = r.mean(), r.std(ddof=1)
    assert m["sharpe"] == pytest.approx(mean / sd * math.sqrt(365))
    assert m["annual_volatility_pct"] == pytest.approx(sd * math.sqrt(365) * 100)
    assert m["sortino"] == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(365))
    assert m["annual_return_pct"] == pytest.approx((1.21 ** (365 / 3) - 1) * 100)
    assert m["max_drawdown_pct"] == pytest.approx(-10.0)  # 110 -> 99
    assert m["calmar"] == pytest.approx(m["annual_return_pct"] / 10.0)
    # peak at bar 1, recovered at bar 3 -> 2 bars, 2 days
    assert m["max_drawdown_duration_bars"] == 2 and m["max_drawdown_duration_days"] == 2
    assert m["var_95_pct"] == pytest.approx(np.percentile(r, 5) * 100)
    assert m["cvar_95_pct"] == pytest.approx(-10.0)
    assert m["bars"] == 4 and m["duration_days"] == 3
    assert m["num_trades"] == 0 and math.isnan(m["win_rate_pct"]) and math.isnan(m["profit_factor"])
    assert m["exposure_pct"] == 0 and m["total_fees"] == 0
    assert math.isnan(m["buy_and_hold_return_pct"])


def test_unrecovered_drawdown_lasts_to_the_end() -> None:
    eq = pd.Series([100.0, 120.0, 100.0, 90.0, 95.0], index=_days(5))
    m = compute_metrics(EMPTY, eq, periods_per_year=365)
    assert m["max_drawdown_pct"] == pytest.approx(-25.0)
    assert m["max_drawdown_duration_bars"] == 3 and m["max_drawdown_duration_days"] == 3


def test_trade_statistics_by_hand() -> None:
    idx = _days(10)
    eq = pd.Series(np.linspace(100, 110, 10), index=idx)
    trades = _trades(
        [
            dict(entry_time=idx[0], exit_time=idx[2], entry_price=10, exit_price=12, quantity=5, fees=1.0,
                 pnl=9.0, return_pct=18.0, bars_held=2),
            dict(entry_time=idx[3], exit_time=idx[4], entry_price=12, exit_price=11, quantity=5, fees=1.0,
                 pnl=-6.0, return_pct=-10.0, bars_held=1),
            dict(entry_time=idx[5], exit_time=idx[6], entry_price=11, exit_price=12, quantity=5, fees=1.0,
                 pnl=3.0, return_pct=5.45, bars_held=1),
            dict(entry_time=idx[8], exit_time=pd.NaT, entry_price=12, exit_price=13, quantity=5, fees=0.5,
                 pnl=4.5, return_pct=7.5, bars_held=1, is_open=True),
        ]
    )
    close = pd.Series(np.arange(10, 20, dtype=float), index=idx)
    m = compute_metrics(trades, eq, close=close)
    assert m["num_trades"] == 3 and m["open_trades"] == 1
    assert m["win_rate_pct"] == pytest.approx(200 / 3)
    assert m["profit_factor"] == pytest.approx(12 / 6)
    assert m["expectancy"] == pytest.approx(2.0)
    assert m["avg_win"] == pytest.approx(6.0) and m["avg_loss"] == pytest.approx(-6.0)
    assert m["best_trade_pct"] == 18.0 and m["worst_trade_pct"] == -10.0
    assert m["avg_holding_hours"] == pytest.approx(24 * 4 / 3)
    assert m["avg_holding_bars"] == pytest.approx(4 / 3)
    # bars 0-2, 3-4, 5-6 and 8-9 (open, to the end): 9 of 10
    assert m["exposure_pct"] == pytest.approx(90.0)
    assert m["total_fees"] == pytest.approx(3.5)
    assert m["buy_and_hold_return_pct"] == pytest.approx(90.0)


def test_edge_cases() -> None:
    idx = _days(3)
    flat = pd.Series([100.0, 100.0, 100.0], index=idx)
    m = compute_metrics(EMPTY, flat)
    assert math.isnan(m["sharpe"]) and math.isnan(m["sortino"]) and math.isnan(m["calmar"])
    assert m["max_drawdown_pct"] == 0 and m["max_drawdown_duration_bars"] == 0
    assert m["annual_volatility_pct"] == 0
    only_wins = _trades([dict(entry_time=idx[0], exit_time=idx[1], entry_price=1, exit_price=2, quantity=1,
                              pnl=1.0, return_pct=100.0)])
    m = compute_metrics(only_wins, flat)
    assert m["profit_factor"] == math.inf and math.isnan(m["avg_loss"])
    one = compute_metrics(EMPTY, pd.Series([100.0], index=idx[:1]))
    assert one["total_return_pct"] == 0 and math.isnan(one["sharpe"])
    # rising equity only: no downside -> sortino NaN; sharpe finite
    up = compute_metrics(EMPTY, pd.Series([100.0, 101.0, 103.0], index=idx))
    assert math.isnan(up["sortino"]) and up["sharpe"] > 0
    # JSON: NaN and inf become null
    from quantdesk.cli.output import to_jsonable

    doc = to_jsonable(m)
    assert doc["profit_factor"] is None and doc["win_rate_pct"] == 100.0


def test_risk_free_rate_lowers_sharpe() -> None:
    rng = np.random.default_rng(1)
    eq = pd.Series(100 * np.cumprod(1 + rng.normal(0.001, 0.01, 500)), index=_days(500))
    m0 = compute_metrics(EMPTY, eq, periods_per_year=365)
    m5 = compute_metrics(EMPTY, eq, periods_per_year=365, risk_free=0.05)
    r = eq.pct_change().dropna().to_numpy()
    rf = 1.05 ** (1 / 365) - 1
    assert m5["sharpe"] == pytest.approx((r.mean() - rf) / r.std(ddof=1) * math.sqrt(365))
    assert m5["sharpe"] < m0["sharpe"]


def test_cross_check_with_independent_numpy() -> None:
    """Sharpe, max drawdown and CAGR against straightforward numpy/pandas formulas on a random walk."""
    rng = np.random.default_rng(7)
    idx = pd.date_range("2020-01-01", periods=24 * 400, freq="h", tz="UTC")  # 24/7 hourly
    eq = pd.Series(1000 * np.exp(np.cumsum(rng.normal(0, 0.004, len(idx)))), index=idx)
    m = compute_metrics(EMPTY, eq)
    ppy = 365 * 24
    assert m["periods_per_year"] == ppy
    logr = np.diff(np.log(eq.to_numpy()))
    simple = np.expm1(logr)
    assert m["sharpe"] == pytest.approx(np.mean(simple) / np.std(simple, ddof=1) * np.sqrt(ppy), rel=1e-9)
    running_max = eq.cummax()
    assert m["max_drawdown_pct"] == pytest.approx(((eq - running_max) / running_max).min() * 100, rel=1e-12)
    years = (len(eq) - 1) / ppy
    assert m["annual_return_pct"] == pytest.approx((np.exp(logr.sum() / years) - 1) * 100, rel=1e-9)
    # brute-force drawdown duration
    values = eq.to_numpy()
    best = 0
    peak_i = 0
    for i in range(1, len(values)):
        if values[i] >= values[peak_i]:
            best = max(best, i - peak_i)
            peak_i = i
    best = max(best, len(values) - 1 - peak_i) if values[-1] < values[peak_i] else best
    assert m["max_drawdown_duration_bars"] == best


def test_periods_per_year_from_the_calendar() -> None:
    crypto_h = pd.date_range("2024-01-01", periods=500, freq="h", tz="UTC")
    assert infer_periods_per_year(crypto_h) == pytest.approx(365 * 24)
    crypto_d = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    assert infer_periods_per_year(crypto_d) == pytest.approx(365)
    stocks_d = pd.bdate_range("2024-01-01", periods=60, tz="UTC")
    assert infer_periods_per_year(stocks_d) == pytest.approx(252)
    # 6.5h sessions of 30-minute bars: 13 bars a day
    days = pd.bdate_range("2024-01-01", periods=20, tz="UTC")
    session = pd.DatetimeIndex([d + pd.Timedelta(hours=14, minutes=30) + pd.Timedelta(minutes=30 * k)
                                for d in days for k in range(13)])
    assert infer_periods_per_year(session) == pytest.approx(252 * 13)
    weekly = pd.date_range("2024-01-05", periods=30, freq="7D", tz="UTC")  # Fridays, no weekend bars
    assert infer_periods_per_year(weekly) == pytest.approx(50.4)


def test_real_goog_daily_uses_252(real_ohlcv) -> None:
    goog = real_ohlcv["goog_1d"]
    assert infer_periods_per_year(goog.index) == 252
    btc = real_ohlcv["btc_1h"]
    assert infer_periods_per_year(btc.index) == pytest.approx(365 * 24)


def test_inputs_are_not_modified() -> None:
    idx = _days(4)
    eq = pd.Series([100.0, 101.0, 99.0, 102.0], index=idx)
    trades = _trades([dict(entry_time=idx[0], exit_time=idx[2], entry_price=1, exit_price=2, quantity=1,
                           pnl=1.0, return_pct=100.0)])
    before_eq, before_tr = eq.copy(), trades.copy()
    compute_metrics(trades, eq)
    pd.testing.assert_series_equal(eq, before_eq)
    pd.testing.assert_frame_equal(trades, before_tr)
