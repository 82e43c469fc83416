"""`scalping`: short-horizon momentum entries with tight take-profit / stop-loss brackets, long only.

Signal strength (a score in [0, 1]) on the close of bar i:

    rsi_score = clip((RSI(rsi_period)[i] - 50) / 50, 0, 1)       # short-term strength above neutral
    roc_score = clip(ROC(roc_period)[i] / roc_scale, 0, 1)        # ROC in %, saturating at roc_scale %
    score     = rsi_weight x rsi_score + (1 - rsi_weight) x roc_score

When flat with no working orders and score >= `threshold`, buy with all cash as a bracket
(`buy_all_cash(stop_loss=close x (1 - stop_loss_pct/100), take_profit=close x (1 + take_profit_pct/100))`, the
bracket prices taken from the signal bar's close); the entry fills at the next bar's open and activates the two
OCO children: the take-profit limit fills at its price (or better, at a gap open), the stop at its trigger (or
the gap open). If neither has triggered after `max_bars` bars in the trade, the children are cancelled and the
position is closed at the next open.

Parameters:
    rsi_period (int, 7, 2..100), roc_period (int, 3, 1..100).
    roc_scale (float, 1.0, 0.01..100): ROC (in %) that gives a full roc_score.
    rsi_weight (float, 0.5, 0..1): weight of the RSI part in the score.
    threshold (float, 0.7, 0..1): minimum score to enter.
    take_profit_pct (float, 0.5, 0.01..50), stop_loss_pct (float, 0.3, 0.01..50): bracket distances in %.
    max_bars (int, 12, 1..10000): maximum bars in a trade.
"""

from __future__ import annotations

from quantdesk.strategies.base import FloatParam, Ind, IntParam, Strategy


class Scalping(Strategy):
    """Score-gated entries with tight %-brackets and a maximum holding time."""

    name = "scalping"
    description = (
        "Enter when a short RSI+ROC score exceeds a threshold; tight TP/SL bracket; max holding bars."
    )
    params = {
        "rsi_period": IntParam(7, 2, 100, description="short RSI period"),
        "roc_period": IntParam(3, 1, 100, description="short ROC period"),
        "roc_scale": FloatParam(1.0, 0.01, 100.0, description="ROC % giving a full roc score"),
        "rsi_weight": FloatParam(0.5, 0.0, 1.0, description="weight of the RSI score"),
        "threshold": FloatParam(0.7, 0.0, 1.0, description="minimum score to enter"),
        "take_profit_pct": FloatParam(0.5, 0.01, 50.0, description="take-profit distance in %"),
        "stop_loss_pct": FloatParam(0.3, 0.01, 50.0, description="stop-loss distance in %"),
        "max_bars": IntParam(12, 1, 10000, description="maximum bars in a trade"),
    }
    search_space = {"threshold": "0.5:0.9:0.1", "take_profit_pct": "0.3:1.5:0.3", "stop_loss_pct": "0.2:1.0:0.2"}

    def indicators(self):
        return {"rsi": Ind("rsi", period=self.p.rsi_period), "roc": Ind("roc", period=self.p.roc_period)}

    @staticmethod
    def score_of(rsi: float, roc: float, roc_scale: float, rsi_weight: float) -> float:
        """The [0, 1] signal strength (NaN inputs give NaN)."""
        rs = min(max((rsi - 50.0) / 50.0, 0.0), 1.0) if rsi == rsi else float("nan")
        cs = min(max(roc / roc_scale, 0.0), 1.0) if roc == roc else float("nan")
        return rsi_weight * rs + (1.0 - rsi_weight) * cs

    def on_start(self) -> None:
        self._r = self.ind.rsi._data
        self._q = self.ind.roc._data
        self._cur = self.engine.view
        self._eng = self.engine
        self._entry_bar: int | None = None

    def on_bar(self, bar) -> None:
        i = self._cur.index
        pos = self._eng.position_f
        p = self.p
        if pos > 0.0:
            if self._entry_bar is None:
                self._entry_bar = i  # first close seen in the trade: the entry filled at this bar's open
            if i - self._entry_bar + 1 >= p.max_bars:
                self.cancel_all()
                self.close(tag="max_bars")
            return
        self._entry_bar = None
        if pos < 0.0 or self.open_orders:
            return
        score = self.score_of(self._r[i], self._q[i], p.roc_scale, p.rsi_weight)
        if score >= p.threshold:
            c = self._eng.last_close
            self.buy_all_cash(
                stop_loss=c * (1.0 - p.stop_loss_pct / 100.0),
                take_profit=c * (1.0 + p.take_profit_pct / 100.0),
            )
