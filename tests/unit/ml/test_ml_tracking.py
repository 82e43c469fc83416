"""Signal tracking: outcomes against hand computations, calibration reports against planted truth, backtest
signals extracted from their trades, the store, and the calibration-drift alert through the alert manager."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import ParameterError
from quantdesk.ml.tracking import (
    SignalRecord,
    accuracy_report,
    apply_outcomes,
    calibration_drift,
    records_frame,
    resolve,
    track_backtest,
)


def _bars(closes, highs=None, lows=None) -> pd.DataFrame:
    c = np.asarray(closes, dtype=float)
    h = np.asarray(highs if highs is not None else c, dtype=float)
    lo = np.asarray(lows if lows is not None else c, dtype=float)
    idx = pd.date_range("2024-01-01", periods=len(c), freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": c, "high": h, "low": lo, "close": c, "volume": 1.0}, index=idx)


def _rec(frame: pd.DataFrame, i: int, direction: int = 1, **kw) -> SignalRecord:
    return SignalRecord(ts=frame.index[i].value, source="s", symbol="X/USD", timeframe="1h", direction=direction,
                        price=float(frame["close"].iloc[i]), **kw)


def test_outcomes_by_hand() -> None:
    f = _bars([100, 101, 99, 103, 104, 90], highs=[100, 101.5, 99, 103, 104, 90], lows=[100, 101, 98.5, 103, 104, 90])
    o = resolve([_rec(f, 0, horizon=3), _rec(f, 0, -1, horizon=3), _rec(f, 0, horizon=3, barrier={"tp": 0.015}),
                 _rec(f, 0, horizon=3, barrier={"tp": 0.03, "sl": 0.015}), _rec(f, 3, horizon=3)], f)
    assert o[0].ret == pytest.approx(0.03) and o[0].hit and o[0].resolved_by == "horizon"
    assert o[0].exit_ts == f.index[3].value and o[0].exit_price == 103
    assert o[1].ret == pytest.approx(-0.03) and not o[1].hit
    assert o[2].resolved_by == "tp" and o[2].exit_ts == f.index[1].value and o[2].ret == 0.015
    assert o[3].resolved_by == "sl" and o[3].exit_ts == f.index[2].value and not o[3].hit and o[3].ret == -0.015
    assert o[4] is None  # bar 3 + 3 is beyond the data: not resolvable yet
    both = _bars([100, 100, 100], highs=[100, 103, 100], lows=[100, 97, 100])  # one bar touches both barriers
    (o,) = resolve([_rec(both, 0, horizon=2, barrier={"tp": 0.02, "sl": 0.02})], both)
    assert o.resolved_by == "sl"  # the conservative order


def test_bad_records_are_refused() -> None:
    for kw, needle in (({"direction": 0}, "direction"), ({"price": -1.0}, "price"), ({"confidence": 1.5}, "confidence"),
                       ({"horizon": 0}, "horizon"), ({"barrier": {"tp": -0.1}}, "barrier")):
        base = {"ts": 0, "source": "s", "symbol": "X", "timeframe": "1h", "direction": 1, "price": 1.0}
        with pytest.raises(ParameterError, match=needle):
            SignalRecord(**{**base, **kw})


def _planted_signals(n: int, calibrated: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.5, 0.9, n)
    hit = rng.random(n) < (conf if calibrated else 0.5)
    rows = pd.DataFrame({"id": np.arange(n).astype(str), "ts": np.arange(n), "source": "m", "origin": "test",
                         "run": None, "symbol": "X", "timeframe": "1h", "direction": rng.choice([-1, 1], n),
                         "confidence": conf, "price": 1.0, "horizon": 1, "barrier": None, "features": None,
                         "status": "resolved", "exit_ts": np.arange(n) + 1, "exit_price": 1.0,
                         "ret": np.where(hit, 0.01, -0.01) * rng.uniform(0.5, 1.5, n), "hit": hit,
                         "resolved_by": "horizon"})
    return rows


def test_report_recovers_planted_calibration() -> None:
    good = accuracy_report(_planted_signals(5000, True))["overall"]
    assert good["ece"] < 0.03 and good["brier"] < good["baseline_brier"]
    assert good["hit_rate"] == pytest.approx(0.7, abs=0.02) and 0.45 <= good["baseline_hit_rate"] <= 0.55
    rates = [d["hit_rate"] for d in good["deciles"]]
    assert len(rates) == 10 and np.corrcoef(np.arange(10), rates)[0, 1] > 0.9  # higher confidence, more hits
    assert good["spearman"]["rho"] > 0.1 and good["spearman"]["p_value"] < 1e-6
    bad = accuracy_report(_planted_signals(5000, False))["overall"]
    assert bad["ece"] > 0.15 and bad["brier"] > bad["baseline_brier"]
    assert abs(bad["spearman"]["rho"]) < 0.05
    drift = calibration_drift(_planted_signals(500, False), window=200, threshold=0.1)
    assert drift[0]["drifted"] and drift[0]["signals"] == 200


def test_drift_raises_the_calibration_alert() -> None:
    from quantdesk.ml.tracking import DriftWatch
    from quantdesk.monitoring.alerts import AlertManager

    mgr = AlertManager({"rules": [{"kind": "calibration_drift", "threshold": 10}]}, channels={})
    watch = DriftWatch(mgr, window=200, threshold=0.1)
    watch.check(_planted_signals(400, True))
    assert mgr.alerts == []  # calibrated: ECE below 10 points
    watch.check(_planted_signals(400, False))
    watch.check(_planted_signals(400, False, seed=1))
    assert [a.kind for a in mgr.alerts] == ["calibration_drift"]  # once per crossing
    assert mgr.alerts[0].severity == "warning" and "m" in mgr.alerts[0].title
    watch.check(_planted_signals(400, True))  # re-armed below the threshold
    watch.check(_planted_signals(400, False, seed=2))
    assert len(mgr.alerts) == 2
    with pytest.raises(Exception, match="threshold"):
        AlertManager({"rules": [{"kind": "calibration_drift"}]})


def test_track_backtest_extracts_and_resolves_entries(btc_small: pd.DataFrame) -> None:
    from quantdesk.backtest.config import BacktestConfig
    from quantdesk.backtest.runner import run_backtest

    frame = btc_small.iloc[:1500]
    res = run_backtest(BacktestConfig(strategy="sma_cross", params={"fast": 10, "slow": 30}), frame)
    rows = track_backtest(res, frame, horizon=6)
    assert len(rows) == len(res.trades) > 5
    assert (rows["source"] == "sma_cross").all() and (rows["origin"] == "backtest").all()
    first = res.trades.iloc[0]
    i = frame.index.get_loc(pd.Timestamp(first["entry_time"])) - 1  # decided on the bar before the fill
    r0 = rows.iloc[0]
    assert r0["ts"] == frame.index[i].value and r0["price"] == frame["close"].iloc[i]
    resolved = rows[rows["status"] == "resolved"]
    exp = frame["close"].iloc[i + 6] / frame["close"].iloc[i] - 1
    assert resolved.iloc[0]["ret"] == pytest.approx(exp)
    doc = accuracy_report(rows)
    assert doc["overall"]["resolved"] == len(resolved) and "brier" not in doc["overall"]  # rule-based: no conf.


def test_store_tracker_and_training_data(qd_home, btc_small: pd.DataFrame) -> None:
    from quantdesk.ml.tracking_store import SignalTracker, TrackingStore, records_from_bot

    frame = btc_small.iloc[:300]
    store = TrackingStore()
    recs = [SignalRecord(ts=frame.index[i].value, source="m1", symbol="BTC/USD", timeframe="1h",
                         direction=1 if i % 2 else -1, price=float(frame["close"].iloc[i]), confidence=0.6,
                         horizon=4, origin="paper", run="bot1", features={"f1": float(i), "f2": -float(i)})
            for i in [*range(0, 300, 10), 298]]
    ids = store.add(recs)
    assert store.add(recs) == ids and len(store.query()) == len(recs)  # idempotent
    tracker = SignalTracker(store, candles=lambda s, tf: frame)
    out = tracker.resolve_pending()
    assert out == {"pending": 31, "resolved": 30, "no_candles": 0, "drifted": 0}  # bar 298 needs 4 more bars
    rows = store.query(source="m1")
    hand = apply_outcomes(records_frame(recs), resolve(recs, frame))
    np.testing.assert_allclose(rows["ret"].dropna().astype(float), hand["ret"].dropna().astype(float))
    doc = tracker.report(source="m1")
    assert doc["overall"]["resolved"] == 30 and doc["overall"]["pending"] == 1 and doc["groups"][0]["source"] == "m1"
    train = tracker.training_data()
    assert list(train.columns[-2:]) == ["f1", "f2"] and len(train) == 30 and train["hit"].dtype == bool
    state = SimpleNamespace(signals=[{"ts": int(frame.index[5].value), "side": "buy", "confidence": 0.7,
                                      "source": "manual", "symbol": "BTC/USD", "action": "trade"}],
                            trades=[{"entry_ts": int(frame.index[20].value), "side": "long", "symbol": "BTC/USD"}])
    bot_recs = records_from_bot(state, {"name": "b1", "strategy": "sma_cross", "timeframe": "1h",
                                        "symbols": ["BTC/USD"]}, frame)
    assert [(r.source, r.direction, r.confidence) for r in bot_recs] == [("sma_cross:manual", 1, 0.7),
                                                                         ("sma_cross", 1, None)]
    assert bot_recs[1].ts == frame.index[19].value


def test_random_entry_baseline_by_hand() -> None:
    from quantdesk.ml.tracking import random_entry_hit_rate

    f = _bars([100, 101, 102, 101, 100, 101, 102, 103])
    recs = [_rec(f, 0, horizon=1), _rec(f, 2, horizon=1), _rec(f, 4, -1, horizon=1)]
    rows = apply_outcomes(records_frame(recs), resolve(recs, f))
    # bars 0..4 (the signals' period), 1-bar moves: up, up, down, down, up -> P(up) = 3/5; 2/3 of signals long
    assert random_entry_hit_rate(rows, f) == pytest.approx(2 / 3 * 3 / 5 + 1 / 3 * 2 / 5)
