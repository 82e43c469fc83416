"""Compiled fast path: hand-computed fills, stops, shorts, edge bars; 1-D/2-D and summary consistency;
an independent pure-Python reference simulator checked on random data (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantdesk.backtest import fastpath as fp
from quantdesk.backtest.config import BacktestConfig
from quantdesk.backtest.metrics import compute_metrics
from quantdesk.backtest.result import ORDER_COLUMNS, TRADE_COLUMNS
from quantdesk.core.errors import ParameterError


def _bars(o, h=None, l=None, c=None) -> pd.DataFrame:  # noqa: E741
    o = np.asarray(o, float)
    c = np.asarray(c if c is not None else o + 0.5, float)
    h = np.asarray(h if h is not None else np.maximum(o, c) + 0.5, float)
    l = np.asarray(l if l is not None else np.minimum(o, c) - 0.5, float)  # noqa: E741
    idx = pd.date_range("2024-01-01", periods=len(o), freq="h", tz="UTC")
    return pd.DataFrame({"open": o, "high": h, "low": l, "close": c, "volume": 1.0}, index=idx)


def _sig(n: int, *at: int) -> np.ndarray:
    s = np.zeros(n, bool)
    s[list(at)] = True
    return s


def test_next_open_fill_fee_and_slippage_by_hand() -> None:
    df = _bars([10, 11, 12, 13, 14])
    fr = fp.simulate(df, _sig(5, 1), _sig(5, 3), cash=1000, fee=0.01, slippage_bps=10)
    (t,) = fr.trades
    px_in, px_out = 12 * 1.001, 14 * 0.999
    qty = 1000 / (px_in * 1.01)
    assert (t["entry_idx"], t["exit_idx"]) == (2, 4)
    assert t["entry_price"] == pytest.approx(px_in, rel=1e-15) and t["exit_price"] == pytest.approx(px_out)
    assert t["quantity"] == pytest.approx(qty, rel=1e-15)
    fees = px_in * qty * 0.01 + px_out * qty * 0.01
    assert t["entry_fee"] + t["exit_fee"] == pytest.approx(fees)
    assert t["pnl"] == pytest.approx((px_out - px_in) * qty - fees)
    assert t["return_pct"] == pytest.approx(t["pnl"] / (px_in * qty) * 100)
    expected = [1000, 1000, qty * 12.5, qty * 13.5, 1000 + t["pnl"]]
    np.testing.assert_allclose(fr.equity[:, 0], expected, rtol=1e-12)
    assert fr.summary.loc[0, "num_trades"] == 1 and fr.summary.loc[0, "win_rate_pct"] == 100


def test_last_bar_signal_is_not_filled_and_open_position_is_marked_to_close() -> None:
    df = _bars([10, 11, 12, 13, 14])
    fr = fp.simulate(df, _sig(5, 4), _sig(5), cash=1000, fee=0.0)
    assert len(fr.trades) == 0
    np.testing.assert_allclose(fr.equity[:, 0], 1000)
    fr = fp.simulate(df, _sig(5, 0), _sig(5, 4), cash=1000, fee=0.01)
    (t,) = fr.trades
    assert t["is_open"] and t["exit_idx"] == 4 and t["exit_fee"] == 0
    qty = 1000 / (11 * 1.01)
    assert t["exit_price"] == 14.5 and t["pnl"] == pytest.approx((14.5 - 11) * qty - 11 * qty * 0.01)
    assert fr.equity[-1, 0] == pytest.approx(qty * 14.5)
    res = fp.to_backtest_result(fr, 0, df, BacktestConfig(strategy="x", fee=0.01))
    assert res.trades["is_open"].tolist() == [True] and pd.isna(res.trades["exit_time"].iloc[0])
    assert res.metrics["num_trades"] == 0 and res.metrics["open_trades"] == 1


@pytest.mark.parametrize(
    ("bar3", "reason", "price"),
    [
        ((12.5, 13.5, 11.0, 12.0), "stop_loss", 11.4),  # both levels inside the bar: the stop (worse) first
        ((11.0, 11.5, 10.5, 11.2), "stop_loss", 11.0),  # gap through the stop: filled at the open
        ((12.5, 13.3, 12.0, 13.0), "take_profit", 13.2),  # take profit touched
        ((13.5, 14.0, 13.4, 13.8), "take_profit", 13.5),  # gap through the take profit: the open
        ((12.5, 13.0, 11.5, 12.8), None, None),  # nothing touched
    ],
)
def test_stop_loss_take_profit(bar3, reason, price) -> None:
    o = [10, 11, 12, bar3[0], 12]
    h = [10.5, 11.5, 12.2, bar3[1], 12.5]
    l = [9.5, 10.5, 11.9, bar3[2], 11.9]  # noqa: E741
    c = [10, 11, 12.1, bar3[3], 12.2]
    df = _bars(o, h, l, c)
    fr = fp.simulate(df, _sig(5, 1), _sig(5), cash=1000, fee=0.0, sl_pct=5, tp_pct=10)
    (t,) = fr.trades
    if reason is None:
        assert t["is_open"]
        return
    assert fp.EXIT_REASONS[t["exit_reason"]] == reason and t["exit_idx"] == 3
    assert t["exit_price"] == pytest.approx(price)
    res = fp.to_backtest_result(fr, 0, df, BacktestConfig(strategy="x", fee=0.0))
    assert res.orders["reason"].tolist() == ["signal", reason]
    assert res.orders["type"].iloc[1] == ("stop" if reason == "stop_loss" else "limit")


def test_stop_can_hit_on_the_entry_bar_with_slippage() -> None:
    df = _bars([10, 11, 12, 12, 12], h=[10.5, 11.5, 12.5, 12.5, 12.5], l=[9.5, 10.5, 11.0, 11.9, 11.9],
               c=[10, 11, 12, 12, 12])
    fr = fp.simulate(df, _sig(5, 1), _sig(5), cash=1000, fee=0.0, slippage_bps=100, sl_pct=5)
    (t,) = fr.trades
    entry = 12 * 1.01
    assert t["exit_idx"] == 2 and t["exit_price"] == pytest.approx(entry * 0.95 * 0.99)


def test_short_side_by_hand() -> None:
    df = _bars([10, 11, 12, 13, 14])
    none = _sig(5)
    fr = fp.simulate(df, none, none, short_entries=_sig(5, 1), short_exits=_sig(5, 3), cash=1000, fee=0.01,
                     slippage_bps=10)
    (t,) = fr.trades
    px_in, px_out = 12 * 0.999, 14 * 1.001
    qty = 1000 / (px_in * 1.01)
    assert t["direction"] == -1 and t["quantity"] == pytest.approx(qty)
    fees = (px_in + px_out) * qty * 0.01
    assert t["pnl"] == pytest.approx((px_in - px_out) * qty - fees)
    cash_after_entry = 1000 + px_in * qty - px_in * qty * 0.01
    assert fr.equity[2, 0] == pytest.approx(cash_after_entry - qty * 12.5)
    assert fr.equity[-1, 0] == pytest.approx(1000 + t["pnl"])
    res = fp.to_backtest_result(fr, 0, df, BacktestConfig(strategy="x"))
    assert res.trades["side"].tolist() == ["short"] and res.orders["side"].tolist() == ["sell", "buy"]


def test_signals_for_the_other_side_are_ignored_while_in_a_position() -> None:
    df = _bars([10, 11, 12, 13, 14, 15])
    fr = fp.simulate(df, _sig(6, 0, 2), _sig(6, 3), short_entries=_sig(6, 1), short_exits=_sig(6), cash=100,
                     fee=0)
    assert [(t["entry_idx"], t["exit_idx"], t["direction"]) for t in fr.trades] == [(1, 4, 1)]


def test_result_contract_columns() -> None:
    df = _bars(np.linspace(10, 20, 50) + np.sin(np.arange(50)))
    res = fp.run_fast(BacktestConfig(strategy="sma_cross", params={"fast": 3, "slow": 7}), df)
    assert tuple(res.trades.columns) == TRADE_COLUMNS and tuple(res.orders.columns) == ORDER_COLUMNS
    assert res.trades["entry_time"].dt.tz is not None
    assert len(res.equity) == len(df) and (res.equity.index == df.index).all()
    assert set(res.indicators) == {"fast", "slow"}
    assert len(res.data_info["fingerprint"]) == 64 and res.data_info["rows"] == 50


def test_sma_matches_pandas_and_signals_match_a_pandas_reference(real_ohlcv) -> None:
    close = real_ohlcv["btc_1h"]["close"]
    for p in (1, 2, 10, 200):
        np.testing.assert_allclose(fp.sma(close.to_numpy(), p), close.rolling(p).mean().to_numpy(), rtol=1e-11)
    f = close.rolling(10).mean()
    s = close.rolling(30).mean()
    ref_ent = ((f > s) & (f.shift() <= s.shift())).to_numpy()
    ref_ext = ((f < s) & (f.shift() >= s.shift())).to_numpy()
    ent, ext = fp.sma_cross_signals(close, 10, 30)
    assert ent.ndim == 1 and (ent == ref_ent).all() and (ext == ref_ext).all()
    ent2, ext2 = fp.sma_cross_signals(close, [10, 5, 10], [30, 30, 50])
    assert ent2.shape == (len(close), 3) and (ent2[:, 0] == ent).all() and (ext2[:, 0] == ext).all()


def test_two_d_columns_equal_separate_runs_and_summary_equals_metrics(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"]
    fast, slow = fp.param_grid([5, 10, 20], [30, 60])
    ent, ext = fp.sma_cross_signals(df["close"], fast, slow)
    fr = fp.simulate(df, ent, ext, cash=10_000, fee=0.001, slippage_bps=5)
    summary = fp.simulate_summary(df, ent, ext, cash=10_000, fee=0.001, slippage_bps=5)
    sweep = fp.sweep_sma_cross(df, fast, slow, cash=10_000, fee=0.001, slippage_bps=5)
    np.testing.assert_allclose(summary.to_numpy(), fr.summary.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(sweep.to_numpy(), fr.summary.to_numpy(), rtol=1e-12)
    for j in (0, 4):
        one = fp.simulate(df, ent[:, j], ext[:, j], cash=10_000, fee=0.001, slippage_bps=5)
        np.testing.assert_array_equal(one.equity[:, 0], fr.equity[:, j])
        res = fp.to_backtest_result(fr, j, df, BacktestConfig(strategy="sma_cross"))
        m = res.metrics
        row = fr.summary.iloc[j]
        assert row["final_equity"] == pytest.approx(m["final_equity"], rel=1e-12)
        assert row["sharpe"] == pytest.approx(m["sharpe"], rel=1e-9)
        assert row["max_drawdown_pct"] == pytest.approx(m["max_drawdown_pct"], rel=1e-12)
        assert row["num_trades"] == m["num_trades"] and row["win_rate_pct"] == pytest.approx(m["win_rate_pct"])
        assert row["total_fees"] == pytest.approx(m["total_fees"], rel=1e-12)


def test_bad_inputs_raise_parameter_errors() -> None:
    df = _bars([10, 11, 12])
    with pytest.raises(ParameterError, match="entries"):
        fp.simulate(df, np.zeros(2, bool), np.zeros(3, bool))
    with pytest.raises(ParameterError, match="fee"):
        fp.simulate(df, np.zeros(3, bool), np.zeros(3, bool), fee=0.5)
    with pytest.raises(ParameterError, match="fast"):
        fp.validate_sma_cross_params({"fast": 0})
    with pytest.raises(ParameterError, match="unknown"):
        fp.validate_sma_cross_params({"period": 3})
    with pytest.raises(ParameterError, match="integer"):
        fp.validate_sma_cross_params({"fast": "abc"})
    with pytest.raises(ParameterError, match="fast engine"):
        fp.run_fast(BacktestConfig(strategy="rsi_revert"), df)


# ---- an independent reference: a plain Python loop written from the documented rules -----------------------
def _reference(df, ent, ext, sent, sext, cash, fee, slip_bps, sl, tp):
    o, h, lo, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    slip = slip_bps / 1e4
    n = len(c)
    trades, equity = [], []
    side, qty, entry, efee, eidx = 0, 0.0, 0.0, 0.0, -1
    order = None

    def close_at(i, price, reason):
        nonlocal cash, side
        xf = price * qty * fee
        if side > 0:
            cash += price * qty - xf
            pnl = (price - entry) * qty - efee - xf
        else:
            cash -= price * qty + xf
            pnl = (entry - price) * qty - efee - xf
        trades.append((eidx, i, side, entry, price, qty, pnl, reason))
        side = 0

    for i in range(n):
        if order == "close":
            close_at(i, o[i] * (1 - slip) if side > 0 else o[i] * (1 + slip), "signal")
        elif order in ("long", "short"):
            side = 1 if order == "long" else -1
            entry = o[i] * (1 + slip * side)
            qty = cash / (entry * (1 + fee))
            efee = entry * qty * fee
            cash += -side * entry * qty - efee
            eidx = i
        order = None
        if side != 0 and (sl or tp):
            if side > 0:
                stop, take = entry * (1 - sl / 100), entry * (1 + tp / 100)
                hits = [
                    (sl and o[i] <= stop, o[i] * (1 - slip), "stop_loss"),
                    (tp and o[i] >= take, o[i], "take_profit"),
                    (sl and lo[i] <= stop, stop * (1 - slip), "stop_loss"),
                    (tp and h[i] >= take, take, "take_profit"),
                ]
            else:
                stop, take = entry * (1 + sl / 100), entry * (1 - tp / 100)
                hits = [
                    (sl and o[i] >= stop, o[i] * (1 + slip), "stop_loss"),
                    (tp and o[i] <= take, o[i], "take_profit"),
                    (sl and h[i] >= stop, stop * (1 + slip), "stop_loss"),
                    (tp and lo[i] <= take, take, "take_profit"),
                ]
            for hit, price, reason in hits:
                if hit:
                    close_at(i, price, reason)
                    break
        equity.append(cash + side * qty * c[i])
        if i < n - 1:
            if side > 0 and ext[i] or side < 0 and sext[i]:
                order = "close"
            elif side == 0 and ent[i]:
                order = "long"
            elif side == 0 and sent[i]:
                order = "short"
    return trades, np.array(equity)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    fee=st.sampled_from([0.0, 0.001, 0.01]),
    slip=st.sampled_from([0.0, 5.0]),
    sl=st.sampled_from([0.0, 1.0, 3.0]),
    tp=st.sampled_from([0.0, 2.0]),
    short=st.booleans(),
)
def test_matches_the_python_reference_on_random_data(seed, fee, slip, sl, tp, short) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, n)))
    df = _bars(open_, high, low, close)
    ent, ext, sent, sext = (rng.random(n) < 0.1 for _ in range(4))
    fr = fp.simulate(df, ent, ext, short_entries=sent if short else None, short_exits=sext if short else None,
                     cash=1000, fee=fee, slippage_bps=slip, sl_pct=sl, tp_pct=tp)
    ref_trades, ref_eq = _reference(df, ent, ext, sent if short else np.zeros(n, bool), sext, 1000, fee, slip,
                                    sl, tp)
    np.testing.assert_allclose(fr.equity[:, 0], ref_eq, rtol=1e-10)
    closed = fr.trades[~fr.trades["is_open"]]
    assert len(closed) == len(ref_trades)
    for got, want in zip(closed, ref_trades, strict=True):
        assert (got["entry_idx"], got["exit_idx"], got["direction"]) == want[:3]
        assert got["entry_price"] == pytest.approx(want[3], rel=1e-12)
        assert got["exit_price"] == pytest.approx(want[4], rel=1e-12)
        assert got["quantity"] == pytest.approx(want[5], rel=1e-10)
        assert got["pnl"] == pytest.approx(want[6], rel=1e-8, abs=1e-8)
        assert fp.EXIT_REASONS[got["exit_reason"]] == want[7]
    assert math.isfinite(fr.summary.loc[0, "final_equity"])
    m = compute_metrics(fp.records_to_frames(fr.trades, df.index, "X")[0], pd.Series(fr.equity[:, 0], df.index))
    assert m["final_equity"] == pytest.approx(ref_eq[-1], rel=1e-10)


def test_target_weights_one_and_zero_equal_entry_exit_signals(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"]
    ent, ext = fp.sma_cross_signals(df["close"], 10, 30)
    w = np.full(len(df), np.nan)
    # the signal semantics: entries only matter when flat, exits when long -> replay them as weights
    fr = fp.simulate(df, ent, ext, cash=10_000, fee=0.001, slippage_bps=3, price_precision=2, size_precision=8)
    for t in fr.trades:
        w[t["entry_idx"] - 1] = 1.0
        if not t["is_open"]:
            w[t["exit_idx"] - 1] = 0.0
    wr = fp.simulate_weights(df, w, cash=10_000, fee=0.001, slippage_bps=3, price_precision=2, size_precision=8)
    np.testing.assert_allclose(wr.equity[:, 0], fr.equity[:, 0], rtol=1e-12)
    assert len(wr.fills) == 2 * len(fr.trades) - int(fr.trades["is_open"].sum())
    np.testing.assert_allclose(wr.summary.to_numpy(), fr.summary.to_numpy(), rtol=1e-9)


def test_target_weights_rebalance_by_hand() -> None:
    df = _bars([10, 10, 20, 20, 10], c=[10, 10, 20, 20, 10])
    w = np.array([0.5, np.nan, 0.5, -1.0, np.nan])
    wr = fp.simulate_weights(df, w, cash=1000, fee=0.0)
    # bar 1: buy 50 @10 (half of 1000); bar 2 close 20: equity 1500; bar 3 open 20: rebalance to 750 -> sell 12.5
    # bar 1: buy 50 @10 (half of 1000); bar 3 open 20: equity 1500 -> 750 in the asset: sell 12.5;
    # bar 4 open 10: weight -1 means 0 (no shorting): sell the remaining 37.5
    np.testing.assert_allclose(wr.fills["quantity"], [50.0, -12.5, -37.5])
    np.testing.assert_allclose(wr.equity[:, 0], [1000, 1000, 1500, 1500, 1125])
    assert wr.summary.loc[0, "num_trades"] == 1 and wr.summary.loc[0, "win_rate_pct"] == 100
    short = fp.simulate_weights(df, w, cash=1000, fee=0.0, allow_short=True)
    # with shorting: equity 750 + 37.5 * 10 = 1125 at the open -> -112.5 units: sell 150
    assert short.fills["quantity"][-1] == pytest.approx(-150.0)
    assert short.equity[-1, 0] == pytest.approx(1125.0)
    with pytest.raises(ParameterError, match="weights"):
        fp.simulate_weights(df, np.ones(3))


def test_sma_is_bit_identical_to_the_indicator_catalog(real_ohlcv) -> None:
    from quantdesk.indicators import registry

    for key in ("btc_1m", "goog_1d"):
        df = real_ohlcv[key]
        for p in (1, 3, 10, 30, 200):
            ours = fp.sma(df["close"].to_numpy(), p)
            catalog = registry.compute("sma", df, period=p)["sma"].to_numpy() if "sma" in registry.get(
                "sma").outputs else registry.compute("sma", df, period=p).iloc[:, 0].to_numpy()
            np.testing.assert_array_equal(ours, catalog)
