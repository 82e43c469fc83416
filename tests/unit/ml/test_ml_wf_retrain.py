"""Walk-forward with a model retrained per window (never trained on its test window) and champion/challenger
retraining that promotes a challenger only when it beats the champion on bars neither has seen."""

from __future__ import annotations

import pandas as pd
import pytest

from quantdesk.core.errors import DataError
from quantdesk.ml.features import FeatureSpec
from quantdesk.ml.labels import LabelSpec
from quantdesk.ml.synthetic import planted_ar1, regime_switch
from quantdesk.ml.training import TrainSpec

FEATS = FeatureSpec.parse(["rsi:period=14"], returns=(1, 2, 4), volatility=(8,))
FAST = {"n_estimators": 80, "num_leaves": 4, "min_child_samples": 100, "learning_rate": 0.05}
SPEC = TrainSpec(label=LabelSpec.parse("horizon:1"), features=FEATS, folds=2, params=FAST, causality_samples=0)


def test_walk_forward_retrains_per_window(qd_home) -> None:
    from quantdesk.ml import registry
    from quantdesk.ml.wf import ml_walk_forward

    df = planted_ar1(3500, phi=0.3, seed=31)
    wf = ml_walk_forward(df, SPEC, train="1500b", test="500b", symbol="SYN/USD", timeframe="1h")
    w = wf.windows
    assert len(w) == 4 and w["model_id"].nunique() == 4  # one model per window
    for row in w.itertuples():
        _m, meta = registry.load(row.model_id)
        assert pd.Timestamp(meta["last"]) < pd.Timestamp(row.test_start)  # never trained on its test window
        assert row.oos_auc > 0.55 and row.oos_accuracy > row.oos_baseline_accuracy
    assert wf.scores["auc"] > 0.55 and wf.scores["n"] > 1800
    first_test = pd.Timestamp(w["test_start"].iloc[0])
    assert wf.oos_equity.index[0] == first_test and len(wf.oos_equity) == 2000
    assert wf.oos_metrics["num_trades"] > 20
    assert {"psr", "dsr", "dsr_significant"} <= set(wf.strategy)
    doc = wf.summary()
    assert doc["n_windows"] == 4 and len(doc["models"]) == 4


def test_champion_challenger_promotes_on_unseen_bars(qd_home) -> None:
    from quantdesk.ml import registry
    from quantdesk.ml.retrain import champion_challenger

    df = regime_switch(2500, 1500, phi1=0.3, phi2=-0.3, seed=32)
    old = df.iloc[:2500]
    first = champion_challenger(old, SPEC, symbol="SYN/USD", timeframe="1h", every_bars=500, holdout_bars=400)
    assert first["decision"] == "bootstrapped"
    champ = first["champion"]
    assert registry.champion(first["slot"]) == champ
    again = champion_challenger(df.iloc[:2700], SPEC, symbol="SYN/USD", timeframe="1h",
                                every_bars=500, holdout_bars=400)
    assert again["decision"] == "not due" and again["new_bars"] == 200
    with pytest.raises(DataError, match="holdout"):
        champion_challenger(df.iloc[:2700], SPEC, symbol="SYN/USD", timeframe="1h", every_bars=500,
                            holdout_bars=400, drift=True)
    dec = champion_challenger(df, SPEC, symbol="SYN/USD", timeframe="1h", every_bars=500, holdout_bars=400,
                              train_bars=1500)
    assert dec["decision"] == "promoted" and dec["previous"] == champ and dec["trigger"] == "schedule"
    sc = dec["scores"]
    assert sc["challenger"]["logloss"] < sc["champion"]["logloss"]
    assert sc["champion"]["auc"] < 0.5 < sc["challenger"]["auc"]  # the stale model is wrong-way round now
    assert registry.champion(dec["slot"]) == dec["challenger"]
    assert registry.get_row(champ)["status"] == "retired"
    _m, meta = registry.load(dec["challenger"])
    assert pd.Timestamp(meta["last"]) < pd.Timestamp(dec["holdout_start"])
