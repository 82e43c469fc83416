"""Regime detectors: causal (appending bars never changes an earlier output, bit for bit), streaming == batch
(bit for bit), and the detection proof on the seeded Markov-switching series with known switch times."""

from __future__ import annotations

import numpy as np
import pytest

from quantdesk.intel.regimes.detect import OUTPUTS, RegimeStream, detect_regimes, regime_labels
from quantdesk.intel.regimes.evaluate import detections_from_output, label_mapping, match_detections
from quantdesk.intel.regimes.synthetic import markov_switching_bars

# small fit schedules keep the model-based runs quick; the schedule logic is the same as with the defaults
FAST = {
    "rules": {"trend_period": 50, "vol_window": 100},
    "hmm": {"train": 200, "refit": 150, "window": 500},
    "markov": {"train": 200, "refit": 300, "window": 500},
    "bocpd": {"train": 100},
}


@pytest.fixture(scope="module")
def sim():
    return markov_switching_bars(900, seed=3)


@pytest.mark.parametrize("method", list(FAST))
def test_appending_bars_never_changes_earlier_output(sim, method: str) -> None:
    whole = detect_regimes(sim.bars, method, **FAST[method]).to_numpy()
    assert np.isfinite(whole[-100:, 0]).all(), "the detector produced no regimes"
    for cut in (260, 351, 500, 651):  # around fit points (200, 350, 500, 650) and between them
        prefix = detect_regimes(sim.bars.iloc[:cut], method, **FAST[method]).to_numpy()
        assert np.array_equal(prefix, whole[:cut], equal_nan=True), f"{method}: output before bar {cut} changed"


@pytest.mark.parametrize("method", list(FAST))
def test_streaming_equals_batch_bit_for_bit(sim, method: str) -> None:
    batch = detect_regimes(sim.bars, method, **FAST[method]).to_numpy()
    stream = RegimeStream(method=method, **FAST[method])
    rows = np.array([stream.update(r) for r in sim.bars[["high", "low", "close"]].to_dict("records")])
    assert rows.shape == (len(sim.bars), len(OUTPUTS))
    assert np.array_equal(rows, batch, equal_nan=True)


def test_leading_nan_inputs_give_nan_then_the_same_values(sim) -> None:
    df = sim.bars.copy()
    df.iloc[:5, :] = np.nan
    out = detect_regimes(df, "bocpd", **FAST["bocpd"]).to_numpy()
    ref = detect_regimes(sim.bars.iloc[5:], "bocpd", **FAST["bocpd"]).to_numpy()
    assert np.isnan(out[:5]).all()
    assert np.array_equal(out[5:], ref, equal_nan=True)


def test_probabilities_are_distributions_and_labels_follow_them(sim) -> None:
    out = detect_regimes(sim.bars, "hmm", **FAST["hmm"])
    p = out[["p_regime_0", "p_regime_1"]].dropna().to_numpy()
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert out["p_regime_2"].isna().all() and out["p_regime_3"].isna().all()
    pc = out["p_changepoint"].dropna().to_numpy()
    assert ((pc >= 0) & (pc <= 1)).all()
    assert regime_labels("hmm", 2) == ["calm", "volatile"]


# ---- the proof on known switch times ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proof_series():
    return [markov_switching_bars(4000, seed=s) for s in (11, 12)]


@pytest.mark.parametrize("method", ["hmm", "markov", "bocpd"])
def test_detection_delay_f1_and_false_alarms_on_known_switches(proof_series, method: str) -> None:
    """Defaults: median delay <= 10 bars, F1 >= 0.8 at a 20-bar tolerance, <= 1 false alarm per 2,000 bars,
    over switches after the warm-up. No-skill baseline: the same number of detections at random bars.
    (markov refits every 500 bars here instead of 250 to keep the test quick; benchmarks/bench_regimes.py
    measures every method with its defaults on 5 x 6,000 bars.)"""
    rng = np.random.default_rng(0)
    params = {"refit": 500} if method == "markov" else {}
    delays, tp, det_n, sw_n, bars, fa = [], 0, 0, 0, 0, 0
    base_tp = 0
    for sim in proof_series:
        out = detect_regimes(sim.bars, method, **params).to_numpy()
        first = int(np.flatnonzero(np.isfinite(out[:, 6]))[0])
        switches = sim.switches[sim.switches > first + 20]
        det = detections_from_output(out[:, 6])
        m = match_detections(switches, det, tolerance=20)
        delays += m["delays"]
        tp, det_n, sw_n, fa = tp + m["matched"], det_n + m["detections"], sw_n + m["switches"], fa + m["false_alarms"]
        bars += len(sim.bars) - first
        random_det = rng.choice(np.arange(first, len(sim.bars)), size=max(len(det), 1), replace=False)
        base_tp += match_detections(switches, random_det, tolerance=20)["matched"]
    precision, recall = tp / det_n, tp / sw_n
    f1 = 2 * precision * recall / (precision + recall)
    assert sw_n >= 10, "too few switches to measure"
    assert np.median(delays) <= 10, delays
    assert f1 >= 0.8, (precision, recall)
    assert fa <= bars / 2000, f"{fa} false alarms in {bars} bars"
    base_recall = base_tp / sw_n
    assert recall > base_recall + 0.3, f"no better than random detections (recall {recall} vs {base_recall})"


