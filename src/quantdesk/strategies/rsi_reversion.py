"""`rsi_reversion`: RSI mean reversion, long only.

Idea: an oversold RSI tends to revert. On the close of bar i: when flat and RSI[i] < `lower`, buy with all
cash (fills at the open of bar i+1); when long and RSI[i] > the exit level, close. The exit level is `upper`,
or `exit_level` when that is set (> 0), e.g. 50 to take the reversion back to neutral instead of waiting for
overbought. Bars where the RSI is still warming up (NaN) never signal.

Parameters:
    period (int, 14, 2..200): RSI period (Wilder).
    lower (float, 30, 1..50): buy when RSI < lower.
    upper (float, 70, 50..99): exit when RSI > upper (unless exit_level is set).
    exit_level (float, 0, 0..99): 0 = use `upper`; otherwise exit when RSI > exit_level (must be > lower).
"""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import FloatParam, Ind, IntParam, Strategy


class RsiReversion(Strategy):
    """Buy oversold (RSI < lower), sell at overbought (RSI > upper) or at an exit level."""

    name = "rsi_reversion"
    description = "Buy when RSI(period) < lower; exit when RSI > upper (or > exit_level if set). Long only."
    params = {
        "period": IntParam(14, 2, 200, description="RSI period"),
        "lower": FloatParam(30.0, 1.0, 50.0, description="entry: RSI below this"),
        "upper": FloatParam(70.0, 50.0, 99.0, description="exit: RSI above this"),
        "exit_level": FloatParam(0.0, 0.0, 99.0, description="0 = exit at upper; else exit above this level"),
    }
    search_space = {"period": "7:28:7", "lower": "20:35:5", "upper": "65:80:5"}

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["lower"] >= out["upper"]:
            raise ParameterError(
                f"rsi_reversion: parameter 'lower' ({out['lower']}) must be < 'upper' ({out['upper']})"
            )
        if out["exit_level"] and out["exit_level"] <= out["lower"]:
            raise ParameterError(
                f"rsi_reversion: parameter 'exit_level' ({out['exit_level']}) must be > 'lower' "
                f"({out['lower']}) or 0"
            )
        return out

    def indicators(self):
        return {"rsi": Ind("rsi", period=self.p.period)}

    def on_start(self) -> None:
        self._r = self.ind.rsi._data
        self._cur = self.engine.view
        self._eng = self.engine
        self._lower = self.p.lower
        self._exit = self.p.exit_level or self.p.upper

    def on_bar(self, bar) -> None:
        r = self._r[self._cur.index]
        pos = self._eng.position_f
        if pos == 0.0:
            if r < self._lower:
                self.buy_all_cash(tag="RSI below lower")
        elif pos > 0.0 and r > self._exit:
            self.close(tag="RSI above exit level")
