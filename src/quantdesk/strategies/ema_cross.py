"""`ema_cross`: fast/slow exponential-moving-average crossover.

Idea: trend following. On the close of bar i, a cross up (EMA(fast)[i] > EMA(slow)[i] and
EMA(fast)[i-1] <= EMA(slow)[i-1]) opens a long with all available cash; a cross down closes it. Orders are
market orders filled at the open of bar i+1 (fees on entry and exit). Crosses during the slow EMA's warm-up
(NaN) are ignored.

With `allow_short=True` (and a backtest run with `margin=True`), a cross down also opens a short of the same
equity weight (`target_weight(-weight)`) and a cross up covers it before going long: always in the market
after the first cross. Without margin the venue rejects short sales, so the strategy stays long-only and logs
a warning once.

Parameters:
    fast (int, 12, 1..1000): fast EMA period; must be < slow.
    slow (int, 26, 2..5000): slow EMA period.
    allow_short (bool, False): also trade the short side (needs margin).
    short_weight (float, 0.95, 0.05..1.0): fraction of equity sold short on a cross down (short mode only).
"""

from __future__ import annotations

from typing import Any

from quantdesk.core.errors import ParameterError
from quantdesk.strategies.base import BoolParam, FloatParam, Ind, IntParam, Strategy


class EmaCross(Strategy):
    """Fast/slow EMA crossover; long only by default, optionally long/short."""

    name = "ema_cross"
    description = "Buy when EMA(fast) crosses above EMA(slow), exit (or reverse to short) on the cross below."
    params = {
        "fast": IntParam(12, 1, 1000, description="fast EMA period (< slow)"),
        "slow": IntParam(26, 2, 5000, description="slow EMA period"),
        "allow_short": BoolParam(False, description="go short on a cross down (needs margin)"),
        "short_weight": FloatParam(0.95, 0.05, 1.0, description="equity fraction of a short position"),
    }
    search_space = {"fast": "5:50:5", "slow": "20:200:20"}
    search_constraints = ("slow>fast",)

    @classmethod
    def validate_params(cls, values: Any) -> dict[str, Any]:
        out = super().validate_params(values)
        if out["fast"] >= out["slow"]:
            raise ParameterError(
                f"ema_cross: parameter 'fast' ({out['fast']}) must be < 'slow' ({out['slow']})"
            )
        return out

    def indicators(self):
        return {"fast": Ind("ema", period=self.p.fast), "slow": Ind("ema", period=self.p.slow)}

    def on_start(self) -> None:
        self._f = self.ind.fast._data
        self._s = self.ind.slow._data
        self._cur = self.engine.view
        self._eng = self.engine
        self._short = bool(self.p.allow_short)
        if self._short and not getattr(self.engine.instrument, "margin", False):
            self.log.warning("ema_cross: allow_short needs margin=True; trading long only")
            self._short = False

    def on_bar(self, bar) -> None:
        i = self._cur.index
        if i < 1:
            return
        f, s = self._f, self._s
        f1, s1, f0, s0 = f[i], s[i], f[i - 1], s[i - 1]
        pos = self._eng.position_f
        if f1 > s1 and f0 <= s0:  # cross up (NaN compares False: no signal during warm-up)
            if pos < 0.0:
                self.close(tag="fast EMA crossed above slow")
            if pos <= 0.0:
                self.buy_all_cash(tag="fast EMA crossed above slow")
        elif f1 < s1 and f0 >= s0:  # cross down
            if pos > 0.0:
                self.close(tag="fast EMA crossed below slow")
            if self._short and pos >= 0.0:
                price = self._eng.last_close
                fee = float(self._eng.instrument.taker_fee)
                # size on equity after the close (equity is unchanged by closing at the same price)
                qty = self.p.short_weight * self.equity / (price * (1 + fee))
                if qty > 0:
                    self.sell(qty, tag="fast EMA crossed below slow (short)")
