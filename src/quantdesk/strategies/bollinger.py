"""`bollinger`: Bollinger Bands, mean reversion or breakout, long only.

Bands: middle = SMA(close, period), upper/lower = middle +/- nbdev x stddev (population, like TA-Lib).
On the close of bar i (fills at the open of bar i+1):

- mode 'mean_reversion': when flat and close[i] < lower[i], buy with all cash; when long and
  close[i] >= middle[i] (back to the mean), close.
- mode 'breakout': when flat and close[i] > upper[i], buy with all cash; when long and close[i] < middle[i],
  close.

Parameters:
    period (int, 20, 2..1000): SMA / stddev window.
    nbdev (float, 2.0, 0.1..10): band width in standard deviations.
    mode (choice, 'mean_reversion', {'mean_reversion', 'breakout'}).
"""

from __future__ import annotations

from quantdesk.strategies.base import ChoiceParam, FloatParam, Ind, IntParam, Strategy


class Bollinger(Strategy):
    """Bollinger Bands: buy below the lower band and exit at the middle, or buy the upper-band breakout."""

    name = "bollinger"
    description = "Bollinger Bands mean reversion (buy < lower, exit at middle) or breakout (buy > upper, exit < middle)."
    params = {
        "period": IntParam(20, 2, 1000, description="band window"),
        "nbdev": FloatParam(2.0, 0.1, 10.0, description="band width in standard deviations"),
        "mode": ChoiceParam("mean_reversion", ("mean_reversion", "breakout"), description="signal logic"),
    }
    search_space = {"period": "10:50:10", "nbdev": "1.5:3.0:0.5", "mode": "mean_reversion,breakout"}

    def indicators(self):
        p = self.p
        return {"bb": Ind("bbands", period=p.period, nbdev_up=p.nbdev, nbdev_dn=p.nbdev)}

    def on_start(self) -> None:
        self._u = self.ind.bb.upper._data
        self._m = self.ind.bb.middle._data
        self._lo = self.ind.bb.lower._data
        self._cur = self.engine.view
        self._eng = self.engine
        self._breakout = self.p.mode == "breakout"

    def on_bar(self, bar) -> None:
        i = self._cur.index
        c = self._eng.last_close
        pos = self._eng.position_f
        if self._breakout:
            if pos == 0.0:
                if c > self._u[i]:
                    self.buy_all_cash(tag="close above upper band")
            elif pos > 0.0 and c < self._m[i]:
                self.close(tag="close below middle band")
        else:
            if pos == 0.0:
                if c < self._lo[i]:
                    self.buy_all_cash(tag="close below lower band")
            elif pos > 0.0 and c >= self._m[i]:
                self.close(tag="close back at middle band")
