"""`sma_cross`: the reference strategy (tests and benchmarks rely on these exact semantics).

On the close of bar i: if fast[i] > slow[i] and fast[i-1] <= slow[i-1] and flat, buy with all available cash
(quantity = cash / (fill price x (1 + fee)), sized at the fill); if fast[i] < slow[i] and fast[i-1] >= slow[i-1]
and long, sell the whole position. Market orders fill at the open of bar i+1; the fee is charged on entry and
exit. Long only. A signal on the last bar is not filled; an open position at the end is marked to the last close.
"""

from __future__ import annotations

from quantdesk.strategies.base import Ind, IntParam, Strategy


class SmaCross(Strategy):
    """Fast/slow simple-moving-average crossover, long only, all-in."""

    name = "sma_cross"
    description = "Buy all-in when SMA(fast) crosses above SMA(slow); sell when it crosses below. Long only."
    params = {
        "fast": IntParam(10, 1, 1000, description="fast SMA period"),
        "slow": IntParam(30, 2, 5000, description="slow SMA period"),
    }
    search_space = {"fast": "5:50:5", "slow": "20:200:20"}
    search_constraints = ("slow>fast",)

    def indicators(self):
        return {"fast": Ind("sma", period=self.p.fast), "slow": Ind("sma", period=self.p.slow)}

    def on_start(self) -> None:
        # hot path: plain lists and the engine's cursor, no attribute chains per bar
        self._f = self.ind.fast._data
        self._s = self.ind.slow._data
        self._cur = self.engine.view
        self._eng = self.engine

    def on_bar(self, bar) -> None:
        i = self._cur.index
        if i < 1:
            return
        f, s = self._f, self._s
        f1, s1 = f[i], s[i]
        if f1 > s1:
            if f[i - 1] <= s[i - 1] and self._eng.position_f == 0.0:
                self.buy_all_cash(tag="fast SMA crossed above slow")
        elif f1 < s1:
            if f[i - 1] >= s[i - 1] and self._eng.position_f > 0.0:
                self.close(tag="fast SMA crossed below slow")
