"""Market regimes: causal detectors (rule quadrant, Gaussian HMM, Markov switching, BOCPD), reports by regime,
a risk rule that scales or blocks exposure by regime, and the synthetic data that proves them.

    from quantdesk.intel.regimes import detect_regimes, RegimeStream, by_regime
    out = detect_regimes(df, method="hmm")            # regime, p_regime_0..3, p_changepoint, bars_since_change
    s = RegimeStream(method="hmm"); s.update(bar)     # the same numbers one bar at a time

Every detector is causal by construction: the value at bar t uses bars <= t only (models are fitted on past
bars at fixed refit points and probabilities come from the forward filter), so appending bars never changes an
earlier output. Strategies read the same columns through the catalog: `Ind("regime", method="hmm")`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["METHODS", "RegimeStream", "by_regime", "detect_regimes", "regime_labels"]

METHODS = ("rules", "hmm", "markov", "bocpd")


def __getattr__(name: str) -> Any:  # light package import: numba/statsmodels load on first use
    if name in ("detect_regimes", "RegimeStream", "regime_labels"):
        from quantdesk.intel.regimes import detect

        return getattr(detect, name)
    if name == "by_regime":
        from quantdesk.intel.regimes.report import by_regime

        return by_regime
    raise AttributeError(name)
