"""Helpers of the risk tests: zero-fee instruments, hand-made bars, scripted strategies."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pandas as pd

from quantdesk.core.clock import SimulatedClock
from quantdesk.engine.engine import TradingEngine
from quantdesk.engine.feed import HistoricalFeed
from quantdesk.model import Instrument, InstrumentId
from quantdesk.risk import RiskEngine
from quantdesk.strategies.base import Strategy

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def inst(symbol: str = "AAA/USD", margin: bool = True) -> Instrument:
    return Instrument(
        InstrumentId(symbol, "sim"),
        price_precision=4,
        size_precision=6,
        maker_fee=D(0),
        taker_fee=D(0),
        margin=margin,
    )


def frame(closes, freq: str = "1h", start: pd.Timestamp = T0, opens=None) -> pd.DataFrame:
    """Bars whose open is the previous close (so a market order filled at the next open fills at the close
    the strategy saw), high/low = max/min(open, close)."""
    c = np.asarray(closes, dtype=np.float64)
    o = np.r_[c[0], c[:-1]] if opens is None else np.asarray(opens, dtype=np.float64)
    idx = pd.date_range(start, periods=len(c), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c), "close": c, "volume": 1e9}, index=idx
    )


class Script(Strategy):
    """on_bar runs script[bar_index](self) when present (a callable or a list of callables)."""

    def __init__(self, script=None, **kwargs):
        super().__init__(**kwargs)
        self.script = dict(script or {})
        self.results = {}

    def on_bar(self, bar):
        step = self.script.get(self.bar_index)
        if step is None:
            return
        steps = step if isinstance(step, (list, tuple)) else [step]
        self.results[self.bar_index] = [f(self) for f in steps]


def run(script, frames, *, risk=None, settings=None, cash=10_000, margin=True, instruments=None):
    """Run a Script over {symbol: frame} (or one frame). Returns (engine, strategy)."""
    if isinstance(frames, pd.DataFrame):
        frames = {"AAA/USD": frames}
    insts = instruments or [inst(s, margin) for s in frames]
    strat = Script(script, strategy_id="s")
    if risk is None and settings is not None:
        risk = RiskEngine.from_settings(settings, strategy_id="s")
    eng = TradingEngine(
        strat,
        insts if len(insts) > 1 else insts[0],
        cash=cash,
        clock=SimulatedClock(),
        risk=risk,
        margin=margin,
    )
    feeds = [HistoricalFeed(i.id, frames[i.id.symbol]) for i in insts]
    eng.run(feeds if len(feeds) > 1 else feeds[0])
    return eng, strat


def off(**kw):
    """RiskSettings dict with every default rule/breaker off, plus `kw`. Orders that breach a limit are denied
    (fit_to_limits off: these helpers test the rules' decisions; test_fit_to_limits turns fitting on)."""
    base = {
        "max_position_pct": None,
        "max_gross_exposure_pct": None,
        "daily_loss_pct": None,
        "max_drawdown_pct": None,
        "fit_to_limits": False,
    }
    base.update(kw)
    return base


def denied(eng, rule=None):
    return [e for e in eng.events if e.get("type") == "OrderDenied" and (rule is None or e["rule"] == rule)]


def states(eng):
    return [
        (e["details"]["old"], e["details"]["new"], e["rule"])
        for e in eng.events
        if e.get("type") == "TradingStateChanged"
    ]
