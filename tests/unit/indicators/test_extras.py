"""Indicators TA-Lib lacks: kernels against independent pandas/hand-written references, streaming == batch,
no look-ahead (a prefix of the data gives a prefix of the output)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from talib_reference import assert_same, stream_all, with_timestamp

from quantdesk.core.errors import DataError, ParameterError
from quantdesk.indicators import compute, extras, get, stream

NAMES = [s.name for s in extras._SPECS]


# ------------------------------------------------------------------ independent references (TA-Lib seeding)
def ema_ref(s: pd.Series, n: int) -> pd.Series:
    x = s.to_numpy(float)
    out = np.full(len(x), np.nan)
    valid = np.flatnonzero(~np.isnan(x))
    if len(valid) < n:
        return pd.Series(out, index=s.index)
    f = valid[0]
    e = float(np.mean(x[f : f + n]))
    out[f + n - 1] = e
    k = 2.0 / (n + 1)
    for i in range(f + n, len(x)):
        e = e + k * (x[i] - e)
        out[i] = e
    return pd.Series(out, index=s.index)


def true_range_ref(df: pd.DataFrame) -> pd.Series:
    pc = df["close"].shift(1)
    tr = pd.concat([df["high"] - df["low"], (df["high"] - pc).abs(), (df["low"] - pc).abs()], axis=1).max(axis=1)
    tr.iloc[0] = np.nan
    return tr


def atr_ref(df: pd.DataFrame, n: int) -> pd.Series:
    tr = true_range_ref(df).to_numpy()
    out = np.full(len(tr), np.nan)
    if len(tr) > n:
        a = float(np.mean(tr[1 : n + 1]))
        out[n] = a
        for i in range(n + 1, len(tr)):
            a = (a * (n - 1) + tr[i]) / n
            out[i] = a
    return pd.Series(out, index=df.index)


def wma_ref(s: pd.Series, n: int) -> pd.Series:
    w = np.arange(1, n + 1, dtype=float)
    return s.rolling(n).apply(lambda v: float(np.dot(v, w) / w.sum()), raw=True)


def ref(name: str, df: pd.DataFrame) -> dict[str, pd.Series]:
    h, low, c, v = df["high"], df["low"], df["close"], df["volume"]
    if name == "vwap":
        tp = (h + low + c) / 3
        day = df.index.floor("D")
        return {"vwap": (tp * v).groupby(day).cumsum() / v.groupby(day).cumsum()}
    if name == "supertrend":
        a = atr_ref(df, 10).to_numpy()
        hl2 = ((h + low) / 2).to_numpy()
        cc = c.to_numpy()
        trend = np.full(len(df), np.nan)
        dirn = np.full(len(df), np.nan)
        ub = lb = None
        d = 1
        for i in range(len(df)):
            if math.isnan(a[i]):
                continue
            bu, bl = hl2[i] + 3 * a[i], hl2[i] - 3 * a[i]
            if ub is None:
                nub, nlb = bu, bl
            else:
                nub = bu if (bu < ub or cc[i - 1] > ub) else ub
                nlb = bl if (bl > lb or cc[i - 1] < lb) else lb
                if cc[i] > ub:
                    d = 1
                elif cc[i] < lb:
                    d = -1
            ub, lb = nub, nlb
            trend[i] = lb if d == 1 else ub
            dirn[i] = d
        return {"trend": pd.Series(trend), "direction": pd.Series(dirn)}
    if name == "ichimoku":
        mid = lambda n: (h.rolling(n).max() + low.rolling(n).min()) / 2  # noqa: E731
        t, k = mid(9), mid(26)
        return {"tenkan": t, "kijun": k, "senkou_a": ((t + k) / 2).shift(26), "senkou_b": mid(52).shift(26)}
    if name == "keltner":
        m, a = ema_ref(c, 20), atr_ref(df, 10)
        return {"upper": m + 2 * a, "middle": m, "lower": m - 2 * a}
    if name == "donchian":
        u, lo = h.rolling(20).max(), low.rolling(20).min()
        return {"upper": u, "middle": (u + lo) / 2, "lower": lo}
    if name == "hma":
        return {"hma": wma_ref(2 * wma_ref(c, 8) - wma_ref(c, 16), 4)}
    if name == "zlema":
        return {"zlema": ema_ref(c + (c - c.shift(9)), 20)}
    if name == "heikin_ashi":
        hc = (df["open"] + h + low + c) / 4
        ho = np.empty(len(df))
        ho[0] = (df["open"].iloc[0] + c.iloc[0]) / 2
        for i in range(1, len(df)):
            ho[i] = (ho[i - 1] + hc.iloc[i - 1]) / 2
        ho = pd.Series(ho, index=df.index)
        return {
            "ha_open": ho,
            "ha_high": pd.concat([h, ho, hc], axis=1).max(axis=1),
            "ha_low": pd.concat([low, ho, hc], axis=1).min(axis=1),
            "ha_close": hc,
        }
    if name == "vortex":
        tr = true_range_ref(df).rolling(14).sum()
        return {
            "vi_plus": (h - low.shift(1)).abs().rolling(14).sum() / tr,
            "vi_minus": (low - h.shift(1)).abs().rolling(14).sum() / tr,
        }
    if name == "chandelier":
        a = atr_ref(df, 22)
        return {"long": h.rolling(22).max() - 3 * a, "short": low.rolling(22).min() + 3 * a}
    if name == "elder_ray":
        e = ema_ref(c, 13)
        return {"bull_power": h - e, "bear_power": low - e}
    if name == "chaikin_volatility":
        e = ema_ref(h - low, 10)
        return {"chaikin_volatility": (e / e.shift(10) - 1) * 100}
    if name == "awesome_oscillator":
        med = (h + low) / 2
        return {"ao": med.rolling(5).mean() - med.rolling(34).mean()}
    if name == "coppock":
        return {"coppock": wma_ref(c.pct_change(14, fill_method=None) * 100 + c.pct_change(11, fill_method=None) * 100, 10)}
    if name == "choppiness":
        tr = true_range_ref(df).rolling(14).sum()
        return {"chop": 100 * np.log10(tr / (h.rolling(14).max() - low.rolling(14).min())) / math.log10(14)}
    raise KeyError(name)


def test_at_least_12_extras_with_streaming() -> None:
    assert len(NAMES) >= 12
    for name in NAMES:
        spec = get(name)
        assert spec.talib is None
        assert spec.streaming is not None
        assert spec.group in {"trend", "volatility", "volume", "overlap", "other"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("file", ["btc_1h", "goog_1d"])
def test_matches_independent_reference(real_ohlcv, name: str, file: str) -> None:
    df = with_timestamp(real_ohlcv[file].iloc[:6000])
    got = compute(name, df)
    want = ref(name, df)
    assert list(got.columns) == list(want)
    for col, series in want.items():
        assert_same(f"{name}.{col}", got[col].to_numpy(), np.asarray(series, dtype=float), rtol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_streaming_equals_batch_exactly(real_ohlcv, name: str) -> None:
    spec = get(name)
    for df in (real_ohlcv["btc_1d"], real_ohlcv["btc_1m"].iloc[:4000]):
        df = with_timestamp(df)
        batch = compute(name, df).to_numpy()
        streamed = stream_all(spec, df)
        assert np.array_equal(batch, streamed, equal_nan=True), name


@pytest.mark.parametrize("name", NAMES)
def test_no_look_ahead(real_ohlcv, name: str) -> None:
    df = with_timestamp(real_ohlcv["btc_1h"].iloc[:1500])
    full = compute(name, df)
    for k in (200, 777):
        part = compute(name, df.iloc[:k])
        pd.testing.assert_frame_equal(part, full.iloc[:k])


@pytest.mark.parametrize("name", NAMES)
def test_leading_nan_shifts_warmup(real_ohlcv, name: str) -> None:
    spec = get(name)
    df = with_timestamp(real_ohlcv["btc_1d"].iloc[:300]).copy()
    cols = [c for c in ("open", "high", "low", "close", "volume") if c in df]
    df.loc[df.index[:5], cols] = np.nan
    batch = compute(name, df)
    assert batch.iloc[:5].isna().all().all()
    tail = compute(name, df.iloc[5:])
    pd.testing.assert_frame_equal(batch.iloc[5:], tail)
    assert np.array_equal(batch.to_numpy(), stream_all(spec, df), equal_nan=True)


@pytest.mark.parametrize("session,key", [("1d", "D"), ("1w", "W"), ("none", None)])
def test_vwap_sessions(real_ohlcv, session: str, key: str | None) -> None:
    df = with_timestamp(real_ohlcv["btc_1h"].iloc[:2000])
    tp = (df["high"] + df["low"] + df["close"]) / 3
    pv = tp * df["volume"]
    if key is None:
        want = pv.cumsum() / df["volume"].cumsum()
    else:
        naive = df.index.tz_convert(None)
        groups = naive.floor("D") if key == "D" else naive.to_period("W-SUN").start_time
        want = pv.groupby(groups).cumsum() / df["volume"].groupby(groups).cumsum()
    got = compute("vwap", df, session=session)["vwap"]
    assert_same("vwap", got.to_numpy(), want.to_numpy())
    # resets: the first bar of each session is its own typical price
    if key == "D":
        firsts = ~pd.Series(df.index.floor("D")).duplicated().to_numpy()
        assert np.allclose(got.to_numpy()[firsts], tp.to_numpy()[firsts])


def test_vwap_kernel_accepts_datetime64_and_int_ns(real_ohlcv) -> None:
    df = real_ohlcv["btc_1h"].iloc[:500]
    args = [df[c].to_numpy() for c in ("high", "low", "close", "volume")]
    a = extras.vwap(*args, df.index.to_numpy())
    b = extras.vwap(*args, df.index.as_unit("ns").asi8)
    c = extras.vwap(*args, df.index.as_unit("ns").asi8.astype(float))
    assert np.array_equal(a, b, equal_nan=True) and np.array_equal(a, c, equal_nan=True)


def test_supertrend_direction_and_band(real_ohlcv) -> None:
    out = compute("supertrend", real_ohlcv["btc_1d"])
    d = out["direction"].dropna()
    assert set(d.unique()) == {-1.0, 1.0}
    close = real_ohlcv["btc_1d"]["close"]
    up = out["direction"] == 1
    assert (out["trend"][up] <= close[up] + 1e-9).mean() > 0.95


def test_ichimoku_has_no_chikou_and_spans_are_displaced(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"]
    out = compute("ichimoku", df)
    assert "chikou" not in out.columns
    assert out["senkou_b"].first_valid_index() == df.index[51 + 26]


def test_bad_parameters_name_the_parameter(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"].iloc[:100]
    with pytest.raises(ParameterError, match="period"):
        compute("donchian", df, period=0)
    with pytest.raises(ParameterError, match="multiplier"):
        compute("supertrend", df, multiplier=-1)
    with pytest.raises(ParameterError, match="session"):
        compute("vwap", with_timestamp(df), session="1h")
    with pytest.raises(ParameterError, match="period"):
        stream("hma", period=1)
    with pytest.raises(ParameterError, match="period"):
        extras.keltner(df["high"], df["low"], df["close"], period=0)


def test_nan_inside_is_refused(real_ohlcv) -> None:
    df = real_ohlcv["btc_1d"].iloc[:100].copy()
    df.iloc[40, 2] = np.nan
    with pytest.raises(DataError, match="low"):
        extras.donchian(df["high"].to_numpy(), df["low"].to_numpy())
    with pytest.raises(DataError, match="low"):
        compute("vortex", df)


def test_streaming_accepts_bar_objects(real_ohlcv) -> None:
    class Bar:
        def __init__(self, row):
            self.open, self.high, self.low, self.close, self.volume = row

    df = real_ohlcv["btc_1d"].iloc[:200]
    obj = stream("donchian", period=10)
    vals = [obj.update(Bar(r)) for r in df[["open", "high", "low", "close", "volume"]].itertuples(index=False)]
    batch = compute("donchian", df, period=10).to_numpy()
    assert np.array_equal(np.array(vals, dtype=float), batch, equal_nan=True)
