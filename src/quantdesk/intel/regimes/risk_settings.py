"""`risk.regime`: scale or block exposure by market regime (the rule is quantdesk.intel.regimes.risk_rule).

    [risk.regime]
    method = "hmm"                                  # rules | hmm | markov | bocpd
    params = { train = 500 }                        # detector parameters (the catalog's `regime` entry)
    max_exposure = { volatile = 0.5 }               # regime name -> max position share of equity; 0 = block
    unknown = 0.0                                   # cap while the detector warms up (omit: no cap)

Exposure = the symbol's worst-case position after the order x last price / equity (as `max_position_pct`).
Reducing and closing orders always pass. Regime names: see `regime_labels(method, n_states)` (calm/volatile,
calm/normal/volatile, or the rule quadrant's bull_calm ... bear_volatile).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RegimeRiskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["rules", "hmm", "markov", "bocpd"] = "rules"
    params: dict[str, Any] = Field(default_factory=dict)
    max_exposure: dict[str, float] = Field(default_factory=dict)
    unknown: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> RegimeRiskSettings:
        from quantdesk.intel.regimes.detect import check_params, regime_labels

        p = check_params({**self.params, "method": self.method})
        names = regime_labels(self.method, p["n_states"])
        bad = [k for k in self.max_exposure if k not in names]
        if bad:
            raise ValueError(f"max_exposure: unknown regime(s) {bad} for method {self.method!r}; regimes are {names}")
        neg = [k for k, v in self.max_exposure.items() if not v >= 0]
        if neg:
            raise ValueError(f"max_exposure: caps must be >= 0 (got {neg})")
        return self
