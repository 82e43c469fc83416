"""The step's two forms (quantdesk.engine.step): a one-leg engine runs the unrolled loop; forced through the general
loop (the one several legs use) it must give the same orders, fills, risk decisions, strategy errors, equity and
`bar_index` at every bar, in a backtest (`run`) and bar by bar (`on_bars`, as paper and live drive it)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.runner import make_instrument
from quantdesk.engine import engine as engine_module
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed, index_ns, normalize_ohlcv
from quantdesk.engine.step import make_steps
from quantdesk.engine.views import Ind
from quantdesk.model.data import Bar
from quantdesk.risk import RiskEngine
from quantdesk.strategies import Strategy

CFG = BacktestConfig(strategy="sma_cross", symbol="BTC/USDT", fee=0.001)


def frame(n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o = np.r_[100.0, close[:-1]]
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    return normalize_ohlcv(pd.DataFrame({"open": o, "high": np.maximum(o, close) * 1.01,
                                         "low": np.minimum(o, close) * 0.99, "close": close, "volume": 10.0},
                                        index=idx))


class Busy(Strategy):
    """Market, limit, stop and bracket orders, a cancel, an indicator, and an error at `fail_at`."""

    def __init__(self, fail_at: int = -1) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.seen: list[tuple[int, int, str]] = []

    def indicators(self) -> dict[str, Any]:
        return {"fast": Ind("sma", period=5), "slow": Ind("sma", period=20)}

    def on_bar(self, bar: Any) -> None:
        i = self.bar_index
        self.seen.append((i, bar.index, repr(float(self.ind.fast[-1]))))  # repr: nan == nan
        if i == self.fail_at:
            raise ZeroDivisionError("planted")
        if i < 21:
            return
        fast, slow = self.ind.fast, self.ind.slow
        if fast[-1] > slow[-1] and fast[-2] <= slow[-2] and self.is_flat:
            self.buy(40.0, stop_loss=bar.close * 0.97, take_profit=bar.close * 1.05)
        elif fast[-1] < slow[-1] and fast[-2] >= slow[-2] and self.is_long:
            self.close()
        if i % 37 == 0:
            self.buy(20.0, limit=bar.close * 0.98)
        if i % 37 == 5:
            self.cancel_all()
        if i % 53 == 0 and self.is_long:
            self.sell(10.0, stop=bar.close * 0.99)


def _engine(strategy: Strategy, f: pd.DataFrame, mode: str) -> TradingEngine:
    inst = make_instrument(CFG, f)
    # a daily-loss breaker gives the step a risk bar hook; max_position_pct sizes orders down to fit
    risk = RiskEngine.from_settings({"daily_loss_pct": 0.01, "max_position_pct": 0.5}, strategy_id=strategy.strategy_id)
    return TradingEngine(strategy, inst, cash=10_000, risk=risk, indicator_mode=mode)  # type: ignore[arg-type]


def _outcome(eng: TradingEngine, strategy: Busy) -> dict[str, Any]:
    return {
        "orders": [(o.client_order_id, o.status, str(o.filled_qty), str(o.filled_notional), str(o.fees), o.reason) for o in eng.orders],
        "equity": eng.equity_array().tolist(),
        "events": [(e.get("type"), e.get("bar_index"), e.get("reason")) for e in eng.events],
        "cash": str(eng.portfolio.cash()),
        "seen": strategy.seen,
        "denied": eng.risk.denial_counts(),
    }


def _backtest(f: pd.DataFrame, mode: str, fail_at: int) -> dict[str, Any]:
    s = Busy(fail_at)
    eng = _engine(s, f, mode)
    eng.run(HistoricalFeed(eng.instrument.id, f))
    return _outcome(eng, s)


def _bar_by_bar(f: pd.DataFrame, fail_at: int) -> dict[str, Any]:
    s = Busy(fail_at)
    eng = _engine(s, f, "stream")
    iid = eng.instrument.id
    eng.start()
    for ts, row in zip(index_ns(f.index), f.itertuples(index=False), strict=True):
        eng.clock.advance_to(int(ts))  # type: ignore[attr-defined]
        eng.on_bars([Bar(iid, int(ts), row.open, row.high, row.low, row.close, row.volume)])
    eng.stop(cancel_working=True)
    return _outcome(eng, s)


@pytest.fixture
def general_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engines built while this fixture is active run the general (several-leg) loop with their one leg."""
    monkeypatch.setattr(engine_module, "make_steps", functools.partial(make_steps, unrolled=False))


@pytest.mark.parametrize("mode", ["batch", "stream"])
@pytest.mark.parametrize("fail_at", [-1, 250])
def test_both_forms_of_the_step_give_the_same_backtest(mode: str, fail_at: int, request: pytest.FixtureRequest) -> None:
    f = frame()
    unrolled = _backtest(f, mode, fail_at)
    request.getfixturevalue("general_form")
    general = _backtest(f, mode, fail_at)
    assert general == unrolled
    # the scenario exercises what the step does: fills (brackets, limits, stops), cancels, an indicator, and
    # the planted error stops the strategy at its bar
    statuses = {str(o[1]) for o in unrolled["orders"]}
    assert len(unrolled["orders"]) > 20 and {"filled", "canceled"} <= statuses, statuses
    if fail_at < 0:  # the daily-loss breaker (the risk bar hook) acted
        assert unrolled["denied"].get("trading_state", 0) > 0
    assert [s[0] for s in unrolled["seen"]] == [s[1] for s in unrolled["seen"]] == list(range(len(unrolled["seen"])))
    assert len(unrolled["seen"]) == (len(f) if fail_at < 0 else fail_at + 1)


def test_both_forms_bar_by_bar_equal_the_backtest(request: pytest.FixtureRequest) -> None:
    f = frame()
    backtest = _backtest(f, "stream", -1)
    unrolled = _bar_by_bar(f, -1)
    request.getfixturevalue("general_form")
    general = _bar_by_bar(f, -1)
    assert unrolled == backtest
    assert general == backtest


def test_the_unrolled_form_refuses_a_step_out_of_line() -> None:
    f = frame(30)
    eng = _engine(Busy(), f, "stream")
    eng.start()
    t0, t1 = (int(t) for t in index_ns(f.index)[:2])
    bar = Bar(eng.instrument.id, t0, 1.0, 1.0, 1.0, 1.0, 1.0)
    eng.on_bars([bar])
    with pytest.raises(RuntimeError, match="cursor is at bar 0"):
        eng.step(5, t1, eng.legs)


def test_a_step_without_a_bar_is_refused() -> None:
    f = frame(30)
    eng = _engine(Busy(), f, "stream")
    eng.start()
    t0, t1 = (int(t) for t in index_ns(f.index)[:2])
    eng.on_bars([Bar(eng.instrument.id, t0, 1.0, 1.0, 1.0, 1.0, 1.0)])
    with pytest.raises(ValueError, match="no instrument has its next bar"):
        eng.step(1, t1)  # the leg has no bar after its cursor: nothing to step
    assert eng.bar_index == 0 and eng.view.index == 0
