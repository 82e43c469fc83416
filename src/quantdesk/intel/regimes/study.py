"""The honest usefulness study: does sizing by regime help, out of sample?

Strategy `regime_sized` (SMA trend filter, long or flat). Two walk-forwards on the same windows of the same real
series, same trend parameters:
- unconditioned: always weight 1.0 when long (the space holds the single value volatile_weight = 1.0);
- regime-conditioned: on each train window the optimiser picks `volatile_weight` in {0, 0.25, 0.5, 0.75, 1}
  (calm weight 1.0) by Sharpe, then trades it on the next, unseen test window.
The stitched out-of-sample (OOS) Sharpe, return and max drawdown of both are reported side by side. Verdict:
"helped" when the conditioned OOS Sharpe is higher by more than MARGIN (0.05), "hurt" when lower by more than
that, else "no material difference". Nothing is tuned on the test windows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

KEYS = ("sharpe", "total_return_pct", "annual_return_pct", "max_drawdown_pct", "num_trades", "exposure_pct")
WEIGHTS = [0.0, 0.25, 0.5, 0.75, 1.0]
MARGIN = 0.05


def usefulness_study(data: pd.DataFrame, *, name: str = "", method: str = "hmm", fast: int = 20, slow: int = 100,
                     train: str = "500b", test: str = "250b", fee: float = 0.001) -> dict[str, Any]:
    """Both walk-forwards on `data`; returns {"series", "unconditioned": {...}, "conditioned": {...},
    "chosen_weights": [...], "delta_sharpe", "delta_max_drawdown_pct", "verdict", "helped"}."""
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.research.walkforward import walk_forward

    base = BacktestConfig(strategy="regime_sized", params={"fast": fast, "slow": slow, "method": method},
                          symbol=name or "SERIES", timeframe="1d", fee=fee)
    fixed = {"fast": [fast], "slow": [slow], "method": [method], "calm_weight": [1.0]}
    runs = {}
    for label, space in (("unconditioned", {**fixed, "volatile_weight": [1.0]}),
                         ("conditioned", {**fixed, "volatile_weight": WEIGHTS})):
        wf = walk_forward("regime_sized", data, train=train, test=test, space=space, objective="sharpe",
                          base_config=base)
        runs[label] = wf
    out: dict[str, Any] = {"series": name, "bars": len(data), "method": method, "train": train, "test": test,
                           "windows": len(runs["conditioned"].results)}
    for label, wf in runs.items():
        out[label] = {k: wf.oos_metrics.get(k) for k in KEYS}
    out["chosen_weights"] = [r.params.get("volatile_weight") for r in runs["conditioned"].results]
    s_c, s_u = out["conditioned"]["sharpe"], out["unconditioned"]["sharpe"]
    out["delta_sharpe"] = None if s_c is None or s_u is None else s_c - s_u
    out["delta_max_drawdown_pct"] = out["conditioned"]["max_drawdown_pct"] - out["unconditioned"]["max_drawdown_pct"]
    d = out["delta_sharpe"]
    out["verdict"] = ("undetermined" if d is None else "helped" if d > MARGIN else "hurt" if d < -MARGIN
                      else "no material difference")
    out["helped"] = out["verdict"] == "helped"
    return out
