"""`macd`: MACD line / signal line crossover with an optional histogram filter, long only.

Idea: momentum turning points. hist = MACD line - signal line. On the close of bar i, when flat, buy with all
cash if the histogram crosses above the entry threshold (hist[i-1] <= thr[i-1] and hist[i] > thr[i], where
thr = `hist_min_pct` % of the close; with the default 0 this is exactly "MACD crosses above signal"); when long,
close if the histogram crosses below zero (MACD crosses below signal). With `zero_line=True` an entry also
needs the MACD line above zero (trend filter). Fills at the next bar's open.

Parameters:
    fast (int, 12, 1..500): fast EMA period (< slow).
    slow (int, 26, 2..1000): slow EMA period.
    signal (int, 9, 1..500): signal EMA period.
    hist_min_pct (float, 0.0, 0..10): histogram filter: the histogram must exceed this percent of the close.
    zero_line (bool, False): only enter when the MACD line is above zero.
"""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import BoolParam, FloatParam, Ind, IntParam, Strategy


class Macd(Strategy):
    """MACD/signal crossover, optional histogram-size and zero-line filters."""

    name = "macd"
    description = (
        "Buy when MACD crosses above its signal (histogram above a threshold); exit on the cross below."
    )
    params = {
        "fast": IntParam(12, 1, 500, description="fast EMA period (< slow)"),
        "slow": IntParam(26, 2, 1000, description="slow EMA period"),
        "signal": IntParam(9, 1, 500, description="signal EMA period"),
        "hist_min_pct": FloatParam(0.0, 0.0, 10.0, description="entry needs hist > this % of close"),
        "zero_line": BoolParam(False, description="entry needs the MACD line > 0"),
    }
    search_space = {"fast": "6:18:3", "slow": "20:40:5", "signal": "5:13:2"}
    search_constraints = ("slow>fast",)

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["fast"] >= out["slow"]:
            raise ParameterError(f"macd: parameter 'fast' ({out['fast']}) must be < 'slow' ({out['slow']})")
        return out

    def indicators(self):
        return {
            "macd": Ind("macd", fast_period=self.p.fast, slow_period=self.p.slow, signal_period=self.p.signal)
        }

    def on_start(self) -> None:
        self._m = self.ind.macd.macd._data
        self._h = self.ind.macd.hist._data
        self._cur = self.engine.view
        self._eng = self.engine
        self._k = self.p.hist_min_pct / 100.0
        self._zero = self.p.zero_line

    def on_bar(self, bar) -> None:
        i = self._cur.index
        if i < 1:
            return
        h1, h0 = self._h[i], self._h[i - 1]
        pos = self._eng.position_f
        if pos == 0.0:
            close = self.data.close
            thr1 = self._k * close[-1]
            thr0 = self._k * close[-2]
            if h1 > thr1 and h0 <= thr0 and (not self._zero or self._m[i] > 0.0):
                self.buy_all_cash(tag="MACD crossed above signal")
        elif pos > 0.0 and h1 < 0.0 and h0 >= 0.0:
            self.close(tag="MACD crossed below signal")