def test_state_labels_do_not_swap_across_20_seeded_fits() -> None:
    """Fit the HMM with 20 seeds (different EM starts): label 0 is the calm state and 1 the volatile one every
    time, because states are ordered by volatility after each fit."""
    from quantdesk.intel.regimes.features import features_batch
    from quantdesk.intel.regimes.fitted import fit_hmm, window_filter

    sim = markov_switching_bars(2500, seed=5)
    b = sim.bars
    feats = features_batch(b["high"].to_numpy(), b["low"].to_numpy(), b["close"].to_numpy())[1:]
    mappings = []
    for seed in range(20):
        params = fit_hmm(feats, 2, seed)
        assert params is not None
        probs, _ = window_filter(params, feats)
        mappings.append(label_mapping(np.argmax(probs, axis=1), sim.states[1:]))
    assert all(m == {0: 0, 1: 1} for m in mappings), mappings


def test_three_state_model_orders_states_by_volatility() -> None:
    sim = markov_switching_bars(3000, seed=8, n_states=3, mean_duration=400)
    out = detect_regimes(sim.bars, "hmm", n_states=3, train=1500, refit=0, window=3000).to_numpy()
    ok = np.isfinite(out[:, 0])
    agree = (out[ok, 0] == sim.states[ok]).mean()
    assert agree > 0.85, agree


def test_our_filter_equals_statsmodels_filtered_probabilities() -> None:
    """The forward filter run with the fitted Markov-switching parameters gives statsmodels' own filtered
    (not smoothed) probabilities, states reordered by volatility."""
    import warnings

    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    from quantdesk.intel.regimes.features import features_batch
    from quantdesk.intel.regimes.filtering import Z_CLIP
    from quantdesk.intel.regimes.fitted import fit_markov, robust_scale, window_filter

    sim = markov_switching_bars(1200, seed=6)
    b = sim.bars
    x = features_batch(b["high"].to_numpy(), b["low"].to_numpy(), b["close"].to_numpy())[1:]
    params = fit_markov(x, 2)
    assert params is not None
    ours, _ = window_filter(params, x)
    c, s = robust_scale(x[:, 1:2])
    z = np.clip((x[:, 1] - c[0]) / s[0], -Z_CLIP, Z_CLIP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MarkovRegression(z, k_regimes=2, trend="c", switching_variance=True).fit(disp=False)
    theirs = np.asarray(res.filtered_marginal_probabilities)
    order = np.argsort([res.params[0 + 2], res.params[1 + 2]])  # const[0], const[1] follow the 2 transition params
    assert res.model.param_names[2:4] == ["const[0]", "const[1]"]
    np.testing.assert_allclose(ours, theirs[:, order], atol=1e-7)
    smoothed = np.asarray(res.smoothed_marginal_probabilities)[:, order]
    assert np.abs(smoothed - ours).max() > 0.1  # smoothing differs: it reads the future


def test_hmm_filter_agrees_with_hmmlearn_only_where_smoothing_sees_no_future() -> None:
    """At the last bar the smoothed posterior (hmmlearn's predict_proba) has no future to read, so it equals the
    filtered probability; at earlier bars it reads later bars and differs from ours (the leak we avoid)."""
    from hmmlearn.hmm import GaussianHMM

    from quantdesk.intel.regimes.features import features_batch
    from quantdesk.intel.regimes.filtering import Z_CLIP
    from quantdesk.intel.regimes.fitted import fit_hmm, window_filter

    sim = markov_switching_bars(1500, seed=9)
    b = sim.bars
    x = features_batch(b["high"].to_numpy(), b["low"].to_numpy(), b["close"].to_numpy())[1:]
    p = fit_hmm(x, 2, 0)
    assert p is not None
    ours, _ = window_filter(p, x)
    model = GaussianHMM(2, covariance_type="diag", init_params="", params="")
    model.startprob_, model.transmat_, model.means_ = p.startprob, p.transmat, p.means
    model.covars_ = p.variances
    z = np.clip((x - p.center) / p.scale, -Z_CLIP, Z_CLIP)
    smoothed = model.predict_proba(z)
    np.testing.assert_allclose(ours[-1], smoothed[-1], atol=1e-9)
    assert np.abs(ours[:-1] - smoothed[:-1]).max() > 0.1
