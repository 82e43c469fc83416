"""Every built-in strategy: found by name, sane parameter specs, runs on every real data file, trades, and keeps
the accounting invariant (final equity == cash + position x last close == starting cash + sum of trade P&L)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import run_backtest
from quantdesk.core.errors import ParameterError
from quantdesk.strategies import builtin_strategies, create_strategy, load_strategy
from quantdesk.strategies.base import BoolParam, ChoiceParam, FloatParam, IntParam, TextParam

DATA = Path(__file__).parents[2] / "data"
MULTI = DATA / "multi_5m_2018-01"
TIMEFRAMES = {"btc_1m": "1m", "btc_1h": "1h", "btc_1d": "1d", "goog_1d": "1d"}
SINGLE = ["ema_cross", "rsi_reversion", "macd", "bollinger", "momentum", "dca", "scalping", "vwap_flow", "powertrader"]
ALL = sorted([*SINGLE, "pairs", "sma_cross", "buy_and_hold", "ml_signal", "regime_sized"])
# ml_signal trades a trained model's probability (none by default): its runs are in tests/unit/ml;
# regime_sized refits an HMM as it goes (minutes on the 45k-bar file): its runs are in tests/unit/intel/regimes
RUNS_ALONE = [n for n in ALL if n not in ("pairs", "ml_signal", "regime_sized")]
# non-default modes that must also run everywhere (margin for the short side)
VARIANTS = [
    ("bollinger", {"mode": "breakout"}, False),
    ("momentum", {"mode": "donchian"}, False),
    ("ema_cross", {"allow_short": True}, True),
    ("rsi_reversion", {"exit_level": 50}, False),
    ("macd", {"hist_min_pct": 0.05, "zero_line": True}, False),
]


def read_multi(coin: str) -> pd.DataFrame:
    df = pd.read_csv(MULTI / f"{coin}-BTC_5m.csv")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64")


def run(name, df, params=None, *, timeframe="1h", margin=False, cash=10_000.0, fee=0.001):
    cfg = BacktestConfig(
        strategy=name,
        params=params or {},
        symbol="TEST/USD",
        timeframe=timeframe,
        cash=cash,
        fee=fee,
        margin=margin,
    )
    strat = create_strategy(name, cfg.params)
    return strat, run_backtest(cfg, df, strategy=strat)


def check_invariant(strat, result, df, cash=10_000.0):
    eng = strat.engine
    last = float(df["close"].iloc[-1])
    cash_end = float(eng.portfolio.cash())
    pos = float(eng.portfolio.position_qty(eng.instrument.id))
    final = float(result.equity.iloc[-1])
    assert final == pytest.approx(cash_end + pos * last, rel=1e-9, abs=1e-6)
    # the trades table explains all of it: realised + open P&L, net of fees
    assert float(result.trades["pnl"].sum()) == pytest.approx(final - cash, rel=1e-7, abs=1e-5)
    # only the last trade may still be open, and then the position is not flat
    is_open = result.trades["is_open"].to_numpy()
    assert not is_open[:-1].any()
    assert (pos != 0) == bool(len(is_open) and is_open[-1])
    assert np.isfinite(result.equity.to_numpy()).all()


# ---- registry and parameters -------------------------------------------------------------------------------
def test_all_builtins_registered():
    assert sorted(builtin_strategies()) == ALL


@pytest.mark.parametrize("name", ALL)
def test_loads_by_name_and_param_specs(name):
    cls = load_strategy(name)
    assert cls.name == name and cls.description
    module_doc = (__import__(cls.__module__, fromlist=["_"]).__doc__ or "").strip()
    assert module_doc, f"{name}: module docstring missing"
    for key, spec in cls.params.items():
        assert spec.validate(key, spec.default) == spec.default
        if isinstance(spec, (IntParam, FloatParam)):
            assert spec.minimum is not None and spec.maximum is not None, f"{name}.{key}: open range"
            assert spec.minimum <= spec.default <= spec.maximum
            assert isinstance(spec.default, int if isinstance(spec, IntParam) else float)
            assert spec.description, f"{name}.{key}: no description"
            assert key in module_doc, f"{name}: parameter {key!r} not documented"
        elif isinstance(spec, ChoiceParam):
            assert spec.default in spec.choices and len(spec.choices) >= 2
            for choice in spec.choices:
                assert repr(choice) in module_doc, f"{name}: choice {choice!r} not documented"
        elif isinstance(spec, TextParam):
            assert spec.description and key in module_doc, f"{name}.{key}: text parameter not documented"
        else:
            assert isinstance(spec, BoolParam)
    space = cls.param_space()
    json.dumps(space)  # the optimiser / UI read it as JSON
    assert set(space) == set(cls.params)
    strat = create_strategy(name)  # defaults are mutually valid
    assert all(strat.p[k] == spec.default for k, spec in cls.params.items())


BAD_PARAMS = [
    ("ema_cross", {"fast": 30, "slow": 30}, "fast"),
    ("ema_cross", {"fast": 50, "slow": 20}, "fast"),
    ("ema_cross", {"slow": 1}, "slow"),
    ("ema_cross", {"short_weight": 1.5}, "short_weight"),
    ("rsi_reversion", {"lower": 0}, "lower"),
    ("rsi_reversion", {"upper": 100}, "upper"),
    ("rsi_reversion", {"period": 1}, "period"),
    ("rsi_reversion", {"lower": 50, "upper": 50}, "lower"),
    ("rsi_reversion", {"exit_level": 20}, "exit_level"),
    ("macd", {"fast": 26, "slow": 12}, "fast"),
    ("macd", {"signal": 0}, "signal"),
    ("macd", {"hist_min_pct": -1}, "hist_min_pct"),
    ("bollinger", {"mode": "momentum"}, "mode"),
    ("bollinger", {"nbdev": 0}, "nbdev"),
    ("bollinger", {"period": 1}, "period"),
    ("momentum", {"mode": "macd"}, "mode"),
    ("momentum", {"threshold": 1, "exit_threshold": 2}, "exit_threshold"),
    ("momentum", {"entry_period": 0}, "entry_period"),
    ("dca", {"max_levels": 8}, "max_levels"),
    ("dca", {"level_scale": 1.0}, "level_scale"),
    ("dca", {"multiplier": 0.5}, "multiplier"),
    ("dca", {"max_buys_per_24h": 0}, "max_buys_per_24h"),
    ("dca", {"trail_pct": 0}, "trail_pct"),
    ("scalping", {"threshold": 1.5}, "threshold"),
    ("scalping", {"take_profit_pct": 0}, "take_profit_pct"),
    ("scalping", {"max_bars": 0}, "max_bars"),
    ("vwap_flow", {"session": "1h"}, "session"),
    ("vwap_flow", {"threshold": 0.1, "exit_pressure": 0.2}, "exit_pressure"),
    ("vwap_flow", {"window": 1}, "window"),
    ("pairs", {"entry_z": 1.0, "exit_z": 1.0}, "exit_z"),
    ("pairs", {"hedge": "kalman"}, "hedge"),
    ("pairs", {"lookback": 2}, "lookback"),
    ("sma_cross", {"fast": 0}, "fast"),
]


@pytest.mark.parametrize(("name", "params", "param"), BAD_PARAMS)
def test_bad_params_raise_parameter_error_naming_the_parameter(name, params, param):
    with pytest.raises(ParameterError, match=f"'{param}'"):
        create_strategy(name, params)


@pytest.mark.parametrize("name", ALL)
def test_unknown_parameter_rejected(name):
    with pytest.raises(ParameterError, match="unknown"):
        create_strategy(name, {"no_such_param": 1})


# ---- every real file ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(TIMEFRAMES))
@pytest.mark.parametrize("name", RUNS_ALONE)
def test_runs_on_real_file_trades_and_keeps_invariant(real_ohlcv, name, key):
    df = real_ohlcv[key]
    strat, result = run(name, df, timeframe=TIMEFRAMES[key])
    assert result.events == [], result.events[:3]
    assert len(result.trades) >= 1, f"{name} never traded on {key}"
    assert len(result.equity) == len(df)
    check_invariant(strat, result, df)


@pytest.mark.parametrize("key", sorted(TIMEFRAMES))
@pytest.mark.parametrize(
    ("name", "params", "margin"), VARIANTS, ids=[f"{v[0]}-{list(v[1])[0]}" for v in VARIANTS]
)
def test_variants_run_on_real_files(real_ohlcv, name, params, margin, key):
    df = real_ohlcv[key]
    strat, result = run(name, df, params, timeframe=TIMEFRAMES[key], margin=margin)
    assert result.events == [], result.events[:3]
    assert len(result.trades) >= 1
    if margin:
        assert set(result.trades["side"]) == {"long", "short"}
    check_invariant(strat, result, df)


@pytest.mark.parametrize("coin", ["ETH", "POWR"])  # POWR: 71 flat bars, 8-decimal prices
@pytest.mark.parametrize("name", RUNS_ALONE)
def test_runs_on_multi_asset_5m_files(name, coin):
    df = read_multi(coin)
    strat, result = run(name, df, timeframe="5m", cash=1.0)  # quoted in BTC
    assert result.events == []
    assert len(result.trades) >= 1
    check_invariant(strat, result, df, cash=1.0)


@pytest.mark.parametrize("key", sorted(TIMEFRAMES))
def test_pairs_with_one_instrument_fails_clearly(real_ohlcv, key):
    """A single-instrument run cannot trade a pair: the error is contained and says what is missing."""
    df = real_ohlcv[key].iloc[:500]
    strat, result = run("pairs", df, timeframe=TIMEFRAMES[key])
    assert len(result.trades) == 0
    assert len(result.events) == 1 and "pairs needs two instruments" in str(result.events[0])
    assert float(result.equity.iloc[-1]) == 10_000.0


@pytest.mark.parametrize(
    ("a", "b"), [("ETH", "LTC"), ("ADA", "DASH"), ("ETC", "NXT"), ("POWR", "XLM"), ("XMR", "ZEC")]
)
def test_pairs_runs_on_every_multi_asset_file(a, b):
    """Every file of the multi-asset set, as five pairs in one two-instrument engine (shared cash, margin)."""
    from quantdesk.backtest.pairs import run_pairs
    from quantdesk.strategies.pairs import Pairs

    fa, fb = read_multi(a), read_multi(b)
    strat = Pairs()
    res = run_pairs(fa, fb, symbols=(f"{a}/BTC", f"{b}/BTC"), cash=1.0, timeframe="5m", strategy=strat)
    assert res.events == []
    assert len(res.equity) == len(fa.index.union(fb.index))
    assert set(res.trades["symbol"]) == {f"{a}/BTC", f"{b}/BTC"}
    assert set(res.trades["side"]) == {"long", "short"}
    # each spread trade is one long leg and one short leg opened at the same time
    opened = res.trades.groupby("entry_time")["side"].apply(lambda s: sorted(s))
    assert (opened.map(len) == 2).mean() > 0.9
    eng = strat.engine
    marks = {f"{a}/BTC": float(fa["close"].iloc[-1]), f"{b}/BTC": float(fb["close"].iloc[-1])}
    value = sum(strat.size_of(sym) * marks[sym] for sym in marks)
    final = float(res.equity.iloc[-1])
    assert final == pytest.approx(float(eng.portfolio.cash()) + value, rel=1e-9, abs=1e-12)
    assert float(res.trades["pnl"].sum()) == pytest.approx(final - 1.0, rel=1e-7, abs=1e-10)


def test_buy_and_hold_by_hand():
    """Buys all-in on the first close, filled at the second bar's open, held to the end (open trade)."""
    idx = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC", name="timestamp")
    closes = np.array([10.0, 11.0, 12.0, 9.0, 13.0])
    opens = np.array([10.0, 10.5, 11.5, 12.5, 9.5])
    df = pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + 1,
            "low": np.minimum(opens, closes) - 1,
            "close": closes,
            "volume": 1.0,
        },
        index=idx,
    )
    strat, r = run("buy_and_hold", df, fee=0.0, cash=1050.0)
    t = r.trades.iloc[0]
    assert len(r.trades) == 1 and t.is_open and t.entry_time == idx[1] and t.entry_price == 10.5
    assert t.quantity == 100.0
    assert float(r.equity.iloc[-1]) == pytest.approx(1300.0)
    check_invariant(strat, r, df, cash=1050.0)
