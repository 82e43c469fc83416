"""The usefulness study runs on real data and reports both numbers and a verdict that follows from them."""

from __future__ import annotations

import math

from quantdesk.intel.regimes.study import MARGIN, WEIGHTS, usefulness_study


def test_study_reports_both_walk_forwards_and_a_consistent_verdict(real_ohlcv) -> None:
    df = real_ohlcv["goog_1d"].iloc[:1500]
    r = usefulness_study(df, name="goog_1d", method="bocpd", train="500b", test="250b")
    assert r["windows"] == 4
    for side in ("unconditioned", "conditioned"):
        assert math.isfinite(r[side]["sharpe"]) and math.isfinite(r[side]["total_return_pct"])
    assert all(w in WEIGHTS for w in r["chosen_weights"]) and len(r["chosen_weights"]) == 4
    d = r["conditioned"]["sharpe"] - r["unconditioned"]["sharpe"]
    assert r["delta_sharpe"] == d
    want = "helped" if d > MARGIN else "hurt" if d < -MARGIN else "no material difference"
    assert r["verdict"] == want and r["helped"] == (want == "helped")
    # when the optimiser kept weight 1 in every window the two runs are the same strategy: same OOS result
    if all(w == 1.0 for w in r["chosen_weights"]):
        assert r["conditioned"] == r["unconditioned"]
