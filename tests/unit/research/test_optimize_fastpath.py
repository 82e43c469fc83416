"""Grid / random sweeps of the vectorisable built-ins run on the compiled fast path (many parameter columns per
simulate call) and give the event engine's results table: every metric identical to 1e-9."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.core.errors import ParameterError
from quantdesk.research import trial_workers as opt_mod
from quantdesk.research.optimize import optimize

DATA = Path(__file__).resolve().parents[2] / "data" / "BTCUSD_Coinbase_1h_2017-07-01_2019-10-17.csv"
KEYS = ["sharpe", "sortino", "total_return_pct", "max_drawdown_pct", "num_trades", "final_equity", "calmar",
        "win_rate_pct", "profit_factor", "exposure_pct", "total_fees"]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="timestamp")
    return df.astype("float64").iloc[:1500]


def _same(a: float, b: float, rel: float = 1e-9) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=rel, abs=1e-9)


def _assert_tables_equal(fast, event) -> None:
    assert fast.engine == "fast" and event.engine == "event"
    assert list(fast.table["trial"]) == list(event.table["trial"])
    assert list(fast.table["feasible"]) == list(event.table["feasible"])
    assert list(fast.table["error"]) == list(event.table["error"])
    for key in [*KEYS, "score", "rank"]:
        for a, b in zip(fast.table[key], event.table[key], strict=True):
            assert _same(float(a), float(b)), key
    np.testing.assert_allclose(fast.returns_matrix.to_numpy(), event.returns_matrix.to_numpy(), rtol=1e-9,
                               atol=1e-12)
    assert fast.best_params == event.best_params


SWEEPS = [
    ("ema_cross", {"fast": [5, 10, 20], "slow": [15, 30, 50]}),  # (20, 15) is rejected: an infeasible trial
    ("rsi_reversion", {"period": [7, 14], "lower": [25.0, 35.0], "upper": [65.0, 75.0]}),
    ("bollinger", {"period": [10, 20], "nbdev": [1.5, 2.0], "mode": ["mean_reversion", "breakout"]}),
    ("macd", {"fast": [8, 12], "slow": [26], "signal": [5, 9], "hist_min_pct": [0.0, 0.02]}),
    ("momentum", {"mode": ["roc", "donchian"], "roc_period": [5, 10], "entry_period": [20, 40]}),
    ("vwap_flow", {"window": [10, 20], "threshold": [0.05, 0.1], "session": ["1d", "none"]}),
]


@pytest.mark.parametrize(("name", "space"), SWEEPS, ids=[s[0] for s in SWEEPS])
def test_grid_fast_table_equals_event_table(bars, name, space, monkeypatch) -> None:
    calls: list[int] = []
    real = opt_mod._fast_batch

    def spy(ctx, batch):
        calls.append(len(batch))
        return real(ctx, batch)

    monkeypatch.setattr(opt_mod, "_fast_batch", spy)
    base = BacktestConfig(strategy=name, fee=0.002, slippage_bps=3.0)
    fast = optimize(name, bars, space, base_config=base)
    monkeypatch.setattr(opt_mod, "_fast_batch", real)
    event = optimize(name, bars, space, base_config=base, engine="event")
    _assert_tables_equal(fast, event)
    assert (fast.table["num_trades"] > 0).any()
    assert max(calls) > 1, "many parameter columns per simulate call"
    assert sum(calls) == len(fast.table)


def test_random_sweep_uses_fast_path_and_matches(bars) -> None:
    space = {"period": [7, 10, 14, 21], "lower": [20.0, 25.0, 30.0, 35.0], "exit_level": [0.0, 50.0, 55.0]}
    fast = optimize("rsi_reversion", bars, space, method="random", trials=8, seed=3)
    event = optimize("rsi_reversion", bars, space, method="random", trials=8, seed=3, engine="event")
    _assert_tables_equal(fast, event)
    assert len(fast.table) == 8


def test_margin_or_risk_or_non_vectorised_use_the_event_engine(bars) -> None:
    data = bars.iloc[:300]
    res = optimize("ema_cross", data, {"fast": [5], "slow": [20]},
                   base_config=BacktestConfig(strategy="ema_cross", margin=True))
    assert res.engine == "event"
    res = optimize("scalping", data, {"threshold": [0.6, 0.8]})
    assert res.engine == "event"
    with pytest.raises(ParameterError, match="fast engine"):
        optimize("scalping", data, {"threshold": [0.6]}, engine="fast")
    with pytest.raises(ParameterError, match="fast engine"):
        optimize("ema_cross", data, {"fast": [5], "slow": [20]}, engine="fast",
                 base_config=BacktestConfig(strategy="ema_cross", margin=True))
