"""`momentum`: rate-of-change or Donchian-channel breakout momentum, long only.

On the close of bar i (fills at the open of bar i+1):

- mode 'roc': ROC[i] = 100 x (close[i] / close[i - roc_period] - 1). When flat and ROC[i] > `threshold`, buy
  with all cash; when long and ROC[i] < `exit_threshold`, close.
- mode 'donchian' (turtle-style): the channel uses bars up to the PREVIOUS bar only, so a bar never
  breaks out of a channel that contains itself (no look-ahead): entry level = max(high[i-entry_period .. i-1]),
  exit level = min(low[i-exit_period .. i-1]). When flat and close[i] > entry level, buy; when long and
  close[i] < exit level, close.

Parameters:
    mode (choice, 'roc', {'roc', 'donchian'}).
    roc_period (int, 10, 1..1000): ROC look-back (mode 'roc').
    threshold (float, 1.0, -100..1000): entry ROC in percent (mode 'roc').
    exit_threshold (float, 0.0, -100..1000): exit when ROC falls below this percent; must be <= threshold.
    entry_period (int, 20, 1..5000): breakout window N (mode 'donchian').
    exit_period (int, 10, 1..5000): exit window M (mode 'donchian').
"""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import ChoiceParam, FloatParam, Ind, IntParam, Strategy


class Momentum(Strategy):
    """ROC-threshold momentum or Donchian breakout (N-bar high entry, M-bar low exit)."""

    name = "momentum"
    description = (
        "Momentum: ROC above a threshold, or a breakout of the previous N-bar high (exit on the M-bar low)."
    )
    params = {
        "mode": ChoiceParam("roc", ("roc", "donchian"), description="signal logic"),
        "roc_period": IntParam(10, 1, 1000, description="ROC look-back (roc mode)"),
        "threshold": FloatParam(1.0, -100.0, 1000.0, description="entry ROC % (roc mode)"),
        "exit_threshold": FloatParam(0.0, -100.0, 1000.0, description="exit ROC % (roc mode)"),
        "entry_period": IntParam(20, 1, 5000, description="breakout channel bars (donchian mode)"),
        "exit_period": IntParam(10, 1, 5000, description="exit channel bars (donchian mode)"),
    }
    search_space = {"mode": "roc,donchian", "roc_period": "5:30:5", "entry_period": "10:50:10"}

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["exit_threshold"] > out["threshold"]:
            raise ParameterError(
                f"momentum: parameter 'exit_threshold' ({out['exit_threshold']}) must be <= "
                f"'threshold' ({out['threshold']})"
            )
        return out

    def indicators(self):
        if self.p.mode == "roc":
            return {"roc": Ind("roc", period=self.p.roc_period)}
        return {
            "entry": Ind("donchian", period=self.p.entry_period),
            "exit": Ind("donchian", period=self.p.exit_period),
        }

    def on_start(self) -> None:
        self._cur = self.engine.view
        self._eng = self.engine
        self._roc_mode = self.p.mode == "roc"
        if self._roc_mode:
            self._r = self.ind.roc._data
        else:
            self._up = self.ind.entry.upper._data
            self._dn = self.ind.exit.lower._data

    def on_bar(self, bar) -> None:
        i = self._cur.index
        pos = self._eng.position_f
        if self._roc_mode:
            r = self._r[i]
            if pos == 0.0:
                if r > self.p.threshold:
                    self.buy_all_cash(tag="ROC above threshold")
            elif pos > 0.0 and r < self.p.exit_threshold:
                self.close(tag="ROC below exit threshold")
            return
        if i < 1:
            return
        c = self._eng.last_close
        if pos == 0.0:
            if c > self._up[i - 1]:  # channel of the previous bars: no look-ahead
                self.buy_all_cash(tag="breakout above channel")
        elif pos > 0.0 and c < self._dn[i - 1]:
            self.close(tag="close below exit channel")
