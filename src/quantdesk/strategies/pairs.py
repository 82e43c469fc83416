"""`pairs`: statistical-arbitrage pairs trading on the z-score of a log-price spread (two instruments).

Run it on two instruments in one engine (shared cash, shorts need margin)::

    run_backtest(BacktestConfig(strategy="pairs", symbol="ETH/BTC,LTC/BTC", margin=True),
                 {"ETH/BTC": eth_df, "LTC/BTC": ltc_df})          # or quantdesk.backtest.pairs.run_pairs

A = the first symbol, B = the second. The strategy acts only at timestamps where BOTH have a bar (a common
bar); over the last `lookback` common bars, with y = log(close_A), x = log(close_B):

- hedge 'rolling': beta, alpha = OLS of y on x over the window; residuals e = y - alpha - beta x
- hedge 'fixed':   beta = 1, e = (y - x) - mean(y - x)

and z = e[now] / std(e) (population std; no signal while std is 0 or before `lookback` common bars). Only
bars up to the current one are used (no look-ahead).

Trading (state machine, evaluated on each common bar's close; market orders fill at each instrument's next
open): state +1 = long the spread (long A, short B) when z < -entry_z; state -1 = short the spread (short A,
long B) when z > entry_z; back to 0 (close both) when |z| < exit_z; a move beyond the opposite entry flips the
state. On a change each leg targets `weight` x equity on its side (`target_weight(+-weight, symbol=...)`:
dollar-neutral legs; beta shapes the spread, not the sizes). Without margin the short leg is skipped (only the
long leg of each trade is taken).

With one instrument the strategy cannot trade: on_start raises a ParameterError saying so, which the engine
contains (StrategyErrored event, no trades).

Parameters:
    lookback (int, 100, 5..100000): window (common bars) of the hedge regression and of the z-score.
    entry_z (float, 2.0, 0.1..10): open when |z| > entry_z.
    exit_z (float, 0.5, 0..10): close when |z| < exit_z (must be < entry_z).
    hedge (choice, 'rolling', {'rolling', 'fixed'}): rolling OLS hedge ratio or a fixed 1.0.
    weight (float, 0.45, 0.01..1.0): fraction of the account equity in each leg.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import ChoiceParam, FloatParam, IntParam, Strategy


def window_zscore(y: np.ndarray, x: np.ndarray, hedge: str) -> tuple[float, float]:
    """(z of the last point, beta) for one window of log prices y (leg A) and x (leg B)."""
    if hedge == "fixed":
        beta = 1.0
        d = y - x
        e = d - d.mean()
    else:
        xm, ym = x.mean(), y.mean()
        dx = x - xm
        var = float(dx @ dx)
        beta = float(dx @ (y - ym)) / var if var > 0 else 1.0
        e = (y - ym) - beta * dx
    sd = float(math.sqrt(float(e @ e) / len(e)))
    return (float(e[-1]) / sd if sd > 1e-12 else math.nan), beta


def pair_zscore(
    close_a: pd.Series, close_b: pd.Series, lookback: int, hedge: str = "rolling"
) -> pd.DataFrame:
    """z and beta on the common timestamps of two close series (causal: row i uses rows <= i only)."""
    both = pd.concat([close_a.rename("a"), close_b.rename("b")], axis=1, join="inner").dropna()
    y, x = np.log(both["a"].to_numpy(np.float64)), np.log(both["b"].to_numpy(np.float64))
    z = np.full(len(both), np.nan)
    beta = np.full(len(both), np.nan)
    for i in range(lookback - 1, len(both)):
        z[i], beta[i] = window_zscore(y[i - lookback + 1 : i + 1], x[i - lookback + 1 : i + 1], hedge)
    return pd.DataFrame({"z": z, "beta": beta}, index=both.index)


def next_state(state: int, z: float, entry: float, exit_: float) -> int:
    """Spread position after seeing z: +1 long spread, -1 short spread, 0 flat (NaN keeps the state)."""
    if z != z:
        return state
    if z > entry:
        return -1
    if z < -entry:
        return 1
    if state != 0 and abs(z) < exit_:
        return 0
    return state


class Pairs(Strategy):
    """z-score pairs trade on two instruments (long one, short the other)."""

    name = "pairs"
    description = "Pairs trading: z-score of the log-price spread (rolling hedge ratio); enter |z|>entry, exit |z|<exit."
    params = {
        "lookback": IntParam(100, 5, 100_000, description="window of the hedge regression and z-score"),
        "entry_z": FloatParam(2.0, 0.1, 10.0, description="enter when |z| > entry_z"),
        "exit_z": FloatParam(0.5, 0.0, 10.0, description="exit when |z| < exit_z"),
        "hedge": ChoiceParam("rolling", ("rolling", "fixed"), description="rolling OLS beta or fixed 1.0"),
        "weight": FloatParam(0.45, 0.01, 1.0, description="fraction of equity in each leg"),
    }
    search_space = {"lookback": "50:200:50", "entry_z": "1.5:3.0:0.5", "exit_z": "0:1:0.25"}
    search_constraints = ("entry_z>exit_z",)
    instruments = 2

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["exit_z"] >= out["entry_z"]:
            raise ParameterError(
                f"pairs: parameter 'exit_z' ({out['exit_z']}) must be < 'entry_z' ({out['entry_z']})"
            )
        return out

    def on_start(self) -> None:
        symbols = list(self.symbols)
        if len(symbols) < 2:
            raise ParameterError(
                "pairs needs two instruments: run_backtest(BacktestConfig(strategy='pairs', symbol='A,B', "
                "margin=True), {'A': df_a, 'B': df_b}) or quantdesk.backtest.pairs.run_pairs(df_a, df_b)"
            )
        self.a, self.b = symbols[0], symbols[1]
        n = self.p.lookback
        self._y: deque[float] = deque(maxlen=n)
        self._x: deque[float] = deque(maxlen=n)
        self.state = 0
        self.z = math.nan
        self.beta = math.nan
        self.history: list[tuple[int, float, int]] = []  # (time, z, state) on common bars after warm-up
        self._margin = bool(getattr(self.engine.instrument, "margin", False))

    def on_bar(self, bar) -> None:
        a, b = self.a, self.b
        if not (self.has_bar(a) and self.has_bar(b)):
            return
        pa, pb = self.price(a), self.price(b)
        if not (pa > 0 and pb > 0):
            return
        self._y.append(math.log(pa))
        self._x.append(math.log(pb))
        if len(self._y) < self.p.lookback:
            return
        self.z, self.beta = window_zscore(
            np.fromiter(self._y, float), np.fromiter(self._x, float), self.p.hedge
        )
        state = next_state(self.state, self.z, self.p.entry_z, self.p.exit_z)
        self.history.append((self.time, self.z, state))
        if state == self.state:
            return
        self.state = state
        if state == 0:
            self.close_all()
            return
        w = self.p.weight
        for sym, side in ((a, state), (b, -state)):
            if side < 0 and not self._margin:
                self.close(symbol=sym)
            else:
                self.target_weight(side * w, symbol=sym)
