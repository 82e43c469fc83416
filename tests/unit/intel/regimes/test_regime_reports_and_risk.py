"""by_regime against a hand computation; the regime exposure rule in a real backtest against the catalog column."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ConfigError
from quantdesk.intel.regimes.report import by_regime
from quantdesk.strategies.base import Strategy


def test_by_regime_by_hand() -> None:
    t = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 99.0, 108.9], index=t)
    regimes = pd.Series([0.0, 0.0, 1.0, 1.0, 0.0], index=t)
    trades = pd.DataFrame({"entry_time": [t[0], t[2], t[3]], "pnl": [5.0, -3.0, 2.0]})
    table = by_regime(equity, trades, regimes, labels=["calm", "volatile"], periods_per_year=365)
    rows = table.set_index("regime")
    # returns are earned under the regime known at the previous bar: calm holds r1 = +10%, r2 = -10%
    assert rows.loc["calm", "bars"] == 2 and rows.loc["volatile", "bars"] == 2
    assert rows.loc["calm", "return_pct"] == pytest.approx((1.1 * 0.9 - 1) * 100)
    assert rows.loc["volatile", "return_pct"] == pytest.approx(10.0)
    r = np.array([0.0, 0.1])
    assert rows.loc["volatile", "sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365))
    assert rows.loc["calm", "trades"] == 1 and rows.loc["calm", "win_rate_pct"] == 100.0
    assert rows.loc["volatile", "trades"] == 2 and rows.loc["volatile", "win_rate_pct"] == 50.0
    assert rows.loc["all", "return_pct"] == pytest.approx(8.9)
    assert rows.loc["all", "trades"] == 3 and rows.loc["all", "total_pnl"] == pytest.approx(4.0)
    # regimes sampled on another grid: the last known label applies; before the first one it is "unknown"
    late = pd.Series(["x"], index=[t[2]])
    rows2 = by_regime(equity, None, late, periods_per_year=365).set_index("regime")
    assert rows2.loc["unknown", "bars"] == 2 and rows2.loc["x", "bars"] == 2


class AlwaysIn(Strategy):
    """Tries to be fully invested on every bar, closing every 15th bar (the risk rule decides when it may enter)."""

    name = ""
    params = {}

    def on_bar(self, bar) -> None:
        if self.is_long and self.bar_index % 15 == 0:
            self.close()
        elif self.is_flat and not self.open_orders:
            self.buy_all_cash()


RULES = {"trend_period": 30, "slope_bars": 5, "vol_window": 60}


def test_regime_rule_blocks_new_exposure_in_blocked_regimes(real_ohlcv) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.indicators import compute

    df = real_ohlcv["btc_1d"].iloc[:700]
    risk = {"max_position_pct": None, "max_gross_exposure_pct": None, "daily_loss_pct": None,
            "max_drawdown_pct": None,
            "regime": {"method": "rules", "params": RULES, "max_exposure": {"bear_calm": 0.0, "bear_volatile": 0.0},
                       "unknown": 0.0}}
    cfg = BacktestConfig(strategy="buy_and_hold", symbol="BTC/USD", timeframe="1d", risk=risk)
    res = run_backtest(cfg, df, strategy=AlwaysIn())
    regime = compute("regime", df, method="rules", **RULES)["regime"].to_numpy()
    blocked = np.isnan(regime) | (regime >= 2)  # codes 2, 3 = bear_*
    denials = [e for e in res.events if e.get("rule") == "regime_exposure"]
    assert denials, "the rule never denied anything"
    times = df.index
    for d in denials:
        i = times.get_loc(pd.Timestamp(d["ts"]))
        assert blocked[i], f"denied at {d['ts']} in regime {regime[i]}"
    entries = pd.to_datetime(res.trades["entry_time"], utc=True)
    # an order placed on bar i fills at bar i+1's open: the decision bar is the one before the entry
    for e in entries:
        i = times.get_loc(e) - 1
        assert not blocked[i], f"entered at {e} after a bar in blocked regime {regime[i]}"
    assert len(entries) >= 2


def test_regime_rule_settings_are_validated() -> None:
    from quantdesk.risk.config import parse_risk_config

    with pytest.raises(ConfigError, match="regime"):
        parse_risk_config({"regime": {"method": "hmm", "max_exposure": {"bear_calm": 0.0}}})
    s = parse_risk_config({"regime": {"method": "hmm", "max_exposure": {"volatile": 0.5}}})
    assert s.regime.max_exposure == {"volatile": 0.5}


def test_walk_forward_folder_split_by_regime_adds_up(real_ohlcv, tmp_path) -> None:
    from quantdesk.intel.regimes.service import report_run_dir
    from quantdesk.research.walkforward import walk_forward, write_outputs

    df = real_ohlcv["goog_1d"].iloc[:900]
    wf = walk_forward("sma_cross", df, train="300b", test="200b", space={"fast": [10], "slow": [30, 50]})
    write_outputs(wf, tmp_path / "wf")
    data = tmp_path / "goog.csv"
    out = df.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(data, index_label="timestamp")
    doc = report_run_dir(tmp_path / "wf", "rules", {"trend_period": 50, "vol_window": 100}, data_file=str(data),
                         timeframe="1d")
    table = doc["by_regime"].set_index("regime")
    assert table.loc["all", "return_pct"] == pytest.approx(wf.oos_metrics["total_return_pct"], rel=1e-6)
    assert table.loc["all", "trades"] == len(wf.oos_trades)
    assert table.drop(index="all")["bars"].sum() == table.loc["all", "bars"]
