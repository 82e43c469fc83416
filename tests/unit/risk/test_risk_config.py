"""Risk configuration: defaults, validation errors, Settings section, BacktestConfig.risk."""

from __future__ import annotations

import pytest
from risk_helpers import frame

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.errors import ConfigError
from quantdesk.risk import RiskEngine, RiskSettings, parse_risk_config
from quantdesk.settings import Settings, load_settings


def test_defaults_are_those_of_the_issue():
    s = RiskSettings()
    assert (s.max_position_pct, s.daily_loss_pct, s.max_drawdown_pct) == (0.15, 0.05, 0.20)
    assert s.max_gross_exposure_pct == 1.0 and s.on_breach == "halt" and s.enabled
    assert Settings().risk == s


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"max_position_pct": -0.1}, "risk.max_position_pct: Input should be greater than 0"),
        ({"daily_loss_pct": 1.5}, "risk.daily_loss_pct"),
        ({"min_order_notional": 100, "max_order_notional": 10}, "min_order_notional .100.0. is above"),
        ({"on_breach": "panic"}, "risk.on_breach"),
        ({"max_open_positon": 3}, "risk.max_open_positon: Extra inputs are not permitted"),
        ({"cooldown": {"after_stop_loss": True}}, "cooldown: give a duration"),
        ({"sizing": {"method": "risk_per_trade", "risk_pct": 0.01}}, "needs stop_pct"),
        ({"sizing": {"method": "martingale"}}, "risk.sizing.method"),
        ({"correlation": {"max_correlation": 2}}, "risk.correlation.max_correlation"),
        ({"strategies": {"x": {"price_band_pct": 3}}}, "risk.strategies.x.price_band_pct"),
    ],
)
def test_validation_errors_are_clear(data, match):
    with pytest.raises(ConfigError, match=match):
        parse_risk_config(data)


def test_settings_from_toml_and_env(tmp_path, monkeypatch):
    p = tmp_path / "quantdesk.toml"
    p.write_text(
        '[risk]\nmax_position_pct = 0.1\non_breach = "reduce"\n[risk.cooldown]\nafter_losing_trades = 3\nbars = 5\n'
    )
    s = load_settings(p)
    assert s.risk.max_position_pct == 0.1 and s.risk.on_breach == "reduce" and s.risk.cooldown.bars == 5
    monkeypatch.setenv("QD_RISK__DAILY_LOSS_PCT", "0.02")
    assert load_settings(p).risk.daily_loss_pct == 0.02
    p.write_text("[risk]\nmax_drawdown_pct = 2\n")
    with pytest.raises(ConfigError, match="risk.max_drawdown_pct"):
        load_settings(p)


def test_backtest_config_risk_is_validated_by_the_runner():
    cfg = BacktestConfig(strategy="sma_cross", params={"fast": 2, "slow": 3}, risk={"max_position_pct": 0})
    with pytest.raises(ConfigError, match="risk.max_position_pct"):
        run_backtest(cfg, frame([100.0] * 10))


def test_disabled_settings_build_a_pass_through_engine():
    r = RiskEngine.from_settings({"enabled": False})
    assert r.bar_hook is None and r.fill_hook is None and not r._managed
