"""Walk-forward backtest of `ml_signal` with the model RETRAINED on every train window.

    wf = ml_walk_forward(frame, spec, train="2000b", test="500b", symbol="BTC/USDT", timeframe="1h")
    wf.windows        # per window: bounds, model id, in-sample CV AUC, out-of-sample AUC / accuracy vs baseline,
                      # the strategy's out-of-sample return, Sharpe, trades
    wf.summary()      # JSON-able, incl. the stitched out-of-sample equity's metrics and its deflated Sharpe

Per window (`quantdesk.research.walkforward.make_windows`: rolling or anchored, test windows never overlap):
1. the model is trained (purged CV inside the window for its in-sample scores) on the train window ONLY: labels
   are computed on the window's bars, so a label that would resolve after the window's end does not exist, which
   purges the boundary by construction;
2. it is saved in the registry (content-addressed) and `ml_signal` trades it on the test window through
   `research.walkforward.run_oos` (indicators warmed up on the bars before the window, no order before it);
3. its probabilities on the test window are scored against the labels (out of sample, next to the baseline).
The out-of-sample equity curves are stitched (each window starts at the previous window's final equity).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantdesk.core.errors import DataError

Progress = Callable[[int, int, str], None]


@dataclass
class MlWalkForwardResult:
    windows: pd.DataFrame
    oos_equity: pd.Series
    oos_metrics: dict[str, float]
    scores: dict[str, Any]
    strategy: dict[str, Any]
    models: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        from quantdesk.core.jsonable import to_jsonable

        return to_jsonable({"n_windows": len(self.windows), "models": self.models, "oos": self.oos_metrics,
                            "scores": self.scores, "strategy": self.strategy,
                            "windows": self.windows.to_dict(orient="records")})


def ml_walk_forward(frame: pd.DataFrame, spec: Any, *, train: str, test: str, step: str | None = None,
                    anchored: bool = False, symbol: str = "", timeframe: str = "",
                    params: dict[str, Any] | None = None, base_config: Any = None, save: bool = True,
                    url: str | None = None, executor: Any = None, progress: Progress | None = None
                    ) -> MlWalkForwardResult:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.metrics import compute_metrics
    from quantdesk.core.timeutil import iso
    from quantdesk.ml import registry
    from quantdesk.ml.evaluation import classification_scores
    from quantdesk.ml.labels import make_labels
    from quantdesk.ml.predictor import Predictor
    from quantdesk.ml.training import train as train_model
    from quantdesk.research.walkforward import make_windows, parse_span, run_oos

    tr, te = parse_span(train, "--train"), parse_span(test, "--test")
    st = parse_span(step, "--step") if step else None
    windows = make_windows(pd.DatetimeIndex(frame.index), tr, te, st, anchored)
    if not windows:
        raise DataError(f"the data ({len(frame)} bars) is too short for one window of train {train} + test {test}")
    base = base_config or BacktestConfig(strategy="ml_signal", symbol=symbol or "BTC/USDT",
                                         timeframe=timeframe or "1h")
    labels = make_labels(frame, spec.label)
    rows, parts, trades, models = [], [], [], []
    all_y, all_p = [], []
    level = float(base.cash)
    for k, w in enumerate(windows):
        if progress:
            progress(k, len(windows), f"window {k + 1}/{len(windows)}: training")
        tdf = frame.iloc[w.train_start:w.train_end]
        res = train_model(tdf, spec, symbol=symbol, timeframe=timeframe, executor=executor, importance=False)
        if save:
            registry.save(res.model, res.meta, res.model_id, url=url)
        else:
            registry.remember(res.model, res.meta, res.model_id)
        models.append(res.model_id)
        pred = Predictor(res.model, {**res.meta, "model_id": res.model_id}, res.model_id)
        lo = max(0, w.test_start - 10 * max(1, res.dataset.lookback))
        out = pred.predict_frame(frame.iloc[lo:w.test_end])
        p = out["proba"][w.test_start - lo:]
        y = labels["y"].to_numpy()[w.test_start:w.test_end]
        ok = np.isfinite(p) & np.isfinite(y)
        sc = classification_scores(y[ok], p[ok]) if ok.sum() else {"n": 0}
        all_y.append(y[ok])
        all_p.append(p[ok])
        sp = {"model": res.model_id, **(params or {})}
        cfg = base.model_copy(update={"strategy": "ml_signal", "params": sp})
        wu = 10 * max(1, res.dataset.lookback)
        tr_df, equity, metrics, used = run_oos("ml_signal", sp, frame, w.test_start, w.test_end, wu, cfg)
        scaled = level * equity / float(equity.iloc[0])
        level = float(scaled.iloc[-1])
        parts.append(scaled)
        trades.append(tr_df.assign(window=k))
        rows.append({"window": k, "train_start": iso(frame.index[w.train_start]),
                     "train_end": iso(frame.index[w.train_end - 1]), "test_start": iso(frame.index[w.test_start]),
                     "test_end": iso(frame.index[w.test_end - 1]), "model_id": res.model_id,
                     "is_auc": res.cv.get("auc"), "oos_auc": sc.get("auc"), "oos_accuracy": sc.get("accuracy"),
                     "oos_baseline_accuracy": sc.get("baseline_accuracy"), "oos_brier": sc.get("brier"),
                     "oos_return_pct": metrics.get("total_return_pct"), "oos_sharpe": metrics.get("sharpe"),
                     "oos_trades": metrics.get("num_trades"), "warmup_bars": used})
    if progress:
        progress(len(windows), len(windows), "done")
    equity = pd.concat(parts)
    equity = equity[~equity.index.duplicated(keep="first")]
    all_trades = pd.concat(trades, ignore_index=True)
    closes = pd.concat([frame["close"].iloc[w.test_start:w.test_end] for w in windows])
    oos_metrics = compute_metrics(all_trades, equity, close=closes)
    y_all, p_all = np.concatenate(all_y), np.concatenate(all_p)
    scores = classification_scores(y_all, p_all) if len(y_all) else {"n": 0}
    from quantdesk.research.overfitting import moments, probabilistic_sharpe_ratio

    m = moments(equity.pct_change().dropna().to_numpy())
    psr = probabilistic_sharpe_ratio(m["sr"], m["n_obs"], m["skew"], m["kurtosis"])
    # one configuration traded: the deflated Sharpe is the probabilistic Sharpe against 0 (N = 1)
    strat = {"sharpe_per_bar": m["sr"], "bars": int(m["n_obs"]), "psr": psr, "dsr": psr,
             "dsr_significant": bool(math.isfinite(psr) and psr > 0.95)}
    return MlWalkForwardResult(pd.DataFrame(rows), equity.rename("equity"), oos_metrics, scores, strat, models)
