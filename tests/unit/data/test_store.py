"""The candle store: append/merge, conflicts, catalog, load filtering, exchange resolution, the sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.data import load, resolve_exchange
from quantdesk.data.sample import SAMPLE_EXCHANGE, SAMPLE_SYMBOL
from quantdesk.data.store import CandleStore, open_store


def bars(start: str, n: int, freq: str = "1h", base: float = 100.0) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    close = base + np.arange(n, dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(n, 5.0)},
        index=idx,
    )


def test_append_returns_new_rows_and_merges_without_duplicates(store: CandleStore) -> None:
    assert store.append("binance", "BTC/USDT", "1h", bars("2024-01-01", 10)) == 10
    # overlapping, identical values on the overlap: only the 5 new ones count
    assert store.append("binance", "BTC/USDT", "1h", bars("2024-01-01T05:00", 10, base=105.0)) == 5
    # fully contained again: nothing new, nothing rewritten
    assert store.append("binance", "BTC/USDT", "1h", bars("2024-01-01T02:00", 3, base=102.0)) == 0
    df = store.read("binance", "BTC/USDT", "1h")
    assert len(df) == 15 and df.index.is_unique and df.index.is_monotonic_increasing
    assert df["close"].tolist() == [100.0 + i for i in range(15)]


def test_append_fills_a_hole_in_the_middle(store: CandleStore) -> None:
    full = bars("2024-01-01", 10)
    store.append("x", "ETH/USDT", "1h", pd.concat([full.iloc[:3], full.iloc[7:]]))
    assert store.catalog()[0]["missing_bars"] == 4
    assert store.append("x", "ETH/USDT", "1h", full.iloc[2:8]) == 4
    pd.testing.assert_frame_equal(
        store.read("x", "ETH/USDT", "1h"), full, check_freq=False, check_index_type=False
    )
    assert store.catalog()[0]["gaps"] == 0


def test_conflicting_values_are_refused_unless_overwrite(store: CandleStore) -> None:
    store.append("binance", "BTC/USDT", "1h", bars("2024-01-01", 5))
    changed = bars("2024-01-01T03:00", 4)
    changed["close"] = changed["close"] + 0.25
    before = store.read("binance", "BTC/USDT", "1h")
    with pytest.raises(DataError) as err:
        store.append("binance", "BTC/USDT", "1h", changed)
    msg = str(err.value)
    assert "2 bars already stored with different values" in msg and "2024-01-01T03:00:00Z" in msg
    assert "overwrite" in msg
    pd.testing.assert_frame_equal(store.read("binance", "BTC/USDT", "1h"), before)  # nothing written
    res = store.append_detail("binance", "BTC/USDT", "1h", changed, overwrite=True)
    assert (res.new, res.replaced) == (2, 2)
    after = store.read("binance", "BTC/USDT", "1h")
    assert after.loc["2024-01-01T03:00:00Z", "close"] == 100.25  # the new value won


def test_append_rejects_bad_frames(store: CandleStore) -> None:
    naive = bars("2024-01-01", 3)
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(DataError, match="timezone-aware"):
        store.append("x", "BTC/USDT", "1h", naive)
    dup = pd.concat([bars("2024-01-01", 3), bars("2024-01-01", 1)])
    with pytest.raises(DataError, match="duplicate"):
        store.append("x", "BTC/USDT", "1h", dup)
    with pytest.raises(DataError, match="volume"):
        store.append("x", "BTC/USDT", "1h", bars("2024-01-01", 3).drop(columns="volume"))


def test_unsorted_frame_is_sorted_on_append(store: CandleStore) -> None:
    df = bars("2024-01-01", 6)
    store.append("x", "BTC/USDT", "1h", df.iloc[::-1])
    pd.testing.assert_frame_equal(
        store.read("x", "BTC/USDT", "1h"), df, check_freq=False, check_index_type=False
    )


def test_timestamps_and_catalog(store: CandleStore) -> None:
    assert store.timestamps("binance", "BTC/USDT", "1h").size == 0
    store.append("binance", "BTC/USDT", "1h", bars("2024-01-01", 3), source="test")
    ts = store.timestamps("binance", "BTC/USDT", "1h")
    assert ts.dtype == np.int64 and ts.tolist() == [1704067200 * 10**9 + i * 3600 * 10**9 for i in range(3)]
    store.append("binance", "BTC/USDT:USDT", "1m", bars("2024-01-01", 2, freq="1min"))
    cat = store.catalog()
    assert [(e["exchange"], e["symbol"], e["timeframe"]) for e in cat] == [
        ("binance", "BTC/USDT", "1h"),
        ("binance", "BTC/USDT:USDT", "1m"),
    ]
    first = cat[0]
    assert first["first"] == "2024-01-01T00:00:00Z" and first["last"] == "2024-01-01T02:00:00Z"
    assert first["rows"] == 3 and first["gaps"] == 0 and first["source"] == "test"
    assert Path(first["path"]).name == "1h.parquet" and Path(first["path"]).parent.name == "BTC-USDT"


def test_read_start_end_inclusive(store: CandleStore) -> None:
    store.append("x", "BTC/USDT", "1h", bars("2024-01-01", 24))
    df = store.read("x", "BTC/USDT", "1h", start="2024-01-01T05:00:00Z", end="2024-01-01T08:00:00Z")
    assert list(df.index.hour) == [5, 6, 7, 8]
    assert len(store.read("x", "BTC/USDT", "1h", start="2024-01-01T05:30")) == 18
    assert len(store.read("x", "BTC/USDT", "1h", end="2024-01-01")) == 1
    with pytest.raises(ParameterError, match="after end"):
        store.read("x", "BTC/USDT", "1h", start="2024-01-02", end="2024-01-01")
    with pytest.raises(ParameterError, match="start"):
        store.read("x", "BTC/USDT", "1h", start="not a date")


def test_read_tail_gives_the_last_rows_of_the_range_in_order(store: CandleStore) -> None:
    store.append("x", "BTC/USDT", "1h", bars("2024-01-01", 24))
    store.append("x", "BTC/USDT", "1h", bars("2024-01-02", 3, base=124.0))  # a delta segment too
    full = store.read("x", "BTC/USDT", "1h")
    pd.testing.assert_frame_equal(store.read("x", "BTC/USDT", "1h", tail=5), full.iloc[-5:])
    ranged = store.read("x", "BTC/USDT", "1h", end="2024-01-01T10:00:00Z", tail=3)
    assert list(ranged.index.hour) == [8, 9, 10] and ranged.index.is_monotonic_increasing
    assert len(store.read("x", "BTC/USDT", "1h", tail=1000)) == 27
    with pytest.raises(ParameterError, match="tail"):
        store.read("x", "BTC/USDT", "1h", tail=0)


def test_read_missing_series_lists_what_exists(store: CandleStore) -> None:
    with pytest.raises(NotFoundError, match="store is empty"):
        store.read("x", "BTC/USDT", "1h")
    store.append("x", "BTC/USDT", "1h", bars("2024-01-01", 2))
    with pytest.raises(NotFoundError, match="BTC/USDT is stored as: x 1h"):
        store.read("x", "BTC/USDT", "4h")


def test_load_resolves_the_exchange(store: CandleStore) -> None:
    store.append("binance", "BTC/USDT", "1h", bars("2024-01-01", 3))
    assert len(load("btc/usdt", "1h", store=store)) == 3
    store.append("kraken", "BTC/USDT", "1h", bars("2024-01-01", 2))
    with pytest.raises(ParameterError, match="binance, kraken"):
        load("BTC/USDT", "1h", store=store)
    assert len(load("BTC/USDT", "1h", exchange="kraken", store=store)) == 2
    with pytest.raises(NotFoundError, match="1h@binance"):
        resolve_exchange(store, "BTC/USDT", "1d")
    with pytest.raises(NotFoundError, match="BTC/USDT 1h@binance"):
        load("ETH/USDT", "1h", store=store)
    with pytest.raises(ParameterError, match="BASE/QUOTE"):
        load("BTCUSDT", "1h", store=store)
    with pytest.raises(ParameterError, match="timeframe"):
        load("BTC/USDT", "1 hour", store=store)


def test_sample_is_available_on_a_fresh_home(qd_home: Path, real_ohlcv) -> None:
    df = load("BTC/USDT", "1h")
    pd.testing.assert_frame_equal(df, real_ohlcv["btc_1h"], check_exact=True, check_index_type=False)
    m = load("BTC/USDT", "1m", start="2022-01-01", end="2022-01-01T00:59")
    assert len(m) == 60
    cat = open_store().catalog()
    sample = [e for e in cat if e["exchange"] == SAMPLE_EXCHANGE and e["symbol"] == SAMPLE_SYMBOL]
    assert {e["timeframe"] for e in sample} == {"1h", "1m"}
    alts = {(e["symbol"], e["timeframe"]) for e in cat if e["exchange"] == SAMPLE_EXCHANGE} - {
        (SAMPLE_SYMBOL, "1h"), (SAMPLE_SYMBOL, "1m")}
    assert alts == {("ETH/BTC", "5m"), ("LTC/BTC", "5m"), ("XMR/BTC", "5m")}
    eth = load("ETH/BTC", "5m")
    assert len(eth) == 5760 and eth.index[0] == pd.Timestamp("2018-01-10T04:55:00Z")
    assert "Coinbase" in next(e for e in sample if e["timeframe"] == "1h")["source"]
    assert "FTX" in next(e for e in sample if e["timeframe"] == "1m")["source"]
    assert (qd_home / "candles" / "sample" / "BTC-USDT" / "1h.parquet").is_file()


def test_sample_is_reseeded_when_removed(qd_home: Path) -> None:
    store = open_store()
    path = store.path_for("sample", "BTC/USDT", "1h")
    path.unlink()
    assert len(load("BTC/USDT", "1h")) == 20111


def test_store_file_is_plain_parquet_queryable_by_duckdb(store: CandleStore) -> None:
    import duckdb

    store.append("x", "BTC/USDT", "1h", bars("2024-01-01", 5))
    path = store.path_for("x", "BTC/USDT", "1h")
    ((n, hi),) = duckdb.sql(f"SELECT count(*), max(high) FROM read_parquet('{path}')").fetchall()
    assert (n, hi) == (5, 105.0)


def test_page_by_page_appends_use_delta_segments_and_stay_exact(store: CandleStore) -> None:
    import quantdesk.data.store as store_mod

    full = bars("2024-01-01", 400, freq="1min")
    full = full.drop(full.index[[50, 51, 52, 300]])  # two holes: 3 + 1 missing bars
    for i in range(0, len(full), 20):  # a downloader writing pages of 20 bars
        assert store.append("x", "BTC/USDT", "1m", full.iloc[i : i + 20]) == len(full.iloc[i : i + 20])
    path = store.path_for("x", "BTC/USDT", "1m")
    deltas = sorted(path.parent.glob("1m.delta-*.parquet"))
    assert 0 < len(deltas) <= store_mod.MAX_DELTAS
    pd.testing.assert_frame_equal(
        store.read("x", "BTC/USDT", "1m"), full, check_freq=False, check_index_type=False
    )
    assert store.timestamps("x", "BTC/USDT", "1m").tolist() == full.index.as_unit("ns").asi8.tolist()
    entry = store.catalog()[0]
    assert (entry["rows"], entry["gaps"], entry["missing_bars"], entry["largest_gap"]) == (396, 2, 4, "4m")
    assert entry["last"] == "2024-01-01T06:39:00Z"
    # a merge into the middle rewrites the base and removes the deltas
    assert store.append("x", "BTC/USDT", "1m", bars("2024-01-01T00:50", 3, freq="1min", base=150.0)) == 3
    assert not list(path.parent.glob("1m.delta-*.parquet"))
    assert store.catalog()[0]["missing_bars"] == 1
    assert len(store.read("x", "BTC/USDT", "1m")) == 399


def test_compaction_after_many_deltas(store: CandleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import quantdesk.data.store as store_mod

    monkeypatch.setattr(store_mod, "MAX_DELTAS", 3)
    full = bars("2024-01-01", 60, freq="1min")
    for i in range(0, 60, 5):
        store.append("x", "BTC/USDT", "1m", full.iloc[i : i + 5])
        path = store.path_for("x", "BTC/USDT", "1m")
        assert len(list(path.parent.glob("1m.delta-*.parquet"))) <= 4
    pd.testing.assert_frame_equal(
        store.read("x", "BTC/USDT", "1m"), full, check_freq=False, check_index_type=False
    )


def test_stale_deltas_of_an_old_generation_are_ignored(store: CandleStore) -> None:
    full = bars("2024-01-01", 30)
    store.append("x", "BTC/USDT", "1h", full.iloc[:10])
    store.append("x", "BTC/USDT", "1h", full.iloc[10:20])  # delta 1
    path = store.path_for("x", "BTC/USDT", "1h")
    (delta,) = path.parent.glob("1h.delta-*.parquet")
    saved = delta.read_bytes()
    store.append("x", "BTC/USDT", "1h", full.iloc[5:12])  # overlap -> rewrite base (new generation)
    delta.write_bytes(saved)  # simulate a crash that left the old delta behind
    pd.testing.assert_frame_equal(
        store.read("x", "BTC/USDT", "1h"), full.iloc[:20], check_freq=False, check_index_type=False
    )
    assert store.append("x", "BTC/USDT", "1h", full.iloc[20:]) == 10
    pd.testing.assert_frame_equal(
        store.read("x", "BTC/USDT", "1h"), full, check_freq=False, check_index_type=False
    )
