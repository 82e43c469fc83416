"""`regime_sized`: trend following whose position size depends on the market regime (the catalog's `regime` column).

Parameters:
    fast (int, 20, 2..500): fast SMA period (< slow).
    slow (int, 100, 5..2000): slow SMA period.
    method (choice, 'hmm'): regime detector: 'hmm', 'markov' or 'bocpd'.
    calm_weight (float, 1.0, 0..1): target weight in the calm regime.
    volatile_weight (float, 1.0, 0..1): target weight in the volatile regime.

Long when the fast SMA is above the slow one, flat otherwise; while long, the target weight is `calm_weight` in
the calm regime and `volatile_weight` in the volatile one (1.0 while the detector warms up). With both weights
at 1.0 it is the unconditioned strategy, which is what the regime usefulness study compares it with
(quantdesk.intel.regimes.study).
"""

from __future__ import annotations

import math
from typing import Any

from quantdesk.strategies.base import ChoiceParam, FloatParam, Ind, IntParam, Strategy


class RegimeSized(Strategy):
    name = "regime_sized"
    description = "SMA trend filter, position size by volatility regime (hmm / markov / bocpd)."
    params = {
        "fast": IntParam(20, 2, 500, description="fast SMA period (< slow)"),
        "slow": IntParam(100, 5, 2000, description="slow SMA period"),
        "method": ChoiceParam("hmm", ("hmm", "markov", "bocpd"), description="regime detector"),
        "calm_weight": FloatParam(1.0, 0.0, 1.0, description="target weight in the calm regime"),
        "volatile_weight": FloatParam(1.0, 0.0, 1.0, description="target weight in the volatile regime"),
    }
    search_space = {"fast": "10:40:10", "slow": "60:180:40", "volatile_weight": "0.25:1.0:0.25"}
    search_constraints = ("slow>fast",)

    @classmethod
    def learns_online(cls, params: Any) -> bool:
        """Its regime detector refits on all the bars before each refit point (research.bias reads this)."""
        return True

    def indicators(self):
        return {"fast": Ind("sma", period=self.p.fast), "slow": Ind("sma", period=self.p.slow),
                "regime": Ind("regime", method=self.p.method)}

    def on_start(self) -> None:
        self._target = 0.0

    def on_bar(self, bar) -> None:
        fast, slow = self.ind.fast[-1], self.ind.slow[-1]
        if math.isnan(fast) or math.isnan(slow):
            return
        regime = self.ind.regime.regime[-1]
        weight = 1.0 if math.isnan(regime) else (self.p.calm_weight if regime == 0 else self.p.volatile_weight)
        target = weight if fast > slow else 0.0
        if abs(target - self._target) < 1e-9:
            return
        if target == 0.0:
            if not self.is_flat:
                self.close()
        else:
            self.target_weight(target * 0.99)  # leave room for the fee at the next open
        self._target = target
