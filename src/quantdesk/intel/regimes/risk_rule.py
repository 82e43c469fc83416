"""The regime exposure rule: a pre-trade `RiskRule` (order, engine) -> Denial | None, configured by `risk.regime`
(see risk_settings). It keeps one streaming detector per instrument and feeds it the engine's bars up to the
current one before each check, so the regime it uses is the catalog column's value at that bar (causal)."""

from __future__ import annotations

import math
from typing import Any

from quantdesk.intel.regimes.detect import RegimeStream, check_params, regime_labels
from quantdesk.intel.regimes.risk_settings import RegimeRiskSettings
from quantdesk.risk.rules import TOL, Denial, Impact, deny


class RegimeExposureRule:
    def __init__(self, settings: RegimeRiskSettings | dict[str, Any]) -> None:
        self.s = settings if isinstance(settings, RegimeRiskSettings) else RegimeRiskSettings(**settings)
        p = check_params({**self.s.params, "method": self.s.method})
        self.labels = regime_labels(self.s.method, p["n_states"])
        self._streams: dict[Any, tuple[RegimeStream, list[int]]] = {}
        self.last: dict[Any, str] = {}

    def regime(self, ctx: Any, iid: Any) -> str:
        """The regime of instrument `iid` at the engine's current bar ("unknown" while warming up)."""
        leg = ctx.leg(iid)
        stream, seen = self._streams.setdefault(iid, (RegimeStream(method=self.s.method, **self.s.params), [0]))
        end = leg.view.index + 1
        out: tuple[float, ...] | None = None
        for i in range(seen[0], end):
            out = stream.step(leg.h[i], leg.l[i], leg.c[i])
        if out is not None:
            code = out[0]
            self.last[iid] = "unknown" if math.isnan(code) else self.labels[int(code)]
        seen[0] = max(seen[0], end)
        return self.last.get(iid, "unknown")

    def __call__(self, order: Any, ctx: Any) -> Denial | None:
        imp = Impact(order, ctx)
        name = self.regime(ctx, imp.iid)  # fed on every order, reducing ones too, so it never lags behind
        if imp.reducing:
            return None
        cap = self.s.unknown if name == "unknown" else self.s.max_exposure.get(name)
        if cap is None:
            return None
        imp.equity = eq = ctx.equity_f
        if not eq > 0:
            return None  # the engine's own equity rule refuses it
        share = imp.worst(imp.iid) / eq
        if share > cap * TOL:
            return deny("regime_exposure", share, cap, f"position share of equity in regime {name!r}", regime=name)
        return None
