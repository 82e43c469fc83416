"""Registry (skops artefacts, database rows, refusal of untrusted types), the `ml_proba` catalog column (batch ==
stream, one bar in < 5 ms) and the `ml_signal` strategy (trades, sizes by confidence, passes the bias check)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.ml import registry
from quantdesk.ml.features import FeatureSpec
from quantdesk.ml.labels import LabelSpec
from quantdesk.ml.synthetic import planted_ar1
from quantdesk.ml.training import TrainSpec, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    import os

    home = tmp_path_factory.mktemp("qd_ml")
    old = os.environ.get("QD_HOME")
    os.environ["QD_HOME"] = str(home)
    from quantdesk.core.config import set_settings

    set_settings(None)
    df = planted_ar1(3000, phi=0.3, seed=21)
    spec = TrainSpec(label=LabelSpec.parse("horizon:1"),
                     features=FeatureSpec.parse(["rsi:period=14", "bbands:period=10@4h"], returns=(1, 2),
                                                volatility=(8,)), folds=3, causality_samples=1)
    res = train(df, spec, symbol="SYN/USD", timeframe="1h", importance=False)
    row = registry.save(res.model, res.meta, res.model_id)
    registry.clear_cache()
    yield {"df": df, "res": res, "row": row, "home": home}
    registry.clear_cache()
    if old is None:
        os.environ.pop("QD_HOME", None)
    else:
        os.environ["QD_HOME"] = old
    set_settings(None)


def test_saved_model_round_trips(trained) -> None:
    res, row = trained["res"], trained["row"]
    assert row["id"] == res.model_id and row["slot"] == "SYN/USD|1h|horizon:1" and row["status"] == "candidate"
    assert Path(row["path"]).name == "model.skops" and Path(row["path"]).is_file()
    model, meta = registry.load(res.model_id)
    X = res.dataset.X
    assert model.predict(X)["proba"].tobytes() == res.model.predict(X)["proba"].tobytes()
    assert meta["model_id"] == res.model_id and meta["features"] == res.dataset.names
    listed = registry.list_models()
    assert [r["id"] for r in listed] == [res.model_id] and listed[0]["metrics"]["auc"] == pytest.approx(res.cv["auc"])
    registry.set_status(res.model_id, "champion")
    assert registry.champion(row["slot"]) == res.model_id


def test_untrusted_artefact_is_refused(trained, tmp_path: Path) -> None:
    import fractions

    import skops.io as sio

    mid = "ab" * 12
    folder = tmp_path / mid
    folder.mkdir()
    sio.dump({"members": [fractions.Fraction(1, 3)], "calibrator": None, "kinds": ["rf"], "qhat": 0.0,
              "feature_names": []}, folder / "model.skops")
    (folder / "meta.json").write_text(json.dumps({}))
    with pytest.raises(DataError, match="fractions.Fraction"):
        registry.load(mid, directory=tmp_path)
    with pytest.raises(NotFoundError, match="not a registry id"):
        registry.load("../etc/passwd")
    with pytest.raises(NotFoundError, match="no model"):
        registry.load("ff" * 12)


def test_ml_proba_batch_equals_stream_and_is_fast(trained) -> None:
    from quantdesk.indicators import registry as catalog

    df, mid = trained["df"].iloc[-1500:], trained["res"].model_id
    batch = catalog.compute("ml_proba", df, model=mid).to_numpy()
    assert np.isnan(batch[:30]).all() and np.isfinite(batch[-500:]).all()
    stream = catalog.stream("ml_proba", model=mid)
    bars = [{**r._asdict(), "timestamp": t.value} for t, r in zip(df.index, df.itertuples(index=False), strict=True)]
    times = []
    rows = []
    for b in bars:
        t0 = time.perf_counter()
        rows.append(stream.update(b))
        times.append(time.perf_counter() - t0)
    rows = np.array(rows)
    assert np.array_equal(np.isnan(rows), np.isnan(batch))
    np.testing.assert_allclose(rows[np.isfinite(batch)], batch[np.isfinite(batch)], rtol=1e-9)
    assert float(np.median(times[-500:])) < 0.005  # one live bar: features + prediction under 5 ms
    with pytest.raises(NotFoundError, match="no model"):
        catalog.compute("ml_proba", df, model="ab" * 12)


def test_ml_signal_backtest_sizes_by_confidence_and_passes_check_bias(trained) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest
    from quantdesk.research.bias import check_bias
    from quantdesk.strategies.loader import create_strategy

    df, mid = trained["df"].iloc[-1200:], trained["res"].model_id
    strat = create_strategy("ml_signal", {"model": mid})
    res = run_backtest(BacktestConfig(strategy="ml_signal", params={"model": mid}, symbol="SYN/USD"), df,
                       strategy=strat)
    assert res.metrics["num_trades"] > 10
    log = pd.DataFrame(strat.signal_log)
    assert (log["proba"] >= 0.55).all() and (log["direction"] == 1).all()
    # size grows with confidence: weight = 0.95 * min(1, (conf - 0.5) / 0.15)
    np.testing.assert_allclose(log["weight"], 0.95 * np.minimum(1, (log["confidence"] - 0.5) / 0.15))
    rep = check_bias("ml_signal", df, params={"model": mid}, samples=3)
    assert rep.passed, rep.summary()
    assert any("ml.proba" in c or "proba" in c for c in rep.checked) and rep.orders_checked > 0
    assert rep.warmup == 10 * trained["res"].dataset.lookback


def test_ml_signal_without_a_model_or_online_does_not_trade(trained) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest

    res = run_backtest(BacktestConfig(strategy="ml_signal", symbol="SYN/USD"), trained["df"].iloc[:300])
    assert len(res.orders) == 0
    with pytest.raises(ParameterError, match="model"):
        from quantdesk.strategies.loader import create_strategy

        create_strategy("ml_signal", {"model": "not-an-id!"})
